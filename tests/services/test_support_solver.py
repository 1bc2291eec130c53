"""The selection's integer programme solved by HiGHS: the same optimum as exhaustive search on
small calls, every constraint held, never worse than greedy. No database."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digiden.domain.errors import InvalidInput
from digiden.domain.support import Candidate, Policy, build_model, select
from digiden.services.support.solver import solve
from tests.domain.test_support import brute, instances, policies

pytestmark = pytest.mark.sqlite_only


@settings(max_examples=100, deadline=None)
@given(instances, policies)
def test_highs_finds_the_exhaustive_optimum(rows, p) -> None:  # type: ignore[no-untyped-def]
    cs = [Candidate(i, f"a{i}", s, a, frozenset(q), j) for i, (s, a, q, j) in enumerate(rows)]
    m = build_model(cs, p)
    ref = brute(m)
    got = solve(m)
    assert (ref is None) == (got is None)
    if ref is None:
        with pytest.raises(InvalidInput):
            select(cs, p, solve)
        return
    assert got is not None
    value = sum(m.objective[i] * got[i] for i in range(len(got)))
    assert value == pytest.approx(sum(m.objective[i] * ref[i] for i in range(len(ref))), abs=1e-6)
    s = select(cs, p, solve)
    assert s.optimal.feasible and not s.notes
    if s.greedy.feasible:
        assert s.optimal.total_score >= s.greedy.total_score - 1e-6


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000))
def test_a_larger_random_call_meets_every_constraint(seed: int) -> None:
    import random
    r = random.Random(seed)
    cs = [Candidate(i, f"a{i}", r.uniform(20, 95), r.randint(1, 30) * 1_000_000,
                    frozenset({f"{r.randint(1, 47):02d}"}), r.random() < 0.25) for i in range(150)]
    p = Policy(budget=400_000_000, every_prefecture=False, per_prefecture_cap=3, min_joint_share=0.2)
    s = select(cs, p, solve)
    assert s.optimal.feasible and s.optimal.budget_used <= 400_000_000
    assert s.optimal.total_score >= s.greedy.total_score - 1e-6 or not s.greedy.feasible


@pytest.mark.parametrize("seed", [428, 627, 674, 1408, 1544])
def test_a_budget_in_yen_beside_counts_is_solved(seed: int) -> None:
    """These calls made HiGHS stop with "Solve error" while the budget row (coefficients up to
    3·10⁷ yen) sat unscaled beside rows of 0/1 counts; found by the Hypothesis test below."""
    import random
    r = random.Random(seed)
    cs = [Candidate(i, f"a{i}", r.uniform(20, 95), r.randint(1, 30) * 1_000_000,
                    frozenset({f"{r.randint(1, 47):02d}"}), r.random() < 0.25) for i in range(150)]
    p = Policy(budget=400_000_000, every_prefecture=False, per_prefecture_cap=3, min_joint_share=0.2)
    s = select(cs, p, solve)
    assert s.optimal.feasible and s.optimal.budget_used <= 400_000_000
    assert s.optimal.total_score >= s.greedy.total_score - 1e-6 or not s.greedy.feasible


@pytest.mark.parametrize("unit", [100_000_000, 1_000_000_000])
def test_the_answer_keeps_the_budget_to_the_yen(unit: int) -> None:
    """HiGHS's tolerance applies to the scaled row; the answer is checked in yen. Costs chosen so
    that a selection a few yen over the budget would score best (at 10⁹ yen a few yen are within
    the scaled tolerance, so the row is tightened and solved again)."""
    cs = [Candidate(0, "a0", 90.0, unit + 3, frozenset({"01"}), False),
          Candidate(1, "a1", 90.0, unit, frozenset({"02"}), False),
          Candidate(2, "a2", 10.0, 1, frozenset({"03"}), False)]
    p = Policy(budget=2 * unit, every_prefecture=False)
    s = select(cs, p, solve)
    assert s.optimal.budget_used <= 2 * unit
    assert set(s.optimal.chosen) == {0, 2} or set(s.optimal.chosen) == {1, 2}


def test_starting_the_server_does_not_load_the_solver() -> None:
    """numpy and scipy load on the first selection, not when the app is imported (cold start)."""
    import subprocess
    import sys
    code = ("import sys, json, digiden.web.app\n"
            "print(json.dumps(['scipy' in sys.modules, 'numpy' in sys.modules]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[false, false]"

"""The selection at the size of issue 14's bench: a synthetic call (合成データ) of 2,000
applications from the 47 prefectures, 30 reviewers × 3 reviews each, normalised, a budget for
about 10 % of them and the every-prefecture constraint, solved to optimality by HiGHS. No
wall-clock assertion: the test checks the answer; run this file as a script for the numbers

    .venv/bin/python -m tests.services.test_support_perf
"""

from __future__ import annotations

import random
import time

import pytest

from digiden.domain.support import Candidate, Policy, Review, Selection, application_scores, normalise, select
from digiden.services.support.solver import solve

pytestmark = pytest.mark.sqlite_only

N_APPLICATIONS = 2000
N_REVIEWERS = 30
REVIEWS_PER_APPLICATION = 3


def synthetic_call(seed: int = 14) -> tuple[list[Candidate], Policy]:
    """2,000 applications: lead prefecture uniform over 47, one in five joint (a second
    prefecture half the time), amounts 5–100 million yen, three reviews each by reviewers who
    mark harder or softer (a per-reviewer offset and spread)."""
    r = random.Random(seed)
    quality = [r.gauss(60, 12) for _ in range(N_APPLICATIONS)]
    bias = [(r.gauss(0, 8), r.uniform(0.6, 1.4)) for _ in range(N_REVIEWERS)]
    reviews = []
    for a in range(N_APPLICATIONS):
        for k in r.sample(range(N_REVIEWERS), REVIEWS_PER_APPLICATION):
            off, spread = bias[k]
            mark = 60 + spread * (quality[a] - 60) + off + r.gauss(0, 5)
            reviews.append(Review(a, f"r{k}", min(100.0, max(0.0, mark))))
    joint = {a: r.random() < 0.2 for a in range(N_APPLICATIONS)}
    scores = application_scores(normalise(reviews), joint, 5.0)
    cands = []
    for a in range(N_APPLICATIONS):
        prefs = {f"{r.randint(1, 47):02d}"}
        if joint[a] and r.random() < 0.5:
            prefs.add(f"{r.randint(1, 47):02d}")
        cands.append(Candidate(a, f"合成データ 申請{a}", scores[a], r.randint(5, 100) * 1_000_000,
                               frozenset(prefs), joint[a]))
    budget = sum(c.amount for c in cands) // 10
    return cands, Policy(budget=budget, every_prefecture=True)


def run(seed: int = 14) -> tuple[Selection, float, float]:
    """The selection, its wall-clock seconds and its CPU seconds (this process, all threads):
    on a shared machine the CPU time says what the solve costs, the wall time what it took."""
    cands, policy = synthetic_call(seed)
    t, cpu = time.perf_counter(), time.process_time()
    s = select(cands, policy, solve)
    return s, time.perf_counter() - t, time.process_time() - cpu


def test_the_bench_sized_call_is_solved_to_optimality_within_every_constraint() -> None:
    s, _, _ = run()
    assert s.optimal.feasible and not s.notes
    assert s.optimal.budget_used <= s.budget if s.budget is not None else True
    covered = next(c for c in s.optimal.constraints if c.key == "every_prefecture")
    assert covered.met and covered.detail == "対象47都道府県すべてで1件以上"
    assert s.optimal.total_score >= s.greedy.total_score
    assert len(s.outcomes) == N_APPLICATIONS


if __name__ == "__main__":
    for seed in (14, 15, 16):
        sel, seconds, cpu = run(seed)
        print(f"seed {seed}: {seconds:.3f} s wall, {cpu:.3f} s CPU (model + HiGHS + greedy + explanations); "
              f"optimal {sel.optimal.total_score:,.1f} ({len(sel.optimal.chosen)} selected, "
              f"{sel.optimal.budget_used:,} / {sel.budget:,} yen), greedy {sel.greedy.total_score:,.1f} "
              f"({len(sel.greedy.chosen)} selected, every prefecture: "
              f"{next(c.met for c in sel.greedy.constraints if c.key == 'every_prefecture')}), "
              f"gain {sel.gain:,.1f}")

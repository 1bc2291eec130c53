"""The selection's integer programme solved by HiGHS (scipy.optimize.milp). The model itself is
stated in ``digiden.domain.support.build_model``; this only turns it into matrices."""

from __future__ import annotations

import math

from digiden.domain.errors import DigidenError
from digiden.domain.support import Milp

TIME_LIMIT_S = 60.0


class SolverFailed(DigidenError):
    """HiGHS neither proved optimality nor infeasibility (time limit, numerical trouble)."""

    status_code = 503


HIGHS_FEASIBILITY_TOLERANCE = 1e-6


def _row_scale(coefs: dict[int, float]) -> float:
    """A power of ten that brings the row's largest coefficient below 1,000 (1 for rows of
    counts): yen become units of 10ᵏ yen, and HiGHS's tolerance 10⁻⁶ stays below a yen for any
    coefficient under 10⁸ yen."""
    top = max((abs(v) for v in coefs.values() if v), default=1.0)
    return float(10 ** max(0, math.floor(math.log10(top)) - 2))


def _violated(m: Milp, x: list[int]) -> dict[int, float]:
    """Rows of the unscaled model that x breaks, with by how much (exact for integer yen)."""
    out = {}
    for k, r in enumerate(m.rows):
        total = sum(coef * x[i] for i, coef in r.coefs.items())
        if total > r.ub + 1e-9 * max(1.0, abs(r.ub)):
            out[k] = total - r.ub
        elif total < r.lb - 1e-9 * max(1.0, abs(r.lb)):
            out[k] = total - r.lb
    return out


def solve(m: Milp) -> list[int] | None:
    """x ∈ {0,1}ⁿ maximising m.objective under m.rows, or None when no x satisfies them.
    Solved to optimality (relative gap 0).

    Each row is scaled by a power of ten before HiGHS sees it (``_row_scale``): a budget row in
    yen (coefficients up to 3·10⁷ beside rows of 0/1 counts) made HiGHS stop with "Solve error"
    on some calls. The answer is checked against the unscaled rows; a row broken within the
    tolerance (possible only for amounts of 10⁸ yen or more) is tightened past what it broke
    and the model solved again."""
    # numpy and scipy load here, on the first selection, not when the server starts (0.5 s, 53 MiB)
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp  # type: ignore[import-untyped]
    from scipy.sparse import csr_array  # type: ignore[import-untyped]

    n = len(m.objective)
    if n == 0:
        return [] if all(r.lb <= 0 <= r.ub for r in m.rows) else None
    c = -np.asarray(m.objective, dtype=float)
    scale = [_row_scale(r.coefs) for r in m.rows]
    lb = np.array([r.lb / f for r, f in zip(m.rows, scale, strict=True)], dtype=float)
    ub = np.array([r.ub / f for r, f in zip(m.rows, scale, strict=True)], dtype=float)
    a = None
    if m.rows:
        data, ri, ci = [], [], []
        for k, r in enumerate(m.rows):
            for i, coef in r.coefs.items():
                if coef:
                    data.append(coef / scale[k])
                    ri.append(k)
                    ci.append(i)
        a = csr_array((data, (ri, ci)), shape=(len(m.rows), n))
    for _ in range(4):
        constraints = [LinearConstraint(a, lb, ub)] if a is not None else []
        res = milp(c, integrality=np.ones(n), bounds=Bounds(np.zeros(n), np.asarray(m.upper, dtype=float)),
                   constraints=constraints, options={"mip_rel_gap": 0.0, "time_limit": TIME_LIMIT_S})
        if res.status == 2:
            return None
        if res.status != 0 or res.x is None:
            raise SolverFailed(f"the solver stopped without an optimal answer: {res.message}",
                               message_ja="選定の計算が時間内に終わりませんでした。条件を見直してもう一度実行してください")
        x = [1 if v > 0.5 else 0 for v in res.x]
        broken = _violated(m, x)
        if not broken:
            return x
        for k, excess in broken.items():      # beyond the tolerance: no x this close is accepted again
            if excess > 0:
                ub[k] -= excess / scale[k] + 2 * HIGHS_FEASIBILITY_TOLERANCE
            else:
                lb[k] -= excess / scale[k] - 2 * HIGHS_FEASIBILITY_TOLERANCE
    raise SolverFailed("the solver's answer kept breaking a constraint by its tolerance",
                       message_ja="選定の計算で制約をわずかに超える解しか得られませんでした。条件を見直してもう一度実行してください")

"""The selection's integer programme solved by HiGHS (scipy.optimize.milp). The model itself is
stated in ``digiden.domain.support.build_model``; this only turns it into matrices."""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp  # type: ignore[import-untyped]
from scipy.sparse import csr_array  # type: ignore[import-untyped]

from digiden.domain.errors import DigidenError
from digiden.domain.support import Milp

TIME_LIMIT_S = 60.0


class SolverFailed(DigidenError):
    """HiGHS neither proved optimality nor infeasibility (time limit, numerical trouble)."""

    status_code = 503


def solve(m: Milp) -> list[int] | None:
    """x ∈ {0,1}ⁿ maximising m.objective under m.rows, or None when no x satisfies them.
    Solved to optimality (relative gap 0)."""
    n = len(m.objective)
    if n == 0:
        return [] if all(r.lb <= 0 <= r.ub for r in m.rows) else None
    c = -np.asarray(m.objective, dtype=float)
    constraints = []
    if m.rows:
        data, ri, ci = [], [], []
        for k, r in enumerate(m.rows):
            for i, coef in r.coefs.items():
                if coef:
                    data.append(coef)
                    ri.append(k)
                    ci.append(i)
        a = csr_array((data, (ri, ci)), shape=(len(m.rows), n))
        constraints.append(LinearConstraint(a, np.array([r.lb for r in m.rows]), np.array([r.ub for r in m.rows])))
    res = milp(c, integrality=np.ones(n), bounds=Bounds(np.zeros(n), np.asarray(m.upper, dtype=float)),
               constraints=constraints, options={"mip_rel_gap": 0.0, "time_limit": TIME_LIMIT_S})
    if res.status == 2:
        return None
    if res.status != 0 or res.x is None:
        raise SolverFailed(f"the solver stopped without an optimal answer: {res.message}",
                           message_ja="選定の計算が時間内に終わりませんでした。条件を見直してもう一度実行してください")
    return [1 if v > 0.5 else 0 for v in res.x]

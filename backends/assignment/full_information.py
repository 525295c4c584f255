"""The full-information benchmark: the assignment of schedules that maximises the sum of
students' true values subject to the seats, solved to optimality.

The configuration program (one 0/1 variable per student and schedule, at most one
schedule per student, at most ``seats[c]`` students in course c) has far too many columns
to write down (100 students x 68,406 schedules), so it is solved by column generation and
reduced-cost fixing:

1. the LP relaxation is solved over a growing set of columns; a student's best new column
   at the LP's dual prices (course prices pi, student prices mu) is read off her value
   table, until no column has positive reduced cost ``v_i(S) - pi . S - mu_i``; the LP value
   is then an upper bound on the optimum;
2. the MILP over the generated columns gives a feasible assignment (a lower bound);
3. any assignment better than that lower bound uses only columns whose reduced cost
   exceeds -(upper - lower), so every such column is added and the MILP solved again.  Its
   optimum is the optimum of the full program (``proven``); when more than
   ``max_columns`` columns qualify the lower bound is kept and ``proven`` is False.

The LPs and MILPs go to HiGHS through scipy (``scipy.optimize.linprog`` / ``milp``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from .schedules import Schedules


@dataclass
class Benchmark:
    chosen: np.ndarray
    welfare: float
    upper_bound: float
    proven: bool
    columns: int
    seconds: float


def _matrices(cols_student: np.ndarray, cols_schedule: np.ndarray, n_students: int, schedules: Schedules):
    n = len(cols_student)
    students = sparse.csr_matrix((np.ones(n), (cols_student, np.arange(n))), shape=(n_students, n))
    courses = sparse.csr_matrix(schedules.matrix[cols_schedule].T.astype(np.float64))
    return sparse.vstack([students, courses]).tocsr()


def welfare_optimum(table: np.ndarray, schedules: Schedules, seats: np.ndarray,
                    warm: list[np.ndarray] | None = None, max_columns: int = 400_000,
                    max_rounds: int = 500) -> Benchmark:
    """``table``: (n_students, n_schedules) true (free-disposal) values.  ``warm``: assignments
    whose columns start the generation (the mechanisms' allocations)."""
    t0 = time.perf_counter()
    n_students, n_sched = table.shape
    cols: set[tuple[int, int]] = {(i, int(np.argmax(table[i]))) for i in range(n_students)}
    cols |= {(i, 0) for i in range(n_students)}
    for chosen in warm or []:
        cols |= {(i, int(s)) for i, s in enumerate(chosen)}
    seats_f = np.asarray(seats, dtype=np.float64)
    rhs = np.concatenate([np.ones(n_students), seats_f])
    cost = schedules.matrix.astype(np.float64)
    converged = False
    for _ in range(max_rounds):
        cs = np.array(sorted(cols))
        a = _matrices(cs[:, 0], cs[:, 1], n_students, schedules)
        res = linprog(-table[cs[:, 0], cs[:, 1]], A_ub=a, b_ub=rhs, bounds=(0, None), method="highs")
        if res.status != 0:
            raise RuntimeError(f"the benchmark LP failed: {res.message}")
        duals = -res.ineqlin.marginals
        mu, pi = duals[:n_students], duals[n_students:]
        reduced = table - (cost @ pi)[None, :] - mu[:, None]
        best = reduced.argmax(axis=1)
        new = {(i, int(best[i])) for i in range(n_students) if reduced[i, best[i]] > 1e-7}
        if not new - cols:
            converged = True
            break
        cols |= new
    # without convergence the LP value bounds only the generated columns, not the optimum
    upper = float(mu.sum() + pi @ seats_f) if converged else float("inf")
    chosen, lower = _solve_milp(table, schedules, sorted(cols), n_students, rhs)
    proven = upper - lower <= 1e-6 * max(1.0, abs(upper))
    if not proven and converged:
        gap = upper - lower
        extra = np.argwhere(reduced >= -gap - 1e-9)
        if len(extra) + len(cols) <= max_columns:
            cols |= {(int(i), int(s)) for i, s in extra}
            chosen, lower = _solve_milp(table, schedules, sorted(cols), n_students, rhs)
            proven = True
    return Benchmark(chosen, lower, upper, proven, len(cols), time.perf_counter() - t0)


def _solve_milp(table: np.ndarray, schedules: Schedules, cols: list[tuple[int, int]], n_students: int,
                rhs: np.ndarray) -> tuple[np.ndarray, float]:
    cs = np.array(cols)
    a = _matrices(cs[:, 0], cs[:, 1], n_students, schedules)
    values = table[cs[:, 0], cs[:, 1]]
    res = milp(-values, constraints=LinearConstraint(a, -np.inf, rhs), integrality=np.ones(len(cs)),
               bounds=Bounds(0, 1), options={"mip_rel_gap": 0.0})
    if res.status != 0 or res.x is None:
        raise RuntimeError(f"the benchmark MILP failed: {res.message}")
    pick = res.x > 0.5
    chosen = np.zeros(n_students, dtype=np.int64)
    chosen[cs[pick, 0]] = cs[pick, 1]
    return chosen, float(values[pick].sum())

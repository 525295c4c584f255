"""Sparse linear models and the solvers behind the exact backend.

Constraint matrices are built as whole ``scipy.sparse`` blocks, one block per
constraint family, from index arithmetic on numpy arrays: a modelling layer that
creates one scalar constraint at a time was measured 500x slower to compile, and
model construction, not the solve, dominated (docs/published-figures.md, exact methods: 147 s through highspy
directly against 520 s through cvxpy on the same LP).  LPs go to HiGHS through
highspy, which also lets constraint generation add rows to a live model and
re-solve from the previous basis (dual simplex warm start).  Small MILPs go
through pulp (CBC or HiGHS), where branch and bound, not construction, is the
cost, and pulp lets the user pick the MILP solver.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from auctionc.solvers import cbc_solver, new_highs

INF = np.inf


@dataclass
class RowBlock:
    """One family of rows ``lo <= A x <= hi``."""

    family: str
    A: sp.csr_matrix
    lo: np.ndarray
    hi: np.ndarray

    @property
    def n_rows(self) -> int:
        return self.A.shape[0]


def coo_block(family: str, n_vars: int, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray,
              n_rows: int, lo: float | np.ndarray, hi: float | np.ndarray) -> RowBlock:
    """A block from COO triplets (duplicates are summed, explicit zeros dropped)."""
    keep = vals != 0
    A = sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=(n_rows, n_vars))
    A.sum_duplicates()
    A.eliminate_zeros()
    lo_a = np.broadcast_to(np.asarray(lo, float), (n_rows,)).copy()
    hi_a = np.broadcast_to(np.asarray(hi, float), (n_rows,)).copy()
    return RowBlock(family, A, lo_a, hi_a)


@dataclass
class LinearModel:
    """``maximize cost @ x`` subject to variable bounds and row blocks."""

    n_vars: int
    cost: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integer: np.ndarray | None = None
    blocks: list[RowBlock] = field(default_factory=list)
    var_groups: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Named variable ranges [start, stop), for messages about unbounded directions."""

    def add(self, block: RowBlock) -> None:
        if block.n_rows:
            self.blocks.append(block)

    def family_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for b in self.blocks:
            out[b.family] = out.get(b.family, 0) + b.n_rows
        return out

    @property
    def n_rows(self) -> int:
        return sum(b.n_rows for b in self.blocks)

    def group_of(self, j: int) -> str:
        for name, (a, b) in self.var_groups.items():
            if a <= j < b:
                return name
        return "variables"


@dataclass
class SolveOutcome:
    status: str  # "optimal", "infeasible", "unbounded", or a solver status string
    x: np.ndarray | None
    objective: float | None
    seconds: float
    solver: str


class HighsLP:
    """A live HiGHS model: build once, add rows, re-solve warm."""

    def __init__(self, model: LinearModel, *, time_limit: float = 0.0, threads: int = 1) -> None:
        import highspy

        self._hs = highspy
        h = new_highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", int(threads))
        if time_limit and time_limit > 0:
            h.setOptionValue("time_limit", float(time_limit))
        h.addVars(model.n_vars, np.asarray(model.lb, float), np.asarray(model.ub, float))
        h.changeColsCost(model.n_vars, np.arange(model.n_vars, dtype=np.int32), np.asarray(model.cost, float))
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        self.h = h
        self.n_vars = model.n_vars
        for b in model.blocks:
            self.add_rows(b)

    def add_rows(self, block: RowBlock) -> None:
        if not block.n_rows:
            return
        A = block.A.tocsr()
        A.sort_indices()
        self.h.addRows(
            A.shape[0],
            block.lo,
            block.hi,
            A.nnz,
            A.indptr[:-1].astype(np.int32),
            A.indices.astype(np.int32),
            A.data.astype(float),
        )

    def solve(self) -> SolveOutcome:
        t0 = time.perf_counter()
        self.h.run()
        dt = time.perf_counter() - t0
        ms = self.h.getModelStatus()
        M = self._hs.HighsModelStatus
        if ms == M.kOptimal:
            x = np.asarray(self.h.getSolution().col_value, float)
            return SolveOutcome("optimal", x, float(self.h.getInfo().objective_function_value), dt, "highs")
        if ms == M.kInfeasible:
            return SolveOutcome("infeasible", None, None, dt, "highs")
        if ms in (M.kUnbounded, M.kUnboundedOrInfeasible):
            return SolveOutcome("unbounded", None, None, dt, "highs")
        return SolveOutcome(self.h.modelStatusToString(ms), None, None, dt, "highs")


def solve_milp_pulp(model: LinearModel, *, solver: str = "cbc", time_limit: float = 0.0) -> SolveOutcome:
    """Solve ``model`` with its integrality through pulp (CBC or HiGHS)."""
    import pulp

    t0 = time.perf_counter()
    prob = pulp.LpProblem("auctionc_exact", pulp.LpMaximize)
    integer = model.integer if model.integer is not None else np.zeros(model.n_vars, bool)
    make_var = getattr(prob, "add_variable", None) or pulp.LpVariable  # pulp >= 3.3 attaches variables to the model
    xs = [
        make_var(
            f"x{j}",
            lowBound=None if not np.isfinite(model.lb[j]) else float(model.lb[j]),
            upBound=None if not np.isfinite(model.ub[j]) else float(model.ub[j]),
            cat=pulp.LpInteger if integer[j] else pulp.LpContinuous,
        )
        for j in range(model.n_vars)
    ]
    nz = np.flatnonzero(model.cost)
    prob += pulp.LpAffineExpression([(xs[j], float(model.cost[j])) for j in nz])
    k = 0
    for b in model.blocks:
        A = b.A.tocsr()
        for r in range(A.shape[0]):
            s, e = A.indptr[r], A.indptr[r + 1]
            expr = pulp.LpAffineExpression([(xs[j], float(v)) for j, v in zip(A.indices[s:e], A.data[s:e], strict=False)])
            lo, hi = b.lo[r], b.hi[r]
            if np.isfinite(lo) and np.isfinite(hi) and lo == hi:
                prob += pulp.LpConstraint(expr, pulp.LpConstraintEQ, f"c{k}", float(lo))
            else:
                if np.isfinite(lo):
                    prob += pulp.LpConstraint(expr, pulp.LpConstraintGE, f"c{k}l", float(lo))
                if np.isfinite(hi):
                    prob += pulp.LpConstraint(expr, pulp.LpConstraintLE, f"c{k}u", float(hi))
            k += 1
    tl = float(time_limit) if time_limit and time_limit > 0 else None
    if solver == "highs":
        new_highs()  # the banner, once per process, on stderr
        s = pulp.HiGHS(msg=False, timeLimit=tl, threads=1)
    else:
        s = cbc_solver(pulp, timeLimit=tl, threads=1)
    prob.solve(s)
    dt = time.perf_counter() - t0
    status = pulp.LpStatus[prob.status].lower()
    name = "highs" if solver == "highs" else "cbc"
    if prob.status == pulp.LpStatusOptimal:
        x = np.array([v.varValue if v.varValue is not None else 0.0 for v in xs], float)
        return SolveOutcome("optimal", x, float(pulp.value(prob.objective) or 0.0), dt, f"pulp/{name}")
    if status == "infeasible":
        return SolveOutcome("infeasible", None, None, dt, f"pulp/{name}")
    if status == "unbounded":
        return SolveOutcome("unbounded", None, None, dt, f"pulp/{name}")
    return SolveOutcome(status, None, None, dt, f"pulp/{name}")


def blame_infeasible(model: LinearModel, *, candidates: list[str]) -> list[str]:
    """The constraint families whose removal alone makes the LP feasible."""
    out = []
    for fam in candidates:
        m = LinearModel(model.n_vars, np.zeros(model.n_vars), model.lb, model.ub, None,
                        [b for b in model.blocks if b.family != fam])
        if HighsLP(m).solve().status == "optimal":
            out.append(fam)
    return out


def unbounded_groups(model: LinearModel, box: float = 1e6) -> list[str]:
    """The variable groups that run to a large box when every free variable is boxed."""
    lb = np.where(np.isfinite(model.lb), model.lb, -box)
    ub = np.where(np.isfinite(model.ub), model.ub, box)
    m = LinearModel(model.n_vars, model.cost, lb, ub, None, model.blocks, model.var_groups)
    res = HighsLP(m).solve()
    if res.x is None:
        return []
    hit = np.flatnonzero(np.abs(res.x) >= 0.5 * box)
    return sorted({model.group_of(int(j)) for j in hit})


def stats_of(model: LinearModel) -> dict[str, Any]:
    return {"variables": int(model.n_vars), "constraints": int(model.n_rows), "constraints_by_family": model.family_counts()}

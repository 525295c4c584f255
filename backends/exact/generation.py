"""Constraint generation for the IC family: solve on a working set, check every pair on
the solution, add the violated ones, re-solve (warm for LPs), until nothing outside
the working set is violated by more than ``tol``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from auctionc.backends.exact.model import (
    HighsLP,
    LinearModel,
    RowBlock,
    SolveOutcome,
    solve_milp_pulp,
    stats_of,
)

if TYPE_CHECKING:
    from auctionc.progress import Progress


class ICFamily(Protocol):
    def initial(self) -> list[RowBlock]: ...

    def separate(self, x: np.ndarray, tol: float) -> tuple[list[RowBlock], int, float]:
        """Rows to add (violated pairs not yet in the working set), how many pairs are
        violated beyond ``tol`` outside the working set, the largest violation overall."""
        ...


@dataclass
class GenerationLog:
    rounds: int = 0
    per_round: list[dict[str, Any]] = field(default_factory=list)
    solve_seconds: float = 0.0
    converged: bool = False
    max_violation: float = float("nan")


def top_k_new(gain: np.ndarray, mask: np.ndarray, tol: float, k: int, axis: int = 1) -> tuple[np.ndarray, ...]:
    """Indices of up to ``k`` largest gains above ``tol`` along ``axis`` that ``mask``
    does not hold yet; marks them in ``mask``."""
    cand = (gain > tol) & ~mask
    if not cand.any():
        return tuple(np.zeros(0, np.int64) for _ in range(gain.ndim))
    g = np.where(cand, gain, -np.inf)
    n = g.shape[axis]
    if k < n:
        part = np.argpartition(-g, k - 1, axis=axis)
        part = np.take(part, np.arange(k), axis=axis)
        sel = np.zeros_like(cand)
        np.put_along_axis(sel, part, True, axis=axis)
        cand &= sel
    idx = np.nonzero(cand)
    mask[idx] = True
    return idx


def run_generation(
    model: LinearModel,
    family: ICFamily,
    *,
    tol: float,
    max_rounds: int,
    time_limit: float,
    milp_solver: str | None,
    progress: Progress,
    label: str,
) -> tuple[SolveOutcome, GenerationLog]:
    """Solve ``model`` plus the generated IC rows.  ``milp_solver`` None means LP (HiGHS)."""
    log = GenerationLog()
    for b in family.initial():
        model.add(b)
    session = HighsLP(model, time_limit=time_limit) if milp_solver is None else None
    t_start = time.perf_counter()
    res: SolveOutcome
    while True:
        left = time_limit - (time.perf_counter() - t_start) if time_limit else 0.0
        if time_limit and left <= 0:
            res = SolveOutcome("time limit reached", None, None, 0.0, "highs" if session else milp_solver or "")
            break
        if session is not None:
            if time_limit:
                session.h.setOptionValue("time_limit", float(left))
            res = session.solve()
        else:
            res = solve_milp_pulp(model, solver=milp_solver or "cbc", time_limit=left)
        log.solve_seconds += res.seconds
        log.rounds += 1
        if res.status != "optimal" or res.x is None:
            break
        blocks, n_viol, worst = family.separate(res.x, tol)
        log.max_violation = worst
        added = sum(b.n_rows for b in blocks)
        log.per_round.append(
            {"round": log.rounds, "rows": model.n_rows, "objective": res.objective, "violated_pairs": n_viol,
             "max_violation": worst, "added": added, "seconds": round(res.seconds, 4)}
        )
        progress.log(
            f"[{label}] round {log.rounds}: objective {res.objective:.6f}, {model.n_rows} rows, "
            f"{n_viol} violated pairs (max {worst:.2e}), adding {added}"
        )
        if added == 0:
            log.converged = True
            break
        if log.rounds >= max_rounds:
            break
        for b in blocks:
            model.add(b)
            if session is not None:
                session.add_rows(b)
    return res, log


def solve_stats(model: LinearModel, log: GenerationLog, res: Any, build_s: float) -> dict[str, Any]:
    """The size, rounds and timings every exact program reports."""
    return {
        **stats_of(model),
        "rounds": log.rounds,
        "per_round": log.per_round,
        "build_seconds": round(build_s, 4),
        "solve_seconds": round(log.solve_seconds, 4),
        "solver": res.solver,
        "solver_status": res.status,
    }

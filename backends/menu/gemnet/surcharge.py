"""GemNet's compatibility certificate and its price-only transform (numpy + scipy/HiGHS).

A GemNet mechanism gives bidder i a menu computed from the others' reports only; bidder i
takes its best element (or the null element).  It is strategy-proof exactly when the chosen
elements never over-allocate an item together (menu compatibility).  This module proves
compatibility on the whole value box:

* The box is cut into a uniform grid of full-profile cells.  For each bidder and each cell of
  the *others'* values, interval bound propagation through the menu network, intersected
  with the centre value +/- a global Lipschitz bound times the cell radius, bounds every
  element's allocation and price over the cell.
* From these, each element's utility is bounded over the full cell; an element whose upper
  bound is below the best lower bound (the null element's is 0) is never chosen there.  A cell
  is compatible when, for every item, the sum over bidders of the largest allocation any
  still-possible element gives is at most 1.  Every step over-approximates, so a cell that
  passes is compatible at every profile inside it.
* Cells that fail are repaired by surcharges: a non-negative price increase per bidder,
  per cell of the others' values and per element (a function of the others' values only, so
  self-bid independence and hence SP are kept).  A MILP chooses the surcharges that exclude
  enough elements in every failing cell at the least weighted price change; the whole grid
  is then re-checked and newly failing cells are added (constraint generation).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from auctionc.backends.menu.gemnet.network_bounds import (
    TIE_TOL,
    NetWeights,
    forward,
    interval_bounds,
    lipschitz_bounds,
)

ETA = 1e-5
"""Domination margin of the MILP (relative to the value scale): well above the solver's
feasibility tolerance, so a solution the MILP accepts also passes the exact re-check."""


# --------------------------------------------------------------------------
# Grid
# --------------------------------------------------------------------------


@dataclass
class Grid:
    """``cells`` intervals per coordinate over ``box (n, m, 2)`` (value units)."""

    box: np.ndarray
    cells: int

    @property
    def n(self) -> int:
        return self.box.shape[0]

    @property
    def m(self) -> int:
        return self.box.shape[1]

    @property
    def own_cells(self) -> int:
        return self.cells**self.m

    @property
    def full_cells(self) -> int:
        return self.own_cells**self.n

    def own_boxes(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """``(G, m)`` lower and upper corners of bidder i's own cells (row-major)."""
        g = self.cells
        idx = np.stack(np.unravel_index(np.arange(self.own_cells), (g,) * self.m), axis=1)
        lo, hi = self.box[i, :, 0], self.box[i, :, 1]
        h = (hi - lo) / g
        return lo + idx * h, lo + (idx + 1) * h

    def others(self, i: int) -> list[int]:
        return [j for j in range(self.n) if j != i]

    def other_boxes(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """``(G^(n-1), (n-1)*m)`` boxes of the others' values, ordered like the flat index of
        ``(own cell of j for j != i)``."""
        parts_lo, parts_hi = [], []
        for j in self.others(i):
            lo, hi = self.own_boxes(j)
            parts_lo.append(lo)
            parts_hi.append(hi)
        G = self.own_cells
        k = len(parts_lo)
        idx = np.stack(np.unravel_index(np.arange(G**k), (G,) * k), axis=1)
        lo = np.concatenate([parts_lo[t][idx[:, t]] for t in range(k)], axis=1)
        hi = np.concatenate([parts_hi[t][idx[:, t]] for t in range(k)], axis=1)
        return lo, hi

    def cell_of(self, values: np.ndarray) -> np.ndarray:
        """``(B, n)`` own-cell index of each bidder for values ``(B, n, m)`` (clipped to the box)."""
        g = self.cells
        lo, hi = self.box[None, :, :, 0], self.box[None, :, :, 1]
        t = np.floor((values - lo) / np.maximum(hi - lo, 1e-300) * g).astype(np.int64)
        t = np.clip(t, 0, g - 1)
        return np.ravel_multi_index(tuple(np.moveaxis(t, 2, 0)), (g,) * self.m) if self.m > 1 else t[..., 0]

    def others_index(self, own: np.ndarray, i: int) -> np.ndarray:
        """Flat others-cell index of bidder i from own-cell indices ``(B, n)``."""
        cols = [own[:, j] for j in self.others(i)]
        if not cols:
            return np.zeros(len(own), dtype=np.int64)
        return np.ravel_multi_index(tuple(cols), (self.own_cells,) * len(cols))

    def to_json(self) -> dict[str, Any]:
        return {"cells_per_coordinate": self.cells, "box": self.box.tolist(), "full_cells": self.full_cells}


def auto_cells(n: int, m: int, budget: int = 160_000, cap: int = 400) -> int:
    """The finest uniform grid whose number of full-profile cells stays within ``budget``."""
    g = int(np.floor(budget ** (1.0 / (n * m)) + 1e-9))
    return max(2, min(cap, g))


# --------------------------------------------------------------------------
# The cell check
# --------------------------------------------------------------------------


@dataclass
class MenuBounds:
    """Per bidder, over its others-cells: allocation and price bounds (value units)."""

    aL: np.ndarray  # (Gc, K, m)
    aU: np.ndarray
    pL: np.ndarray  # (Gc, K)
    pU: np.ndarray


def menu_bounds(nets: list[NetWeights], grid: Grid, scale: float) -> tuple[list[MenuBounds], dict[str, float]]:
    """IBP bounds intersected with Lipschitz bounds around each cell's centre."""
    out = []
    La_max = Lp_max = 0.0
    for i, net in enumerate(nets):
        lo, hi = grid.other_boxes(i)
        aL, aU, pL, pU = interval_bounds(net, lo / scale, hi / scale)
        La, Lp = lipschitz_bounds(net)
        La_v = La / scale  # allocation per unit of value
        r = float(((hi - lo) / 2).max()) if lo.size else 0.0
        ac, pc = forward(net, (lo + hi) / 2 / scale)
        aL = np.maximum(aL, ac - La_v * r - 1e-12)
        aU = np.minimum(aU, ac + La_v * r + 1e-12)
        # prices are normalised here: the radius in normalised input units is r / scale
        pL = np.maximum(pL, pc - Lp * r / scale - 1e-12)
        pU = np.minimum(pU, pc + Lp * r / scale + 1e-12)
        out.append(MenuBounds(np.clip(aL, 0, 1), np.clip(aU, 0, 1), pL * scale, pU * scale))
        La_max, Lp_max = max(La_max, La_v), max(Lp_max, Lp)
    return out, {"allocation": La_max, "price": Lp_max}


def _utility_bounds(vlo, vhi, aL, aU):
    """Bounds of sum_j v_j a_j over boxes; ``vlo (O, m)``, ``aL (C, K, m)`` -> ``(O, C, K)``."""
    if (vlo >= 0).all():
        return np.einsum("om,ckm->ock", vlo, aL), np.einsum("om,ckm->ock", vhi, aU)
    prods = [np.einsum("om,ckm->ockm", v, a) for v in (vlo, vhi) for a in (aL, aU)]
    return np.minimum.reduce(prods).sum(-1), np.maximum.reduce(prods).sum(-1)


def usage_bounds(
    grid: Grid, bounds: list[MenuBounds], surcharge: list[np.ndarray], chunk: int = 2_000_000
) -> np.ndarray:
    """``(N, m)``: for every full cell (row-major over the bidders' own-cell indices), an upper
    bound on the total allocation of each item."""
    n, m, G = grid.n, grid.m, grid.own_cells
    total = np.zeros((G,) * n + (m,))
    for i in range(n):
        vlo, vhi = grid.own_boxes(i)
        b = bounds[i]
        Gc, K = b.pL.shape
        pL, pU = b.pL + surcharge[i], b.pU + surcharge[i]
        maxa = np.zeros((G, Gc, m))
        step = max(1, chunk // max(1, Gc * K * m))
        for s in range(0, G, step):
            uL, uU = _utility_bounds(vlo[s : s + step], vhi[s : s + step], b.aL, b.aU)
            uL, uU = uL - pU[None], uU - pL[None]
            thr = np.maximum(uL.max(-1, keepdims=True), 0.0) - 2 * TIE_TOL
            cand = uU >= thr
            maxa[s : s + step] = np.where(cand[..., None], b.aU[None], 0.0).max(2)
        arr = maxa.reshape((G,) + (G,) * (n - 1) + (m,))
        total += np.moveaxis(arr, 0, i)
    return total.reshape(-1, m)


def failing_cells(grid: Grid, bounds: list[MenuBounds], surcharge: list[np.ndarray]) -> np.ndarray:
    use = usage_bounds(grid, bounds, surcharge)
    return np.flatnonzero((use > 1.0 + 1e-9).any(1))


def recheck_surcharge(nets: list[NetWeights], grid: Grid, scale: float, surcharge: list[np.ndarray] | None) -> dict[str, Any]:
    """Re-check compatibility on the grid: ``{"ok", "failed_cells", "checked_cells", "lipschitz_bound"}``."""
    bounds, L = menu_bounds(nets, grid, scale)
    if surcharge is None:
        surcharge = [np.zeros_like(b.pL) for b in bounds]
    failed = failing_cells(grid, bounds, surcharge)
    return {
        "ok": bool(len(failed) == 0),
        "failed_cells": int(len(failed)),
        "checked_cells": grid.full_cells,
        "lipschitz_bound": L,
        "grid": grid.to_json(),
    }


# --------------------------------------------------------------------------
# The price-only transform (MILP, constraint generation)
# --------------------------------------------------------------------------


@dataclass
class TransformResult:
    surcharge: list[np.ndarray]
    certified: bool
    milp_status: str
    rounds: int
    failed_before: int
    failed_after: int
    seconds: float
    lipschitz_bound: dict[str, float]
    milp_sizes: list[dict[str, int]]


def _full_index(grid: Grid, cells: np.ndarray) -> np.ndarray:
    """``(len(cells), n)`` own-cell index of each bidder for flat full-cell indices."""
    return np.stack(np.unravel_index(cells, (grid.own_cells,) * grid.n), axis=1)


def transform(
    nets: list[NetWeights],
    grid: Grid,
    scale: float,
    weights: list[np.ndarray],
    *,
    time_limit: float = 60.0,
    max_rounds: int = 8,
    log=None,
) -> TransformResult:
    """Find surcharges that make every grid cell pass the check.  ``weights[i] (Gc, K)``
    prices the surcharges in the MILP objective (estimated revenue at stake)."""
    t0 = time.perf_counter()
    bounds, L = menu_bounds(nets, grid, scale)
    sur = [np.zeros_like(b.pL) for b in bounds]
    failed = failing_cells(grid, bounds, sur)
    failed_before = len(failed)
    work: np.ndarray = np.zeros(0, dtype=np.int64)
    status = "not needed"
    rounds = 0
    sizes: list[dict[str, int]] = []
    while len(failed) and rounds < max_rounds:
        left = time_limit - (time.perf_counter() - t0)
        if left <= 1.0:
            status = "time budget exhausted"
            break
        rounds += 1
        work = np.union1d(work, failed)
        # leave later constraint-generation rounds some of the budget
        budget = left if rounds == max_rounds else max(1.0, 0.6 * left)
        sol, status, size = _solve_milp(grid, bounds, scale, weights, work, sur, budget)
        sizes.append(size)
        if log:
            log(f"transform round {rounds}: {len(failed)} failing cells, MILP over {len(work)} cells: {status}")
        if sol is None:
            break
        sur = sol
        failed = failing_cells(grid, bounds, sur)
    return TransformResult(
        surcharge=sur,
        certified=len(failed) == 0,
        milp_status=status,
        rounds=rounds,
        failed_before=failed_before,
        failed_after=int(len(failed)),
        seconds=time.perf_counter() - t0,
        lipschitz_bound=L,
        milp_sizes=sizes,
    )


def _solve_milp(grid, bounds, scale, weights, cells, current, time_limit):
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    n, m = grid.n, grid.m
    K = bounds[0].pL.shape[1]
    own = _full_index(grid, cells)
    eta = ETA * scale
    # surcharge variables: one per (bidder, others-cell, element) that some work cell touches
    pairs: dict[tuple[int, int], int] = {}
    oth = [grid.others_index(own, i) for i in range(n)]
    for i in range(n):
        for c in np.unique(oth[i]):
            pairs[(i, int(c))] = len(pairs)
    nt = len(pairs) * K
    tmax = np.zeros(nt)
    cost = np.zeros(nt)
    vmax = [grid.box[i, :, 1].clip(min=0).sum() for i in range(n)]
    for (i, c), p in pairs.items():
        tmax[p * K : (p + 1) * K] = 2 * vmax[i] + 2 * np.abs(bounds[i].pU[c]).max() + scale
        cost[p * K : (p + 1) * K] = weights[i][c]

    rows, cols, vals, lo, hi = [], [], [], [], []
    var_lb, var_ub, integ, obj = list(np.zeros(nt)), list(tmax), [0] * nt, list(cost)

    def new_var(lb, ub, is_int):
        var_lb.append(lb)
        var_ub.append(ub)
        integ.append(1 if is_int else 0)
        obj.append(0.0)
        return len(var_lb) - 1

    r = 0

    def add(coefs: list[tuple[int, float]], lb: float, ub: float) -> None:
        nonlocal r
        for j, v in coefs:
            rows.append(r)
            cols.append(j)
            vals.append(v)
        lo.append(lb)
        hi.append(ub)
        r += 1

    vlos = [grid.own_boxes(i) for i in range(n)]
    for row in range(len(cells)):
        wvars = np.zeros((n, m), dtype=np.int64)
        for i in range(n):
            o, c = int(own[row, i]), int(oth[i][row])
            b = bounds[i]
            uL, uU = _utility_bounds(vlos[i][0][o : o + 1], vlos[i][1][o : o + 1], b.aL[c : c + 1], b.aU[c : c + 1])
            uL, uU = uL[0, 0] - b.pU[c], uU[0, 0] - b.pL[c]
            a = int(np.argmax(uL)) if uL.max() > 0 else -1  # anchor; -1 is the null element
            base = pairs[(i, c)] * K
            for j in range(m):
                wvars[i, j] = new_var(0.0, 1.0, False)
            for k in range(K):
                if uU[k] < 0 and k != a:
                    continue  # the null element beats it whatever the surcharges
                aU = b.aU[c, k]
                dn = new_var(0.0, 1.0, True)
                add([(base + k, 1.0), (dn, -(uU[k] + eta))], 0.0, np.inf)
                excl = [(dn, 1.0)]
                if a >= 0 and k != a:
                    da = new_var(0.0, 1.0, True)
                    gap = uU[k] - uL[a] + eta
                    M = gap + tmax[base + a]
                    add([(base + k, 1.0), (base + a, -1.0), (da, -M)], gap - M, np.inf)
                    excl.append((da, 1.0))
                    add(excl, -np.inf, 1.0)
                for j in range(m):
                    if aU[j] > 0:
                        add([(int(wvars[i, j]), 1.0)] + [(v, aU[j]) for v, _ in excl], aU[j], np.inf)
        for j in range(m):
            add([(int(wvars[i, j]), 1.0) for i in range(n)], -np.inf, 1.0)

    nv = len(var_lb)
    A = coo_matrix((vals, (rows, cols)), shape=(r, nv)).tocsr()
    # keep surcharges already found for columns outside this model, warm-start the rest
    res = milp(
        c=np.asarray(obj),
        integrality=np.asarray(integ),
        bounds=Bounds(np.asarray(var_lb), np.asarray(var_ub)),
        constraints=LinearConstraint(A, np.asarray(lo), np.asarray(hi)),
        options={"time_limit": max(1.0, time_limit), "disp": False, "mip_rel_gap": 1e-2},
    )
    names = {0: "optimal", 1: "time limit", 2: "infeasible", 3: "unbounded", 4: "solver error"}
    status = names.get(res.status, str(res.status))
    size = {"variables": nv, "binaries": int(sum(integ)), "constraints": r, "cells": int(len(cells))}
    if res.x is None:
        return None, status, size
    if res.status == 1:
        status = "time limit (feasible incumbent)"
    sur = [s.copy() for s in current]
    for (i, c), p in pairs.items():
        sur[i][c] = np.maximum(res.x[p * K : (p + 1) * K], 0.0)
    return sur, status, size

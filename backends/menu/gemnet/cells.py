"""GemNet certification for menus that are constant on the cells of a grid of the others'
reports (the ``cells`` transform).

Why this third transform: the ``scale`` transform certifies menus that move continuously
with the others' reports, so every box check must bound how a network varies over the box
(interval and Lipschitz bounds), and on 2x2 those bounds are loose enough to cost ~5% of
the revenue.  Here bidder i's menu is the network evaluated at one representative point of
the others' grid cell (the cell's centre; the cap for an unbounded tail cell), so it is a
finite table of menus and nothing has to be bounded:

* On the full-profile cell ``c = c_1 x ... x c_n`` every bidder's menu is fixed (it depends
  on the others' cells only) and bidder i's choice depends on its own value ``v_i in c_i``
  alone.  The choices the bidders can make on ``c`` therefore form a product set: each
  combination of possible choices really occurs at some profile of the cell.  So the
  mechanism is feasible on ``c`` iff, for every item j, ``sum_i max_{k in S_i} a_ikj <= 1``
  where ``S_i`` are the elements bidder i may choose somewhere in ``c_i``.  The check is
  exact up to how tightly ``S_i`` is enclosed.
* ``S_i`` is enclosed by pairwise domination: element k is dropped when the null element or
  another element l beats it by more than the tie tolerance at every point of the own box
  (the minimum of the linear function ``v . (a_l - a_k) - (p_l - p_k)`` over a box is exact;
  an unbounded own coordinate is handled exactly).  Where a cell fails, the own box is
  bisected ``depth`` times along every finite coordinate and ``S_i`` is the union over the
  sub-boxes, which is tighter.
* Where cells fail, ``repair`` changes single menu elements (a surcharge that prices an
  element out of the conflicting own cell, or a trim of a lottery fragment): any table of
  menus that depends only on the others' reports keeps IC and IR, so only compatibility has
  to be re-checked, and it is, round by round.
* Multiplying bidder i's menu (allocations and prices) by a factor ``f_i`` of the others'
  cell keeps every choice, so for the cells the repair leaves, the condition
  ``sum_i f_i U_ij <= 1`` is linear in the factors: the LP of ``adaptive.solve_factors``
  maximises the revenue kept.
* ``check`` rebuilds the menu table from the weights, recomputes every enclosure and
  confirms each full cell; the artifact evaluates menus from the same table, so what is
  checked is exactly what runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from auctionc.backends.menu.gemnet.edge_grid import EdgeGrid
from auctionc.backends.menu.gemnet.network_bounds import TIE_TOL, NetWeights, forward
from auctionc.backends.menu.gemnet.scale import failing_boxes, solve_factors

DOMINATION_TOL = 2 * TIE_TOL
"""An element is dropped only when beaten by more than this everywhere (the mechanism keeps
every element within TIE_TOL of the best, then takes the dearest)."""
CHUNK = 2_000_000
"""Elements of the pairwise-difference arrays handled at once (memory stays ~100 MB)."""


# --------------------------------------------------------------------------
# The table of menus
# --------------------------------------------------------------------------


def representatives(grid: EdgeGrid) -> list[list[np.ndarray]]:
    """Per bidder and item, the point of each cell where the networks are evaluated: the
    centre of a finite cell, the lower edge of an unbounded tail cell."""
    out = []
    for row in grid.edges:
        reps = []
        for e in row:
            mid = (e[:-1] + e[1:]) / 2
            reps.append(np.where(np.isfinite(e[1:]), mid, e[:-1]))
        out.append(reps)
    return out


def snap(grid: EdgeGrid, values: np.ndarray) -> np.ndarray:
    """``(B, n, m)`` values replaced by their cells' representative points."""
    reps = representatives(grid)
    out = np.empty(values.shape, dtype=float)
    for i in range(grid.n):
        for j in range(grid.m):
            e = grid.edges[i][j]
            k = np.clip(np.searchsorted(e, values[:, i, j], side="right") - 1, 0, len(e) - 2)
            out[:, i, j] = reps[i][j][k]
    return out


def others_points(grid: EdgeGrid, i: int) -> np.ndarray:
    """``(others_count(i), (n-1) * m)`` representative reports of the others, one row per
    others-cell in the order of ``EdgeGrid.others_index``."""
    reps = representatives(grid)
    others = grid.others(i)
    flat = np.arange(grid.others_count(i))
    own = np.unravel_index(flat, tuple(grid.own_count(j) for j in others))
    cols = []
    for j, oj in zip(others, own, strict=True):
        idx = np.unravel_index(oj, grid.counts(j))
        cols += [reps[j][t][idx[t]] for t in range(grid.m)]
    return np.stack(cols, axis=1)


def menu_table(nets: list[NetWeights], scale: float, grid: EdgeGrid,
               surcharge: list[np.ndarray] | None = None,
               caps: list[np.ndarray] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per bidder, allocations ``(others_count, K, m)`` and prices ``(others_count, K)`` in
    value units, with the repair's surcharges and allocation caps: the only menus the
    mechanism offers."""
    out = []
    for i, net in enumerate(nets):
        a, p = forward(net, others_points(grid, i) / scale)
        p = p * scale
        if surcharge is not None:
            p = p + surcharge[i]
        if caps is not None:
            a = np.minimum(a, caps[i])
        out.append((a, p))
    return out


# --------------------------------------------------------------------------
# Which elements a bidder may choose on a box of its own values
# --------------------------------------------------------------------------


def _gaps(a: np.ndarray, p: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``(N, K+1, K+1)``: the least amount by which element l (the last one is null) beats
    element k over the own box, ``min_v (u_l(v) - u_k(v))`` (``-inf`` where unbounded)."""
    N, K, m = a.shape
    a1 = np.concatenate([a, np.zeros((N, 1, m))], axis=1)
    p1 = np.concatenate([p, np.zeros((N, 1))], axis=1)
    d = a1[:, None, :, :] - a1[:, :, None, :]  # [n, k, l] = a_l - a_k
    dp = p1[:, None, :] - p1[:, :, None]  # p_l - p_k
    tail = ~np.isfinite(hi)
    hi_f = np.where(tail, 0.0, hi)
    # min over the box of v . d: lower corner where d > 0, upper where d < 0
    low = np.einsum("nklm,nm->nkl", np.maximum(d, 0.0), lo) + np.einsum("nklm,nm->nkl", np.minimum(d, 0.0), hi_f)
    unbounded = np.einsum("nklm,nm->nkl", (d < 0).astype(float), tail.astype(float)) > 0
    return np.where(unbounded, -np.inf, low - dp)


def _possible(a: np.ndarray, p: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Elements of menus ``a (N, K, m)``, ``p (N, K)`` that may be chosen for some own value
    in the boxes ``[lo, hi] (N, m)`` (pairwise domination, the null element included)."""
    K = a.shape[1]
    return ~(_gaps(a, p, lo, hi) > DOMINATION_TOL).any(2)[:, :K]


def usage(a: np.ndarray, p: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``(N, m)``: the largest allocation of each item among the elements that may be chosen
    (0 where only the null element may be)."""
    N, K, m = a.shape
    per = max(1, CHUNK // max(1, (K + 1) ** 2 * m))
    out = np.zeros((N, m))
    for s in range(0, N, per):
        sl = slice(s, s + per)
        ok = _possible(a[sl], p[sl], lo[sl], hi[sl])
        out[sl] = np.where(ok[..., None], a[sl], 0.0).max(1)
    return out


def _sub_boxes(lo: np.ndarray, hi: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Each box ``(N, m)`` cut into ``2**depth`` parts along every finite coordinate:
    ``(N, P, m)``."""
    N, m = lo.shape
    parts = 2**depth
    fin = np.isfinite(hi)
    t = np.arange(parts + 1) / parts
    los, his = [], []
    for j in range(m):
        edges = np.where(fin[:, j, None], lo[:, j, None] + (np.where(fin[:, j], hi[:, j], lo[:, j]) - lo[:, j])[:, None] * t,
                         np.nan)
        # a tail coordinate stays whole
        jl = np.where(fin[:, j, None], edges[:, :-1], lo[:, j, None])
        jh = np.where(fin[:, j, None], edges[:, 1:], hi[:, j, None])
        los.append(jl)
        his.append(jh)
    grids_lo = np.stack(np.meshgrid(*[np.arange(parts)] * m, indexing="ij"), -1).reshape(-1, m)
    slo = np.stack([los[j][:, grids_lo[:, j]] for j in range(m)], axis=-1)
    shi = np.stack([his[j][:, grids_lo[:, j]] for j in range(m)], axis=-1)
    return slo, shi


def usage_refined(a: np.ndarray, p: np.ndarray, lo: np.ndarray, hi: np.ndarray, depth: int) -> np.ndarray:
    """``usage`` with every own box cut into sub-boxes (the union of the possible sets)."""
    if depth == 0:
        return usage(a, p, lo, hi)
    slo, shi = _sub_boxes(lo, hi, depth)
    N, P, m = slo.shape
    u = usage(np.repeat(a, P, axis=0), np.repeat(p, P, axis=0), slo.reshape(-1, m), shi.reshape(-1, m))
    return u.reshape(N, P, m).max(1)


# --------------------------------------------------------------------------
# Checking every full-profile cell
# --------------------------------------------------------------------------


MAX_SUB_BOXES = 64
"""At most this many sub-boxes per own cell (``2 ** (m * depth)``): depth 3 for one or two
items, 2 for three."""


def effective_depth(depth: int, m: int) -> int:
    return max(0, min(depth, int(np.log2(MAX_SUB_BOXES)) // max(1, m)))


def _all_own(grid: EdgeGrid) -> np.ndarray:
    return np.stack(np.unravel_index(np.arange(grid.full_cells), tuple(grid.own_count(i) for i in range(grid.n))),
                    axis=1)


class UsageState:
    """Usage bounds per (bidder, menu cell, own cell) pair, kept up to date as menus change:
    whole own cells first, and ``depth``-level refinements for the pairs that take part in a
    failing full cell (cached until their menu changes)."""

    def __init__(self, grid: EdgeGrid, table: list[tuple[np.ndarray, np.ndarray]], depth: int) -> None:
        self.grid, self.table = grid, [(a.copy(), p.copy()) for a, p in table]
        self.depth = effective_depth(depth, grid.m)
        self.own = _all_own(grid)
        n = grid.n
        self.pair = [grid.others_index(self.own, i) * grid.own_count(i) + self.own[:, i] for i in range(n)]
        self.coarse = [np.zeros((grid.others_count(i) * grid.own_count(i), grid.m)) for i in range(n)]
        self.fine = [np.full_like(c, np.nan) for c in self.coarse]
        self.refined_pairs = 0
        for i in range(n):
            self._recompute(i, np.arange(grid.others_count(i)))

    def _pairs_of(self, i: int, menus: np.ndarray) -> np.ndarray:
        n_own = self.grid.own_count(i)
        return (menus[:, None] * n_own + np.arange(n_own)[None, :]).ravel()

    def _recompute(self, i: int, menus: np.ndarray) -> None:
        pids = self._pairs_of(i, menus)
        cc, oo = np.divmod(pids, self.grid.own_count(i))
        a, p = self.table[i]
        lo, hi = self.grid.own_boxes(i)
        self.coarse[i][pids] = usage(a[cc], p[cc], lo[oo], hi[oo])
        self.fine[i][pids] = np.nan

    def set_menus(self, i: int, menus: np.ndarray, alloc: np.ndarray, prices: np.ndarray) -> None:
        self.table[i][0][menus] = alloc
        self.table[i][1][menus] = prices
        self._recompute(i, menus)

    def cell_usage(self) -> np.ndarray:
        """``(F, n, m)``: the best usage bound known for every full cell."""
        out = np.empty((len(self.own), self.grid.n, self.grid.m))
        for i in range(self.grid.n):
            f = self.fine[i][self.pair[i]]
            out[:, i] = np.where(np.isnan(f), self.coarse[i][self.pair[i]], f)
        return out

    def failing(self, factors: list[np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
        """Failing full cells (indices) and their usage, after refining their pairs."""
        use = self.cell_usage()
        bad = failing_boxes(self.grid, use, self.own, factors)
        if self.depth > 0 and bad.any():
            for i in range(self.grid.n):
                pids = np.unique(self.pair[i][bad])
                pids = pids[np.isnan(self.fine[i][pids, 0])]
                if not len(pids):
                    continue
                self.refined_pairs += len(pids)
                cc, oo = np.divmod(pids, self.grid.own_count(i))
                a, p = self.table[i]
                lo, hi = self.grid.own_boxes(i)
                self.fine[i][pids] = usage_refined(a[cc], p[cc], lo[oo], hi[oo], self.depth)
            use = self.cell_usage()
            bad = failing_boxes(self.grid, use, self.own, factors)
        idx = np.nonzero(bad)[0]
        return idx, use[idx]

    def check(self, idx: np.ndarray, use: np.ndarray) -> CellCheck:
        """The failing cells ``failing`` returned, with the work done."""
        own = self.own[idx]
        return CellCheck(own=own, usage=use, lo=own, refined_pairs=self.refined_pairs, depth=self.depth,
                         cells=len(self.own))


@dataclass
class CellCheck:
    """The full cells still failing (own-cell indices and usage bounds) and the work done."""

    own: np.ndarray  # (F, n)
    usage: np.ndarray  # (F, n, m)
    lo: np.ndarray  # only its length is read by solve_factors
    refined_pairs: int
    depth: int
    cells: int


def check_cells(
    grid: EdgeGrid, table: list[tuple[np.ndarray, np.ndarray]], factors: list[np.ndarray] | None, depth: int,
) -> CellCheck:
    """Usage bounds on every full cell; the pairs (menu, own cell) of failing cells are
    recomputed on sub-boxes ``depth`` levels deep.  A cell passes when its (scaled) usage is
    at most 1."""
    st = UsageState(grid, table, depth)
    return st.check(*st.failing(factors))


# --------------------------------------------------------------------------
# The price-only repair
# --------------------------------------------------------------------------


STALL_ROUNDS = 20
"""The repair stops when this many rounds pass without fewer failing cells."""
TRIM_MAX = 0.05
"""Largest excess (in probability) the repair removes by trimming an element's allocation;
a larger one is removed by a surcharge that takes the element out of the own cell."""


def repair(grid: EdgeGrid, nets: list[NetWeights], scale: float, depth: int, *, rounds: int = 200,
           log=None) -> tuple[list[np.ndarray], list[np.ndarray], int, int, CellCheck]:
    """Menu changes per (bidder, others-cell, element) that remove over-allocation where they
    can.  On each failing full cell and item the bidder facing the cheaper menu (on a tie,
    alternating by cell parity) yields: each conflicting element it may choose
    there either has that item's allocation trimmed to fit (when the excess is at most
    ``TRIM_MAX``: lottery fragments) or is made dearer by just enough that it is beaten
    everywhere on the own cell.  Any menu that depends on the others' reports only is
    strategy-proof, so the changes keep IC and IR; they change choices elsewhere in that
    menu, so the check is repeated until no cell fails or ``rounds`` is reached, and whatever
    still fails goes to the LP.  Returns the surcharges, the allocation caps, the rounds run,
    the cells failing at the start and the check of the repaired table (the cells left)."""
    n, m = grid.n, grid.m
    base = menu_table(nets, scale, grid)
    sur = [np.zeros_like(p) for _, p in base]
    caps = [np.ones_like(a) for a, _ in base]
    st = UsageState(grid, base, depth)
    reps = representatives(grid)
    first = None
    fewest, fewest_round = None, 0
    for r in range(rounds):
        idx, use = st.failing(None)
        if first is None:
            first = len(idx)
        if log and r % 10 == 0:
            log(f"certify: repair round {r}: {len(idx):,} cells fail")
        if not len(idx):
            return sur, caps, r, first, st.check(idx, use)
        if fewest is None or len(idx) < fewest:
            fewest, fewest_round = len(idx), r
        elif r - fewest_round >= STALL_ROUNDS:
            # the last few conflicts chase each other around a menu: leave them to the LP
            return sur, caps, r, first, st.check(idx, use)
        own = st.own[idx]
        rows, items = np.nonzero(use.sum(1) > 1.0)
        # the yielding bidder: the one whose menu here is cheaper (lower top price), then the
        # one with the lower own cell for the item, then alternating with the cell's parity
        tie = (np.arange(n)[None, :] + own[rows].sum(1, keepdims=True)) % n
        top = np.stack([st.table[i][1][grid.others_index(own[rows], i)].max(1) for i in range(n)], 1)
        cell_val = np.stack([
            np.stack([reps[i][j][np.unravel_index(own[:, i], grid.counts(i))[j]] for j in range(m)], 1)
            for i in range(n)], 1)  # (F, n, m)
        val = cell_val[rows, :, items]
        # a bidder that takes none of the item here has nothing to give up
        top = np.where(use[rows, :, items] > 0, np.round(top, 9), np.inf)
        who = np.lexsort((tie.T, val.T, top.T), axis=0)[0]
        for i in range(n):
            sel = who == i
            if not sel.any():
                continue
            rr, jj = rows[sel], items[sel]
            others_use = use[rr, :, jj].sum(1) - use[rr, i, jj]
            c = grid.others_index(own[rr], i)
            o = own[rr, i]
            a, p = st.table[i]
            lo, hi = grid.own_boxes(i)
            K = a.shape[1]
            gaps = _gaps(a[c], p[c], lo[o], hi[o])  # (R, K+1, K+1)
            possible = ~(gaps > DOMINATION_TOL).any(2)[:, :K]
            excess = a[c, :, jj] + others_use[:, None] - 1.0  # (R, K)
            bad = possible & (excess > 0)
            trim = bad & (excess <= TRIM_MAX)
            # beaten by an element that stays (not itself raised for this cell) or the null one,
            # so two raises in one menu do not undo each other
            skip = np.eye(K + 1, dtype=bool)[None, :K, :] | np.concatenate(
                [bad & ~trim, np.zeros((len(rr), 1), dtype=bool)], axis=1)[:, None, :]
            g = np.where(skip | ~np.isfinite(gaps[:, :K, :]), np.inf, DOMINATION_TOL - gaps[:, :K, :])
            need = g.min(2) + 1e-7 * scale  # (R, K)
            # on an unbounded own cell no price keeps a bidder with huge values away: trim
            trim |= bad & ~np.isfinite(need)
            raise_ = bad & ~trim
            ask = np.zeros((grid.others_count(i), K))
            flat_c, flat_k = np.repeat(c, K), np.tile(np.arange(K), len(c))
            np.maximum.at(ask, (flat_c, flat_k), np.where(raise_, np.maximum(np.where(raise_, need, 0.0), 0.0),
                                                          0.0).ravel())
            # trims: the element's allocation of the item down to what the others leave
            target = np.where(trim, np.maximum(a[c, :, jj] - excess - 1e-9, 0.0), np.inf)
            np.minimum.at(caps[i], (flat_c, flat_k, np.repeat(jj, K)), target.ravel())
            menus = np.unique(np.concatenate([np.nonzero(ask.max(1) > 0)[0], c[trim.any(1)]]))
            sur[i][menus] += ask[menus]
            st.set_menus(i, menus, np.minimum(base[i][0][menus], caps[i][menus]), base[i][1][menus] + sur[i][menus])
    return sur, caps, rounds, first or 0, st.check(*st.failing(None))


@dataclass
class CellsResult:
    surcharge: list[np.ndarray]
    caps: list[np.ndarray]
    repair_rounds: int
    factors: list[np.ndarray]
    certified: bool
    lp_status: str
    depth: int
    failing_before: int
    failing_after_repair: int
    lp_size: dict[str, int]
    recheck: dict[str, Any]
    seconds: float


def certify_cells(
    nets: list[NetWeights], scale: float, grid: EdgeGrid, weights: list[np.ndarray], *,
    depth: int = 3, time_limit: float = 120.0, repair_rounds: int = 200, log=None,
) -> CellsResult:
    t0 = time.perf_counter()
    sur, caps, rounds, first, ref = repair(grid, nets, scale, depth, rounds=repair_rounds, log=log)
    if log:
        log(f"certify: {first:,} of {ref.cells:,} full cells fail before the repair, {len(ref.own):,} after "
            f"{rounds} round(s) of surcharges")
    factors, status, size = solve_factors(grid, ref, weights,  # type: ignore[arg-type]
                                            time_limit=max(1.0, time_limit - (time.perf_counter() - t0)))
    if factors is None:
        factors = [np.ones(grid.others_count(i)) for i in range(grid.n)]
        recheck: dict[str, Any] = {"ok": False, "failed_cells": int(len(ref.own))}
    else:
        recheck = recheck_cells(nets, scale, grid, factors, depth, sur, caps)
    if log:
        log(f"certify: LP {status} over {size.get('variables', 0)} factors; re-check "
            f"{'passes' if recheck['ok'] else 'FAILS'}")
    return CellsResult(surcharge=sur, caps=caps, repair_rounds=rounds, factors=factors, certified=bool(recheck["ok"]),
                       lp_status=status, depth=effective_depth(depth, grid.m), failing_before=first, failing_after_repair=int(len(ref.own)),
                       lp_size=size, recheck=recheck, seconds=time.perf_counter() - t0)


def recheck_cells(nets: list[NetWeights], scale: float, grid: EdgeGrid, factors: list[np.ndarray],
          depth: int, surcharge: list[np.ndarray] | None = None,
          caps: list[np.ndarray] | None = None) -> dict[str, Any]:
    """Rebuild the menu table from the weights (with surcharges and caps) and confirm every
    full cell with the factors."""
    bad_f = [f for f in factors if f.min(initial=1.0) < 0 or f.max(initial=0.0) > 1]
    table = menu_table(nets, scale, grid, surcharge, caps)
    ref = check_cells(grid, table, factors, depth)
    out = {
        "ok": bool(len(ref.own) == 0 and not bad_f),
        "failed_cells": int(len(ref.own)),
        "checked_cells": ref.cells,
        "refined_pairs": ref.refined_pairs,
        "depth": effective_depth(depth, grid.m),
    }
    if bad_f:
        out["reason"] = "a menu scale factor lies outside [0, 1]"
    elif len(ref.own):
        out["reason"] = f"{len(ref.own)} full cells are not compatible"
    return out

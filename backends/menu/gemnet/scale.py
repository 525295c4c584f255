"""GemNet certification by adaptive refinement and a menu-scaling LP (numpy + scipy/HiGHS).

Why a second transform next to the surcharge MILP of ``certify``: multiplying *both* the
allocations and the prices of bidder i's menu by a factor ``alpha_i in [0, 1]`` that depends
only on the others' reports keeps every element's utility proportional, so the bidder's
choice (and the tie rule, highest price first) is unchanged, self-bid independence holds,
and IR holds.  Because choices do not move, the usage bound of each cell is fixed and the
compatibility condition ``sum_i alpha_i(cell of the others) * U_ij(cell) <= 1`` is *linear*
in the factors: one LP instead of a MILP with constraint generation, and the LP is always
feasible (all factors 0), so certification never fails for lack of solver time; what it
costs is revenue in the cells where the trained menus really over-allocate.

The proof:

* A coarse grid (per bidder and item, increasing edges; the last edge may be ``inf`` for an
  unbounded prior, whose tail is one extra cell) cuts the value space into full-profile
  cells.  The menu networks see the others' reports clipped to the last finite edge
  (``input_cap``), so on a tail cell every menu is constant in that coordinate and the proof
  covers the whole value space, not a truncated box.
* For a box of profiles, each bidder's menu is bounded by interval bound propagation through
  the actual layers over the box of the others' (clipped) values, intersected with a
  first-order (mean-value) bound, whose Jacobian enclosure comes from the interval
  pre-activations, and with the centre value +/- the global Lipschitz bound times the
  radius.  The price *differences* of every pair of elements get their own first-order
  bound (two prices that move together have a nearly constant difference).  Element k cannot
  be chosen in the box when the null element or some element l beats it by more than the
  tie tolerance at every point (pairwise domination; unbounded own values handled exactly).
  ``U_ij`` is the largest allocation of item j among the elements that remain.
* Two more parts of the transform, both independent of the bidder's own report: a per-unit
  surcharge ``margin`` (every element costs ``margin * sum_j a_j`` more, i.e. the bidder
  chooses as if each value were ``margin`` lower), which opens a gap between two bidders'
  choice boundaries that a box check cannot otherwise resolve (on a box straddling
  ``v1 = v2`` each bidder *may* buy), and a cap ``1 / (1 + slack)`` on every factor, so that
  boxes over-allocating by at most ``slack`` (bound looseness, a hair of a lottery) need no
  refinement.
* Boxes where ``sum_i alpha_i U_ij > 1`` are bisected along their widest finite coordinate,
  level by level, up to a depth ``depth`` chosen so the work stays within a box budget; the
  boxes still failing at that depth give the LP's constraints.
* ``check_scaled`` re-runs the same refinement with the factors in the pass test and
  confirms that every leaf passes; every bound over-approximates, so a passing leaf is
  compatible at every profile inside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from auctionc.backends.menu.gemnet.edge_grid import EdgeGrid
from auctionc.backends.menu.gemnet.network_bounds import (
    TIE_TOL,
    NetWeights,
    affine_box,
    apply_head,
    forward,
    forward_logits,
    head_width,
    interval_bounds,
    lipschitz_bounds,
)

LP_MARGIN = 1e-7
"""Right-hand side of the LP is ``1 - LP_MARGIN``: well above HiGHS's feasibility tolerance,
so the re-check (which demands ``<= 1``) passes on the LP's solution."""

# --------------------------------------------------------------------------
# Bounds over boxes
# --------------------------------------------------------------------------


def _prod_range(vlo, vhi, dlo, dhi):
    """Min and max of ``v * d`` over ``v in [vlo, vhi]`` (``vhi`` may be ``inf``) and
    ``d in [dlo, dhi]``, elementwise (broadcasting)."""
    with np.errstate(invalid="ignore"):
        cands = [vlo * dlo, vlo * dhi, np.where(dlo == 0, 0.0, vhi * dlo), np.where(dhi == 0, 0.0, vhi * dhi)]
    return np.minimum.reduce(cands), np.maximum.reduce(cands)


@dataclass
class _NetInfo:
    net: NetWeights
    La: float  # normalised allocation per normalised input (sup-norms)
    Lp: float


def _menu_bounds(info: _NetInfo, lo: np.ndarray, hi: np.ndarray, scale: float, first_order: bool = False):
    """Bounds on one bidder's menu over boxes of the others' clipped values (value units):
    allocations ``(B, K, m)``, prices ``(B, K)``; with ``first_order``, also an upper bound
    on the price differences ``p_l - p_k`` ``(B, K, K)``."""
    xl, xh = lo / scale, hi / scale
    aL, aU, pL, pU = interval_bounds(info.net, xl, xh)
    dU = None
    if first_order and xl.shape[1]:
        net = info.net
        zc, zr, pc1, pr1, dc, dr = _first_order(net, xl, xh)
        K, w = net["K"], head_width(net["head"], net["m"])
        if net["head"] in ("additive", "additive_clipped"):
            zc, zr = zc.reshape(-1, K, w), zr.reshape(-1, K, w)
            aL = np.maximum(aL, apply_head(zc - zr, net["head"]))
            aU = np.minimum(aU, apply_head(zc + zr, net["head"]))
        pL, pU = np.maximum(pL, pc1 - pr1), np.minimum(pU, pc1 + pr1)
        dU = (dc + dr) * scale
    r = ((xh - xl) / 2).max(1) if xl.shape[1] else np.zeros(len(xl))
    ac, pc = forward(info.net, (xl + xh) / 2)
    ra = (info.La * r + 1e-12)[:, None, None]
    rp = info.Lp * r + 1e-12 * (1.0 + np.abs(pc).max(1))
    aL, aU = np.maximum(aL, ac - ra), np.minimum(aU, ac + ra)
    pL, pU = np.maximum(pL, pc - rp[:, None]), np.minimum(pU, pc + rp[:, None])
    pL, pU = pL * scale, pU * scale
    sep = pU[:, :, None] - pL[:, None, :]
    dU = sep if dU is None else np.minimum(dU, sep)
    return np.clip(aL, 0, 1), np.clip(aU, 0, 1), pL, pU, dU


def _left(W: np.ndarray, M: np.ndarray) -> np.ndarray:
    """``W (q, h)`` times each ``M[b] (h, d)`` as one matrix product (einsum would not use BLAS)."""
    B, h, d = M.shape
    out = W @ M.transpose(1, 0, 2).reshape(h, B * d)
    return out.reshape(len(W), B, d).transpose(1, 0, 2)


def _first_order(net: NetWeights, xl: np.ndarray, xh: np.ndarray):
    """Mean-value bounds over boxes of normalised inputs: ``f(x) - f(c)`` lies within
    ``sum_d max|J_d| * r_d`` where J ranges over an interval enclosure of the Jacobian on
    the box (tanh' bounded from the interval pre-activations).  Interval propagation adds
    absolute values layer by layer and loses the cancellations that keep a trained menu's
    prices (and above all the *differences* of two elements' prices) flat; this keeps them.
    Returns, at the centres and as radii: logits ``(B, K*w)``, prices ``(B, K)`` and price
    differences ``p_l - p_k`` ``(B, K, K)``."""
    B = len(xl)
    c = (xl + xh) / 2
    r = (xh - xl) / 2
    lo, hi = xl, xh
    Mlo = Mhi = None
    for W, b in net["trunk"]:
        zl, zh = affine_box(lo, hi, W, b)
        tl, th = np.tanh(zl), np.tanh(zh)
        t2max = np.maximum(tl * tl, th * th)
        t2min = np.where((zl <= 0) & (zh >= 0), 0.0, np.minimum(tl * tl, th * th))
        dl, dh = (1 - t2max)[:, :, None], (1 - t2min)[:, :, None]  # (B, h, 1), >= 0
        if Mlo is None:
            A_ = np.broadcast_to(W[None], (B,) + W.shape)
            Mlo, Mhi = np.minimum(dl * A_, dh * A_), np.maximum(dl * A_, dh * A_)
        else:
            mc, mr = (Mlo + Mhi) / 2, (Mhi - Mlo) / 2
            nc, nr = _left(W, mc), _left(np.abs(W), mr)
            nl, nh = nc - nr, nc + nr
            Mlo = np.minimum.reduce([dl * nl, dl * nh, dh * nl, dh * nh])
            Mhi = np.maximum.reduce([dl * nl, dl * nh, dh * nl, dh * nh])
        lo, hi = tl, th
    mc, mr = (Mlo + Mhi) / 2, (Mhi - Mlo) / 2
    # slack for rounding, relative to the magnitudes involved
    mr = mr + 1e-12 * (np.abs(mc) + 1.0)

    def radius(rows: np.ndarray) -> np.ndarray:
        jc, jr = _left(rows, mc), _left(np.abs(rows), mr)
        return ((np.abs(jc) + jr) * r[:, None, :]).sum(-1) * (1 + 1e-12) + 1e-12

    Wa, _ = net["alloc"]
    Wp, _ = net["price"]
    K = Wp.shape[0]
    zc_all = forward_logits(net, c)
    pc = forward(net, c)[1]
    diff_rows = (Wp[:, None, :] - Wp[None, :, :]).reshape(K * K, -1)
    return (zc_all, radius(Wa), pc, radius(Wp), pc[:, :, None] - pc[:, None, :],
            radius(diff_rows).reshape(B, K, K))


def usage_upper(
    infos: list[_NetInfo], scale: float, cap: np.ndarray, lo: np.ndarray, hi: np.ndarray,
    margin: float = 0.0, chunk: int = 1_000_000, first_order: bool = True,
) -> np.ndarray:
    """``(B, n, m)``: over each box ``[lo, hi] (B, n, m)``, an upper bound on the allocation
    of each item that each bidder's chosen element can give.  ``margin`` is the per-unit
    surcharge: every element costs ``margin * sum_j a_j`` more, i.e. the bidder chooses as
    if each value were ``margin`` lower."""
    B, n, m = lo.shape
    out = np.zeros((B, n, m))
    for i in range(n):
        others = [j for j in range(n) if j != i]
        olo = np.minimum(lo[:, others, :], cap[None, others, :]).reshape(B, -1)
        ohi = np.minimum(hi[:, others, :], cap[None, others, :]).reshape(B, -1)
        K = infos[i].net["K"]
        step = max(1, chunk // (K * K * m * 4))
        for s in range(0, B, step):
            e = slice(s, s + step)
            aL, aU, pL, pU, dU = _menu_bounds(infos[i], olo[e], ohi[e], scale, first_order)
            vlo, vhi = lo[e, i, None, :] - margin, hi[e, i, None, :] - margin  # (b, 1, m)
            # the null element: k is out when its utility is below 0 everywhere in the box
            _, umax = _prod_range(vlo, vhi, aL, aU)
            out_null = umax.sum(-1) - pL < -TIE_TOL * 2
            # element l beats element k everywhere in the box: min over the box of
            # sum_j v_j (a_lj - a_kj) - (p_l - p_k) above the tie tolerance
            dlo = aL[:, :, None, :] - aU[:, None, :, :]  # (b, l, k, m)
            # min of v * d over the box: for v >= 0 at d's lower end, then at v's lower end
            # when that is >= 0 and at v's upper end (possibly inf) otherwise; a negative v
            # (values lowered by the margin) takes the four corners
            with np.errstate(invalid="ignore"):
                dmin = np.where(dlo >= 0, vlo[:, None] * dlo, vhi[:, None] * dlo)
            neg = vlo[:, None] < 0
            if neg.any():
                dhi = aU[:, :, None, :] - aL[:, None, :, :]
                dmin = np.where(neg, _prod_range(vlo[:, None], vhi[:, None], dlo, dhi)[0], dmin)
            gap = dmin.sum(-1) - dU
            out_pair = (gap > TIE_TOL * 2).any(1)
            possible = ~(out_null | out_pair)
            out[e, i] = np.where(possible[..., None], aU, 0.0).max(1, initial=0.0)
    return out


# --------------------------------------------------------------------------
# Adaptive refinement
# --------------------------------------------------------------------------


@dataclass
class Refinement:
    """The boxes still failing at the deepest level (the LP's constraints) and the work done."""

    lo: np.ndarray
    hi: np.ndarray
    own: np.ndarray
    usage: np.ndarray
    depth: int
    boxes_per_level: list[int] = field(default_factory=list)
    failing_per_level: list[int] = field(default_factory=list)


def _split(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bisect each box along its widest finite coordinate; returns the children and which
    parents could be split (a box whose every coordinate is a point or a tail cannot)."""
    B = len(lo)
    w = (hi - lo).reshape(B, -1)
    w = np.where(np.isfinite(w), w, -1.0)
    k = w.argmax(1)
    ok = w[np.arange(B), k] > 0
    lo2, hi2 = lo.reshape(B, -1)[ok], hi.reshape(B, -1)[ok]
    k = k[ok]
    r = np.arange(len(k))
    mid = (lo2[r, k] + hi2[r, k]) / 2
    a_hi, b_lo = hi2.copy(), lo2.copy()
    a_hi[r, k] = mid
    b_lo[r, k] = mid
    shape = (-1,) + lo.shape[1:]
    return (np.concatenate([lo2, b_lo]).reshape(shape), np.concatenate([a_hi, hi2]).reshape(shape), ok)


def refine(
    nets: list[NetWeights],
    scale: float,
    grid: EdgeGrid,
    factors: list[np.ndarray] | None,
    *,
    depth: int | None = None,
    budget: int = 2_000_000,
    margin: float = 0.0,
    slack: float = 0.0,
    log=None,
) -> Refinement:
    """Check every coarse cell, then bisect the failing boxes level by level.  With
    ``depth`` given, refine exactly that deep (the re-check); otherwise go on while the
    boxes of the next level stay within ``budget`` and something still fails.  Without
    factors a box passes when its usage is at most ``1 + slack`` (the search: every factor
    will be at most ``1 / (1 + slack)``); with factors, when the scaled usage is at most 1."""
    infos = [_NetInfo(net, *lipschitz_bounds(net)) for net in nets]
    cap = grid.input_cap()
    N = grid.full_cells
    chunk = 100_000
    keep_lo, keep_hi, keep_own, keep_use = [], [], [], []
    for s in range(0, N, chunk):
        lo, hi, own = grid.full_boxes(np.arange(s, min(N, s + chunk)))
        use = usage_upper(infos, scale, cap, lo, hi, margin)
        bad = failing_boxes(grid, use, own, factors, slack)
        keep_lo.append(lo[bad])
        keep_hi.append(hi[bad])
        keep_own.append(own[bad])
        keep_use.append(use[bad])
    lo, hi = np.concatenate(keep_lo), np.concatenate(keep_hi)
    own, use = np.concatenate(keep_own), np.concatenate(keep_use)
    boxes, failing = [N], [len(lo)]
    level = 0
    while len(lo) and (level < depth if depth is not None else sum(boxes) + 2 * len(lo) <= budget):
        clo, chi, ok = _split(lo, hi)
        if not ok.any():
            break
        cown = np.concatenate([own[ok], own[ok]])
        cuse = usage_upper(infos, scale, cap, clo, chi, margin)
        bad = failing_boxes(grid, cuse, cown, factors, slack)
        # unsplittable boxes stay as they are
        lo = np.concatenate([lo[~ok], clo[bad]])
        hi = np.concatenate([hi[~ok], chi[bad]])
        own = np.concatenate([own[~ok], cown[bad]])
        use = np.concatenate([use[~ok], cuse[bad]])
        level += 1
        boxes.append(len(clo))
        failing.append(len(lo))
        if log:
            log(f"certify: level {level}: {len(clo):,} boxes, {len(lo):,} still failing")
    return Refinement(lo, hi, own, use, level, boxes, failing)


def failing_boxes(
    grid: EdgeGrid, use: np.ndarray, own: np.ndarray, factors: list[np.ndarray] | None, slack: float = 0.0
) -> np.ndarray:
    # exactly 1 passes: the clipped head gives exact ones and zeros, and every bound is
    # computed box by box with the same operations in the search and in the re-check
    if factors is not None:
        f = np.stack([factors[i][grid.others_index(own, i)] for i in range(grid.n)], axis=1)
        return ((use * f[..., None]).sum(1) > 1.0).any(1)
    return (use.sum(1) > 1.0 + slack).any(1)


# --------------------------------------------------------------------------
# The scaling LP
# --------------------------------------------------------------------------


def top_factor(slack: float) -> float:
    """The largest factor when boxes with usage up to ``1 + slack`` were let pass (a hair
    below ``1 / (1 + slack)`` so that the product is at most 1 after rounding)."""
    return 1.0 if slack == 0 else (1.0 - 1e-12) / (1.0 + slack)


def solve_factors(
    grid: EdgeGrid, ref: Refinement, weights: list[np.ndarray], time_limit: float = 120.0, slack: float = 0.0
) -> tuple[list[np.ndarray] | None, str, dict[str, int]]:
    """Factors ``alpha_i[others-cell] <= top_factor(slack)`` maximising ``sum w * alpha``
    subject to ``sum_i alpha_i U_ij <= 1 - LP_MARGIN`` on every failing leaf and item."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    n = grid.n
    top = top_factor(slack)
    factors = [np.full(grid.others_count(i), top) for i in range(n)]
    if not len(ref.lo):
        return factors, "not needed", {"variables": 0, "constraints": 0}
    cells = np.stack([grid.others_index(ref.own, i) for i in range(n)], axis=1)  # (L, n)
    # variables: the (bidder, others-cell) pairs some failing leaf touches
    keys = [np.unique(cells[:, i]) for i in range(n)]
    offset = np.cumsum([0] + [len(k) for k in keys])
    col = np.stack([offset[i] + np.searchsorted(keys[i], cells[:, i]) for i in range(n)], axis=1)
    rows_leaf, rows_item = np.nonzero(ref.usage.sum(1) * top > 1.0 - LP_MARGIN)
    coef = ref.usage[rows_leaf, :, rows_item]  # (R, n)
    # identical rows are common (neighbouring boxes with the same candidate sets)
    key = np.concatenate([col[rows_leaf], np.round(coef, 12)], axis=1)
    _, first = np.unique(key, axis=0, return_index=True)
    rows_leaf, coef = rows_leaf[first], coef[first]
    R = len(rows_leaf)
    A = coo_matrix(
        (coef.ravel(), (np.repeat(np.arange(R), n), col[rows_leaf].ravel())), shape=(R, int(offset[-1]))
    ).tocsr()
    c = -np.concatenate([np.maximum(weights[i][keys[i]], 1e-9) for i in range(n)])
    res = linprog(c, A_ub=A, b_ub=np.full(R, 1.0 - LP_MARGIN), bounds=(0.0, top), method="highs",
                  options={"time_limit": time_limit, "presolve": True})
    size = {"variables": int(offset[-1]), "constraints": int(R), "leaves": int(len(ref.lo))}
    names = {0: "optimal", 1: "iteration or time limit", 2: "infeasible", 3: "unbounded", 4: "numerical trouble"}
    status = names.get(res.status, str(res.status))
    if res.x is None or res.status != 0:
        return None, status, size
    x = np.clip(res.x, 0.0, top)
    for i in range(n):
        factors[i][keys[i]] = x[offset[i] : offset[i + 1]]
    return factors, status, size


@dataclass
class ScalingResult:
    factors: list[np.ndarray]
    certified: bool
    lp_status: str
    depth: int
    failing_before: int
    boxes_checked: int
    lp_size: dict[str, int]
    recheck: dict[str, Any]
    seconds: float
    lipschitz_bound: dict[str, float]
    margin: float = 0.0
    slack: float = 0.0


def certify_scaling(
    nets: list[NetWeights],
    scale: float,
    grid: EdgeGrid,
    weights: list[np.ndarray],
    *,
    budget: int = 2_000_000,
    time_limit: float = 120.0,
    margin: float = 0.0,
    slack: float = 0.0,
    log=None,
) -> ScalingResult:
    t0 = time.perf_counter()
    ref = refine(nets, scale, grid, None, budget=budget, margin=margin, slack=slack, log=log)
    if log:
        log(f"certify: {ref.failing_per_level[0]:,} of {grid.full_cells:,} cells fail before refinement, "
            f"{len(ref.lo):,} boxes after {ref.depth} levels")
    factors, status, size = solve_factors(grid, ref, weights, slack=slack,
                                          time_limit=max(1.0, time_limit - (time.perf_counter() - t0)))
    if factors is None:
        factors = [np.ones(grid.others_count(i)) for i in range(grid.n)]
        recheck = {"ok": False, "failed_boxes": int(len(ref.lo))}
    else:
        recheck = recheck_scale(nets, scale, grid, factors, ref.depth, margin)
    if log:
        log(f"certify: LP {status} over {size.get('variables', 0)} factors; re-check "
            f"{'passes' if recheck['ok'] else 'FAILS'}")
    La = max(lipschitz_bounds(net)[0] for net in nets) / scale
    Lp = max(lipschitz_bounds(net)[1] for net in nets)
    return ScalingResult(
        factors=factors, certified=bool(recheck["ok"]), lp_status=status, depth=ref.depth,
        failing_before=ref.failing_per_level[0], boxes_checked=int(sum(ref.boxes_per_level)),
        lp_size=size, recheck=recheck, seconds=time.perf_counter() - t0,
        lipschitz_bound={"allocation": La, "price": Lp}, margin=margin, slack=slack,
    )


def recheck_scale(
    nets: list[NetWeights], scale: float, grid: EdgeGrid, factors: list[np.ndarray], depth: int,
    margin: float = 0.0,
) -> dict[str, Any]:
    """Re-derive every bound from the weights and confirm that, with the factors, every
    box of the refinement to ``depth`` levels is compatible."""
    ref = refine(nets, scale, grid, factors, depth=depth, margin=margin)
    return {
        "ok": bool(len(ref.lo) == 0),
        "failed_boxes": int(len(ref.lo)),
        "checked_boxes": int(sum(ref.boxes_per_level)),
        "depth": depth,
        "margin": margin,
        "grid": grid.to_json(),
    }

"""Winner determination and VCG over bundle values.

``bundle_values[i, k]`` is bidder ``i``'s value for the bundle with bitmask ``k`` (the
array convention of ``auctionc.valuation``; XOR bids are closed upwards there, so any
bundle value array with free disposal works).  Additive and unit-demand bids are turned
into bundle values by ``bundle_values_from_items``.

Two exact methods:

* ``"milp"``: the textbook integer program (one binary per bidder and bundle, each
  bidder at most one bundle, each item at most once) through pulp with CBC or HiGHS;
* ``"dp"``: dynamic programming over (bidder, items still free), ``O(n 3^m)`` and
  vectorised over a batch, for the small item sets where bundle arrays exist.  It is
  what the batched functions use by default: one pulp solve costs milliseconds of
  process start-up, the DP evaluates thousands of sampled auctions at once.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_TOL = 1e-9


def bundle_values_from_items(values: np.ndarray, kind: str) -> np.ndarray:
    """``(..., n, m)`` item values to ``(..., n, 2**m)`` bundle values (additive or unit_demand)."""
    from .valuation import bundle_matrix

    values = np.asarray(values, float)
    bm = bundle_matrix(values.shape[-1])  # (2**m, m)
    if kind == "additive" or kind == "single":
        return values @ bm.T
    if kind == "unit_demand":
        return (values[..., None, :] * bm).max(axis=-1)
    raise ValueError(f"no bundle values for {kind} valuations")


@lru_cache(maxsize=16)
def _submask_pairs(m: int) -> tuple[np.ndarray, np.ndarray]:
    """All (mask, sub) with sub a subset of mask, sorted by mask: 3**m pairs."""
    masks, subs = [], []
    for mask in range(2**m):
        sub = mask
        while True:
            masks.append(mask)
            subs.append(sub)
            if sub == 0:
                break
            sub = (sub - 1) & mask
    return np.array(masks, np.int64), np.array(subs, np.int64)


def _wd_dp(bv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched DP: ``bv (B, n, K)`` -> allocation ``(B, n, K)`` 0/1 and welfare ``(B,)``."""
    B, n, K = bv.shape
    m = K.bit_length() - 1
    masks, subs = _submask_pairs(m)
    starts = np.flatnonzero(np.r_[True, masks[1:] != masks[:-1]])
    W = np.zeros((n + 1, B, K))  # W[i, :, mask]: best welfare of bidders i.. on items in mask
    choice = np.zeros((n, B, K), np.int64)
    for i in range(n - 1, -1, -1):
        cand = bv[:, i, subs] + W[i + 1][:, masks ^ subs]  # (B, 3**m)
        best = np.maximum.reduceat(cand, starts, axis=1)  # (B, K) in mask order
        W[i] = best
        # the first sub reaching the best value (ties: the order of enumeration)
        hit = cand >= best[:, masks] - _TOL
        pos = np.where(hit, np.arange(len(subs))[None, :], len(subs))
        first = np.minimum.reduceat(pos, starts, axis=1)
        choice[i] = subs[first]
    alloc = np.zeros((B, n, K))
    free = np.full(B, K - 1, np.int64)
    rows = np.arange(B)
    for i in range(n):
        sub = choice[i, rows, free]
        alloc[rows, i, sub] = 1.0
        free = free ^ sub
    alloc[:, :, 0] = 0.0  # the empty bundle is no allocation
    return alloc, W[0][:, K - 1]


def _wd_milp(bv: np.ndarray, solver: str = "cbc") -> tuple[np.ndarray, float]:
    """One instance ``(n, K)`` through pulp."""
    import pulp

    from .solvers import cbc_solver
    from .valuation import bundle_matrix

    n, K = bv.shape
    m = K.bit_length() - 1
    bm = bundle_matrix(m)
    prob = pulp.LpProblem("winner_determination", pulp.LpMaximize)
    make_var = getattr(prob, "add_variable", None) or pulp.LpVariable
    y = {(i, k): make_var(f"y_{i}_{k}", cat=pulp.LpBinary) for i in range(n) for k in range(1, K) if bv[i, k] > 0}
    prob += pulp.lpSum(float(bv[i, k]) * v for (i, k), v in y.items())
    for i in range(n):
        prob += pulp.lpSum(v for (j, _), v in y.items() if j == i) <= 1
    for item in range(m):
        prob += pulp.lpSum(v for (_, k), v in y.items() if bm[k, item]) <= 1
    if solver == "highs":
        from .solvers import new_highs

        new_highs()
        s = pulp.HiGHS(msg=False)
    else:
        s = cbc_solver(pulp)
    prob.solve(s)
    if prob.status != pulp.LpStatusOptimal:
        raise RuntimeError(f"winner determination failed: {pulp.LpStatus[prob.status]}")
    alloc = np.zeros((n, K))
    for (i, k), v in y.items():
        if (v.varValue or 0.0) > 0.5:
            alloc[i, k] = 1.0
    return alloc, float((alloc * bv).sum())


def _check(bv: np.ndarray, ndim: int) -> np.ndarray:
    bv = np.asarray(bv, float)
    if bv.ndim != ndim:
        raise ValueError(f"bundle values must have {ndim} dimensions, not {bv.ndim}")
    K = bv.shape[-1]
    if K < 2 or K & (K - 1):
        raise ValueError(f"the last axis must have 2**m entries (bundles by bitmask), not {K}")
    return bv


def winner_determination(bundle_values: np.ndarray, method: str = "milp", solver: str = "cbc") -> tuple[np.ndarray, float]:
    """The welfare-maximising allocation of bundles ``(n, 2**m)`` -> ``(alloc 0/1, welfare)``."""
    bv = _check(bundle_values, 2)
    if method == "dp":
        a, w = _wd_dp(bv[None])
        return a[0], float(w[0])
    return _wd_milp(bv, solver)


def winner_determination_batch(bundle_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched winner determination ``(B, n, 2**m)`` -> ``(alloc (B, n, 2**m), welfare (B,))`` by DP."""
    bv = _check(bundle_values, 3)
    out_a = np.zeros_like(bv)
    out_w = np.zeros(len(bv))
    step = max(1, 4_000_000 // (3 ** (bv.shape[2].bit_length() - 1)))
    for s in range(0, len(bv), step):
        out_a[s : s + step], out_w[s : s + step] = _wd_dp(bv[s : s + step])
    return out_a, out_w


def vcg_batch(bundle_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """VCG (Clarke pivot) for ``(B, n, 2**m)``: allocation ``(B, n, 2**m)`` and payments ``(B, n)``:
    bidder i pays the others' best welfare without i minus the others' welfare at the optimum."""
    bv = _check(bundle_values, 3)
    alloc, W = winner_determination_batch(bv)
    own = (alloc * bv).sum(axis=2)  # (B, n)
    pay = np.zeros(own.shape)
    for i in range(bv.shape[1]):
        without = bv.copy()
        without[:, i, :] = 0.0
        _, W_i = winner_determination_batch(without)
        pay[:, i] = W_i - (W - own[:, i])
    return alloc, np.maximum(pay, 0.0) * (pay > _TOL)


def vcg(bundle_values: np.ndarray, method: str = "milp", solver: str = "cbc") -> tuple[np.ndarray, np.ndarray]:
    """VCG for one instance ``(n, 2**m)`` -> ``(alloc (n, 2**m), payments (n,))``."""
    bv = _check(bundle_values, 2)
    if method == "dp":
        a, p = vcg_batch(bv[None])
        return a[0], p[0]
    alloc, W = _wd_milp(bv, solver)
    own = (alloc * bv).sum(axis=1)
    pay = np.zeros(bv.shape[0])
    for i in range(bv.shape[0]):
        without = bv.copy()
        without[i] = 0.0
        _, W_i = _wd_milp(without, solver)
        pay[i] = W_i - (W - own[i])
    return alloc, np.where(pay > _TOL, pay, 0.0)

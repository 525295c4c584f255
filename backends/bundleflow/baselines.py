"""Baselines run on the same train/test valuations as BundleFlow.

* grand bundle: the best single price for all items (v(all items) is the largest bid);
* item pricing: one price per item, found by a uniform-price line search then coordinate
  search over multiplicative moves; the bidder buys the bid bundle of highest utility;
* fixed-bundle RochetNet: a menu of deterministic bundles (drawn from the bundles bid on in
  the training set, plus the grand bundle) with prices learned by the softmax relaxation and
  evaluated with argmax (the allocations are not learned: Bundle-RochetNet, which learns
  them, is ``bundle_rochetnet.py``);
* exact LP (small m only): the revenue-optimal menu over the training sample, one (lottery
  over all 2^m bundles, price) per sampled valuation with every IC and IR constraint
  (HiGHS through scipy), evaluated with argmax on the test set.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from auctionc.cats.xor import XorBatch


def _rev_items(prices: np.ndarray, data: XorBatch) -> float:
    cost = data.bundles.astype(float) @ prices
    u = data.values - cost
    # ties go to the dearer bundle (seller-favourable, as in the menus)
    k = np.argmax(u + 1e-9 * cost, axis=1)
    rows = np.arange(len(data))
    best = u[rows, k]
    return float(np.where(best >= -1e-9, cost[rows, k], 0.0).mean())


def grand_bundle(train: XorBatch, test: XorBatch) -> dict[str, Any]:
    t0 = time.perf_counter()
    v = np.sort(train.grand_values())
    n = len(v)
    rev = v * (n - np.arange(n)) / n
    i = int(np.argmax(rev))
    price = float(v[i])
    test_rev = float(np.where(test.grand_values() >= price, price, 0.0).mean())
    return {"revenue": test_rev, "train_revenue": float(rev[i]), "price": price, "seconds": time.perf_counter() - t0}


def item_pricing(train: XorBatch, test: XorBatch, sweeps: int = 3) -> dict[str, Any]:
    t0 = time.perf_counter()
    m = train.n_items
    per_item = train.values / np.maximum(train.bundles.sum(-1), 1)
    grid = np.quantile(per_item[train.values > 0], np.linspace(0.02, 0.98, 49)) if (train.values > 0).any() else np.ones(1)
    best_c = max(grid, key=lambda c: _rev_items(np.full(m, c), train))
    prices = np.full(m, float(best_c))
    best = _rev_items(prices, train)
    evals = len(grid)
    moves = (0.0, 0.5, 0.7, 0.85, 0.95, 1.05, 1.15, 1.4, 2.0)
    for _ in range(sweeps):
        improved = False
        for g in range(m):
            base = prices[g]
            for f in moves:
                prices[g] = base * f if base > 0 else f * best_c
                r = _rev_items(prices, train)
                evals += 1
                if r > best + 1e-12:
                    best, base, improved = r, prices[g], True
            prices[g] = base
        if not improved:
            break
    return {"revenue": _rev_items(prices, test), "train_revenue": best, "prices": prices.tolist(),
            "evaluations": evals, "seconds": time.perf_counter() - t0}


def candidate_bundles(train: XorBatch, limit: int, rng: np.random.Generator) -> np.ndarray:
    """Distinct bundles bid on in the training set (the grand bundle first), at most ``limit``."""
    m = train.n_items
    rows = train.bundles.reshape(-1, m)
    rows = rows[rows.any(axis=1)]
    uniq = np.unique(rows, axis=0)
    if len(uniq) > limit - 1:
        uniq = uniq[rng.choice(len(uniq), limit - 1, replace=False)]
    return np.vstack([np.ones((1, m), dtype=np.uint8), uniq])


def fixed_rochetnet(train: XorBatch, test: XorBatch, menu: int = 256, steps: int = 2000, lr: float = 0.05,
                    seed: int = 0, schedule: Any = None) -> dict[str, Any]:
    """``schedule``: a ``relaxation.Schedule`` (its scale is set here); None: the warm-up's."""
    from auctionc.backends.bundleflow.bundle_menu import choose
    from auctionc.backends.bundleflow.relaxation import Schedule
    from auctionc.backends.bundleflow.train import WARMUP, warm_prices

    t0, c0 = time.perf_counter(), time.process_time()
    rng = np.random.default_rng(seed)
    bundles = candidate_bundles(train, menu, rng)
    table = train.values_of(bundles)
    scale = float(table[:, 0].mean()) or 1.0
    schedule = WARMUP if schedule is None else Schedule(**{**schedule.__dict__, "scale": scale})
    p = warm_prices(table / scale, steps, seed, schedule, lr) * scale
    j = len(p)
    b3 = bundles[:, None, :]
    probs = np.ones((j, 1))
    idx_test = choose(b3, probs, p, test.bundles, test.values)
    idx_train = choose(b3, probs, p, train.bundles, train.values)
    rev = float(np.where(idx_test >= 0, p[np.maximum(idx_test, 0)], 0).mean())
    train_rev = float(np.where(idx_train >= 0, p[np.maximum(idx_train, 0)], 0).mean())
    return {"revenue": rev, "train_revenue": train_rev, "menu": j, "steps": steps, "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - c0, "bundles": bundles, "prices": p}


def lp_menu(train: XorBatch, test: XorBatch, samples: int = 100) -> dict[str, Any]:
    """The optimal menu for the first ``samples`` training valuations (exact LP, IC over all
    pairs), evaluated on the test set."""
    import scipy.sparse as sp
    from auctionc.backends.bundleflow.bundle_menu import choose
    from auctionc.valuation import bundle_matrix
    from scipy.optimize import linprog

    t0 = time.perf_counter()
    m = train.n_items
    sub = train[:samples]
    n = len(sub)
    allb = bundle_matrix(m).astype(np.uint8)
    nb = allb.shape[0]
    v = sub.values_of(allb)  # (n, 2^m)
    nx = n * nb
    # variables: x[i, S] (i-major), then p[i]; maximise mean p
    c = np.concatenate([np.zeros(nx), -np.ones(n) / n])
    rows, cols, vals = [], [], []
    r = 0
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            # v_i . x_j - p_j - v_i . x_i + p_i <= 0
            rows += [r] * (2 * nb + 2)
            cols += list(range(j * nb, (j + 1) * nb)) + list(range(i * nb, (i + 1) * nb)) + [nx + j, nx + i]
            vals += list(v[i]) + list(-v[i]) + [-1.0, 1.0]
            r += 1
    for i in range(n):
        # IR: p_i - v_i . x_i <= 0
        rows += [r] * (nb + 1)
        cols += list(range(i * nb, (i + 1) * nb)) + [nx + i]
        vals += list(-v[i]) + [1.0]
        r += 1
    for i in range(n):
        rows += [r] * nb
        cols += list(range(i * nb, (i + 1) * nb))
        vals += [1.0] * nb
        r += 1
    a = sp.csr_matrix((vals, (rows, cols)), shape=(r, nx + n))
    b = np.concatenate([np.zeros(r - n), np.ones(n)])
    res = linprog(c, A_ub=a, b_ub=b, bounds=(0, None), method="highs")
    if res.status != 0:
        return {"revenue": None, "status": res.message, "seconds": time.perf_counter() - t0}
    x = res.x[:nx].reshape(n, nb)
    p = res.x[nx:]
    bundles = np.broadcast_to(allb, (n, nb, m))
    probs = np.maximum(x, 0)
    # an element that allocates nothing is the null element again; keep it a valid lottery
    empty = probs.sum(1) <= 1e-12
    probs[empty, 0] = 1.0
    probs = np.column_stack([probs, np.maximum(1 - probs.sum(1), 0)])
    bundles = np.concatenate([bundles, np.zeros((n, 1, m), dtype=np.uint8)], axis=1)
    idx = choose(bundles, probs, p, test.bundles, test.values)
    rev = float(np.where(idx >= 0, p[np.maximum(idx, 0)], 0).mean())
    return {"revenue": rev, "train_revenue": float(-res.fun), "samples": n, "bundles": nb,
            "constraints": r, "seconds": time.perf_counter() - t0}

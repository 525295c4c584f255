"""Interim (Bayesian) regret on continuous priors: the gain of a type's best single
misreport when the others' reports are unknown and drawn from their prior.

For each of K sampled own types, the expected utility of every candidate report is taken
over the same M profiles of the others (common random numbers): a grid over the report box,
then a coordinate search with shrinking steps; the regret is the best minus the truthful.
Independent private values: the others' profiles are drawn from the sampled profiles.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .certificate import Z95
from .evaluation import EVAL_ROWS, Evaluator
from .search import grid_points, keep_best
from .settings import Settings
from .spec_spaces import Draws, vec

GRID = 64
ROUNDS = 12


def interim_regret(ev: Evaluator, draws: Draws, settings: Settings, names: list[str]) -> dict[str, Any]:
    reports, values, box = draws.reports, draws.values, draws.box
    B, n, dim = reports.shape
    lo, hi = box[..., 0], box[..., 1]
    K = min(settings.interim_types, B)
    M = min(settings.interim_others, B)
    rng = np.random.default_rng([settings.seed, 104729])
    own = rng.choice(B, K, replace=False)
    others = reports[rng.choice(B, M, replace=False)]
    regrets, truthful = np.zeros((K, n)), np.zeros((K, n))
    worst, worst_gain = None, -np.inf
    rounds = min(ROUNDS, max(1, settings.steps))
    task = settings.reporter.task("verify: interim regret", total=n * (1 + rounds))
    for i in range(n):
        v = values[own, i]
        grid = grid_points(lo[i], hi[i], budget=GRID)
        if grid is None:
            grid = lo[i] + (hi[i] - lo[i]) * rng.random((GRID, dim))
        cand = np.concatenate([reports[own, i][:, None, :], np.broadcast_to(grid, (K, *grid.shape))], axis=1)
        eu = _interim_utility(ev, i, v, cand, others)
        task.update(advance=1)
        u_truth = eu[:, 0].copy()
        k = eu.argmax(axis=1)
        best_u, best_r = eu[np.arange(K), k], cand[np.arange(K), k]
        g = max(2, int(round(GRID ** (1.0 / dim)))) if dim <= 4 else 4
        step = np.broadcast_to(np.maximum((hi[i] - lo[i]) / (g - 1), 1e-12), (K, dim)).copy()
        dirs = np.concatenate([np.eye(dim), -np.eye(dim)])
        for _ in range(rounds):
            c = np.clip(best_r[:, None, :] + dirs[None] * step[:, None, :], lo[i], hi[i])
            u = _interim_utility(ev, i, v, c, others)
            best_u, best_r, better = keep_best(u, c, best_u, best_r, 1e-15)
            step = np.where(better[:, None], step, step * 0.5)
            task.update(advance=1)
        gain = best_u - u_truth
        regrets[:, i] = np.maximum(gain, 0.0)
        task.update(regret=float(regrets[:, : i + 1].max()))
        truthful[:, i] = u_truth
        j = int(gain.argmax())
        if gain[j] > worst_gain:
            worst_gain = float(gain[j])
            worst = {"bidder": names[i], "values": vec(v[j]), "misreport": vec(best_r[j]),
                     "regret": max(0.0, worst_gain), "against": "the others' prior"}
    task.close()
    per_type = regrets.mean(axis=1)
    mean = float(per_type.mean())
    se = float(per_type.std(ddof=1)) / math.sqrt(K) if K > 1 else 0.0
    return {
        "mean": mean,
        "max": float(regrets.max()),
        "ci95_upper": mean + Z95 * se,
        "se": se,
        "per_bidder": [{"bidder": names[i], "mean_regret": float(regrets[:, i].mean()),
                        "max_regret": float(regrets[:, i].max())} for i in range(n)],
        "types": K,
        "others": M,
        "worst": worst,
        "regrets": regrets,
        "truthful": truthful,
    }


def _interim_utility(ev: Evaluator, i: int, own_v: np.ndarray, cand: np.ndarray, others: np.ndarray) -> np.ndarray:
    """``(K, C)`` expected utility of bidder i (own values ``(K, dim)``) reporting
    ``cand (K, C, dim)`` against the others' reports ``(M, n, dim)``."""
    K, C, dim = cand.shape
    M = len(others)
    out = np.empty((K, C))
    step = max(1, EVAL_ROWS // max(1, C * M * others.shape[1] * dim))
    for s in range(0, K, step):
        k = min(K, s + step) - s
        bids = np.broadcast_to(others, (k, C, *others.shape)).copy()  # (k, C, M, n, dim)
        bids[:, :, :, i, :] = cand[s : s + k, :, None, :]
        a, p = ev(bids.reshape(-1, *others.shape[1:]))
        a = a.reshape(k, C, M, *a.shape[1:])[:, :, :, i, :]
        p = p.reshape(k, C, M, -1)[:, :, :, i]
        out[s : s + k] = ((own_v[s : s + k, None, None, :] * a).sum(axis=3) - p).mean(axis=2)
    return out

"""Revenue and welfare on continuous priors: one figure each, with a 95% confidence interval,
from fresh profiles drawn in growing batches until the half-width is at most ``precision``
(default 0.25%) of the estimate, or the budget of ``metric_samples`` profiles is spent.

The batches also feed the evaluator's validity figures and the truthful IR check, so every
profile of the estimate is a profile checked.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .certificate import Z95, sampled_metric
from .settings import METRIC_SAMPLES, Settings

FIRST_BATCH = 20_000
MAX_BATCH = 200_000

BatchFn = Callable[[int, np.random.Generator], dict[str, np.ndarray]]
"""``(size, rng) -> {"revenue": (B,), "welfare": (B,), "utility": (B, n), ...}``: the figures of
``size`` fresh truthful profiles."""


class _Running:
    def __init__(self) -> None:
        self.n = 0
        self.sum: dict[str, np.ndarray] = {}
        self.sq: dict[str, np.ndarray] = {}
        self.min_utility: np.ndarray | None = None

    def add(self, out: dict[str, np.ndarray]) -> None:
        for k, v in out.items():
            v = np.asarray(v, float)
            s, q = v.sum(axis=0), (v * v).sum(axis=0)
            self.sum[k] = self.sum.get(k, 0) + s
            self.sq[k] = self.sq.get(k, 0) + q
        u = np.asarray(out["utility"], float).min(axis=0)
        self.min_utility = u if self.min_utility is None else np.minimum(self.min_utility, u)
        self.n += len(out["revenue"])

    def mean(self, k: str) -> np.ndarray:
        return self.sum[k] / self.n

    def half_width(self, k: str) -> float:
        m = self.mean(k)
        var = max(0.0, float(self.sq[k] / self.n - m * m)) * self.n / max(1, self.n - 1)
        return Z95 * math.sqrt(var / self.n)


def adaptive_metrics(batch: BatchFn, settings: Settings, headline: tuple[str, ...] = ("revenue", "welfare"),
                     label: str = "verify: revenue and welfare", default_budget: int = METRIC_SAMPLES) -> dict[str, Any]:
    """``{"metrics": {...}, "per_bidder_utility": [...], "min_utility": [...], "samples": n}``."""
    rng = np.random.default_rng([settings.seed, 101])
    budget = max(2, settings.metric_budget(default_budget))
    run = _Running()
    size = min(FIRST_BATCH, budget)
    task = settings.reporter.task(label, total=budget)
    reached = False
    while run.n < budget:
        run.add(batch(min(size, budget - run.n), rng))
        reached = all(run.half_width(k) <= settings.precision * abs(float(run.mean(k))) for k in headline)
        task.update(completed=run.n, revenue=float(run.mean("revenue")))
        if reached:
            break
        size = min(2 * size, MAX_BATCH)
    task.close()
    extra = {"precision_target": settings.precision, "precision_reached": bool(reached), "budget": budget}
    metrics = {}
    for k in run.sum:
        if k == "utility":
            continue
        mean, hw = float(run.mean(k)), run.half_width(k)
        metrics[k] = sampled_metric(mean, hw, run.n, **(extra if k in headline else {}))
    return {
        "metrics": metrics,
        "per_bidder_utility": [float(x) for x in np.atleast_1d(run.mean("utility"))],
        "min_utility": [float(x) for x in np.atleast_1d(run.min_utility)],
        "samples": run.n,
        "precision_reached": bool(reached),
    }

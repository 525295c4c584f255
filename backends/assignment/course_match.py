"""Course Match (Budish, Cachon, Kessler & Othman 2017) and A-CEEI (Budish 2011).

Students get approximately equal budgets (``1 + j * spread / N``) and buy their demanded
schedule at common course prices.  The steps, described in docs/assignment.md:

1. **Price search** (``tabu_search``): a tabu search over price vectors minimising the
   clearing error, the Euclidean norm of the clipped excess demand (excess demand of each
   course; an under-filled course counts only when its price is positive), after Othman,
   Sandholm & Budish (2010) and Budish, Gao, Othman, Rubinstein & Zhang (2023).  Each step
   moves to the best neighbour whose aggregate demand has not been visited: gradient
   neighbours (prices moved along the clipped excess demand by several step sizes) and one
   neighbour per course (an over-demanded course priced just past the point where one of
   its buyers can no longer afford her schedule; an under-filled priced course made free).
   After ``patience`` steps without improvement it restarts from random prices.
2. **Clearing** (``remove_oversubscription``): while a course is over-demanded, the most
   over-demanded one is priced, by bisection, at the lowest price at which it fits.  The
   result is feasible; this is the end of ``a_ceei``.
3. **Aftermarket** (``reduce_undersubscription``, Course Match only): students, in order of
   their leftover budget (least first), may re-optimise with 10% more budget among their
   own courses and the courses with free seats; passes repeat until nobody improves.

``demand`` is a ``TableDemand`` or a ``MilpDemand`` (same interface: called with prices it
returns every student's schedule; ``best_among`` answers the aftermarket's question).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .demand import counts

GRADIENT_STEPS = (0.02, 0.05, 0.1, 0.2, 0.4)
"""Gradient-neighbour step sizes, in budget units per course-capacity of excess demand."""
AFTERMARKET_BUDGET = 1.1
"""Budget multiplier of the aftermarket (Course Match's Algorithm 3)."""


def clearing_error(demanded: np.ndarray, seats: np.ndarray, prices: np.ndarray) -> float:
    """||z~||_2 with z = demand - seats, and z~_j = max(z_j, 0) where p_j = 0."""
    z = demanded - seats
    z = np.where(prices > 0, z, np.maximum(z, 0))
    return float(np.sqrt(np.sum(z.astype(np.float64) ** 2)))


def clipped_excess(demanded: np.ndarray, seats: np.ndarray, prices: np.ndarray) -> np.ndarray:
    z = (demanded - seats).astype(np.float64)
    return np.where(prices > 0, z, np.maximum(z, 0))


def error_bound(max_courses: int, n_courses: int) -> float:
    """Budish (2011): an allocation with clearing error at most sqrt(sigma * M) / 2, sigma =
    min(2k, M), exists for any budgets (k: the most courses a student takes, M: courses)."""
    sigma = min(2 * max_courses, n_courses)
    return float(np.sqrt(sigma * n_courses) / 2)


@dataclass
class PriceSearch:
    prices: np.ndarray
    chosen: np.ndarray
    error: float
    steps: int
    restarts: int
    evaluations: int
    seconds: float
    history: list[float] = field(default_factory=list)


def _drop_price(demand, prices: np.ndarray, chosen: np.ndarray, course: int, cap: float) -> float:
    """The lowest price of ``course`` at which one of its current buyers can no longer afford her
    schedule (just above it), capped at ``cap``."""
    cost = demand.schedules.costs(prices, chosen)
    buyers = demand.schedules.matrix[chosen, course] > 0
    if not buyers.any():
        return prices[course]
    slack = demand.budgets[buyers] - cost[buyers]
    return float(min(cap, prices[course] + slack.min() + 1e-5))


def tabu_search(demand, seats: np.ndarray, rng: np.random.Generator, *, steps: int,
                patience: int = 5, max_seconds: float | None = None) -> PriceSearch:
    t0 = time.perf_counter()
    m = len(seats)
    b_max = float(demand.budgets.max())
    scale = b_max / max(1.0, float(np.mean(seats)))
    # random starts: a full schedule costs half the budget on average (starts in [0, b_max]
    # for every course leave students only one or two affordable courses at first)
    start_scale = b_max / max(1, int(demand.schedules.sizes.max()))
    evals0 = demand.evaluations

    def evaluate(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        chosen = demand(p)
        d = counts(demand.schedules, chosen)
        return chosen, d, clearing_error(d, seats, p)

    best: tuple[float, np.ndarray, np.ndarray] | None = None
    restarts = 0
    history: list[float] = []
    step = 0
    while step < steps:
        p = rng.uniform(0.0, start_scale, size=m)
        chosen, d, err = evaluate(p)
        tabu = {tuple(d)}
        stale = 0
        local_best = err
        if best is None or err < best[0]:
            best = (err, p.copy(), chosen.copy())
        while step < steps and stale < patience and best[0] > 0:
            if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
                step = steps
                break
            step += 1
            z = clipped_excess(d, seats, p)
            neighbours = [np.maximum(0.0, p + delta * scale * z) for delta in GRADIENT_STEPS]
            for j in np.argsort(-np.abs(z)):
                if z[j] > 0:
                    q = p.copy()
                    q[j] = _drop_price(demand, p, chosen, j, b_max + 1e-3)
                    neighbours.append(q)
                elif z[j] < 0 and p[j] > 0:
                    q = p.copy()
                    q[j] = 0.0
                    neighbours.append(q)
            scored = []
            for q in neighbours:
                qc, qd, qe = evaluate(q)
                key = tuple(qd)
                if key not in tabu:
                    scored.append((qe, q, qc, qd, key))
            if not scored:
                break
            qe, q, qc, qd, key = min(scored, key=lambda s: s[0])
            tabu.add(key)
            p, chosen, d, err = q, qc, qd, qe
            history.append(err)
            if err < best[0]:
                best = (err, p.copy(), chosen.copy())
            if err < local_best - 1e-12:
                local_best, stale = err, 0
            else:
                stale += 1
        if best[0] == 0 or (max_seconds is not None and time.perf_counter() - t0 > max_seconds):
            break
        restarts += 1
    assert best is not None
    return PriceSearch(best[1], best[2], best[0], step, restarts, demand.evaluations - evals0,
                       time.perf_counter() - t0, history)


def remove_oversubscription(demand, seats: np.ndarray, prices: np.ndarray,
                            tol: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Raise prices until no course is over-demanded (each raise by bisection to the lowest
    price at which the most over-demanded course fits)."""
    p = prices.copy()
    top = float(demand.budgets.max()) + 1e-3
    chosen = demand(p)
    while True:
        over = counts(demand.schedules, chosen) - seats
        j = int(np.argmax(over))
        if over[j] <= 0:
            return p, chosen
        lo, hi = p[j], top
        while hi - lo > tol:
            mid = 0.5 * (lo + hi)
            p[j] = mid
            if counts(demand.schedules, demand(p))[j] > seats[j]:
                lo = mid
            else:
                hi = mid
        p[j] = hi
        chosen = demand(p)


def reduce_undersubscription(demand, seats: np.ndarray, prices: np.ndarray, chosen: np.ndarray,
                             factor: float = AFTERMARKET_BUDGET, max_passes: int = 50) -> np.ndarray:
    """The aftermarket: students re-optimise over their courses and those with free seats."""
    chosen = chosen.copy()
    sch = demand.schedules
    free = seats - counts(sch, chosen)
    for _ in range(max_passes):
        changed = False
        leftover = demand.budgets - sch.costs(prices, chosen)
        for i in np.argsort(leftover, kind="stable"):
            allowed_courses = (sch.matrix[chosen[i]] > 0) | (free > 0)
            best = demand.best_among(int(i), allowed_courses, prices, factor * demand.budgets[i])
            if demand.table[i, best] > demand.table[i, chosen[i]] + 1e-9:
                free += (sch.matrix[chosen[i]] - sch.matrix[best]).astype(np.int64)
                chosen[i] = best
                changed = True
        if not changed:
            break
    return chosen


@dataclass
class Allocation:
    chosen: np.ndarray
    prices: np.ndarray
    search_error: float
    """Clearing error of the price search, before clearing."""
    search: PriceSearch | None


def allocate(demand, seats: np.ndarray, rng: np.random.Generator, *, aftermarket: bool,
             steps: int, max_seconds: float | None = None) -> Allocation:
    search = tabu_search(demand, seats, rng, steps=steps, max_seconds=max_seconds)
    prices, chosen = remove_oversubscription(demand, seats, search.prices)
    if aftermarket:
        chosen = reduce_undersubscription(demand, seats, prices, chosen)
    assert np.all(counts(demand.schedules, chosen) <= seats), "clearing left a course over-demanded"
    return Allocation(chosen, prices, search.error, search)

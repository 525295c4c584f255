"""Preference elicitation: each student's monotone value model, fitted to her interface
report and refined by comparison queries answered by her proxy.

Per student (all students at once, round by round):

1. **Reported data**: ``card`` schedules, half her best by reported value and half drawn at
   random, labelled with her reported values (divided by her best reported value, so every
   student's targets lie in [0, 1]).
2. **Ensemble**: ``ensemble`` monotone networks fitted to that data, each with its own
   initialisation and bootstrap weights on the reported schedules, so that they agree
   where the report pins the value down and differ where it does not.
3. **Queries**, ``queries`` rounds: the query-selection rule picks two schedules from a
   candidate pool (``pool`` schedules: her best by reported value and random ones) that she
   can afford at the interface-report prices; the proxy answers; every network is refitted
   on the reported data and all answers so far (warm start, ``query_epochs`` epochs).
   ``uncertainty`` (double Thompson sampling over the ensemble, after the LLM-proxy paper's
   acquisition rule): two members are drawn at random and each proposes its best
   affordable schedule; where they agree the second proposes its next best.  ``random``: two
   distinct affordable pool schedules at random (the baseline).
4. **Value tables**: after 0 queries and at each checkpoint, the ensemble mean over every
   schedule is the student's value table for the allocation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .mvnn import FitSettings, MonotoneNets, fit, predict
from .proxies import Proxy, ProxyAnswer, Query
from .schedules import Schedules


@dataclass(frozen=True)
class ElicitationSettings:
    queries: int
    selection: str
    ensemble: int
    hidden: tuple[int, ...]
    card: int
    pool: int
    fit: FitSettings
    query_epochs: int
    checkpoints: tuple[int, ...]
    keep_networks: bool = False
    """Keep every student's networks at each checkpoint (as arrays, for the MILP demand)."""


@dataclass
class Elicited:
    tables: dict[int, np.ndarray]
    """Queries answered -> (n_students, n_schedules) value tables (in reported-value units)."""
    answers: list[tuple[Query, ProxyAnswer]] = field(default_factory=list)
    consistent: int = 0
    """Majority answers that agree with the student's true values (ties in truth excluded)."""
    judged: int = 0
    agreement_sum: float = 0.0
    answered: int = 0
    """Queries with at least one vote read (the others train nothing)."""
    votes: int = 0
    shown_first: int = 0
    """Votes for the schedule shown first: near half unless the proxy has a position bias."""
    train_seconds: float = 0.0
    nets: MonotoneNets | None = None
    networks: dict[int, list[list[tuple]]] = field(default_factory=dict)
    """Queries answered -> per student, her ensemble as arrays (``keep_networks``)."""

    @property
    def consistency(self) -> float | None:
        return self.consistent / self.judged if self.judged else None

    @property
    def agreement(self) -> float | None:
        """The mean majority share over the answered queries."""
        return self.agreement_sum / self.answered if self.answered else None

    @property
    def shown_first_share(self) -> float | None:
        return self.shown_first / self.votes if self.votes else None

    def summary(self) -> dict[str, float | None]:
        confs = [a.confidence for _, a in self.answers if a.confidence is not None]
        return {
            "answers": len(self.answers),
            "answered": self.answered,
            "consistency": self.consistency,
            "agreement": self.agreement,
            "shown_first_share": self.shown_first_share,
            "confidence": float(np.mean(confs)) if confs else None,
        }


def _sample_pool(reported: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """(n_students, size) schedule indices: each student's best by reported value, then random
    others (without repeats)."""
    n_students, n = reported.shape
    size = min(size, n)
    half = size // 2
    out = np.empty((n_students, size), dtype=np.int64)
    for i in range(n_students):
        best = np.argpartition(-reported[i], half - 1)[:half] if half else np.empty(0, dtype=np.int64)
        rest = np.setdiff1d(np.arange(n), best, assume_unique=False)
        out[i, :half] = best
        out[i, half:] = rng.choice(rest, size=size - half, replace=False)
    return out


def elicit(reported: np.ndarray, schedules: Schedules, budgets: np.ndarray, prices: np.ndarray,
           proxy: Proxy | None, true_table: np.ndarray, settings: ElicitationSettings, seed: int,
           ) -> Elicited:
    """``reported``: (n_students, n_schedules) reported values; ``prices``: the interface-report
    Course Match prices (where the queries look); ``true_table`` only scores the answers."""
    t0 = time.perf_counter()
    rng = np.random.default_rng([seed, 5])
    gen = torch.Generator().manual_seed(int(np.random.default_rng([seed, 6]).integers(2**31)))
    n_students, n = reported.shape
    e_count = settings.ensemble
    x_all = torch.from_numpy(schedules.matrix)
    scale = np.maximum(reported.max(axis=1), 1e-9)

    card = _sample_pool(reported, settings.card, rng)
    card_y = reported[np.arange(n_students)[:, None], card] / scale[:, None]
    rep = lambda a: np.repeat(a, e_count, axis=0)  # noqa: E731 - student rows to network rows
    card_x_t = x_all[torch.from_numpy(rep(card))]
    card_y_t = torch.from_numpy(rep(card_y)).float()
    card_w_t = torch.from_numpy(rng.poisson(1.0, size=card_x_t.shape[:2]).astype(np.float32) + 1e-3)
    if e_count == 1:
        card_w_t = torch.ones_like(card_w_t)

    nets = MonotoneNets(n_students * e_count, schedules.matrix.shape[1], settings.hidden, gen)
    fit(nets, card_x_t, card_y_t, card_w_t, None, None, None, None, settings.fit)
    out = Elicited(tables={}, nets=nets)

    def checkpoint(k: int) -> None:
        out.tables[k] = _mean_table(nets, x_all, n_students, e_count, scale)
        if settings.keep_networks:
            # the networks value schedules in units of the best reported value: scale the output
            out.networks[k] = [[_scaled(nets.numpy_net(i * e_count + e), scale[i]) for e in range(e_count)]
                               for i in range(n_students)]

    if 0 in settings.checkpoints:
        checkpoint(0)

    pool = _sample_pool(reported, settings.pool, rng)
    affordable = schedules.costs(prices, pool) <= budgets[:, None] + 1e-9
    affordable[~affordable.any(axis=1)] = True  # nothing affordable in the pool: ask about any
    pool_x = x_all[torch.from_numpy(pool)]
    asked: list[set[tuple[int, int]]] = [set() for _ in range(n_students)]
    firsts: list[np.ndarray] = []
    seconds_: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    fit_q = FitSettings(**{**settings.fit.__dict__, "epochs": settings.query_epochs})
    for r in range(1, settings.queries + 1):
        if proxy is None:
            break
        with torch.no_grad():
            scores = nets(pool_x.repeat_interleave(e_count, dim=0)).reshape(n_students, e_count, -1).numpy()
        queries = [_select(i, scores[i], pool[i], affordable[i], asked[i], settings.selection, rng)
                   for i in range(n_students)]
        answers = proxy.answer(queries)
        for q, a in zip(queries, answers, strict=True):
            asked[q.student].add((min(q.first, q.second), max(q.first, q.second)))
            out.answers.append((q, a))
            out.votes += a.votes
            out.shown_first += a.shown_first
            if not a.answered:
                continue
            out.answered += 1
            out.agreement_sum += a.agreement
            tv = true_table[q.student, q.first] - true_table[q.student, q.second]
            if tv != 0:
                out.judged += 1
                out.consistent += int(a.prefers_first == (tv > 0))
        firsts.append(np.array([q.first for q in queries]))
        seconds_.append(np.array([q.second for q in queries]))
        labels.append(np.array([a.share_first for a in answers], dtype=np.float32))
        # a query no vote of which could be read weighs nothing
        weights.append(np.array([float(a.answered) for a in answers], dtype=np.float32))
        f = x_all[torch.from_numpy(rep(np.stack(firsts, axis=1)))]
        s = x_all[torch.from_numpy(rep(np.stack(seconds_, axis=1)))]
        lab = torch.from_numpy(rep(np.stack(labels, axis=1)))
        w = torch.from_numpy(rep(np.stack(weights, axis=1)))
        fit(nets, card_x_t, card_y_t, card_w_t, f, s, lab, w, fit_q)
        if r in settings.checkpoints:
            checkpoint(r)
    out.train_seconds = time.perf_counter() - t0
    return out


def _select(student: int, scores: np.ndarray, pool: np.ndarray, affordable: np.ndarray,
            asked: set[tuple[int, int]], rule: str, rng: np.random.Generator) -> Query:
    """Two distinct affordable pool schedules not compared before (``scores``: (members, pool))."""
    cand = np.flatnonzero(affordable)
    if rule == "random" or len(cand) < 2:
        cand = cand if len(cand) >= 2 else np.arange(len(pool))
        for _ in range(20):
            a, b = rng.choice(cand, size=2, replace=False)
            if (min(pool[a], pool[b]), max(pool[a], pool[b])) not in asked:
                break
        return Query(student, int(pool[a]), int(pool[b]))
    members = rng.choice(scores.shape[0], size=2, replace=scores.shape[0] < 2)
    first = cand[np.argmax(scores[members[0], cand])]
    order = cand[np.argsort(-scores[members[1], cand], kind="stable")]
    for second in order:
        key = (min(pool[first], pool[second]), max(pool[first], pool[second]))
        if second != first and pool[second] != pool[first] and key not in asked:
            return Query(student, int(pool[first]), int(pool[second]))
    other = order[0] if order[0] != first else order[1]
    return Query(student, int(pool[first]), int(pool[other]))


def _scaled(net: tuple, factor: float) -> tuple:
    weights, biases, out_w = net
    return weights, biases, out_w * factor


def _mean_table(nets: MonotoneNets, x_all: torch.Tensor, n_students: int, e_count: int,
                scale: np.ndarray) -> np.ndarray:
    """The ensemble mean of every schedule, per student, back in reported-value units."""
    values = predict(nets, x_all).reshape(n_students, e_count, -1).mean(dim=1).double().numpy()
    return values * scale[:, None]


def pairwise_accuracy(model: np.ndarray, truth: np.ndarray, first: np.ndarray, second: np.ndarray) -> float:
    """Share of (student, first, second) comparisons the model orders as the truth does
    (pairs the truth leaves tied are skipped)."""
    rows = np.arange(model.shape[0])[:, None]
    t = truth[rows, first] - truth[rows, second]
    m = model[rows, first] - model[rows, second]
    judged = t != 0
    return float(np.mean(np.sign(m[judged]) == np.sign(t[judged])))

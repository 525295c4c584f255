"""The one door through which the verifier asks an artifact anything: ``allocate_and_pay``
in memory-bounded chunks, every answer checked as it passes.

Each batch of outcomes is checked against the spec: shapes; allocations finite and in
[0, 1] and feasible (no item over-allocated, unit demand respected); experiments finite,
nonnegative and stochastic (each column sums to one, tolerance 1e-9); payments and prices
finite.  The worst violation of each kind over everything the verifier evaluated is kept
for the validity checks, so a profile reached by the enumeration, the search or the revenue
estimate is checked without a second pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import valuation as V
from ..cats.xor import XorBatch

STOCHASTIC_TOL = 1e-9
"""How far an experiment's column may sum from one, or an entry fall below zero."""
EVAL_ROWS = 200_000
"""Outcome entries per ``allocate_and_pay`` call (a memory bound)."""


class EvaluationError(Exception):
    """The artifact raised, or answered with arrays of the wrong shape."""


class Evaluator:
    """``allocate_and_pay`` of one artifact under one spec, with running validity figures."""

    def __init__(self, mech: Any, spec: Any) -> None:
        self.mech = mech
        self.spec = spec
        self.market = spec.kind == "market"
        self.n = spec.n_bidders
        if self.market:
            b = spec.buyers[0]
            self.shape = (len(b.actions), len(spec.states))
        else:
            self.cats = any(b.valuation.kind == "cats" for b in spec.bidders)
            self.shape = (spec.n_items,) if self.cats else (V.outcome_dim(spec),)
        self.rows = 0
        self.range_violation = 0.0
        self.feasibility_violation = 0.0
        self.nonfinite = 0

    def __call__(self, bids: Any) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(bids, XorBatch):
            return self._checked(bids, len(bids))
        bids = np.asarray(bids, float)
        per = max(1, int(np.prod(bids.shape[1:])))
        step = max(1, EVAL_ROWS // per)
        if len(bids) <= step:
            return self._checked(bids, len(bids))
        parts = [self._checked(bids[s : s + step], len(bids[s : s + step])) for s in range(0, len(bids), step)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _checked(self, bids: Any, B: int) -> tuple[np.ndarray, np.ndarray]:
        try:
            a, p = self.mech.allocate_and_pay(bids)
            a, p = np.asarray(a, float), np.asarray(p, float)
        except (ValueError, IndexError, TypeError, KeyError, ZeroDivisionError, FloatingPointError) as e:
            raise EvaluationError(f"the {self.mech.kind} artifact failed to evaluate reports ({type(e).__name__}: {e})") from None
        want = (B, self.n, *self.shape)
        if a.shape != want or p.shape != (B, self.n):
            raise EvaluationError(
                f"the {self.mech.kind} artifact answered {B} reports with outcomes {a.shape} and payments {p.shape}; "
                f"the spec needs {want} and {(B, self.n)}")
        self.rows += B
        finite = np.isfinite(a)
        self.nonfinite += int((~finite).sum()) + int((~np.isfinite(p)).sum())
        a0 = np.where(finite, a, 0.0)
        self.range_violation = max(self.range_violation, float(np.maximum(-a0, 0).max(initial=0.0)))
        if self.market:
            dev = np.abs(a0.sum(axis=-2) - 1.0).max(initial=0.0)  # columns: sum over signals
            self.feasibility_violation = max(self.feasibility_violation, float(dev))
        else:
            self.range_violation = max(self.range_violation, float(np.maximum(a0 - 1.0, 0).max(initial=0.0)))
            if not self.cats:
                self.feasibility_violation = max(self.feasibility_violation, V.feasibility_violation(self.spec, a0))
        return a, p


def utility_with(ev: Evaluator, i: int, reports: np.ndarray, values: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Bidder i's utility ``(B, C)`` when it reports ``cand[b, c]`` (the others as in ``reports``)."""
    B, C, dim = cand.shape
    out = np.empty((B, C))
    step = max(1, EVAL_ROWS // max(1, C * reports.shape[1] * dim))
    for s in range(0, B, step):
        sl = slice(s, min(B, s + step))
        b = sl.stop - sl.start
        bids = np.repeat(reports[sl, None], C, axis=1)  # (b, C, n, dim)
        bids[:, :, i, :] = cand[sl]
        a, p = ev(bids.reshape(b * C, *reports.shape[1:]))
        a = a.reshape(b, C, *a.shape[1:])[:, :, i, :]
        p = p.reshape(b, C, -1)[:, :, i]
        out[sl] = (values[sl, None, i, :] * a).sum(axis=2) - p
    return out

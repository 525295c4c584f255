"""Proxies: who answers "which of these two schedules do you prefer?" for a student.

``Proxy.answer`` takes a batch of queries (student, first schedule, second schedule) and
returns, per query, the votes cast for the first schedule, the number of votes that could
be read, and their agreement (the majority's share); ``Proxy.usage`` says what the answers
cost (model calls, cache hits, tokens, dollars, seconds).  The oracle answers from the
student's true values, each vote flipped with probability ``flip``: the experiments'
stand-in for a model, and the reference the LLM proxy (``llm_proxy``) is measured against.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Query:
    student: int
    first: int
    second: int
    """Schedule indices (rows of ``Schedules``)."""


@dataclass(frozen=True)
class ProxyAnswer:
    votes_first: int
    votes: int
    """Votes that could be read (an LLM's unreadable replies are not votes)."""
    asked: int | None = None
    """Votes asked for (default: ``votes``)."""
    shown_first: int = 0
    """Votes for whichever schedule was shown first (A): a model's position bias."""
    confidence: float | None = None
    """The mean confidence the votes stated (LLM only)."""

    @property
    def answered(self) -> bool:
        """Whether any vote could be read (an unanswered query does not train the model)."""
        return self.votes > 0

    @property
    def share_first(self) -> float:
        """The soft label: the share of votes for the first schedule (0.5 when unanswered)."""
        return self.votes_first / self.votes if self.votes else 0.5

    @property
    def prefers_first(self) -> bool:
        """The majority label (ties go to the first schedule)."""
        return 2 * self.votes_first >= self.votes

    @property
    def agreement(self) -> float:
        """The majority's share of the votes (1 when every vote agrees)."""
        return max(self.votes_first, self.votes - self.votes_first) / self.votes if self.votes else 0.0


class Proxy(ABC):
    kind: str

    @abstractmethod
    def answer(self, queries: list[Query]) -> list[ProxyAnswer]:
        """One answer per query, in order."""

    def usage(self) -> dict[str, float]:
        """What the answers so far cost: model calls (cache hits are free), tokens, dollars and
        the seconds spent answering (zero for the oracle)."""
        return {"calls": 0.0, "cache_hits": 0.0, "tokens": 0.0, "cost_usd": 0.0, "seconds": 0.0}


class OracleProxy(Proxy):
    """Answers from true values; each of ``votes`` votes is flipped with probability ``flip``.
    Schedules of equal true value get a fair coin per vote."""

    kind = "oracle"

    def __init__(self, true_values: np.ndarray, flip: float, votes: int, rng: np.random.Generator):
        self.true_values = true_values
        self.flip = flip
        self.votes = votes
        self.rng = rng

    def answer(self, queries: list[Query]) -> list[ProxyAnswer]:
        out = []
        for q in queries:
            a = self.true_values[q.student, q.first]
            b = self.true_values[q.student, q.second]
            truth = np.full(self.votes, a > b) if a != b else self.rng.random(self.votes) < 0.5
            flipped = self.rng.random(self.votes) < self.flip
            first = int(np.sum(truth != flipped))
            out.append(ProxyAnswer(votes_first=first, votes=self.votes, shown_first=first))
        return out


def make_proxy(spec: Any, true_values: np.ndarray, seed: int, llm_session: Any = None, instance: Any = None,
               schedules: Any = None) -> Proxy | None:
    """The spec's proxy for one instance, or None when the students have none.  An LLM proxy
    needs the run's ``llm_session`` (``llm_proxy.LLMSession``), the instance (its students'
    true profiles, which their descriptions state) and its schedules."""
    proxy = spec.students.proxy
    if proxy is None:
        return None
    if proxy.kind == "oracle":
        return OracleProxy(true_values, proxy.flip, proxy.votes, np.random.default_rng([seed, 4]))
    assert llm_session is not None and instance is not None, "an LLM proxy runs inside an LLMSession"
    return llm_session.proxy_for(instance, seed, schedules)

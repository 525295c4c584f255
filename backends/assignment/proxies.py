"""Proxies: who answers "which of these two schedules do you prefer?" for a student.

``Proxy.answer`` takes a batch of queries (student, first schedule, second schedule) and
returns, per query, the votes cast for the first schedule, the number of votes, their
agreement (the majority's share) and what the answer cost (calls, tokens, dollars,
seconds).  The oracle answers from the student's true values, each vote flipped with
probability ``flip``: the experiments' stand-in for a model, and the reference the LLM
proxy is measured against.  The LLM proxy is not available in this version:
``make_proxy`` refuses it with E0850 rather than pretending to answer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from auctionc import ir
from auctionc.diagnostics import Diagnostic
from auctionc.errors import BackendError


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
    calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0

    @property
    def share_first(self) -> float:
        """The soft label: the share of votes for the first schedule."""
        return self.votes_first / self.votes

    @property
    def prefers_first(self) -> bool:
        """The majority label (ties go to the first schedule)."""
        return 2 * self.votes_first >= self.votes

    @property
    def agreement(self) -> float:
        """The majority's share of the votes (1 when every vote agrees)."""
        return max(self.votes_first, self.votes - self.votes_first) / self.votes


class Proxy(ABC):
    kind: str

    @abstractmethod
    def answer(self, queries: list[Query]) -> list[ProxyAnswer]:
        """One answer per query, in order."""


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
            out.append(ProxyAnswer(votes_first=int(np.sum(truth != flipped)), votes=self.votes))
        return out


def llm_unavailable(spec: ir.AssignmentSpec, calls: int | None = None) -> BackendError:
    """E0850, pointing at the spec's proxy: the LLM proxy makes no calls in this version."""
    would = f" (it would make {calls:,} model calls)" if calls is not None else ""
    return BackendError(Diagnostic(
        "E0850",
        f"the LLM proxy is not available in this version of auctionc{would}",
        help="answer the comparison queries with the oracle instead: write 'proxy oracle(flip = 0.1)' "
             "in the students block (flip is the share of wrong answers)",
        notes=("the proxy's settings (model, votes, temperature, description, omit) are checked and kept in the IR, "
               "and its prompt templates ship with the backend; the model calls are wired in a later version",),
        where="students.proxy",
    ).with_span(spec))


def make_proxy(spec: ir.AssignmentSpec, true_values: np.ndarray, seed: int) -> Proxy | None:
    """The spec's proxy for one instance, or None when the students have none."""
    proxy = spec.students.proxy
    if proxy is None:
        return None
    if proxy.kind == "oracle":
        return OracleProxy(true_values, proxy.flip, proxy.votes, np.random.default_rng([seed, 4]))
    raise llm_unavailable(spec)

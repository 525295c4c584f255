"""The LLM proxy: a language model reads each student's plain-language description of her
preferences (``descriptions``) and answers comparison queries for her, through the
compiler's LLM engine (``auctionc.llm``: reply cache, transcript, hard cost cap, retries).

Response variability: every query is asked ``votes`` times, the schedules' order swapped on
every other vote (a model that always picks the schedule shown first then splits its votes
instead of agreeing with itself); the answer is the votes for the first schedule out of the
votes that could be read, so the elicitation trains on the vote share (a soft label) and the
majority is the hard answer.  A query none of whose votes could be read trains nothing.

With ``interface = true`` the model also fills in the student's interface report from her
description (``interface_reports``): a value from 0 to 100 per course, asked ``votes``
times, the median of the readable votes per course (a student none of whose votes could be
read reports nothing).  The report has no pairwise adjustments.

Seeds and the cache: each vote is the engine's draw ``{run, student, first, second, vote}``
(``run`` names the spec and the instance's seed); the engine derives the call's seed from
it and caches the reply under it, so a rerun replays every answer without a model call and
a seeded local model gives the same answers without the cache.

``LLMSession`` holds what a run shares (the engine, the call configuration, one event loop
for every instance); ``LLMSession.proxy_for`` makes one instance's proxy.  The run's model
calls are made from ``answer`` on that loop; ``BudgetExhausted`` from the engine is raised
after the calls in flight finish.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .descriptions import describe
from .preferences import Profile
from .prompting import (
    answer_schema,
    interface_messages,
    interface_schema,
    query_messages,
    read_answer,
    reminder,
)
from .proxies import Proxy, ProxyAnswer, Query

DESCRIPTION_STREAM = 8
"""Random stream ``[seed, 8, student]`` of the description's omitted facts (experiment.py
lists the others)."""


@dataclass(frozen=True)
class ProxySettings:
    """How the proxy asks: votes per query, plain or chain-of-thought reasoning, the
    description's style and omitted share, and whether replies are JSON under a schema."""

    votes: int
    reasoning: str
    description: str
    omit: float
    structured: bool
    interface: bool = False
    """The model also fills in the interface report."""


class LLMSession:
    """The run's model-call machinery for the LLM proxy.

    ``engine``: an ``auctionc.llm.LLMEngine`` (or anything with its ``ask`` coroutine and
    ``stats``); ``cfg``: its ``ModelConfig``; ``run``: the run's name in every draw id."""

    def __init__(self, engine: Any, cfg: Any, settings: ProxySettings, run: str):
        self.engine = engine
        self.cfg = cfg
        self.settings = settings
        self.run = run
        self.loop = asyncio.new_event_loop()

    def close(self) -> None:
        """Close the loop as ``asyncio.run`` does: tasks left behind (litellm's logging) are
        cancelled and awaited first."""
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def __enter__(self) -> LLMSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def proxy_for(self, instance: Any, seed: int, schedules: Any) -> LLMProxyAnswers:
        """One instance's proxy: its students' descriptions written from their true profiles;
        ``schedules`` (``Schedules``) turns a query's schedule indices into courses."""
        s = self.settings
        texts = [describe(p, instance.demand, s.description, s.omit,
                          np.random.default_rng([seed, DESCRIPTION_STREAM, j])).text
                 for j, p in enumerate(instance.students)]

        def courses_of(row: int) -> tuple[int, ...]:
            return tuple(int(c) for c in np.flatnonzero(schedules.matrix[row]))

        return LLMProxyAnswers(self, texts, instance.names, f"{self.run}:seed{seed}", courses_of)


class LLMProxyAnswers(Proxy):
    """Answers comparison queries for one instance's students (``descriptions[i]`` is
    student i's text; ``names`` the courses; ``courses_of(schedule index)`` its courses)."""

    kind = "llm"

    def __init__(self, session: LLMSession, descriptions: list[str], names: tuple[str, ...], run: str,
                 courses_of: Any):
        self.session = session
        self.descriptions = descriptions
        self.names = names
        self.run = run
        self.courses_of = courses_of
        stats = session.engine.stats
        self._start = (stats.model_calls, stats.cache_hits, stats.prompt_tokens + stats.completion_tokens,
                       stats.cost_usd)
        self._seconds = 0.0
        self.unreadable = 0
        """Votes whose replies could not be read, even after the engine's re-asks."""
        self.unreadable_reports = 0
        """Interface-report votes that could not be read."""

    @property
    def fills_interface(self) -> bool:
        return self.session.settings.interface

    def interface_reports(self) -> list[Profile]:
        """Every student's interface report as the model fills it in from her description."""
        votes = self.session.settings.votes
        t0 = time.perf_counter()
        got = self.session.loop.run_until_complete(self._gather(
            [self._report_vote(i, v) for i in range(len(self.descriptions)) for v in range(votes)]))
        self._seconds += time.perf_counter() - t0
        out = []
        for i in range(len(self.descriptions)):
            read = [g for g in got[i * votes:(i + 1) * votes] if g is not None]
            self.unreadable_reports += votes - len(read)
            base = np.median(np.array(read), axis=0) if read else np.zeros(len(self.names))
            out.append(Profile(base=base.astype(np.float64)))
        return out

    async def _report_vote(self, student: int, vote: int) -> list[float] | None:
        parsed, _ = await self.session.engine.ask(
            self.session.cfg, interface_messages(self.descriptions[student], self.names),
            schema=interface_schema(self.names), name="interface",
            replicate={"run": self.run, "student": student, "vote": vote},
        )
        return None if parsed is None else [float(parsed[n]) for n in self.names]

    def answer(self, queries: list[Query]) -> list[ProxyAnswer]:
        votes = self.session.settings.votes
        t0 = time.perf_counter()
        got = self.session.loop.run_until_complete(
            self._gather([self._vote(q, v) for q in queries for v in range(votes)]))
        self._seconds += time.perf_counter() - t0
        out = []
        for k in range(len(queries)):
            read = [v for v in got[k * votes:(k + 1) * votes] if v is not None]
            self.unreadable += votes - len(read)
            confs = [c for _, _, c in read if c is not None]
            out.append(ProxyAnswer(
                votes_first=sum(first for first, _, _ in read), votes=len(read), asked=votes,
                shown_first=sum(shown for _, shown, _ in read),
                confidence=float(np.mean(confs)) if confs else None,
            ))
        return out

    @staticmethod
    async def _gather(calls: list[Any]) -> list[Any]:
        # every vote is started; the budget's refusal is raised once the calls in flight end
        got = await asyncio.gather(*calls, return_exceptions=True)
        for g in got:
            if isinstance(g, BaseException):
                raise g
        return got

    async def _vote(self, q: Query, vote: int) -> tuple[bool, bool, float | None] | None:
        """(prefers the first schedule, picked the one shown first, confidence), or None."""
        s = self.session.settings
        swapped = vote % 2 == 1
        msgs = query_messages(self.descriptions[q.student], self.names, self.courses_of(q.first),
                              self.courses_of(q.second), s.reasoning, swapped=swapped, structured=s.structured)
        parsed, _ = await self.session.engine.ask(
            self.session.cfg, msgs, schema=answer_schema(s.reasoning, s.structured), name="compare",
            replicate={"run": self.run, "student": q.student, "first": q.first, "second": q.second, "vote": vote},
            parse=_parse(swapped), instruction="", reminder=reminder(),
        )
        if parsed is None:
            return None
        return parsed["prefers_first"], parsed["prefers_first"] != swapped, parsed["confidence"]

    def usage(self) -> dict[str, float]:
        stats = self.session.engine.stats
        calls, hits, tokens, cost = self._start
        return {
            "calls": float(stats.model_calls - calls),
            "cache_hits": float(stats.cache_hits - hits),
            "tokens": float(stats.prompt_tokens + stats.completion_tokens - tokens),
            "cost_usd": float(stats.cost_usd - cost),
            "seconds": self._seconds,
            "unreadable_votes": float(self.unreadable),
            "unreadable_report_votes": float(self.unreadable_reports),
        }


def _parse(swapped: bool):
    """The engine's reply reader for one vote: a dict (so the engine caches and logs it), or
    None to ask again."""

    def read(raw: str | None) -> dict[str, Any] | None:
        got = read_answer(raw, swapped=swapped)
        if got is None:
            return None
        return {"prefers_first": got.prefers_first, "confidence": got.confidence, "evidence": got.evidence}

    return read

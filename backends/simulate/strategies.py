"""Bidders: the agent interface and the rule-based strategies (truthful, bne, crra, random,
sniper); LLM agents are in ``llm_agent``.

Every agent answers four questions: its sealed bid, whether it stays in an ascending clock
at a price, whether it buys in a Dutch auction at a price, and what it does on its turn of a
day of an eBay auction.  Rule agents answer from a threshold (``theory``); LLM agents ask a
model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from auctionc import ir
from auctionc.backends.simulate.theory import InfoModel, NoClosedForm, bne_threshold, crra_threshold


@dataclass
class RoundView:
    """What bidder ``i`` knows at the start of a round."""

    experiment: int
    round: int
    bidder: int
    obs: float
    history: list[dict[str, Any]]
    """Past rounds from this bidder's point of view (see ``engine.history_for``)."""


@dataclass
class Turn:
    """A bidder's answer: the action and, for transcripts and reports, the texts."""

    bid: float | None
    texts: dict[str, str] = field(default_factory=dict)
    failed: bool = False


class Agent:
    kind: str = "agent"
    is_llm = False

    def describe(self) -> str:
        return self.kind

    async def sealed(self, view: RoundView) -> Turn:
        raise NotImplementedError

    async def stays(self, view: RoundView, tick: int, price: float, active: int, dropped: list[float]) -> tuple[bool, bool]:
        """(stays in, reply unreadable)."""
        raise NotImplementedError

    async def buys(self, view: RoundView, tick: int, price: float) -> tuple[bool, bool]:
        raise NotImplementedError

    async def ebay_turn(self, view: RoundView, day: Any, names: list[str]) -> tuple[str, float | None, bool, dict]:
        """eBay: ("bid", new maximum) or ("hold", None), whether the reply was unreadable, and
        the texts; ``day`` is an ``ebay.DayView``."""
        raise NotImplementedError


class RuleAgent(Agent):
    def __init__(self, agent: ir.Agent, fmt: ir.Format, model: InfoModel, seed: int):
        self.spec = agent
        self.kind = agent.kind
        self.fmt = fmt
        self.model = model
        self.seed = seed
        self._memo: dict[tuple, float] = {}
        # Fail at set-up, not in round 7, when the strategy has no closed form.
        self.threshold(0, 0, 0, 1.0, [])

    def describe(self) -> str:
        return f"crra(r = {self.spec.r:g})" if isinstance(self.spec, ir.CRRA) else self.kind

    def threshold(self, experiment: int, round_: int, bidder: int, obs: float, dropped: list[float]) -> float:
        # A clock asks the same question at every tick; the answer changes only with
        # the drop-outs seen (announced common-value clocks).
        key = (experiment, round_, bidder, obs, tuple(dropped))
        hit = self._memo.get(key)
        if hit is None:
            if len(self._memo) > 10_000:
                self._memo.clear()
            hit = self._memo[key] = self._threshold(experiment, round_, bidder, obs, dropped)
        return hit

    def _threshold(self, experiment: int, round_: int, bidder: int, obs: float, dropped: list[float]) -> float:
        a = self.spec
        x = np.array([obs])
        if isinstance(a, ir.Sniper):
            if self.fmt.name != "ebay":
                raise NoClosedForm("a sniper plays the eBay proxy auction only")
            return obs
        if isinstance(a, ir.Truthful):
            if self.fmt.name == "ebay":
                return obs  # a truthful proxy: the reserve is the seller's business (and may be hidden)
            return obs if obs >= self.fmt.reserve else math.nan
        if isinstance(a, ir.BNE):
            return float(bne_threshold(self.fmt, self.model, x, dropped=dropped)[0])
        if isinstance(a, ir.CRRA):
            return float(crra_threshold(self.fmt, self.model, x, a.r)[0])
        if isinstance(a, ir.RandomAgent):
            # Its own stream per (experiment, round, bidder): independent of the value draws
            # and of every other agent, and the same on a resumed run.
            rng = np.random.default_rng([self.seed, 1, experiment, round_, bidder])
            return float(rng.uniform(0.0, max(obs, 0.0)))
        raise NoClosedForm(f"unknown agent kind {a.kind}")

    def prime(self, experiment: int, bidder: int, obs: np.ndarray, first_round: int = 0) -> None:
        """Compute the thresholds of rounds ``first_round, first_round + 1, ...`` in one
        vectorised call (clocks would otherwise evaluate the strategy round by round)."""
        if isinstance(self.spec, ir.RandomAgent):
            return
        try:
            th = self.batch_bids(experiment, bidder, np.asarray(obs, float), first_round)
        except NoClosedForm:
            return
        for r, (o, t) in enumerate(zip(obs, th), start=first_round):
            self._memo[(experiment, r, bidder, float(o), ())] = float(t)

    def batch_bids(self, experiment: int, bidder: int, obs: np.ndarray, first_round: int = 0) -> np.ndarray:
        """Sealed bids for consecutive rounds from ``first_round`` at once (the fast path of
        rule-only runs)."""
        a = self.spec
        if isinstance(a, ir.Truthful) and self.fmt.name != "ebay":  # an eBay proxy bids below the reserve too
            return np.where(obs >= self.fmt.reserve, obs, np.nan)
        if isinstance(a, ir.BNE):
            return bne_threshold(self.fmt, self.model, obs)
        if isinstance(a, ir.CRRA):
            return crra_threshold(self.fmt, self.model, obs, a.r)
        return np.array([self.threshold(experiment, r, bidder, float(o), [])
                         for r, o in enumerate(obs, start=first_round)])

    async def sealed(self, view: RoundView) -> Turn:
        b = self.threshold(view.experiment, view.round, view.bidder, view.obs, [])
        return Turn(None if math.isnan(b) else b)

    async def stays(self, view: RoundView, tick: int, price: float, active: int, dropped: list[float]) -> tuple[bool, bool]:
        d = self.threshold(view.experiment, view.round, view.bidder, view.obs, dropped)
        return (not math.isnan(d) and price < d), False

    async def buys(self, view: RoundView, tick: int, price: float) -> tuple[bool, bool]:
        b = self.threshold(view.experiment, view.round, view.bidder, view.obs, [])
        return (not math.isnan(b) and price <= b + 1e-9), False

    async def ebay_turn(self, view: RoundView, day: Any, names: list[str]) -> tuple[str, float | None, bool, dict]:
        """Truthful, bne and crra agents place their value as maximum bid on their first turn
        (a truthful proxy); a sniper places it on the last day; a random agent places a
        uniform share of its value on a day drawn from its own stream."""
        if isinstance(self.spec, ir.RandomAgent):
            rng = np.random.default_rng([self.seed, 1, view.experiment, view.round, view.bidder])
            when = int(rng.integers(0, max(int(self.fmt.days or 10), 1)))
            target = float(rng.uniform(0.0, max(view.obs, 0.0)))
            if day.day < when and not day.last_day:
                return "hold", None, False, {}
        else:
            target = self.threshold(view.experiment, view.round, view.bidder, view.obs, [])
            if isinstance(self.spec, ir.Sniper) and not day.last_day:
                return "hold", None, False, {}
        if math.isnan(target) or target <= 0 or target <= day.own_max:
            return "hold", None, False, {}
        return "bid", float(target), False, {}

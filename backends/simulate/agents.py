"""Bidders: rule-based strategies (truthful, bne, crra, random) and LLM agents.

Every agent answers three questions: its sealed bid, whether it stays in an
ascending clock at a price, whether it buys in a Dutch auction at a price.
Rule agents answer from a threshold (``theory``); LLM agents ask a model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from auctionc import ir
from auctionc.backends.simulate.llm import LLMConfig
from auctionc.backends.simulate.replies import Step, format_instruction, make_step, parse_reply
from auctionc.backends.simulate.templates import currency_name, money, render
from auctionc.backends.simulate.theory import InfoModel, NoClosedForm, bne_threshold, crra_threshold
from auctionc.llm.model_calls import LLMEngine


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
        if isinstance(a, ir.Truthful):
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
        if isinstance(a, ir.Truthful):
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


def _intervention(cfg: LLMConfig, fmt: ir.Format) -> str:
    if cfg.prompt == "default":
        return ""
    if cfg.prompt == "nash_deviation":
        return render("nash_deviation") + "\n"
    if cfg.prompt == "dominant_strategy":
        if fmt.name in ("second_price", "vcg", "ascending_clock"):
            advice = ("In this auction it is always best to bid exactly your value (or to stay in until the price "
                      "reaches your value): bidding more risks paying more than the item is worth, bidding less "
                      "only risks losing an item you would have bought at a profit.")
        else:
            advice = "In this auction no single bid is best whatever the others do: weigh the chance of winning against the profit if you win."
        return render("dominant_strategy", dominant_advice=advice) + "\n"
    # Any other name is a researcher's own prompt file, read by the front end from the spec's
    # folder (llm_config refuses a prompt it did not read); no file is opened here.
    return (cfg.prompt_text or "").strip() + "\n"


class LLMAgent(Agent):
    is_llm = True
    kind = "llm"

    def __init__(
        self,
        cfg: LLMConfig,
        engine: LLMEngine | None,
        *,
        name: str,
        n: int,
        rounds: int,
        fmt: ir.Format,
        common_value: bool,
        value_range: tuple[float, float],
        signal_note: str,
        experiment_id: str,
        steps: str,
        clock_start: float,
        clock_increment: float,
        integer_bids: bool = False,
    ):
        self.cfg = cfg
        self.engine = engine
        self.rounds = rounds
        self.name = name
        self.fmt = fmt
        self.common_value = common_value
        self.steps_mode = steps
        self.experiment_id = experiment_id
        self.value_range = value_range
        cur = cfg.currency
        lo, hi = value_range
        bid_max = max(hi * 2, 1.0)
        cot = cfg.reasoning == "cot"
        self.step_reflection = make_step("reflection", cot=cot, bid_max=bid_max, integer=integer_bids)
        self.step_plan = make_step("plan", cot=cot, bid_max=bid_max, integer=integer_bids)
        self.step_bid = make_step("bid", cot=cot, bid_max=bid_max, integer=integer_bids)
        self.step_combined = make_step("combined", cot=cot, bid_max=bid_max, integer=integer_bids)
        self.step_combined_reflect = make_step("combined", cot=cot, bid_max=bid_max, reflect=True, integer=integer_bids)
        self.step_clock = make_step("clock", cot=cot, bid_max=bid_max, integer=integer_bids)
        self.step_dutch = make_step("dutch", cot=cot, bid_max=bid_max, integer=integer_bids)
        reserve_rule = ""
        if fmt.reserve > 0:
            reserve_rule = f" There is a reserve price of {money(fmt.reserve, cur)}: lower bids cannot win."
        if fmt.entry_fee > 0:
            reserve_rule += f" Every bidder who takes part pays an entry fee of {money(fmt.entry_fee, cur)}."
        announce = ("Every bidder sees when others drop out and at what price."
                    if fmt.announce_dropouts else "Bidders do not see whether or when the others drop out.")
        rules_name = {"vcg": "second_price"}.get(fmt.name, fmt.name)
        rules = render(f"rules_{rules_name}", reserve_rule=reserve_rule, start=money(clock_start, cur),
                       increment=money(clock_increment, cur), announce=announce)
        if common_value:
            values_rule = render("values_common", signal_note=signal_note)
        else:
            values_rule = render("values_private", value_range=f"{money(lo, cur)} to {money(hi, cur)}")
        lang = f"\nWrite your texts in {cfg.language}; keep the JSON keys in English." if cfg.language not in ("en", "english", "English") else ""
        self.system = render(
            "system", name=name, n=n, rounds=rounds, values_rule=values_rule, rules=rules,
            currency_name=currency_name_of(cur), example=money(12, cur) + " or " + money(47.5, cur),
            intervention=_intervention(cfg, fmt), language_rule=lang,
        ) + ("\n" + render("cot") if cot else "")

    def describe(self) -> str:
        return f"llm({self.cfg.model}, {self.cfg.reasoning}, prompt={self.cfg.prompt})"

    # ---- prompt pieces ------------------------------------------------------

    def observation(self, view: RoundView) -> str:
        cur = self.cfg.currency
        if self.common_value:
            return f"Your signal this round is {money(view.obs, cur)}."
        return f"Your value this round is {money(view.obs, cur)}."

    def history_text(self, view: RoundView) -> str:
        if not view.history:
            return ""
        cur = self.cfg.currency
        lines = ["History of past rounds:"]
        for h in view.history:
            own = "signal" if self.common_value else "value"
            parts = [f"Round {h['round'] + 1}: your {own} {money(h['obs'], cur)}"]
            if h.get("bid") is None:
                parts.append("you did not bid" if self.fmt.name not in ("ascending_clock",) else "you stayed in to the end")
            else:
                verb = {"ascending_clock": "you dropped out at", "dutch": "you called"}.get(self.fmt.name, "your bid")
                parts.append(f"{verb} {money(h['bid'], cur)}")
            parts.append("you won" if h["won"] else "you lost")
            parts.append(f"your profit {money(h['profit'], cur)}")
            if self.common_value and h.get("value") is not None:
                parts.append(f"true value {money(h['value'], cur)}")
            if h.get("all_bids"):
                label = {"ascending_clock": "drop-out prices", "dutch": "calls"}.get(self.fmt.name, "all bids")
                parts.append(f"{label}: " + ", ".join(money(b, cur) for b in h["all_bids"]))
            if h.get("price") is not None:
                parts.append(f"winning price {money(h['price'], cur)}" if h.get("sold") else "no sale")
            lines.append("; ".join(parts) + ".")
        return "\n".join(lines) + "\n"

    async def _ask(self, msgs: list[dict[str, str]], step: Step,
                   rep: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
        """One question to the model through the shared engine, in this bidder's words."""
        assert self.engine is not None
        how = format_instruction(step, self.cfg.structured)
        return await self.engine.ask(self.cfg.call, msgs, schema=step.schema, name=step.name, replicate=rep,
                                     parse=lambda raw: parse_reply(step, raw), instruction=how,
                                     reminder=render("reminder", format=how))

    def _replicate(self, view: RoundView, tick: int) -> dict[str, Any]:
        return {"experiment": self.experiment_id, "auction": view.experiment, "round": view.round,
                "bidder": view.bidder, "tick": tick}

    # ---- turns --------------------------------------------------------------

    async def sealed(self, view: RoundView) -> Turn:
        assert self.engine is not None
        rep = self._replicate(view, -1)
        hist = self.history_text(view)
        obs = self.observation(view)
        sys_msg = {"role": "system", "content": self.system}
        texts: dict[str, str] = {}
        if self.steps_mode == "combined":
            step = self.step_combined_reflect if view.round > 0 else self.step_combined
            head = (render("reflection", round_prev=view.round) + "\n") if view.round > 0 else ""
            user = hist + head + render("plan", round=view.round + 1, rounds=self.rounds, observation=obs)
            user += "\n" + render("bid", round=view.round + 1, currency_name=currency_name_of(self.cfg.currency), observation="")
            parsed, _ = await self._ask([sys_msg, {"role": "user", "content": user}], step, rep)
            if parsed is None:
                return Turn(None, texts, failed=True)
            texts = {k: v for k, v in parsed.items() if k != "bid"}
            return Turn(float(parsed["bid"]), texts)
        msgs: list[dict[str, str]] = [sys_msg]
        prefix = hist
        if view.round > 0:
            msgs.append({"role": "user", "content": prefix + render("reflection", round_prev=view.round)})
            parsed, msgs = await self._ask(msgs, self.step_reflection, rep)
            texts["reflection"] = parsed["reflection"] if parsed else ""
            prefix = ""
        msgs.append({"role": "user", "content": prefix + render("plan", round=view.round + 1, rounds=self.rounds, observation=obs)})
        parsed, msgs = await self._ask(msgs, self.step_plan, rep)
        texts["plan"] = parsed["plan"] if parsed else ""
        msgs.append({"role": "user", "content": render("bid", round=view.round + 1,
                                                       currency_name=currency_name_of(self.cfg.currency), observation=obs)})
        parsed, _ = await self._ask(msgs, self.step_bid, rep)
        if parsed is None:
            return Turn(None, texts, failed=True)
        return Turn(float(parsed["bid"]), texts)

    async def stays(self, view: RoundView, tick: int, price: float, active: int, dropped: list[float]) -> tuple[bool, bool]:
        assert self.engine is not None
        cur = self.cfg.currency
        news = ""
        if self.fmt.announce_dropouts:
            news = f" Bidders still in: {active}."
            if dropped:
                news += " Drop-outs so far at: " + ", ".join(money(d, cur) for d in dropped) + "."
        user = self.history_text(view) + render("clock", round=view.round + 1, tick=tick + 1, price=money(price, cur),
                                                observation=self.observation(view), clock_news=news)
        msgs = [{"role": "system", "content": self.system}, {"role": "user", "content": user}]
        parsed, _ = await self._ask(msgs, self.step_clock, self._replicate(view, tick))
        if parsed is None:
            return False, True  # an unreadable answer counts as dropping out: the clock must move on
        return parsed["decision"] == "stay", False

    async def buys(self, view: RoundView, tick: int, price: float) -> tuple[bool, bool]:
        assert self.engine is not None
        user = self.history_text(view) + render("dutch", round=view.round + 1, tick=tick + 1,
                                                price=money(price, self.cfg.currency), observation=self.observation(view))
        msgs = [{"role": "system", "content": self.system}, {"role": "user", "content": user}]
        parsed, _ = await self._ask(msgs, self.step_dutch, self._replicate(view, tick))
        if parsed is None:
            return False, True
        return parsed["decision"] == "buy", False

    def sealed_steps(self, round_: int) -> list[Step]:
        if self.steps_mode == "combined":
            return [self.step_combined_reflect if round_ > 0 else self.step_combined]
        return ([self.step_reflection] if round_ > 0 else []) + [self.step_plan, self.step_bid]


def currency_name_of(cur: str) -> str:
    return currency_name(cur)

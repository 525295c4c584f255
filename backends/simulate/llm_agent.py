"""LLM bidders: each turn is one or more questions to a model through the shared engine
(``auctionc.llm``), in words taken from the agent's prompt set (``prompt_set``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auctionc import ir
from auctionc.backends.simulate.ebay import EBAY_INCREMENTS, MAX_DAYS, DayView, EbayRules
from auctionc.backends.simulate.llm import LLMConfig
from auctionc.backends.simulate.prompt_set import LANGUAGES, Intervention, PromptSet
from auctionc.backends.simulate.replies import Step, format_instruction, make_step, parse_reply
from auctionc.backends.simulate.strategies import Agent, RoundView, Turn
from auctionc.backends.simulate.templates import currency_name, money
from auctionc.llm.model_calls import LLMEngine


@dataclass(frozen=True)
class Setting:
    """What an LLM bidder is told about the auction it is in."""

    name: str
    n: int
    fmt: ir.Format
    information: str
    """ipv, affiliated or common."""
    value_range: tuple[float, float]
    signal: tuple[float, float, float] | None
    """Common value: (lowest true value, highest, noise half-width), when known."""
    experiment_id: str
    steps: str
    clock_start: float
    clock_increment: float
    integer_bids: bool = False
    ebay: EbayRules | None = None


class LLMAgent(Agent):
    is_llm = True
    kind = "llm"

    def __init__(self, cfg: LLMConfig, engine: LLMEngine | None, prompts: PromptSet, setting: Setting,
                 intervention: Intervention | None = None):
        self.cfg = cfg
        self.engine = engine
        self.prompts = prompts
        self.setting = setting
        self.name = setting.name
        self.fmt = setting.fmt
        self.common_value = setting.information == "common"
        self.steps_mode = setting.steps
        self.experiment_id = setting.experiment_id
        self.value_range = setting.value_range
        lo, hi = setting.value_range
        bid_max = max(hi * 2, 1.0)
        cot = cfg.reasoning == "cot"
        integer = setting.integer_bids
        self.step_reflection = make_step("reflection", cot=cot, bid_max=bid_max, integer=integer)
        self.step_plan = make_step("plan", cot=cot, bid_max=bid_max, integer=integer)
        self.step_bid = make_step("bid", cot=cot, bid_max=bid_max, integer=integer)
        self.step_bid_only = make_step("bid_only", cot=cot, bid_max=bid_max, integer=integer)
        self.step_combined = make_step("combined", cot=cot, bid_max=bid_max, integer=integer)
        self.step_combined_reflect = make_step("combined", cot=cot, bid_max=bid_max, reflect=True, integer=integer)
        self.step_clock = make_step("clock", cot=cot, bid_max=bid_max, integer=integer)
        self.step_dutch = make_step("dutch", cot=cot, bid_max=bid_max, integer=integer)
        self.step_ebay = make_step("ebay", cot=cot, bid_max=bid_max, integer=integer)
        self.system = self._system(intervention) + ("\n" + prompts.render("cot") if cot else "")

    # ---- the system prompt ---------------------------------------------------

    def money(self, x: float) -> str:
        return money(x, self.cfg.currency, self.prompts.language)

    def _system(self, intervention: Intervention | None) -> str:
        p, fmt, s = self.prompts, self.fmt, self.setting
        reserve_rule = ""
        if fmt.reserve > 0 and fmt.name != "ebay":
            reserve_rule = " " + p.render("rule_reserve", reserve=self.money(fmt.reserve))
        if fmt.entry_fee > 0:
            reserve_rule += " " + p.render("rule_entry_fee", fee=self.money(fmt.entry_fee))
        words: dict[str, Any] = {
            "reserve_rule": reserve_rule, "start": self.money(s.clock_start), "increment": self.money(s.clock_increment),
            "announce": p.render("rule_announced" if fmt.announce_dropouts else "rule_blind"),
        }
        if s.ebay is not None:
            words.update(self._ebay_words(s.ebay))
        rules_name = {"vcg": "second_price"}.get(fmt.name, fmt.name)
        rules = p.render(f"rules_{rules_name}", **words)
        extra = ""
        if intervention is not None:
            text = p.render(f"interventions/{self.cfg.prompt}", **words, coin_price=self.money(5),
                            coin_tails=self.money(0), coin_heads=self.money(10))
            if intervention.replaces_rules:
                rules = text
            else:
                extra = text + "\n"
        elif self.cfg.prompt != "default":
            # a researcher's own prompt file, read by the front end from the spec's folder
            # (llm_config refuses a prompt it did not read); no file is opened here
            extra = (self.cfg.prompt_text or "").strip() + "\n"
        lo, hi = s.value_range
        value_range = p.render("value_range", lo=self.money(lo), hi=self.money(hi))
        if s.information == "common":
            note = ""
            if s.signal is not None:
                note = p.render("signal_note", value_lo=self.money(s.signal[0]), value_hi=self.money(s.signal[1]),
                                noise=self.money(s.signal[2]))
            values_rule = p.render("values_common", signal_note=note)
        else:
            values_rule = p.render(f"values_{'affiliated' if s.information == 'affiliated' else 'private'}",
                                   value_range=value_range)
        lang = ""
        if p.language != "en":
            lang = "\n" + p.render("language_rule", language_name=LANGUAGES.get(p.language, p.language))
        return p.render(
            "system", name=s.name, n=s.n, values_rule=values_rule, rules=rules,
            currency_name=currency_name(self.cfg.currency), example=self.money(12) + " / " + self.money(47.5),
            intervention=extra, language_rule=lang,
        )

    def _ebay_words(self, rules: EbayRules) -> dict[str, Any]:
        p = self.prompts
        if rules.increments == "ebay":
            table = ", ".join(f"{self.money(inc)} from {self.money(lo)}" for lo, inc in EBAY_INCREMENTS)
            increment_rule = p.render("ebay_increment_table", table=table)
        else:
            increment_rule = p.render("ebay_increment_flat", increment=self.money(rules.increment))
        closing = p.render("ebay_soft_close" if rules.closing == "soft" else "ebay_hard_close", max_days=MAX_DAYS)
        reserve = ""
        if rules.reserve > 0:
            reserve = p.render("ebay_reserve_hidden") if rules.hidden_reserve else \
                p.render("ebay_reserve_public", reserve=self.money(rules.reserve))
        return {"days": rules.days, "start": self.money(rules.start), "increment_rule": increment_rule,
                "closing_rule": closing, "reserve_rule": reserve}

    def describe(self) -> str:
        return f"llm({self.cfg.model}, {self.cfg.reasoning}, prompt={self.cfg.prompt})"

    # ---- prompt pieces ------------------------------------------------------

    def observation(self, view: RoundView) -> str:
        return self.prompts.render("observation_signal" if self.common_value else "observation_value",
                                   amount=self.money(view.obs))

    def history_text(self, view: RoundView) -> str:
        if not view.history:
            return ""
        m = self.money
        lines = ["History of past rounds:"]
        for h in view.history:
            own = "signal" if self.common_value else "value"
            parts = [f"Round {h['round'] + 1}: your {own} {m(h['obs'])}"]
            if h.get("bid") is None:
                parts.append("you did not bid" if self.fmt.name not in ("ascending_clock",) else "you stayed in to the end")
            else:
                verb = {"ascending_clock": "you dropped out at", "dutch": "you called",
                        "ebay": "your maximum bid"}.get(self.fmt.name, "your bid")
                parts.append(f"{verb} {m(h['bid'])}")
            parts.append("you won" if h["won"] else "you lost")
            parts.append(f"your profit {m(h['profit'])}")
            if self.common_value and h.get("value") is not None:
                parts.append(f"true value {m(h['value'])}")
            if h.get("all_bids"):
                label = {"ascending_clock": "drop-out prices", "dutch": "calls",
                         "ebay": "maximum bids"}.get(self.fmt.name, "all bids")
                parts.append(f"{label}: " + ", ".join(m(b) for b in h["all_bids"]))
            if h.get("price") is not None:
                parts.append(f"winning price {m(h['price'])}" if h.get("sold") else "no sale")
            lines.append("; ".join(parts) + ".")
        return "\n".join(lines) + "\n"

    async def _ask(self, msgs: list[dict[str, str]], step: Step, rep: dict[str, Any], *, check=None,
                   also: str = "") -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
        """One question to the model through the shared engine, in this bidder's words;
        ``check`` refuses a readable reply that breaks a rule (re-asked with ``also``)."""
        assert self.engine is not None
        how = format_instruction(step, self.cfg.structured, self.prompts)

        def read(raw: str | None) -> dict[str, Any] | None:
            got = parse_reply(step, raw, self.prompts.language)
            return got if got is None or check is None or check(got) else None

        return await self.engine.ask(self.cfg.call, msgs, schema=step.schema, name=step.name, replicate=rep,
                                     parse=read, instruction=how,
                                     reminder=self.prompts.render("reminder", format=how) + (" " + also if also else ""))

    def _replicate(self, view: RoundView, tick: int) -> dict[str, Any]:
        return {"experiment": self.experiment_id, "auction": view.experiment, "round": view.round,
                "bidder": view.bidder, "tick": tick}

    # ---- turns --------------------------------------------------------------

    async def sealed(self, view: RoundView) -> Turn:
        rep = self._replicate(view, -1)
        hist = self.history_text(view)
        obs = self.observation(view)
        p = self.prompts
        sys_msg = {"role": "system", "content": self.system}
        cur = currency_name(self.cfg.currency)
        texts: dict[str, str] = {}
        if self.steps_mode == "no_plan":
            user = hist + p.render("bid_only", round=view.round + 1, observation=obs, currency_name=cur)
            parsed, _ = await self._ask([sys_msg, {"role": "user", "content": user}], self.step_bid_only, rep)
            if parsed is None:
                return Turn(None, texts, failed=True)
            return Turn(float(parsed["bid"]), {k: v for k, v in parsed.items() if k != "bid"})
        if self.steps_mode == "combined":
            step = self.step_combined_reflect if view.round > 0 else self.step_combined
            head = (p.render("reflection", round_prev=view.round) + "\n") if view.round > 0 else ""
            user = hist + head + p.render("plan", round=view.round + 1, observation=obs)
            user += "\n" + p.render("bid", round=view.round + 1, currency_name=cur, observation="")
            parsed, _ = await self._ask([sys_msg, {"role": "user", "content": user}], step, rep)
            if parsed is None:
                return Turn(None, texts, failed=True)
            return Turn(float(parsed["bid"]), {k: v for k, v in parsed.items() if k != "bid"})
        msgs: list[dict[str, str]] = [sys_msg]
        prefix = hist
        if view.round > 0:
            msgs.append({"role": "user", "content": prefix + p.render("reflection", round_prev=view.round)})
            parsed, msgs = await self._ask(msgs, self.step_reflection, rep)
            texts["reflection"] = parsed["reflection"] if parsed else ""
            prefix = ""
        msgs.append({"role": "user", "content": prefix + p.render("plan", round=view.round + 1, observation=obs)})
        parsed, msgs = await self._ask(msgs, self.step_plan, rep)
        texts["plan"] = parsed["plan"] if parsed else ""
        msgs.append({"role": "user", "content": p.render("bid", round=view.round + 1, currency_name=cur, observation=obs)})
        parsed, _ = await self._ask(msgs, self.step_bid, rep)
        if parsed is None:
            return Turn(None, texts, failed=True)
        return Turn(float(parsed["bid"]), texts)

    async def stays(self, view: RoundView, tick: int, price: float, active: int, dropped: list[float]) -> tuple[bool, bool]:
        news = ""
        if self.fmt.announce_dropouts:
            news = f" Bidders still in: {active}."
            if dropped:
                news += " Drop-outs so far at: " + ", ".join(self.money(d) for d in dropped) + "."
        user = self.history_text(view) + self.prompts.render(
            "clock", round=view.round + 1, tick=tick + 1, price=self.money(price), observation=self.observation(view),
            clock_news=news)
        msgs = [{"role": "system", "content": self.system}, {"role": "user", "content": user}]
        parsed, _ = await self._ask(msgs, self.step_clock, self._replicate(view, tick))
        if parsed is None:
            return False, True  # an unreadable answer counts as dropping out: the clock must move on
        return parsed["decision"] == "stay", False

    async def buys(self, view: RoundView, tick: int, price: float) -> tuple[bool, bool]:
        user = self.history_text(view) + self.prompts.render(
            "dutch", round=view.round + 1, tick=tick + 1, price=self.money(price), observation=self.observation(view))
        msgs = [{"role": "system", "content": self.system}, {"role": "user", "content": user}]
        parsed, _ = await self._ask(msgs, self.step_dutch, self._replicate(view, tick))
        if parsed is None:
            return False, True
        return parsed["decision"] == "buy", False

    async def ebay_turn(self, view: RoundView, day: DayView, names: list[str]) -> tuple[str, float | None, bool, dict]:
        p = self.prompts
        if day.last_day:
            order_note = p.render("ebay_last_day")
        else:
            order_note = p.render("ebay_order", order=", ".join(names[i] for i in day.order))
        log = "; ".join(p.render("ebay_price_change", day=d + 1, price=self.money(x)) for d, x in day.price_log) \
            or p.render("ebay_no_price_change")
        user = self.history_text(view) + p.render(
            "ebay_day", round=view.round + 1, day=day.day + 1, days=day.days, observation=self.observation(view),
            own_max=self.money(day.own_max), price=self.money(day.price), order_note=order_note, price_log=log)
        msgs = [{"role": "system", "content": self.system}, {"role": "user", "content": user}]
        rep = {**self._replicate(view, day.day), "turn": day.turn}

        def raises(got: dict[str, Any]) -> bool:
            return got["action"] == "hold" or got["amount"] > day.own_max

        parsed, _ = await self._ask(msgs, self.step_ebay, rep, check=raises,
                                    also=p.render("ebay_raise_only", own_max=self.money(day.own_max)))
        if parsed is None:
            return "hold", None, True, {}
        texts = {k: v for k, v in parsed.items() if k not in ("action", "amount")}
        return parsed["action"], float(parsed["amount"]) if parsed["action"] == "bid" else None, False, texts

    def sealed_steps(self, round_: int) -> list[Step]:
        if self.steps_mode == "combined":
            return [self.step_combined_reflect if round_ > 0 else self.step_combined]
        if self.steps_mode == "no_plan":
            return [self.step_bid_only]
        return ([self.step_reflection] if round_ > 0 else []) + [self.step_plan, self.step_bid]

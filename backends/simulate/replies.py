"""LLM bidders' replies: each step's reply schema and the format instruction; replies are read
by the shared tolerant, linear-time parser (``auctionc.llm.reply_text``), which takes only
plain numbers as bids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auctionc.backends.simulate.prompt_set import PromptSet
from auctionc.llm.reply_text import MAX_REPLY_CHARS, object_schema, read_reply, tag_hints  # noqa: F401


@dataclass(frozen=True)
class Step:
    """One call in a bidder's turn: what it asks for and the reply schema."""

    name: str
    keys: tuple[str, ...]
    schema: dict[str, Any]


def _text(max_len: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_len}


def make_step(name: str, *, cot: bool, bid_max: float, reflect: bool = False, integer: bool = False) -> Step:
    """``integer`` asks for whole-currency bids (integer values): grammar-constrained
    servers enforce integer bounds, not those of decimals."""
    props: dict[str, Any] = {}
    bid = {"type": "integer" if integer else "number", "minimum": 0, "maximum": int(bid_max) if integer else bid_max}
    text_len = 600 if cot else 240
    if name == "reflection":
        props = {"reflection": _text(text_len)}
    elif name == "plan":
        props = {"reasoning": _text(text_len), "plan": _text(240)} if cot else {"plan": _text(text_len)}
    elif name == "bid":
        props = {"bid": bid}
    elif name == "bid_only":  # the no-plan baseline: the bid, asked at once
        props = {"reasoning": _text(text_len), "bid": bid} if cot else {"bid": bid}
    elif name == "combined":
        if reflect:
            props["reflection"] = _text(text_len)
        if cot:
            props["reasoning"] = _text(text_len)
        props["plan"] = _text(240)
        props["bid"] = bid
    elif name == "clock":
        props = {"decision": {"type": "string", "enum": ["stay", "drop"]}}
    elif name == "dutch":
        props = {"decision": {"type": "string", "enum": ["wait", "buy"]}}
    elif name == "ebay":  # a day's turn of the proxy auction: raise the maximum bid, or hold
        if cot:
            props["reasoning"] = _text(text_len)
        props["plan"] = _text(240)
        props["action"] = {"type": "string", "enum": ["bid", "hold"]}
        props["amount"] = {**bid, "minimum": 0}
    else:
        raise ValueError(name)
    return Step(name, tuple(props), object_schema(props))


def format_instruction(step: Step, structured: bool, prompts: PromptSet | None = None) -> str:
    p = prompts or PromptSet()
    if structured:
        return p.render("format_json", keys=", ".join(f'"{k}"' for k in step.keys))
    return p.render("format_tags", tags=tag_hints(step.schema))


def parse_reply(step: Step, content: str | None, language: str = "en") -> dict[str, Any] | None:
    """The reply as a dict of the step's keys, from JSON or from tags, amounts in the
    conventions of ``language``; None if unreadable (the shared parser,
    ``auctionc.llm.reply_text``)."""
    return read_reply(step.schema, content, language)

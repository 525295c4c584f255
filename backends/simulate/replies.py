"""LLM replies: each step's reply schema, the format instruction, and a tolerant,
linear-time parser of what a model sends back (JSON, a fenced block, or tags), which takes
only plain numbers as bids."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from auctionc.backends.simulate.templates import render


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
    else:
        raise ValueError(name)
    schema = {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}
    return Step(name, tuple(props), schema)


def format_instruction(step: Step, structured: bool) -> str:
    if structured:
        return render("format_json", keys=", ".join(f'"{k}"' for k in step.keys))
    tags = []
    for k in step.keys:
        if k == "bid":
            hint = "AMOUNT"
        elif k == "decision":
            hint = "/".join(step.schema["properties"]["decision"].get("enum", []))
        else:
            hint = "..."
        tags.append(f"<{k}>{hint}</{k}>")
    return render("format_tags", tags=" ".join(tags))


MAX_REPLY_CHARS = 20_000
"""The part of a reply that is read: a bidder's reply is a few hundred characters (at most
``max_tokens`` tokens), and a longer one from a misbehaving server is cut, so parsing stays
linear and bounded whatever the server sends."""
_JSON_STARTS = 8
"""Positions of '{' at which a JSON object is tried (each try is linear in the reply)."""
_PLAIN = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")
_CURRENCY = "$€£¥"


def _number(x: Any) -> float | None:
    """A bid as a plain number: a JSON number, or a string that is one number in plain
    decimal notation (a currency sign and thousands commas allowed).  Anything else is
    refused, and the model re-asked: exponents ("1e9"), ranges ("between 10 and 90"), words,
    and other scripts' digits."""
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x) if math.isfinite(x) else None
    if not isinstance(x, str):
        return None
    t = x.strip()
    if t[:1] in _CURRENCY:
        t = t[1:].strip()
    elif t[-1:] in _CURRENCY:
        t = t[:-1].strip()
    if len(t) > 40 or not _PLAIN.fullmatch(t):
        return None
    return float(t.replace(",", ""))


def _check(step: Step, d: dict[str, Any]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for k in step.keys:
        if k not in d:
            return None
        v = d[k]
        if k == "bid":
            b = _number(v)
            hi = step.schema["properties"]["bid"].get("maximum")
            if b is None or b < 0 or (hi is not None and b > hi):
                return None
            out[k] = b
        elif k == "decision":
            allowed = step.schema["properties"]["decision"]["enum"]
            s = str(v).strip().lower()
            if s not in allowed:
                return None
            out[k] = s
        else:
            out[k] = str(v)[:2000]
    return out


def _json_objects(text: str):
    """JSON objects in ``text``: the whole text, the first fenced block, then objects that
    start at the first few '{' (``json.JSONDecoder.raw_decode``, linear per try)."""
    yield text
    start = text.find("```")
    if start >= 0:
        body = text.find("\n", start)
        end = text.find("```", start + 3)
        if body >= 0 and end > body:
            yield text[body + 1 : end]
    decoder = json.JSONDecoder()
    pos = text.find("{")
    for _ in range(_JSON_STARTS):
        if pos < 0:
            return
        try:
            yield decoder.raw_decode(text, pos)[0]
        except (ValueError, RecursionError):  # RecursionError: objects nested thousands deep
            pass
        pos = text.find("{", pos + 1)


def _tag(text: str, lower: str, key: str) -> str | None:
    """The content of the first ``<key>...</key>`` (case-insensitive), found with two finds."""
    a = lower.find(f"<{key}>")
    if a < 0:
        return None
    a += len(key) + 2
    b = lower.find(f"</{key}>", a)
    return text[a:b].strip() if b >= 0 else None


def parse_reply(step: Step, content: str | None) -> dict[str, Any] | None:
    """The reply as a dict of the step's keys, from JSON or from tags; None if unreadable.
    Linear in the reply, which is read up to ``MAX_REPLY_CHARS``."""
    if not content:
        return None
    text = content[:MAX_REPLY_CHARS].strip()
    for c in _json_objects(text):
        if isinstance(c, str):
            try:
                c = json.loads(c)
            except (ValueError, RecursionError):
                continue
        if isinstance(c, dict):
            got = _check(step, c)
            if got is not None:
                return got
    lower = text.lower()
    tags = {k: v for k in step.keys if (v := _tag(text, lower, k)) is not None}
    return _check(step, tags) if tags else None

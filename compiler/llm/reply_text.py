"""Reading a model's reply against the JSON schema it was asked for: a tolerant, linear-time
parser of what a model sends back (a JSON object, a fenced block, or ``<key>...</key>``
tags), which takes only plain numbers as amounts (``amounts``).

A schema here is a flat JSON object schema: each property a string, a number or integer
(with optional ``minimum``/``maximum``), or a string ``enum``; every property is required.
"""

from __future__ import annotations

import json
from typing import Any

from .amounts import read_amount

MAX_REPLY_CHARS = 20_000
"""The part of a reply that is read: an answer is a few hundred characters (at most
``max_tokens`` tokens), and a longer one from a misbehaving server is cut, so parsing stays
linear and bounded whatever the server sends."""
_JSON_STARTS = 8
"""Positions of '{' at which a JSON object is tried (each try is linear in the reply)."""
MAX_TEXT_CHARS = 2000
"""The longest string value kept from a reply."""



def object_schema(properties: dict[str, Any]) -> dict[str, Any]:
    """A flat object schema with every property required and nothing else allowed."""
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def keys_of(schema: dict[str, Any]) -> tuple[str, ...]:
    return tuple(schema["properties"])


def tag_hints(schema: dict[str, Any]) -> str:
    """``<key>hint</key>`` for every property: what a free-text reply should contain."""
    tags = []
    for k, p in schema["properties"].items():
        if p.get("type") in ("number", "integer"):
            hint = "AMOUNT"
        elif "enum" in p:
            hint = "/".join(p["enum"])
        else:
            hint = "..."
        tags.append(f"<{k}>{hint}</{k}>")
    return " ".join(tags)


def default_instruction(schema: dict[str, Any], structured: bool) -> str:
    """How to format the reply, in English (callers with prompts of their own pass theirs)."""
    if structured:
        return "Reply with only a JSON object with the keys " + ", ".join(f'"{k}"' for k in keys_of(schema)) + \
            ", and nothing else."
    return f"Reply with {tag_hints(schema)}, and nothing else."


def check_object(schema: dict[str, Any], d: dict[str, Any], language: str = "en") -> dict[str, Any] | None:
    """``d`` restricted to the schema's properties with their values read (amounts in
    ``language``'s conventions), or None when one is missing or does not fit."""
    out: dict[str, Any] = {}
    for k, p in schema["properties"].items():
        if k not in d:
            return None
        v = d[k]
        if p.get("type") in ("number", "integer"):
            x = read_amount(v, language)
            lo, hi = p.get("minimum"), p.get("maximum")
            if x is None or (lo is not None and x < lo) or (hi is not None and x > hi):
                return None
            out[k] = x
        elif "enum" in p:
            s = str(v).strip().lower()
            if s not in p["enum"]:
                return None
            out[k] = s
        else:
            out[k] = str(v)[:MAX_TEXT_CHARS]
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


def read_reply(schema: dict[str, Any], content: str | None, language: str = "en") -> dict[str, Any] | None:
    """The reply as a dict of the schema's keys, from JSON or from tags, amounts read in
    ``language``'s conventions (``amounts``); None if unreadable.  Linear in the reply,
    which is read up to ``MAX_REPLY_CHARS``."""
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
            got = check_object(schema, c, language)
            if got is not None:
                return got
    lower = text.lower()
    tags = {k: v for k in keys_of(schema) if (v := _tag(text, lower, k)) is not None}
    return check_object(schema, tags, language) if tags else None

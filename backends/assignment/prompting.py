"""The LLM proxy's messages for one comparison query, and how its reply is read.

Templates are data files under ``proxy_prompts/``: the system message, the query (the
student's description, the catalogue, schedules A and B), the answer instructions for
plain and chain-of-thought reasoning (free text, or JSON under a schema the provider
enforces, where the reasoning goes in a ``reasoning`` field), and the reminder sent after
an unreadable reply.  The reply ends with one JSON object
``{"preferred": "A" | "B", "confidence": 0..1, "evidence": "..."}``; ``read_answer`` takes
the last such object in the reply and returns None when there is none.  Swapping the order
of the schedules on alternate votes (``swapped``) cancels a model's position bias; the
answer is mapped back to the caller's order.  ``llm_proxy`` sends the messages through the
compiler's LLM engine.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .descriptions import course_titles, data_text

ANSWER_PROPERTIES = {
    "preferred": {"type": "string", "enum": ["A", "B"]},
    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    "evidence": {"type": "string"},
}


def answer_schema(reasoning: str, structured: bool) -> dict:
    """The flat JSON object schema of a reply (sent as ``response_format`` when the provider
    enforces it); chain-of-thought under a schema reasons first, in ``reasoning``."""
    props = ({"reasoning": {"type": "string"}} if reasoning == "cot" and structured else {}) | ANSWER_PROPERTIES
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}

PROMPTS = ("default",)
"""Prompt sets shipped under proxy_prompts/ (``llm(prompt = ...)``)."""


def catalogue(names: tuple[str, ...]) -> str:
    titles = course_titles(len(names))
    return "\n".join(f"- {t} ({n})" for n, t in zip(names, titles, strict=True))


def schedule_text(courses: tuple[int, ...], names: tuple[str, ...]) -> str:
    titles = course_titles(len(names))
    return ", ".join(titles[c] for c in sorted(courses)) if courses else "no course"


def query_messages(description: str, names: tuple[str, ...], first: tuple[int, ...], second: tuple[int, ...],
                   reasoning: str, swapped: bool = False, structured: bool = False) -> list[dict[str, str]]:
    """The chat messages asking which of two schedules the student prefers; with ``swapped``
    the second schedule is shown as A; ``structured``: the reply is JSON under
    ``answer_schema`` (chain-of-thought reasons inside it)."""
    a, b = (second, first) if swapped else (first, second)
    if reasoning == "cot":
        name = "proxy_answer_cot_json.txt" if structured else "proxy_answer_cot.txt"
    else:
        name = "proxy_answer_plain.txt"
    instructions = data_text(name).strip()
    user = data_text("proxy_query.txt").format(
        description=description,
        catalogue=catalogue(names),
        schedule_a=schedule_text(a, names),
        schedule_b=schedule_text(b, names),
        instructions=instructions,
    )
    return [{"role": "system", "content": data_text("proxy_system.txt").strip()}, {"role": "user", "content": user.strip()}]


def interface_messages(description: str, names: tuple[str, ...]) -> list[dict[str, str]]:
    """The chat messages asking the model to fill in the interface report for the student: a
    value from 0 to 100 per course (the reply's keys are the course names)."""
    titles = course_titles(len(names))
    user = data_text("proxy_interface.txt").format(
        description=description, courses="\n".join(f"- {n}: {t}" for n, t in zip(names, titles, strict=True)))
    return [{"role": "system", "content": data_text("proxy_system.txt").strip()}, {"role": "user", "content": user.strip()}]


def interface_schema(names: tuple[str, ...]) -> dict:
    """A value from 0 to 100 for every course, keyed by its name."""
    props = {n: {"type": "number", "minimum": 0, "maximum": 100} for n in names}
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


@dataclass(frozen=True)
class ReadAnswer:
    prefers_first: bool
    """In the caller's order (``swapped`` undone)."""
    confidence: float | None
    evidence: str


_OBJECT = re.compile(r"\{[^{}]*\}", re.S)


REMINDER = "proxy_reminder.txt"
"""The message sent after an unreadable reply (a data file)."""


def reminder() -> str:
    return data_text(REMINDER).strip()


def read_answer(content: str | None, swapped: bool = False) -> ReadAnswer | None:
    """The reply as a whole JSON object, else the last flat JSON answer object in it; None
    when the reply holds no valid one.  Replies are read up to 20,000 characters."""
    if not content:
        return None
    content = content[:20_000]
    candidates = []
    try:
        candidates.append(json.loads(content))
    except (ValueError, RecursionError):
        pass
    for raw in reversed(_OBJECT.findall(content)):
        try:
            candidates.append(json.loads(raw))
        except ValueError:
            continue
    for data in candidates:
        if not isinstance(data, dict):
            continue
        pick = str(data.get("preferred", "")).strip().upper()
        if pick not in ("A", "B"):
            continue
        conf = data.get("confidence")
        conf = float(conf) if isinstance(conf, (int, float)) and not isinstance(conf, bool) and 0 <= conf <= 1 else None
        first = (pick == "A") != swapped
        return ReadAnswer(prefers_first=first, confidence=conf, evidence=str(data.get("evidence", ""))[:500])
    return None

"""The LLM proxy's messages for one comparison query, and how its reply is read.

Templates are data files under ``proxy_prompts/``: the system message, the query (the
student's description, the catalogue, schedules A and B) and the answer instructions for
plain and chain-of-thought reasoning.  The reply ends with one JSON object
``{"preferred": "A" | "B", "confidence": 0..1, "evidence": "..."}``; ``read_answer`` takes
the last such object in the reply and returns None when there is none.  Swapping the order
of the schedules on alternate votes (``swapped``) cancels a model's position bias; the
answer is mapped back to the caller's order.

These functions make no model call: the proxy that sends the messages through the LLM
engine is wired in a later version (``proxies.make_proxy`` says so).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .descriptions import course_titles, data_text

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "preferred": {"type": "string", "enum": ["A", "B"]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "evidence": {"type": "string"},
    },
    "required": ["preferred"],
    "additionalProperties": False,
}
"""The structured output asked of the model (for providers that take a JSON schema)."""

PROMPTS = ("default",)
"""Prompt sets shipped under proxy_prompts/ (``llm(prompt = ...)``)."""


def catalogue(names: tuple[str, ...]) -> str:
    titles = course_titles(len(names))
    return "\n".join(f"- {t} ({n})" for n, t in zip(names, titles, strict=True))


def schedule_text(courses: tuple[int, ...], names: tuple[str, ...]) -> str:
    titles = course_titles(len(names))
    return ", ".join(titles[c] for c in sorted(courses)) if courses else "no course"


def query_messages(description: str, names: tuple[str, ...], first: tuple[int, ...], second: tuple[int, ...],
                   reasoning: str, swapped: bool = False) -> list[dict[str, str]]:
    """The chat messages asking which of two schedules the student prefers; with ``swapped``
    the second schedule is shown as A."""
    a, b = (second, first) if swapped else (first, second)
    instructions = data_text("proxy_answer_cot.txt" if reasoning == "cot" else "proxy_answer_plain.txt").strip()
    user = data_text("proxy_query.txt").format(
        description=description,
        catalogue=catalogue(names),
        schedule_a=schedule_text(a, names),
        schedule_b=schedule_text(b, names),
        instructions=instructions,
    )
    return [{"role": "system", "content": data_text("proxy_system.txt").strip()}, {"role": "user", "content": user.strip()}]


@dataclass(frozen=True)
class ReadAnswer:
    prefers_first: bool
    """In the caller's order (``swapped`` undone)."""
    confidence: float | None
    evidence: str


_OBJECT = re.compile(r"\{[^{}]*\}", re.S)


def read_answer(content: str | None, swapped: bool = False) -> ReadAnswer | None:
    """The last JSON answer object in a reply, or None when the reply holds no valid one."""
    if not content:
        return None
    for raw in reversed(_OBJECT.findall(content)):
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        pick = str(data.get("preferred", "")).strip().upper()
        if pick not in ("A", "B"):
            continue
        conf = data.get("confidence")
        conf = float(conf) if isinstance(conf, (int, float)) and not isinstance(conf, bool) and 0 <= conf <= 1 else None
        first = (pick == "A") != swapped
        return ReadAnswer(prefers_first=first, confidence=conf, evidence=str(data.get("evidence", ""))[:500])
    return None

"""Diagnostics: code, span, one sentence, help, did-you-mean; rendered like stanc3.

Code ranges (one table for the whole tool, so codes never collide):

* E00xx  input: unreadable file, empty file, binary junk
* E01xx  syntax (parser)
* E02xx  names: unknown / duplicate names, unknown keywords, did-you-mean
* E03xx  values: distribution parameters, numbers, types of options
* E04xx  sections that do not fit together, missing objective or format
* E05xx  params and ``--set``
* E06xx  planning: unknown backend, no backend accepts, backend option errors
* E07xx  solving: solver status, infeasible/unbounded, size limits, training failures
* E08xx  simulation and LLM calls: API keys, rate limits, unparsable replies, budgets
* E09xx  artifacts and verification: unreadable artifact, unknown artifact kind
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal


@dataclass(frozen=True)
class Span:
    """1-based line and column; ``end_col`` is exclusive; ``file`` may be '<string>'."""

    file: str
    line: int
    col: int
    end_line: int | None = None
    end_col: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "end_line": self.end_line if self.end_line is not None else self.line,
            "end_col": self.end_col if self.end_col is not None else self.col + 1,
        }


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span | None = None
    help: str | None = None
    suggestion: str | None = None
    """A close match for a misspelt name ('did you mean ...?')."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    severity: Literal["error", "warning"] = "error"
    where: str | None = None
    """An IR path ("solve.options.steps") for stages that see only the IR; the API
    resolves it to a span with ``Spec.span_of`` (see ``with_span``)."""

    def with_span(self, spec: Any) -> "Diagnostic":
        if self.span is not None or self.where is None or spec is None:
            return self
        from dataclasses import replace

        return replace(self, span=spec.span_of(self.where))

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "span": self.span.to_json() if self.span else None,
            "help": self.help,
            "suggestion": self.suggestion,
            "notes": list(self.notes),
        }

    def render(self, source: str | None = None) -> str:
        """The human form: header, location, excerpt with caret, help lines."""
        out = [f"{self.severity}[{self.code}]: {self.message}"]
        if self.span is not None:
            sp = self.span
            out.append(f"  --> {sp.file}:{sp.line}:{sp.col}")
            lines = source.splitlines() if source is not None else []
            if 1 <= sp.line <= len(lines):
                text = lines[sp.line - 1].expandtabs(4)
                width = len(str(sp.line))
                pad = " " * width
                if sp.end_line is not None and sp.end_line != sp.line:
                    end = len(text) + 1
                else:
                    end = sp.end_col if sp.end_col is not None else sp.col + 1
                n = max(1, end - sp.col)
                out.append(f" {pad} |")
                out.append(f" {sp.line} | {text}")
                out.append(f" {pad} | {' ' * (sp.col - 1)}{'^' * n}")
        for note in self.notes:
            out.append(f"   = note: {note}")
        if self.help:
            out.append(f"   = help: {self.help}")
        if self.suggestion:
            out.append(f"   = did you mean '{self.suggestion}'?")
        return "\n".join(out)


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    return match[0] if match else None


def render_all(diags: list[Diagnostic], sources: dict[str, str] | None = None) -> str:
    sources = sources or {}
    parts = []
    for d in diags:
        src = sources.get(d.span.file) if d.span else None
        parts.append(d.render(src))
    errors = sum(1 for d in diags if d.severity == "error")
    if errors > 1:
        parts.append(f"{errors} errors")
    return "\n\n".join(parts)


def to_json(diags: list[Diagnostic]) -> str:
    return json.dumps({"ok": False, "diagnostics": [d.to_json() for d in diags]}, indent=1)

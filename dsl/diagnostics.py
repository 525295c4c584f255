"""Diagnostics: code, span, one sentence, help, did-you-mean; rendered like stanc3.

Code ranges (every layer registers its own codes with ``register_codes``; the ranges
keep them apart, and a code registered twice is refused):

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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal


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


_EXCERPT = 160
"""The widest excerpt of a source line a diagnostic shows."""


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

    def with_span(self, spec: Any) -> Diagnostic:
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
        pad = " "
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
                col = sp.col
                if len(text) > _EXCERPT:
                    # a long line (a whole spec on one line) shows a window around the caret
                    start = max(0, min(col - 1 - _EXCERPT // 2, len(text) - _EXCERPT))
                    text = ("..." if start else "") + text[start : start + _EXCERPT] + (
                        "..." if start + _EXCERPT < len(text) else "")
                    col = col - start + (3 if start else 0)
                    n = min(n, _EXCERPT)
                out.append(f" {pad} |")
                out.append(f" {sp.line} | {text}")
                out.append(f" {pad} | {' ' * (col - 1)}{'^' * n}")
        # the '=' lines line up with the excerpt's '|' gutter, whatever the line number's width
        for note in self.notes:
            out.append(f" {pad} = note: {note}")
        if self.help:
            out.append(f" {pad} = help: {self.help}")
        if self.suggestion:
            out.append(f" {pad} = did you mean '{self.suggestion}'?")
        return "\n".join(out)


@dataclass(frozen=True)
class Code:
    """One diagnostic code: its one-line summary for the docs table and, where written, a
    longer explanation for ``auctionc explain CODE``."""

    code: str
    summary: str
    layer: str
    explanation: str = ""


_REGISTRY: dict[str, Code] = {}


def register_codes(layer: str, table: dict[str, str | tuple[str, str]]) -> None:
    """Register a layer's codes (``{code: summary}`` or ``{code: (summary, explanation)}``).

    Every layer registers its own codes: the language here, the compiler in
    ``auctionc.codes``, each backend through its ``codes`` class attribute.  A code taken
    by another layer is a bug, raised at once."""
    for code, entry in table.items():
        summary, explanation = (entry, "") if isinstance(entry, str) else entry
        old = _REGISTRY.get(code)
        if old is not None and old.layer != layer:
            raise ValueError(f"diagnostic code {code} registered by {old.layer} and {layer}")
        _REGISTRY[code] = Code(code, summary, layer, explanation)


def registered_codes() -> dict[str, Code]:
    """The codes registered so far, sorted (``auctionc.diagnostics.all_codes`` loads every layer)."""
    return dict(sorted(_REGISTRY.items()))


register_codes(
    "dsl",
    {
        # E01xx syntax
        "E0101": ("unexpected token", (
            "The parser met a word or symbol it did not expect here: often a missing '{' or '}', "
            "a keyword misspelt, or a statement in the wrong block. The message lists what was "
            "expected and the caret points at the token; compare with an example in examples/.")),
        "E0102": ("unexpected end of file (a block is never closed)", (
            "The file ends inside a block: some '{' has no matching '}'. The message points at "
            "the block that is still open.")),
        "E0103": ("unexpected character", (
            "A character that is not part of the language (such as '@' or a stray quote) appears "
            "outside a string or a comment. Comments start with '#'.")),
        "E0104": ("unterminated string", (
            "A string opened with '\"' is never closed on its line. Close it, or escape a quote "
            "inside it.")),
        "E0105": ("a second auction or market block in one file", (
            "A spec file holds exactly one `auction` or `market` block; put the second one in a "
            "file of its own.")),
    },
)


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    return match[0] if match else None


def did_you_mean_cased(word: str, candidates: Iterable[str]) -> str | None:
    """``did_you_mean``, but a name that differs only in case wins outright."""
    names = list(candidates)
    return {c.lower(): c for c in names}.get(word.lower()) or did_you_mean(word, names)


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

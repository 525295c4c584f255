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
                out.append(f" {pad} |")
                out.append(f" {sp.line} | {text}")
                out.append(f" {pad} | {' ' * (sp.col - 1)}{'^' * n}")
        # the '=' lines line up with the excerpt's '|' gutter, whatever the line number's width
        for note in self.notes:
            out.append(f" {pad} = note: {note}")
        if self.help:
            out.append(f" {pad} = help: {self.help}")
        if self.suggestion:
            out.append(f" {pad} = did you mean '{self.suggestion}'?")
        return "\n".join(out)


CODES: dict[str, str] = {
    # E00xx input
    "E0001": "the spec file cannot be read (missing, a directory, no permission)",
    "E0002": "empty spec: no auction or market block",
    "E0003": "the file is not UTF-8 text (binary data)",
    # E01xx syntax
    "E0101": "unexpected token",
    "E0102": "unexpected end of file (a block is never closed)",
    "E0103": "unexpected character",
    "E0104": "unterminated string",
    "E0105": "a second auction or market block in one file",
    # E02xx names
    "E0201": "unknown name (not a param or common variable)",
    "E0202": "duplicate name or entry",
    "E0203": "unknown valuation kind",
    "E0204": "unknown distribution",
    "E0205": "unknown item",
    "E0206": "unknown format",
    "E0207": "unknown agent",
    "E0208": "unknown requirement",
    "E0209": "unknown objective, or an objective that is not a weighted sum of revenue and welfare",
    "E0210": "unknown option of a format or agent",
    "E0211": "unknown state",
    "E0212": "unknown action",
    "E0213": "unknown setting in simulate or verify",
    "E0214": "unknown CATS generator or distribution",
    "E0215": "unknown mode of a requirement",
    # E03xx values
    "E0300": "the spec does not form a valid IR (a gap in the checks; please report)",
    "E0301": "invalid distribution parameters",
    "E0302": "probabilities or weights that do not sum to 1",
    "E0303": "a probability outside [0, 1]",
    "E0304": "wrong arguments of a distribution, format, agent or generator",
    "E0305": "an option or setting of the wrong type",
    "E0306": "not a number where a number is needed",
    "E0307": "a count that is not a whole number >= 1",
    "E0308": "not a value expression (sum of distributions, common variables and constants)",
    "E0309": "an empty item range",
    "E0310": "an option value out of range",
    "E0311": "division by zero",
    "E0321": "invalid CATS generator options (or goods that do not match the items)",
    # E04xx sections
    "E0401": "nothing to do: no objective and no format",
    "E0403": "a format that contradicts a requirement (require IC with a format that is not strategy-proof)",
    "E0404": "a statement or requirement that does not belong in this kind of spec",
    "E0405": "no bidders or buyers",
    "E0406": "a missing section (items in an auction, states in a market)",
    "E0407": "a bidder without a valuation or without values for every item",
    "E0408": "a buyer without actions, payoffs or type",
    "E0409": "simulate without a format",
    "E0410": "a section or statement given twice",
    "E0411": "values that do not fit the valuation kind or the items",
    "E0412": "a signal without a value in a common-value auction",
    "E0414": "a belief type with more than two states",
    "E0415": "a value type without a prior over states",
    # E05xx params and --set
    "E0501": "--set of an unknown param",
    "E0502": "--set value of the wrong type",
    "E0503": "a param that is not a literal",
    # E06xx backends
    "E0601": "unknown backend",
    "E0602": "unknown backend option",
    "E0603": "backend option of the wrong type",
    "E0604": "backend option out of range or not one of its choices",
    "E0605": "the named backend cannot take this spec",
    "E0606": "no installed backend accepts this spec",
    "E0607": "the format backend was asked to build a spec that names no format",
    "E0610": "the exact backend needs finite priors or a grid, or has nothing to maximise",
    "E0611": "the exact backend does not support this kind of spec",
    # E04xx formats (evaluating a named format on a spec)
    "E0420": "a format that does not fit the spec",
    "E0421": "too many items for a format over bundle bids",
    "E0422": "an invalid increment, reserve or entry fee",
    "E0423": "a posted price without a valid price",
    "E0424": "VCG that mixes additive and unit-demand bidders over many items",
    "E0425": "winner determination is not available",
    # E07xx solving and training
    "E0701": "a backend ran out of memory",
    "E0710": "the exact model is too big (types, variables, constraints named)",
    "E0711": "the exact model is infeasible (the constraint families at fault named)",
    "E0712": "the exact model is unbounded (the missing constraint family named)",
    "E0713": "the solver stopped with a non-optimal status",
    "E0714": "constraint generation did not converge",
    "E0720": "BundleFlow cannot take this spec",
    "E0721": "BundleFlow training failed",
    "E0722": "the BundleFlow flow cache or checkpoint cannot be used",
    "E0730": "the menu backend cannot take this spec",
    "E0731": "menu-network training diverged",
    "E0732": "the requested torch device is not available",
    # E08xx simulation and LLM calls
    "E0801": "an API key is missing or was rejected",
    "E0802": "the model provider kept rate-limiting",
    "E0803": "model calls timed out or failed repeatedly",
    "E0804": "the model server cannot be reached",
    "E0805": "the cost budget (--max-cost) was reached; the run stopped cleanly",
    "E0806": "the provider refused the request",
    "E0807": "a bidder without an agent plays truthfully (warning)",
    "E0808": "the spec cannot be simulated",
    "E0809": "an agent has no strategy for this format",
    "E0810": "the checkpoint belongs to a different run",
    "E0811": "the local model server cannot start, or no GGUF model was found",
    "E0812": "the format mechanisms are not available in this installation",
    # E09xx artifacts and verification
    "E0901": "the artifact cannot be read",
    "E0902": "unknown artifact kind",
    "E0903": "the artifact and the spec do not fit together, or there is nothing to verify",
    "E0904": "the spec cannot be sampled for verification, or no spec is known",
    "E0905": "too few verification samples",
    "E0906": "the artifact failed to evaluate reports",
    "E0999": "internal error (a bug in auctionc)",
}
"""Every code the front end (and the backend option check) can emit: the docs table."""


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

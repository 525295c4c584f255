"""The state of one semantic analysis and the helpers every part of it reports through.

The analysis goes on after an error wherever the rest does not depend on the broken part:
``Context.fail`` records a diagnostic and returns ``Fail`` for the caller to raise, and
``Context.guard`` runs a step and turns ``Fail`` into ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .. import ir
from ..diagnostics import Diagnostic, Span, did_you_mean
from ..dsl import ast

Scalar = bool | int | float | str

MAX_COUNT = 100_000
"""Items, bidders and buyers are expanded into names; a count beyond this is a typo, not a spec."""
MAX_BIDDERS = 1_000
"""Bidders (or buyers) of one spec, all groups together: every stage holds a value per bidder
per sampled profile, and a hostile spec of many groups must not multiply past this."""
MAX_VALUES = 10_000
"""Values in one profile (bidders x items, or buyers x states): the verifier samples 10,000
profiles by default, so this keeps its default draw within 10^8 values (800 MB)."""
MAX_INT = 2**63 - 1
"""The largest integer magnitude a number may reach, literal or computed: every later stage
takes numbers as 64-bit integers or floats."""
MAX_SETTING = 10**12
"""The largest value of a count setting (rounds, samples...) the front end accepts; what a
backend can afford is its own work estimate, checked when it plans."""
PROB_TOL = 5e-5
"""Probabilities must sum to 1 to four decimals: thirds written as 0.33333 pass, 0.33 does not."""


def fmt(x: float | int) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:g}" if isinstance(x, float) else str(x)


class Fail(Exception):
    """Raised inside the analysis after the diagnostic has been recorded."""


@dataclass
class Context:
    """What the analysis of one document has learnt so far, and what it has found wrong."""

    doc: ast.Document
    overrides: dict[str, str] = field(default_factory=dict)
    diags: list[Diagnostic] = field(default_factory=list)
    spans: dict[str, Span] = field(default_factory=dict)
    """IR paths ("bidders.b1.valuation") to the text they came from, for later stages."""
    params: dict[str, Scalar] = field(default_factory=dict)
    param_kind: dict[str, str] = field(default_factory=dict)
    commons: dict[str, ir.CommonVar] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    prompt_texts: dict[str, str] = field(default_factory=dict)
    """Prompt files named by llm agents, read here relative to the spec's folder (the
    simulation never opens a file the IR names)."""

    @property
    def file(self) -> str:
        return self.doc.filename

    def error(
        self,
        code: str,
        message: str,
        span: Span | None,
        help: str | None = None,
        suggestion: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        self.diags.append(Diagnostic(code, message, span, help=help, suggestion=suggestion, notes=notes))

    def fail(self, *args: Any, **kw: Any) -> Fail:
        self.error(*args, **kw)
        return Fail()

    def unknown(self, code: str, what: str, name: str, span: Span | None, known: Iterable[str], *,
                listing: str | None = None, limit: int = 12) -> Fail:
        """"unknown X 'name'": the known names listed under ``listing`` (default: ``what`` +
        "s"; the first ``limit``, then "...") and the closest one suggested."""
        names = list(known)
        shown = ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")
        return self.fail(code, f"unknown {what} '{name}'", span, help=f"{listing or what + 's'}: {shown}",
                         suggestion=did_you_mean(name, names))

    def no_option(self, owner: str, key: str, span: Span | None, known: Iterable[str], *,
                  listed_as: str | None = None) -> Fail:
        """E0210, "X has no option 'key'": the options listed (under ``listed_as``, default
        ``owner``) and the closest one suggested."""
        names = list(known)
        return self.fail("E0210", f"{owner} has no option '{key}'", span,
                         help=f"options of {listed_as or owner}: {', '.join(names) or 'none'}",
                         suggestion=did_you_mean(key, names))

    def guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Fail:
            return None



KEYWORDS = {
    ast.Param: "param",
    ast.Items: "items",
    ast.Common: "common",
    ast.ValuationKind: "valuation",
    ast.ValuationXor: "valuation",
    ast.ValuationCats: "valuation",
    ast.Value: "value",
    ast.Values: "values",
    ast.Signal: "signal",
    ast.AgentStmt: "agent",
    ast.States: "states",
    ast.Actions: "actions",
    ast.Payoff: "payoff",
    ast.TypeBelief: "type",
    ast.TypeValue: "type",
    ast.Prior: "prior",
    ast.Externality: "externality",
    ast.Require: "require",
    ast.Maximize: "maximize",
    ast.MechanismStmt: "mechanism",
    ast.SolveStmt: "solve",
}


def keyword(s: Any) -> str:
    if isinstance(s, ast.Block | ast.SettingsBlock):
        return s.keyword
    return KEYWORDS[type(s)]


def head_span(s: Any, kw: str) -> Span:
    """The span of a statement's leading keyword."""
    sp = s.span
    return Span(sp.file, sp.line, sp.col, sp.line, sp.col + len(kw))


def over_member_limit(cx: Context, s: Any, total: int, noun: str) -> bool:
    """Report (E0307) when a block of bidders or buyers brings the spec past MAX_BIDDERS;
    ``total`` is the count with this block, ``noun`` the plural ("bidders", "buyers")."""
    if total <= MAX_BIDDERS:
        return False
    cx.error(
        "E0307",
        f"too many {noun}: this block brings them to {total:,}, more than the {MAX_BIDDERS:,} a spec may have",
        s.count.span if s.count is not None else s.span,
        help=f"every stage holds a value per {noun[:-1]} per sampled profile; use fewer {noun}",
    )
    return True

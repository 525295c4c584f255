"""The syntax tree of a .auction file, with a source span on every node.

The AST keeps what the formatter needs to print the text back (operators as
written, number literals as written, whether a call had parentheses) and what
semantic analysis needs to point at the text; the IR keeps none of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

from .diagnostics import Span

_ESCAPES = {"n": "\n", "t": "\t"}


@dataclass(frozen=True)
class Name:
    text: str
    span: Span


# --------------------------------------------------------------------------
# Expressions
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    text: str
    """The literal as written (``1e-3``, ``0.50``): the formatter prints it back unchanged."""
    span: Span

    @property
    def value(self) -> int | float:
        t = self.text
        if "." in t or "e" in t or "E" in t:
            return float(t)
        return int(t)


@dataclass(frozen=True)
class String:
    text: str
    """With its quotes and escapes, as written."""
    span: Span

    @property
    def value(self) -> str:
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), self.text[1:-1])


@dataclass(frozen=True)
class Bool:
    value: bool
    span: Span


@dataclass(frozen=True)
class Ref:
    """A name in an expression: a param, a common variable, a state, ``revenue``..."""

    name: str
    span: Span


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True)
class Neg:
    operand: Expr
    span: Span


@dataclass(frozen=True)
class Paren:
    expr: Expr
    span: Span


@dataclass(frozen=True)
class ListLit:
    items: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True)
class Pair:
    key: Expr
    value: Expr
    span: Span


@dataclass(frozen=True)
class DictLit:
    pairs: tuple[Pair, ...]
    span: Span


@dataclass(frozen=True)
class Arg:
    """A call argument: positional (``name is None``) or ``name = value``."""

    name: Name | None
    value: Expr | DictLit
    span: Span


@dataclass(frozen=True)
class Call:
    callee: Name
    args: tuple[Arg, ...]
    span: Span


Expr = Union[Number, String, Bool, Ref, BinOp, Neg, Paren, ListLit, Call]


# --------------------------------------------------------------------------
# Statements
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: Name
    value: Expr
    span: Span


@dataclass(frozen=True)
class ItemName:
    name: Name
    span: Span


@dataclass(frozen=True)
class ItemCount:
    count: Number
    span: Span


@dataclass(frozen=True)
class ItemRange:
    prefix: Name
    low: Expr
    high: Expr
    span: Span


ItemEntry = Union[ItemName, ItemCount, ItemRange]


@dataclass(frozen=True)
class Items:
    entries: tuple[ItemEntry, ...]
    span: Span


@dataclass(frozen=True)
class Common:
    name: Name
    op: str
    expr: Expr
    span: Span


@dataclass(frozen=True)
class ValuationKind:
    """``valuation additive`` (or a misspelt kind, reported by semantic analysis)."""

    kind: Name
    span: Span


@dataclass(frozen=True)
class XorBidAst:
    bundle: tuple[Name, ...]
    value: Expr
    span: Span


@dataclass(frozen=True)
class ValuationXor:
    bids: tuple[XorBidAst, ...]
    span: Span
    close_line: int = 0
    """Line of the closing '}' (comments before it stay inside the block)."""


@dataclass(frozen=True)
class ValuationCats:
    call: Call
    span: Span


@dataclass(frozen=True)
class Value:
    """``value [ITEM] ~ expr`` or ``value [ITEM] = expr``."""

    item: Name | None
    op: str
    expr: Expr
    span: Span


@dataclass(frozen=True)
class Values:
    """``values ~ dist iid``: the same prior for every item."""

    op: str
    expr: Expr
    iid: bool
    span: Span


@dataclass(frozen=True)
class Signal:
    op: str
    expr: Expr
    span: Span


@dataclass(frozen=True)
class AgentStmt:
    kind: Name
    args: tuple[Arg, ...] | None
    """None when written without parentheses."""
    span: Span


@dataclass(frozen=True)
class Clause:
    """A keyword and its value inside ``courses N { }`` or ``students N { }``:
    ``seats 25``, ``timetable { course_1: [0, 1] }``, ``preferences simulator(popular = 9)``."""

    keyword: str
    value: Expr | DictLit
    span: Span


@dataclass(frozen=True)
class Block:
    """``bidder NAME { }`` / ``bidders N { }`` / ``buyer NAME { }`` / ``buyers N { }`` /
    ``courses N { }`` / ``students N { }``."""

    keyword: str
    name: Name | None
    count: Expr | None
    body: tuple[Stmt, ...]
    span: Span
    open_line: int = 0
    close_line: int = 0


@dataclass(frozen=True)
class States:
    names: tuple[Name, ...]
    span: Span


@dataclass(frozen=True)
class Actions:
    names: tuple[Name, ...]
    span: Span


@dataclass(frozen=True)
class Payoff:
    action: Name
    table: DictLit
    span: Span


@dataclass(frozen=True)
class TypeBelief:
    """``type belief(state) ~ dist`` (two states) or ``type belief ~ Dirichlet({...})`` (``state``
    None), optionally followed by ``, value ~ dist``: an independent private payoff scale."""

    state: Name | None
    op: str
    expr: Expr
    span: Span
    scale_op: str | None = None
    scale: Expr | None = None


@dataclass(frozen=True)
class TypeValue:
    op: str
    expr: Expr
    span: Span


@dataclass(frozen=True)
class Prior:
    table: DictLit
    span: Span


@dataclass(frozen=True)
class Externality:
    expr: Expr
    span: Span


@dataclass(frozen=True)
class ConstraintAst:
    name: Name
    mode: Name | None
    span: Span


@dataclass(frozen=True)
class Require:
    constraints: tuple[ConstraintAst, ...]
    span: Span


@dataclass(frozen=True)
class Maximize:
    expr: Expr
    span: Span


@dataclass(frozen=True)
class MechanismStmt:
    name: Name
    args: tuple[Arg, ...] | None
    span: Span


@dataclass(frozen=True)
class SolveStmt:
    backend: Name
    args: tuple[Arg, ...] | None
    span: Span


@dataclass(frozen=True)
class Setting:
    name: Name
    value: Expr
    span: Span


@dataclass(frozen=True)
class SettingsBlock:
    """``simulate { rounds 15 seed 1 }`` or ``verify { samples 10000 }``."""

    keyword: str
    settings: tuple[Setting, ...]
    span: Span
    close_line: int = 0


Stmt = Union[
    Param,
    Items,
    Common,
    Block,
    ValuationKind,
    ValuationXor,
    ValuationCats,
    Value,
    Values,
    Signal,
    AgentStmt,
    Clause,
    States,
    Actions,
    Payoff,
    TypeBelief,
    TypeValue,
    Prior,
    Externality,
    Require,
    Maximize,
    MechanismStmt,
    SolveStmt,
    SettingsBlock,
]


@dataclass(frozen=True)
class Comment:
    text: str
    line: int
    col: int


@dataclass(frozen=True)
class SpecAst:
    kind: str
    """'auction', 'market' or 'assignment'."""
    name: Name
    body: tuple[Stmt, ...]
    span: Span
    open_line: int = 0
    close_line: int = 0


@dataclass
class Document:
    spec: SpecAst
    comments: list[Comment] = field(default_factory=list)
    source: str = ""
    filename: str = "<string>"

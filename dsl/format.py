"""``auctionc fmt``: canonical layout of a .auction file, comments kept.

The printer walks the AST.  Canonical means: four-space indents, one statement
per line, blocks always open on their header line, single spaces around
operators and ``=`` in options, ``simulate { rounds 15 seed 1 }`` on one line
unless it holds comments.  What the author chose is kept: number literals as
written, ``~`` or ``=``, parentheses, at most one blank line where the source
had one or more.  A comment on its own line stays on its own line before the
statement that follows it; a comment after a statement stays after it; a
comment inside a statement that prints on one line moves before that statement.
"""

from __future__ import annotations

from . import ast as A
from .parser import parse

INDENT = "    "


def format_source(text: str, filename: str = "<string>") -> str:
    """The canonical text of a spec; ``SpecError`` if it does not parse."""
    doc = parse(text, filename)
    return _Printer(doc).run()


# --------------------------------------------------------------------------
# expressions
# --------------------------------------------------------------------------


def expr(e: A.Expr | A.DictLit) -> str:
    if isinstance(e, A.Number | A.String):
        return e.text
    if isinstance(e, A.Bool):
        return "true" if e.value else "false"
    if isinstance(e, A.Ref):
        return e.name
    if isinstance(e, A.BinOp):
        return f"{expr(e.left)} {e.op} {expr(e.right)}"
    if isinstance(e, A.Neg):
        return f"-{expr(e.operand)}"
    if isinstance(e, A.Paren):
        return f"({expr(e.expr)})"
    if isinstance(e, A.ListLit):
        return "[" + ", ".join(expr(x) for x in e.items) + "]"
    if isinstance(e, A.DictLit):
        return "{" + ", ".join(f"{expr(p.key)}: {expr(p.value)}" for p in e.pairs) + "}"
    if isinstance(e, A.Call):
        return e.callee.text + args(e.args)
    raise TypeError(type(e).__name__)


def arg(a: A.Arg) -> str:
    return f"{a.name.text} = {expr(a.value)}" if a.name is not None else expr(a.value)


def args(xs: tuple[A.Arg, ...] | None) -> str:
    """``(a, b = 1)``; nothing for a call written without parentheses or with none."""
    if not xs:
        return ""
    return "(" + ", ".join(arg(a) for a in xs) + ")"


def table(d: A.DictLit) -> str:
    """A statement-level table: ``{ rain: 0, sun: 1 }``."""
    if not d.pairs:
        return "{}"
    return "{ " + ", ".join(f"{expr(p.key)}: {expr(p.value)}" for p in d.pairs) + " }"


def one_line(s: A.Stmt) -> str:
    if isinstance(s, A.Param):
        return f"param {s.name.text} = {expr(s.value)}"
    if isinstance(s, A.Items):
        parts = []
        for e in s.entries:
            if isinstance(e, A.ItemName):
                parts.append(e.name.text)
            elif isinstance(e, A.ItemCount):
                parts.append(e.count.text)
            else:
                parts.append(f"{e.prefix.text}[{expr(e.low)}..{expr(e.high)}]")
        return "items " + ", ".join(parts)
    if isinstance(s, A.Common):
        return f"common {s.name.text} {s.op} {expr(s.expr)}"
    if isinstance(s, A.ValuationKind):
        return f"valuation {s.kind.text}"
    if isinstance(s, A.ValuationCats):
        return f"valuation xor from {expr(s.call)}"
    if isinstance(s, A.Value):
        item = f" {s.item.text}" if s.item is not None else ""
        return f"value{item} {s.op} {expr(s.expr)}"
    if isinstance(s, A.Values):
        return f"values {s.op} {expr(s.expr)}" + (" iid" if s.iid else "")
    if isinstance(s, A.Signal):
        return f"signal {s.op} {expr(s.expr)}"
    if isinstance(s, A.AgentStmt):
        return f"agent {s.kind.text}{args(s.args)}"
    if isinstance(s, A.Clause):
        value = table(s.value) if isinstance(s.value, A.DictLit) else expr(s.value)
        return f"{s.keyword} {value}"
    if isinstance(s, A.States):
        return "states " + ", ".join(n.text for n in s.names)
    if isinstance(s, A.Actions):
        return "actions " + ", ".join(n.text for n in s.names)
    if isinstance(s, A.Payoff):
        return f"payoff {s.action.text} {table(s.table)}"
    if isinstance(s, A.TypeBelief):
        head = f"type belief({s.state.text})" if s.state is not None else "type belief"
        tail = f", value {s.scale_op} {expr(s.scale)}" if s.scale is not None else ""
        return f"{head} {s.op} {expr(s.expr)}{tail}"
    if isinstance(s, A.TypeValue):
        return f"type value {s.op} {expr(s.expr)}"
    if isinstance(s, A.Prior):
        return f"prior {table(s.table)}"
    if isinstance(s, A.Externality):
        return f"externality {expr(s.expr)}"
    if isinstance(s, A.Require):
        return "require " + ", ".join(
            c.name.text + (f"({c.mode.text})" if c.mode is not None else "") for c in s.constraints
        )
    if isinstance(s, A.Maximize):
        return f"maximize {expr(s.expr)}"
    if isinstance(s, A.MechanismStmt):
        return f"mechanism {s.name.text}{args(s.args)}"
    if isinstance(s, A.SolveStmt):
        return f"solve with {s.backend.text}{args(s.args)}"
    if isinstance(s, A.SettingsBlock):
        body = " ".join(f"{x.name.text} {expr(x.value)}" for x in s.settings)
        return f"{s.keyword} {{ {body} }}" if body else f"{s.keyword} {{}}"
    raise TypeError(type(s).__name__)


# --------------------------------------------------------------------------
# statements and comments
# --------------------------------------------------------------------------


class _Printer:
    def __init__(self, doc: A.Document):
        self.src = doc.source.splitlines()
        self.spec = doc.spec
        self.comments = sorted(doc.comments, key=lambda c: (c.line, c.col))
        self.ci = 0
        self.out: list[str] = []
        self.last_end = 0
        """The last source line of what has been printed so far."""

    def blank_between(self, start: int) -> bool:
        """Whether the source has a blank line after what was printed last and before ``start``."""
        return any(not self.src[i - 1].strip() for i in range(self.last_end + 1, min(start, len(self.src) + 1)))

    def emit(self, text: str, depth: int, src_line: int, first: bool, end_line: int | None = None) -> None:
        if not first and self.blank_between(src_line) and self.out and self.out[-1] != "":
            self.out.append("")
        self.out.append(INDENT * depth + text if text else "")
        self.last_end = max(self.last_end, end_line or src_line)

    def own_line_comments(self, before: int, depth: int, first: bool) -> bool:
        """Emit comments on lines before ``before``; returns whether the block is still at its start."""
        while self.ci < len(self.comments) and self.comments[self.ci].line < before:
            c = self.comments[self.ci]
            self.emit(c.text.rstrip(), depth, c.line, first)
            first = False
            self.ci += 1
        return first

    def trailing(self, line: int) -> None:
        if self.ci < len(self.comments) and self.comments[self.ci].line == line:
            self.out[-1] += "  " + self.comments[self.ci].text.rstrip()
            self.ci += 1

    def has_comments(self, lo: int, hi: int) -> bool:
        return any(lo <= c.line < hi for c in self.comments[self.ci :])

    def stmt(self, s: A.Stmt, depth: int, first: bool) -> None:
        if isinstance(s, A.Block):
            head = s.keyword + " " + (s.name.text if s.name is not None else expr(s.count))  # type: ignore[arg-type]
            if s.keyword in ("courses", "students") and not s.body and not self.has_comments(s.span.line, s.close_line):
                # a block of defaults needs no braces: 'courses 25'
                first = self.own_line_comments(s.span.line, depth, first)
                self.emit(head, depth, s.span.line, first, s.close_line)
                self.trailing(s.close_line)
                return
            self.block(head, s.span.line, s.open_line, s.body, s.close_line, depth, first)
            return
        if isinstance(s, A.ValuationXor):
            self.block_generic(
                "valuation xor", s.span.line, s.span.line, s.bids, s.close_line, depth, first, self.xor_bid
            )
            return
        if isinstance(s, A.SettingsBlock) and self.has_comments(s.span.line, s.close_line):
            self.block_generic(
                s.keyword, s.span.line, s.span.line, s.settings, s.close_line, depth, first, self.setting
            )
            return
        end = s.span.end_line or s.span.line
        first = self.own_line_comments(end, depth, first)
        self.emit(one_line(s), depth, s.span.line, first, end)
        self.trailing(end)

    def xor_bid(self, b: A.XorBidAst, depth: int, first: bool) -> None:
        end = b.span.end_line or b.span.line
        first = self.own_line_comments(end, depth, first)
        bundle = "{" + ", ".join(n.text for n in b.bundle) + "}"
        self.emit(f"{bundle}: {expr(b.value)}", depth, b.span.line, first, end)
        self.trailing(end)

    def setting(self, st: A.Setting, depth: int, first: bool) -> None:
        end = st.span.end_line or st.span.line
        first = self.own_line_comments(end, depth, first)
        self.emit(f"{st.name.text} {expr(st.value)}", depth, st.span.line, first, end)
        self.trailing(end)

    def block(self, head: str, line: int, open_line: int, body, close_line: int, depth: int, first: bool) -> None:
        self.block_generic(head, line, open_line, body, close_line, depth, first, self.stmt)

    def block_generic(self, head, line, open_line, body, close_line, depth, first, each) -> None:
        first = self.own_line_comments(open_line, depth, first)
        self.emit(head + " {", depth, line, first, open_line)
        if not body or body[0].span.line != open_line:  # else the first statement owns the comment
            self.trailing(open_line)
        inner_first = True
        for s in body:
            each(s, depth + 1, inner_first)
            inner_first = False
        self.own_line_comments(close_line, depth + 1, inner_first)
        self.out.append(INDENT * depth + "}")
        self.last_end = max(self.last_end, close_line)
        self.trailing(close_line)

    def run(self) -> str:
        sp = self.spec
        self.block(f"{sp.kind} {sp.name.text}", sp.span.line, sp.open_line, sp.body, sp.close_line, 0, True)
        self.own_line_comments(10**9, 0, False)
        return "\n".join(self.out).rstrip("\n") + "\n"

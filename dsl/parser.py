"""Parse .auction text into the AST (``dsl.ast``), or into diagnostics in words.

The parser is lark's LALR(1) in strict mode, built once per process and cached
on disk between processes in a directory only the user can write (``grammar_cache_path``):
lark's cache is a pickle, and a pickle from anyone else would run their code.  Syntax errors never show lark's terminal names: the
set of tokens the parser would accept is described in words ("a bidder
statement", "a number, a name or a distribution such as Uniform(0, 1)").
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import threading
from functools import lru_cache
from pathlib import Path

import lark
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from . import ast as A
from .diagnostics import Diagnostic, Span, did_you_mean
from .errors import SpecError
from .limits import check_tree
from .vocabulary import (
    AGENT_KINDS,
    BIDDER_KEYWORDS,
    BUYER_KEYWORDS,
    CONSTRAINTS,
    COURSE_KEYWORDS,
    DISTRIBUTIONS,
    FORMATS,
    MODES,
    OBJECTIVE_TERMS,
    SPEC_KINDS,
    STUDENT_KEYWORDS,
    TOP_KEYWORDS,
    VALUATION_KINDS,
)

GRAMMAR_PATH = Path(__file__).with_name("grammar.lark")

_local = threading.local()


def _collect_comment(tok: Token) -> None:
    sink = getattr(_local, "comments", None)
    if sink is not None:
        sink.append(tok)


class _Keywords:
    """A post-lexer with two jobs.

    NAME is tried in every parser state (``always_accept``), so 'bidderz' lexes as
    one name instead of the keyword 'bidder' followed by 'z'.  And the words that
    start statements are reserved: where the parser would take any name, such a
    word still comes out as its keyword, so ``require`` followed by ``maximize
    revenue`` is reported at 'maximize' ("expected a requirement") rather than at
    'revenue' after 'maximize' was taken for the name of a requirement.
    """

    always_accept = ("NAME",)

    def __init__(self) -> None:
        self.reserved: dict[str, str] = {}

    def process(self, stream):
        for tok in stream:
            if tok.type == "NAME" and tok.value in self.reserved:
                tok = Token.new_borrow_pos(self.reserved[tok.value], tok.value, tok)
            yield tok


_POSTLEX = _Keywords()


def _private_dir(path: str) -> bool:
    """True when ``path`` is a real directory (not a link) owned by this user that no one
    else can write: nothing in it can have been put there by another local user."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def grammar_cache_path() -> str | None:
    """Where the parse tables are cached: ``$AUCTIONC_CACHE/grammar`` (default
    ``~/.cache/auctionc/grammar``), created private (0700).  None, and the parser is built
    without a cache (about 0.4 s more per process), when that directory or an existing cache
    file in it is not this user's alone, or on a system without user ids.

    lark's own default (``cache=True``) is a predictable file in the shared temporary
    directory, which it unpickles before checking anything: another local user could plant
    one there and run code as whoever parses a spec."""
    if not hasattr(os, "getuid"):
        return None
    root = os.environ.get("AUCTIONC_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "auctionc")
    folder = os.path.join(root, "grammar")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    if not (_private_dir(root) and _private_dir(folder)):
        return None
    key = hashlib.sha256(GRAMMAR_PATH.read_bytes()).hexdigest()[:16]
    path = os.path.join(folder, f"grammar-{key}-lark{lark.__version__}-py{sys.version_info[0]}{sys.version_info[1]}.cache")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
        return None
    return path


@lru_cache(maxsize=1)
def lark_parser() -> Lark:
    cache = grammar_cache_path()
    parser = Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        strict=True,
        cache=cache if cache is not None else False,
        propagate_positions=True,
        maybe_placeholders=True,
        lexer_callbacks={"COMMENT": _collect_comment},
        postlex=_POSTLEX,
    )
    wanted = set(RESERVED)
    for t in parser.terminals:
        if t.pattern.type == "str" and t.pattern.value in wanted:
            _POSTLEX.reserved[t.pattern.value] = t.name
    return parser


# --------------------------------------------------------------------------
# Reserved words and the words syntax errors use (from the vocabulary)
# --------------------------------------------------------------------------

_NOT_RESERVED = ("buyer", "value", "type", "prior")
RESERVED = tuple(
    w for w in (*SPEC_KINDS, *TOP_KEYWORDS, *BIDDER_KEYWORDS, *BUYER_KEYWORDS) if w not in _NOT_RESERVED
)
"""Words that start a spec or a statement and are never names.  The few that make
natural names ('bidder buyer { }', an item called 'value') are not reserved: they are
keywords only where a statement may start."""
_EXPR_START = {"NUMBER", "-", "("}
_EXPR_EXTRA = {"NAME", "STRING", "true", "false", *OBJECTIVE_TERMS, "[", *DISTRIBUTIONS}
_OPERATORS = {"+", "-", "*", "/"}

# (symbols that must all be expected, words, further symbols the words cover)
_GROUPS: list[tuple[set[str], str, set[str]]] = [
    (set(TOP_KEYWORDS), "a statement such as items, bidder, require, maximize or mechanism", set()),
    (set(BIDDER_KEYWORDS), "a bidder statement (valuation, value, values, signal or agent)", set()),
    (set(BUYER_KEYWORDS), "a buyer statement (actions, payoff, type, prior or agent)", set()),
    (_EXPR_START, "a number, a name or a distribution such as Uniform(0, 1)", _EXPR_EXTRA),
    (set(VALUATION_KINDS), "a valuation kind (additive, unit_demand, single or xor)", {"NAME"}),
    (set(FORMATS), "a format such as first_price or second_price", {"NAME"}),
    (set(AGENT_KINDS), "an agent (llm, truthful, bne, crra, random or sniper)", {"NAME"}),
    (set(CONSTRAINTS), "a requirement (IC, IR, obedience, deterministic or budget_balance)", {"NAME"}),
    (set(MODES), "a mode (dominant, bayesian, ex_post or interim)", {"NAME"}),
    (set(COURSE_KEYWORDS), "a course statement (seats or timetable)", set()),
    (set(STUDENT_KEYWORDS), "a student statement (demand, preferences, reports or proxy)", set()),
    (set(SPEC_KINDS), "'auction', 'market' or 'assignment'", set()),
]
_TOKEN_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a string in double quotes",
    "$END": "the end of the file",
}


def _symbol(term_name: str) -> str:
    """A terminal name as the literal it matches ('{', 'value') or NAME/NUMBER/STRING/$END."""
    for t in lark_parser().terminals:
        if t.name == term_name:
            if t.pattern.type == "str":
                return t.pattern.value
            return term_name
    return term_name


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def describe_expected(term_names: set[str]) -> str:
    symbols = {_symbol(n) for n in term_names}
    words: list[str] = []
    for need, text, extra in _GROUPS:
        if need <= symbols:
            words.append(text)
            symbols -= need | extra
    if symbols - _OPERATORS - {"$END"} or words:
        symbols -= _OPERATORS  # after a complete expression, an operator is rarely what was meant
    lits = sorted(s for s in symbols if s not in _TOKEN_WORDS)
    rest = [_TOKEN_WORDS[s] for s in ("NAME", "NUMBER", "STRING", "$END") if s in symbols]
    words += [f"'{s}'" for s in lits] + rest
    return _join(words)


def describe_token(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    if tok.type == "NAME":
        if tok.value in (*TOP_KEYWORDS, *BIDDER_KEYWORDS, *BUYER_KEYWORDS):
            return f"'{tok.value}'"  # a keyword out of place, not a name
        return f"name '{tok.value}'"
    if tok.type == "NUMBER":
        return f"number {tok.value}"
    if tok.type == "STRING":
        return f"string {tok.value}"
    return f"'{tok.value}'"


# --------------------------------------------------------------------------
# Syntax errors
# --------------------------------------------------------------------------


def _open_brackets(text: str) -> list[tuple[str, int, int]]:
    """Brackets left open at the end of ``text``: (char, line, col), innermost last."""
    stack: list[tuple[str, int, int]] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    line, col, i = 1, 1, 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        if c == '"':
            i += 1
            col += 1
            while i < n and text[i] not in '"\n':
                i += 2 if text[i] == "\\" else 1
                col += 1
            i += 1
            col += 1
            continue
        if c in "([{":
            stack.append((c, line, col))
        elif c in ")]}" and stack and stack[-1][0] == pairs[c]:
            stack.pop()
        if c == "\n":
            line, col = line + 1, 1
        else:
            col += 1
        i += 1
    return stack


def _tok_span(tok: Token, filename: str) -> Span:
    return Span(filename, tok.line, tok.column, tok.end_line, tok.end_column)


def _syntax_diagnostic(e: UnexpectedInput, text: str, filename: str) -> Diagnostic:
    if isinstance(e, UnexpectedCharacters):
        ch = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
        span = Span(filename, e.line, e.column, e.line, e.column + 1)
        if ch == '"':
            end = text.find("\n", e.pos_in_stream)
            end = len(text) if end < 0 else end
            return Diagnostic(
                "E0104",
                "unterminated string: it has no closing '\"' on its line",
                Span(filename, e.line, e.column, e.line, e.column + max(1, end - e.pos_in_stream)),
                help='close the string on the same line, as in "openai/gpt-4o-mini"',
            )
        if ch == "'":
            return Diagnostic(
                "E0103",
                "unexpected character \"'\": strings use double quotes",
                span,
                help='write "text" instead of \'text\'',
            )
        shown = ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"U+{ord(ch):04X}"
        return Diagnostic(
            "E0103",
            f"unexpected character '{shown}'",
            span,
            help="names are letters, digits and '_'; comments start with '#'",
        )
    assert isinstance(e, UnexpectedToken)
    tok = e.token
    expected = set(e.accepts or e.expected)
    words = describe_expected(expected)
    symbols = {_symbol(n) for n in expected}
    if tok.type == "$END":
        open_ = _open_brackets(text)
        if open_:
            ch, line, col = open_[-1]
            closer = {"(": ")", "[": "]", "{": "}"}[ch]
            return Diagnostic(
                "E0102",
                f"unexpected end of file: the '{ch}' on line {line} is never closed",
                Span(filename, line, col, line, col + 1),
                help=f"add '{closer}' where the block ends; expected {words}",
            )
        last = text.rstrip()
        line = last.count("\n") + 1
        col = len(last) - (last.rfind("\n") + 1) + 1
        return Diagnostic(
            "E0102",
            f"unexpected end of file: expected {words}",
            Span(filename, line, max(1, col), line, max(1, col) + 1),
        )
    span = _tok_span(tok, filename)
    if tok.type in ("AUCTION", "MARKET", "ASSIGNMENT") or (tok.value in SPEC_KINDS and symbols == {"$END"}):
        return Diagnostic(
            "E0105",
            f"a second '{tok.value}' block: one file holds one auction, market or assignment",
            span,
            help="put each spec in its own .auction file",
        )
    help_: str | None = None
    suggestion: str | None = None
    top = set(TOP_KEYWORDS) <= symbols
    in_bidder = set(BIDDER_KEYWORDS) <= symbols
    in_buyer = set(BUYER_KEYWORDS) <= symbols
    if tok.value in BIDDER_KEYWORDS and top:
        help_ = f"'{tok.value}' goes inside a bidder {{ }} or bidders N {{ }} block"
    elif tok.value in BUYER_KEYWORDS and top and tok.value != "prior":
        help_ = f"'{tok.value}' goes inside a buyer {{ }} block"
    elif tok.value in STUDENT_KEYWORDS and (top or set(COURSE_KEYWORDS) <= symbols):
        help_ = f"'{tok.value}' goes inside a students N {{ }} block"
    elif tok.value in COURSE_KEYWORDS and (top or set(STUDENT_KEYWORDS) <= symbols):
        help_ = f"'{tok.value}' goes inside a courses N {{ }} block"
    elif tok.value in TOP_KEYWORDS and (in_bidder or in_buyer):
        help_ = f"'{tok.value}' goes at the top level of the spec: is a '}}' missing before it?"
    elif tok.type == "NAME":
        keywords = [s for s in symbols if s.isidentifier() and s not in ("NAME", "NUMBER", "STRING")]
        suggestion = did_you_mean(tok.value, keywords)
        if suggestion is None and (top or in_bidder or in_buyer):
            help_ = "every statement starts with a keyword"
    elif tok.value == ":" and "~" in symbols:
        help_ = "a prior is written 'value A ~ Uniform(0, 1)'"
    elif tok.value == "=" and "~" in symbols:
        help_ = "use '~' for a distribution"
    return Diagnostic(
        "E0101",
        f"unexpected {describe_token(tok)}: expected {words}",
        span,
        help=help_,
        suggestion=suggestion,
    )


# --------------------------------------------------------------------------
# Tree -> AST
# --------------------------------------------------------------------------


class _Builder:
    def __init__(self, filename: str):
        self.f = filename

    def span(self, t: Tree | Token) -> Span:
        if isinstance(t, Token):
            return _tok_span(t, self.f)
        m = t.meta
        return Span(self.f, m.line, m.column, m.end_line, m.end_column)

    def name(self, tok: Token | Tree) -> A.Name:
        if isinstance(tok, Tree):  # keyword-or-NAME rules keep their single token
            tok = tok.children[0]
        return A.Name(str(tok), _tok_span(tok, self.f))

    # ---- expressions -------------------------------------------------------

    def expr(self, t: Tree | Token) -> A.Expr:
        sp = self.span(t)
        d = t.data
        ch = t.children
        if d == "number":
            return A.Number(str(ch[0]), sp)
        if d == "string":
            return A.String(str(ch[0]), sp)
        if d == "ref":
            return A.Ref(str(ch[0]), sp)
        if d == "objective_term":
            return A.Ref(str(ch[0]), sp)
        if d == "true":
            return A.Bool(True, sp)
        if d == "false":
            return A.Bool(False, sp)
        if d in ("add", "sub", "mul", "div"):
            op = {"add": "+", "sub": "-", "mul": "*", "div": "/"}[d]
            return A.BinOp(op, self.expr(ch[0]), self.expr(ch[1]), sp)
        if d == "neg":
            return A.Neg(self.expr(ch[0]), sp)
        if d == "paren":
            return A.Paren(self.expr(ch[0]), sp)
        if d == "list":
            return A.ListLit(tuple(self.expr(c) for c in ch if c is not None), sp)
        if d == "call":
            return self.call(t)
        raise AssertionError(f"unhandled expression {d}")

    def call(self, t: Tree) -> A.Call:
        callee, args = t.children
        return A.Call(self.name(callee), self.args(args), self.span(t))

    def args(self, t: Tree | None) -> tuple[A.Arg, ...] | None:
        if t is None:
            return None
        out = []
        for c in t.children:
            if c is None:
                continue
            if isinstance(c, Tree) and c.data == "kwarg":
                out.append(A.Arg(self.name(c.children[0]), self.value(c.children[1]), self.span(c)))
            else:
                out.append(A.Arg(None, self.value(c), self.span(c)))
        return tuple(out)

    def value(self, t: Tree) -> A.Expr | A.DictLit:
        if isinstance(t, Tree) and t.data == "dict":
            return self.dict(t)
        return self.expr(t)

    def dict(self, t: Tree) -> A.DictLit:
        pairs = tuple(
            A.Pair(self.expr(p.children[0]), self.expr(p.children[1]), self.span(p))
            for p in t.children
            if p is not None
        )
        return A.DictLit(pairs, self.span(t))

    # ---- statements -------------------------------------------------------

    def names(self, toks) -> tuple[A.Name, ...]:
        return tuple(self.name(x) for x in toks if x is not None)

    def stmt(self, t: Tree) -> A.Stmt:
        d = t.data
        ch = t.children
        sp = self.span(t)
        if d == "param_stmt":
            return A.Param(self.name(ch[0]), self.expr(ch[1]), sp)
        if d == "items_stmt":
            entries: list[A.ItemEntry] = []
            for e in ch:
                esp = self.span(e)
                if e.data == "item_name":
                    entries.append(A.ItemName(self.name(e.children[0]), esp))
                elif e.data == "item_count":
                    entries.append(A.ItemCount(A.Number(str(e.children[0]), esp), esp))
                else:
                    p, lo, hi = e.children
                    entries.append(A.ItemRange(self.name(p), self.expr(lo), self.expr(hi), esp))
            return A.Items(tuple(entries), sp)
        if d == "common_stmt":
            return A.Common(self.name(ch[0]), str(ch[1].children[0]), self.expr(ch[2]), sp)
        if d in ("bidder_block", "bidders_block", "buyer_block", "buyers_block", "courses_block", "students_block"):
            kw = d.removesuffix("_block")
            single = kw in ("bidder", "buyer")
            body = tuple(self.stmt(c) for c in ch[1:])
            opener = ch[0]
            open_line = opener.end_line if isinstance(opener, Token) else opener.meta.end_line
            return A.Block(
                kw,
                self.name(ch[0]) if single else None,
                None if single else self.expr(ch[0]),
                body,
                sp,
                open_line=open_line,
                close_line=t.meta.end_line,
            )
        if d == "valuation_named":
            return A.ValuationKind(self.name(ch[0]), sp)
        if d == "valuation_xor":
            bids = tuple(
                A.XorBidAst(self.names(b.children[0].children), self.expr(b.children[1]), self.span(b))
                for b in ch
            )
            return A.ValuationXor(bids, sp, close_line=t.meta.end_line)
        if d == "valuation_cats":
            return A.ValuationCats(self.call(ch[0]), sp)
        if d == "value_stmt":
            item = self.name(ch[0]) if ch[0] is not None else None
            return A.Value(item, str(ch[1].children[0]), self.expr(ch[2]), sp)
        if d == "values_stmt":
            return A.Values(str(ch[0].children[0]), self.expr(ch[1]), ch[2] is not None, sp)
        if d == "signal_stmt":
            return A.Signal(str(ch[0].children[0]), self.expr(ch[1]), sp)
        if d == "agent_stmt":
            return A.AgentStmt(self.name(ch[0]), self.args(ch[1]), sp)
        if d in ("course_clause", "student_clause"):
            return A.Clause(str(ch[0].children[0]), self.value(ch[1]), sp)
        if d == "states_stmt":
            return A.States(self.names(ch), sp)
        if d == "actions_stmt":
            return A.Actions(self.names(ch), sp)
        if d == "payoff_stmt":
            return A.Payoff(self.name(ch[0]), self.dict(ch[1]), sp)
        if d in ("type_belief", "type_belief_vector"):
            state = self.name(ch[0]) if d == "type_belief" else None
            rest = ch[1:] if d == "type_belief" else ch
            scale = rest[2]
            return A.TypeBelief(state, str(rest[0].children[0]), self.expr(rest[1]), sp,
                                str(scale.children[0].children[0]) if scale is not None else None,
                                self.expr(scale.children[1]) if scale is not None else None)
        if d == "type_value":
            return A.TypeValue(str(ch[0].children[0]), self.expr(ch[1]), sp)
        if d == "prior_stmt":
            return A.Prior(self.dict(ch[0]), sp)
        if d == "externality_stmt":
            return A.Externality(self.expr(ch[0]), sp)
        if d == "require_stmt":
            cons = tuple(
                A.ConstraintAst(
                    self.name(c.children[0]),
                    self.name(c.children[1]) if c.children[1] is not None else None,
                    self.span(c),
                )
                for c in ch
            )
            return A.Require(cons, sp)
        if d == "maximize_stmt":
            return A.Maximize(self.expr(ch[0]), sp)
        if d == "mechanism_stmt":
            return A.MechanismStmt(self.name(ch[0]), self.args(ch[1]), sp)
        if d == "solve_stmt":
            return A.SolveStmt(self.name(ch[0]), self.args(ch[1]), sp)
        if d in ("simulate_block", "verify_block"):
            settings = tuple(
                A.Setting(self.name(s.children[0]), self.expr(s.children[1]), self.span(s)) for s in ch
            )
            return A.SettingsBlock(d.removesuffix("_block"), settings, sp, close_line=t.meta.end_line)
        raise AssertionError(f"unhandled statement {d}")

    def spec(self, t: Tree) -> A.SpecAst:
        kind_t, name_t, *body = t.children
        return A.SpecAst(
            str(kind_t.children[0]),
            self.name(name_t),
            tuple(self.stmt(c) for c in body),
            self.span(t),
            open_line=name_t.line,
            close_line=t.meta.end_line,
        )


def parse(text: str, filename: str = "<string>") -> A.Document:
    """Parse one spec; raise ``SpecError`` with a syntax diagnostic in words."""
    parser = lark_parser()
    comments: list[Token] = []
    _local.comments = comments
    try:
        tree = parser.parse(text)
    except UnexpectedInput as e:
        raise SpecError(_syntax_diagnostic(e, text, filename)) from None
    finally:
        _local.comments = None
    too_big = check_tree(tree, filename)
    if too_big is not None:
        raise SpecError(too_big)
    spec = _Builder(filename).spec(tree.children[0])
    return A.Document(
        spec,
        [A.Comment(str(c), c.line, c.column) for c in comments],
        text,
        filename,
    )

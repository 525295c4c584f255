"""The front end's size limits on the text of a spec, checked before anything is built from it.

A spec may come from someone else (a gallery entry, a paper's supplement), so every size the
text controls is bounded: the file, each number and string literal, and how deeply
expressions and blocks nest.  Past a limit the answer is a diagnostic naming the limit, never
a crash, a hang or gigabytes of memory.  ``docs/security.md`` lists the same figures.
"""

from __future__ import annotations

from lark import Token, Tree

from .diagnostics import Diagnostic, Span, register_codes

MAX_SOURCE_BYTES = 64 * 1024
"""The largest spec file read: 80 times the largest bundled example (under 1 KB).  Parsing is
lark's pure-Python LALR, about 10^4 tokens a second on the project's loaded 2-core machine
(a list literal of 80 KB took 5.6 s, 128 KB of repeated bidder blocks 3.2 s, 1 MB of them
10.8 s), so the limit keeps any file's parse to a few seconds."""
MAX_NUMBER_CHARS = 100
"""The longest number literal.  Python refuses integers past 4,300 digits and a float
needs at most 17 significant digits; 100 characters hold any number a spec needs."""
MAX_STRING_CHARS = 1000
"""The longest string literal (model names, prompt names, currencies, URLs)."""
MAX_DEPTH = 128
"""The deepest syntax tree: nested parentheses, unary minuses, calls, tables and the
operands of one long sum all count.  Every later stage walks expressions recursively, and
128 levels leave Python's default recursion limit (1,000 frames) ample room."""

register_codes(
    "dsl",
    {
        "E0106": ("a spec, literal or nesting beyond the front end's size limits", (
            "The front end bounds what one spec may hold, so that a file from someone else cannot "
            "exhaust memory or time: number literals of at most 100 characters, strings of at most "
            "1,000, and at most 128 levels of nesting (parentheses, minus signs, calls, "
            "tables and the terms of one long sum each count). Write large numbers with an "
            "exponent, move long text into a file, and simplify deep expressions.")),
    },
)


def _span(node: Tree | Token, filename: str) -> Span:
    if isinstance(node, Token):
        return Span(filename, node.line or 1, node.column or 1, node.end_line, node.end_column)
    m = node.meta
    line = getattr(m, "line", 1)
    col = getattr(m, "column", 1)
    return Span(filename, line, col, line, col + 1)


def check_tree(tree: Tree, filename: str) -> Diagnostic | None:
    """The first literal or nesting past a limit in a parsed tree, as a diagnostic; None when
    everything fits.  Iterative, so a tree of any depth is walked without recursion."""
    stack: list[tuple[Tree | Token, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Token):
            if node.type == "NUMBER" and len(node) > MAX_NUMBER_CHARS:
                return Diagnostic(
                    "E0106",
                    f"a number literal of {len(node):,} characters: numbers are at most {MAX_NUMBER_CHARS} characters",
                    Span(filename, node.line or 1, node.column or 1, node.line, (node.column or 1) + 1),
                    help="write large or small numbers with an exponent, as in 1e9 or 2.5e-4",
                )
            if node.type == "STRING" and len(node) - 2 > MAX_STRING_CHARS:
                return Diagnostic(
                    "E0106",
                    f"a string of {len(node) - 2:,} characters: strings are at most {MAX_STRING_CHARS:,} characters",
                    Span(filename, node.line or 1, node.column or 1, node.line, (node.column or 1) + 1),
                    help="strings name models, prompts, currencies and URLs; longer text belongs in a file",
                )
            continue
        if not isinstance(node, Tree):
            continue  # an absent optional part (maybe_placeholders)
        if depth > MAX_DEPTH:
            return Diagnostic(
                "E0106",
                f"the spec nests more than {MAX_DEPTH} levels deep here",
                _span(node, filename),
                help="nested parentheses, minus signs, calls and tables, and the terms of one long sum, "
                "each count as a level; simplify the expression",
            )
        stack.extend((c, depth + 1) for c in node.children)
    return None

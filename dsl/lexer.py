"""Pygments lexer for ``.auction`` specs.

The keyword list is read from the grammar (``grammar.lark``, package data of
``auctionc.dsl``) at import time: every quoted literal that looks like a word is a
keyword, so the highlighter cannot drift from the parser.  Comments are
``Comment.Single`` tokens, which is what mkdocs-material's code annotations
(``# (1)!``) look for.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

__all__ = ["AuctionLexer", "grammar_keywords", "grammar_text"]

# A lark string literal: "text" with an optional i flag.  Lark escapes are rare in
# keyword literals; the pattern still skips over escaped quotes so a literal like
# "\"" does not swallow the rest of the line.
# One left-to-right scan over the grammar: lark comments (// to the end of the line)
# and regex terminals (/.../flags, which may contain quotes) are matched and skipped,
# so only real string literals are read.
_LITERAL = re.compile(r'(//[^\n]*)|"((?:[^"\\\n]|\\.)*)"i?|/(?:[^/\\\n]|\\.)+/[imslux]*')
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@lru_cache(maxsize=1)
def grammar_text() -> str | None:
    """The grammar shipped with ``auctionc.dsl``, or None when it is not there (yet)."""
    try:
        for entry in resources.files("auctionc.dsl").iterdir():
            if entry.name.endswith(".lark"):
                return entry.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return None
    return None


def keywords_from_grammar(text: str) -> frozenset[str]:
    """Quoted word literals of a lark grammar (punctuation literals are left out)."""
    found: set[str] = set()
    for m in _LITERAL.finditer(text):
        body = m.group(2)
        if body is not None and _WORD.match(body):
            found.add(body)
    return frozenset(found)


@lru_cache(maxsize=1)
def grammar_keywords() -> frozenset[str]:
    text = grammar_text()
    return keywords_from_grammar(text) if text is not None else frozenset()


def _is_distribution(word: str) -> bool:
    # Distribution constructors are the capitalised literals (Uniform, Normal, ...),
    # except requirement names written in capitals (IC, IR).
    return word[:1].isupper() and not word.isupper()


def _tokens() -> dict[str, list]:
    kws = grammar_keywords()
    distributions = sorted(w for w in kws if _is_distribution(w))
    block_heads = sorted(w for w in kws if w in {"auction", "market"})
    plain = sorted(w for w in kws if w not in distributions and w not in block_heads)
    # Longest-first alternation and word boundaries, so 'items' never lexes as 'item' + 's'.
    rules: list = [
        (r"\s+", Whitespace),
        (r"#[^\n]*", Comment.Single),
        (r'"(?:[^"\\\n]|\\.)*"', String.Double),
        (r"'(?:[^'\\\n]|\\.)*'", String.Single),
    ]
    if block_heads:
        rules.append((words(block_heads, prefix=r"\b", suffix=r"(\s+)([A-Za-z_]\w*)"), bygroups(Keyword.Declaration, Whitespace, Name.Class)))
        rules.append((words(block_heads, prefix=r"\b", suffix=r"\b"), Keyword.Declaration))
    # The name a declaration introduces is a name even when it is also a keyword
    # elsewhere (a bidder called 'buyer').
    declares = sorted(w for w in kws if w in {"bidder", "buyer", "param", "common"})
    if declares:
        rules.append((words(declares, prefix=r"\b", suffix=r"(\s+)([A-Za-z_]\w*)"), bygroups(Keyword, Whitespace, Name.Variable)))
    if distributions:
        rules.append((words(distributions, prefix=r"\b", suffix=r"\b"), Name.Builtin))
    if plain:
        rules.append((words(plain, prefix=r"\b", suffix=r"\b"), Keyword))
    rules += [
        (r"(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?", Number),
        (r"[A-Za-z_]\w*", Name),
        (r"[~=+\-*/<>^!|&%]", Operator),
        (r"[{}()\[\],:;.]", Punctuation),
        (r"[^\s]", Error),
    ]
    return {"root": rules}


class AuctionLexer(RegexLexer):
    """Lexer for the auctionc specification language."""

    name = "Auction"
    aliases = ["auction", "auctionc"]
    filenames = ["*.auction"]
    mimetypes = ["text/x-auction"]

    tokens = _tokens()

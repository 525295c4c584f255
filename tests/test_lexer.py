"""The Pygments lexer for .auction: keywords come from the grammar, comments are comments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from auctionc.dsl.lexer import AuctionLexer, grammar_keywords, grammar_text, keywords_from_grammar
from pygments.lexers import find_lexer_class_for_filename, get_lexer_by_name
from pygments.token import Comment, Error, Keyword, Name, Number, String

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "dsl" / "grammar.lark"

needs_grammar = pytest.mark.skipif(not GRAMMAR.exists(), reason="dsl/grammar.lark is not written yet")

SAMPLE = """\
# Manelli–Vincent: one additive buyer.
auction manelli_vincent {
    items A, B
    bidder buyer {
        valuation additive   # (1)!
        value A ~ Uniform(0, 1)
        values ~ Beta(2, 5) iid
    }
    require IC(dominant), IR
    maximize 0.5 * revenue + welfare
    solve with menu(size = 512, steps = 1e3)
    simulate { rounds 15  seed 1 }
    mechanism first_price(reserve = -0.5)
    bidder x { agent llm(model = "openai/gpt-4o-mini") }
}
"""


def _tokens(text: str) -> list[tuple]:
    return [(t, v) for t, v in AuctionLexer().get_tokens(text) if v.strip()]


def test_keyword_scan_reads_literals_and_skips_comments_and_regexes() -> None:
    text = '''
    // "notakeyword" in a comment
    start: "auction" NAME "{" stmt* "}"
    STRING: /"([^"\\\\\\n]|\\\\.)*"/     // quotes inside a regex terminal
    stmt: "items"i NUMBER | "Uniform" "(" ")" | "IC" | ".."
    IID: "iid"
    '''
    assert keywords_from_grammar(text) == {"auction", "items", "Uniform", "IC", "iid"}


@needs_grammar
def test_keywords_are_exactly_the_word_literals_of_the_grammar() -> None:
    assert grammar_text() == GRAMMAR.read_text(encoding="utf-8")
    literals = set(re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"', re.sub(r"//[^\n]*|/(?:[^/\\\n]|\\.)+/", "", GRAMMAR.read_text())))
    assert grammar_keywords() == literals
    # The words the language is built on must be there: if one disappears the grammar changed shape.
    for word in ("auction", "market", "items", "bidder", "bidders", "valuation", "require", "maximize",
                 "mechanism", "solve", "with", "simulate", "verify", "IC", "IR", "Uniform", "iid"):
        assert word in grammar_keywords()


@needs_grammar
def test_token_classes_of_a_spec() -> None:
    toks = _tokens(SAMPLE)
    kinds = {v: t for t, v in toks}
    assert toks[0] == (Comment.Single, "# Manelli–Vincent: one additive buyer.")
    assert (Comment.Single, "# (1)!") in toks  # what mkdocs-material's code annotations need
    assert kinds["auction"] in Keyword and kinds["manelli_vincent"] is Name.Class
    for kw in ("items", "bidder", "valuation", "additive", "value", "values", "iid", "require", "IC",
               "dominant", "IR", "maximize", "revenue", "welfare", "solve", "with", "simulate",
               "mechanism", "first_price", "agent", "llm"):
        assert kinds[kw] in Keyword, kw
    assert kinds["Uniform"] is Name.Builtin and kinds["Beta"] is Name.Builtin
    assert kinds["buyer"] is Name.Variable and kinds["x"] is Name.Variable  # declared names
    assert kinds["A"] is Name and kinds["menu"] is Name
    assert kinds["1e3"] is Number and kinds["0.5"] is Number
    assert kinds['"openai/gpt-4o-mini"'] is String.Double
    assert not any(t is Error for t, _ in toks)


@needs_grammar
def test_keywords_are_whole_words() -> None:
    toks = _tokens("auction a { bidders 2 { value ~ Uniform(0, 1) } itemsx bidder_1 mechanism_x }")
    kinds = dict((v, t) for t, v in toks)
    assert kinds["bidders"] in Keyword
    assert kinds["itemsx"] is Name and kinds["bidder_1"] is Name and kinds["mechanism_x"] is Name


def test_lexer_round_trips_text_exactly() -> None:
    text = SAMPLE + "\n  trailing   spaces\t\n"
    assert "".join(v for _, v in AuctionLexer().get_tokens(text)) == text


def test_registered_as_a_pygments_plugin() -> None:
    assert isinstance(get_lexer_by_name("auction"), AuctionLexer)
    assert find_lexer_class_for_filename("examples/manelli_vincent.auction") is AuctionLexer


@needs_grammar
def test_examples_lex_without_errors() -> None:
    paths = sorted((ROOT / "examples").glob("*.auction"))
    if not paths:
        pytest.skip("examples/ holds no .auction file yet")
    for path in paths:
        bad = [v for t, v in AuctionLexer().get_tokens(path.read_text(encoding="utf-8")) if t is Error]
        assert not bad, f"{path.name}: unlexable text {bad[:5]}"

"""The vocabulary (dsl/vocabulary.py) agrees with the grammar and with the IR.

The grammar spells the words that name a kind as literals (so the Pygments lexer can
read them and a misspelt kind still parses); the parser, semantic analysis and the IR
read them from dsl/vocabulary.py.  A word added to one and not the other fails here."""

from __future__ import annotations

import typing

import lark
from auctionc import ir
from auctionc.dsl import vocabulary as V
from auctionc.dsl.lexer import grammar_text

_GRAMMAR = lark.Lark(grammar_text(), parser="lalr", start="start")
_LITERALS = {t.name: t.pattern.value for t in _GRAMMAR.terminals if isinstance(t.pattern, lark.lexer.PatternStr)}


def _expansions(rule: str) -> list[list[str]]:
    return [[s.name for s in r.expansion] for r in _GRAMMAR.rules if r.origin.name == rule]


def literal_alternatives(rule: str) -> set[str]:
    """The words of ``rule: "a" | "b" | NAME``: its one-literal alternatives."""
    return {_LITERALS[e[0]] for e in _expansions(rule) if len(e) == 1 and e[0] in _LITERALS}


def leading_keywords(rule: str) -> set[str]:
    """The keyword each alternative of ``rule`` starts with (each alternative is a
    statement rule whose first symbol is its keyword)."""
    out = set()
    for alt in _expansions(rule):
        assert len(alt) == 1, f"{rule}: {alt}"
        for e in _expansions(alt[0]):
            if e and e[0] in _LITERALS:
                out.add(_LITERALS[e[0]])
    return out


def kinds(union: typing.Any) -> set[str]:
    """The ``kind`` literals of a discriminated union of IR nodes."""
    members = typing.get_args(typing.get_args(union)[0])
    return {typing.get_args(m.model_fields["kind"].annotation)[0] for m in members}


def test_the_grammar_reader_finds_the_rules() -> None:
    assert literal_alternatives("vkind") == {"additive", "unit_demand", "single"}
    assert literal_alternatives("solve_stmt") == set()  # a statement, not a list of words
    assert leading_keywords("bidder_stmt") >= {"valuation", "agent"}


def test_spec_kinds_and_statements() -> None:
    assert literal_alternatives("spec_kind") == set(V.SPEC_KINDS)
    assert leading_keywords("spec_stmt") == set(V.TOP_KEYWORDS)
    assert leading_keywords("bidder_stmt") == set(V.BIDDER_KEYWORDS)
    assert leading_keywords("buyer_stmt") == set(V.BUYER_KEYWORDS)


def test_valuation_kinds() -> None:
    # "xor" is spelt inside the valuation statement (it takes bids or a generator)
    xor = {_LITERALS[e[1]] for e in _expansions("valuation_stmt") if len(e) > 1 and e[1] in _LITERALS}
    assert literal_alternatives("vkind") | xor == set(V.VALUATION_KINDS)
    assert kinds(ir.Valuation) == set(V.VALUATION_KINDS) | {"cats"}  # cats: xor bids from a generator
    assert set(typing.get_args(ir.Cats.model_fields["distribution"].annotation)) == set(V.CATS_DISTRIBUTIONS)


def test_distributions() -> None:
    assert literal_alternatives("callee") == set(V.DISTRIBUTIONS) | set(V.BELIEF_DISTRIBUTIONS)
    assert set(V.DIST_SIGNATURES) == set(V.DISTRIBUTIONS)
    assert set(V.DIST_EXAMPLES) >= set(V.DISTRIBUTIONS)


def test_formats() -> None:
    assert literal_alternatives("fmt_name") == set(V.FORMATS)
    assert set(typing.get_args(ir.FormatName)) == set(V.FORMATS)
    assert set(V.FORMAT_OPTIONS) == set(V.FORMATS)
    assert set(V.SINGLE_ITEM_FORMATS) <= set(V.FORMATS) and V.STRATEGY_PROOF_FORMATS <= set(V.FORMATS)
    assert {o for opts in V.FORMAT_OPTIONS.values() for o in opts} == set(V.FORMAT_OPTION_TYPES)


def test_agents() -> None:
    assert literal_alternatives("agent_kind") == set(V.AGENT_KINDS)
    assert kinds(ir.Agent) == set(V.AGENT_KINDS)
    assert set(ir.LLMAgent.model_fields) - {"kind"} == set(V.LLM_OPTIONS)


def test_constraints_and_modes() -> None:
    assert literal_alternatives("cname") == set(V.CONSTRAINTS)
    assert kinds(ir.Constraint) == set(V.CONSTRAINTS)
    assert literal_alternatives("cmode") == set(V.MODES)
    assert {m for modes in V.CONSTRAINT_MODES.values() for m in modes} == set(V.MODES)
    for name, modes in V.CONSTRAINT_MODES.items():
        node = getattr(ir, name)
        assert set(typing.get_args(node.model_fields["mode"].annotation)) == set(modes), name


def test_objective_terms() -> None:
    assert literal_alternatives("objective_term") == set(V.OBJECTIVE_TERMS)
    (term,) = typing.get_args(ir.Objective.model_fields["terms"].annotation)[:1]
    assert set(typing.get_args(term)) == set(V.OBJECTIVE_TERMS)

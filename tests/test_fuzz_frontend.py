"""Property-based fuzzing of the front end (hypothesis): whatever the text, ``check`` and
``plan`` answer with diagnostics in words, never an internal error (E0999, a traceback).

The texts are mutations and truncations of every example and bad spec, extreme numbers,
unicode (Arabic-Indic digits must not read as numbers), nesting and repetition
(``fuzz_corpus``).  ``scripts/fuzz_frontend.py`` runs the same families thousands of times
with time and memory measured per input."""

from __future__ import annotations

import json

import pytest
from auctionc.diagnostics import all_codes, render_all, to_json
from auctionc.errors import AuctionError
from auctionc.frontend import diagnose_text
from fuzz_corpus import EXTREME_NUMBERS, TEXTS, UNICODE, hostile, mutate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CODES = all_codes()
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def check_and_plan(text: str) -> list:
    """What ``auctionc check`` and ``auctionc plan`` do with ``text``; raises only on a bug."""
    from auctionc.planner import make_plan

    spec, diags = diagnose_text(text, "fuzz.auction")
    for d in diags:
        assert d.code in CODES, d
        assert d.code != "E0999"
        assert d.message and "Traceback" not in d.message
    render_all(diags, {"fuzz.auction": text})
    json.loads(to_json(diags))
    if spec is None:
        assert diags, "a spec refused without a diagnostic"
        return diags
    try:
        make_plan(spec)
    except AuctionError as e:
        assert all(d.code in CODES and d.code != "E0999" for d in e.diagnostics)
        return list(e.diagnostics)
    return diags


@FUZZ
@given(st.randoms(use_true_random=False))
def test_mutated_specs_get_diagnostics(rng):
    check_and_plan(hostile(rng))


@FUZZ
@given(st.sampled_from(TEXTS), st.integers(min_value=0, max_value=2000))
def test_every_truncation(text, cut):
    check_and_plan(text[: cut % (len(text) + 1)])


@FUZZ
@given(st.sampled_from(TEXTS), st.sampled_from(EXTREME_NUMBERS), st.randoms(use_true_random=False))
def test_extreme_numbers(text, number, rng):
    import re

    spans = [m.span() for m in re.finditer(r"[0-9][0-9.eE]*", text)]
    if not spans:
        return
    a, b = rng.choice(spans)
    check_and_plan(text[:a] + number + text[b:])


@FUZZ
@given(st.sampled_from(TEXTS), st.text(alphabet=st.sampled_from([c for c in UNICODE if len(c) == 1]) | st.characters(),
                                            min_size=1, max_size=8),
       st.integers(min_value=0, max_value=2000))
def test_unicode_anywhere(text, chars, where):
    i = where % (len(text) + 1)
    check_and_plan(text[:i] + chars + text[i:])


@FUZZ
@given(st.sampled_from(TEXTS), st.randoms(use_true_random=False))
def test_mutations_of_mutations(text, rng):
    for _ in range(4):
        text = mutate(text, rng)[:400_000]
    check_and_plan(text)


@pytest.mark.parametrize("digit", ["\u0663", "\u06f3", "\u0969", "\uff13"])
def test_other_scripts_digits_are_not_numbers(digit):
    spec, diags = diagnose_text(f"auction a {{ items {digit} bidders 2 {{ value ~ Uniform(0, 1) }} mechanism first_price }}")
    assert spec is None and diags[0].code == "E0103" and digit in diags[0].message
    spec, diags = diagnose_text(f"auction a {{ items 1 bidders 2 {{ value ~ Uniform(0, 1{digit}) }} mechanism first_price }}")
    assert spec is None and diags[0].code == "E0103"


@pytest.mark.parametrize("depth,ok", [(100, True), (200, False), (600, False), (10_000, False)])
def test_nesting_of_every_kind(depth, ok):
    for expr in ("(" * depth + "1" + ")" * depth, "-" * depth + "1", " + ".join(["1"] * depth)):
        spec, diags = diagnose_text(
            f"auction a {{ items 1 bidders 2 {{ value ~ Uniform(0, 1) }} mechanism first_price(reserve = {expr}) }}")
        if ok:
            assert spec is not None or diags[0].code != "E0106", diags
        else:
            assert spec is None and diags[0].code == "E0106" and "128 levels" in diags[0].message

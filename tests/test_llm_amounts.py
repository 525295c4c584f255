"""Amounts a model writes, read in the conventions of the language it was asked to write in
(CLDR's separators through Babel): a comma is a decimal mark in Spanish and Russian and a
thousands separator in English, and Hindi groups by lakhs."""

from __future__ import annotations

import pytest
from auctionc.llm.amounts import read_amount
from auctionc.llm.reply_text import read_reply

CASES = [
    # (text, language, value or None)
    ("12,5", "es", 12.5),
    ("12,5", "ru", 12.5),
    ("12,5", "en", None),  # once read as 125: refused, the model is asked again
    ("12.5", "en", 12.5),
    ("1,050", "en", 1050.0),
    ("1.050", "es", 1050.0),
    ("1.050,75", "es", 1050.75),
    ("1 050,75", "ru", 1050.75),  # a typed space where Russian groups with a no-break space
    ("1\u00a0050", "ru", 1050.0),
    ("1,00,000", "hi", 100000.0),
    ("1,234.5", "zh", 1234.5),
    ("$1,234.50", "en", 1234.5),
    ("45 €", "es", 45.0),
    ("₽ 99", "ru", 99.0),
    ("USD 70", "en", 70.0),
    ("1e9", "en", None),
    ("NaN", "en", None),
    ("between 10 and 90", "en", None),
    ("١٢", "en", None),  # other scripts' digits
    ("", "en", None),
]


@pytest.mark.parametrize("text,language,want", CASES)
def test_read_amount(text, language, want):
    got = read_amount(text, language)
    assert got == (pytest.approx(want) if want is not None else None)


def test_numbers_and_unknown_languages():
    assert read_amount(42, "es") == 42.0 and read_amount(True) is None and read_amount(float("inf")) is None
    assert read_amount("1,050", "xx") == 1050.0  # an unknown language reads as English
    assert read_amount("9" * 60) is None  # past the longest amount kept


def test_reply_reads_amounts_in_the_agent_language():
    schema = {"type": "object", "properties": {"bid": {"type": "number", "minimum": 0}}, "required": ["bid"]}
    assert read_reply(schema, '{"bid": "12,5"}', "es") == {"bid": 12.5}
    assert read_reply(schema, "<bid>12,5</bid>", "en") is None
    assert read_reply(schema, "<bid>12.5</bid>", "en") == {"bid": 12.5}

"""Amounts written by a model, read as plain numbers in the conventions of its language.

A bid must be one number in plain decimal notation: a JSON number, or a string of one
number with an optional currency sign and the digit grouping of the language the model was
asked to write in (``12,5`` is twelve and a half in Spanish or Russian and is refused in
English, where it would otherwise be misread as 125; ``1,050`` is one thousand and fifty in
English, ``1,05`` in Spanish; ``1,00,000`` is a lakh in Hindi).  The separators of each
language are CLDR's, through Babel (``babel.numbers.parse_decimal`` in strict mode, which
refuses a grouping the language does not use).  Anything else is refused, and the caller
asks again: exponents (``1e9``), ``NaN``, ranges ("between 10 and 90"), words, and other
scripts' digits.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

_SHAPE = re.compile(r"[+-]?[0-9](?:[0-9.,'\u00a0\u202f ]*[0-9])?")
"""ASCII digits with separators between them, nothing else (no exponent, no words)."""
_CURRENCY_SIGNS = "$€£¥₽₹"
_CURRENCY_CODES = ("USD", "EUR", "GBP", "JPY", "CNY", "RUB", "INR", "RMB")
MAX_AMOUNT_CHARS = 40


@lru_cache(maxsize=64)
def _babel_locale(language: str):
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


def _strip_currency(t: str) -> str:
    t = t.strip()
    for _ in range(2):
        if t[:1] in _CURRENCY_SIGNS:
            t = t[1:].strip()
        if t[-1:] in _CURRENCY_SIGNS:
            t = t[:-1].strip()
        for code in _CURRENCY_CODES:
            if t.upper().startswith(code):
                t = t[len(code):].strip()
            if t.upper().endswith(code):
                t = t[: -len(code)].strip()
    return t


def read_amount(x: Any, language: str = "en") -> float | None:
    """``x`` as a plain number in ``language``'s conventions (a language code such as
    ``en``, ``es``, ``zh``, ``hi``, ``ru``; an unknown one reads as English), or None."""
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x) if math.isfinite(x) else None
    if not isinstance(x, str) or len(x) > 4 * MAX_AMOUNT_CHARS:
        return None
    t = _strip_currency(x)
    if len(t) > MAX_AMOUNT_CHARS or not _SHAPE.fullmatch(t):
        return None
    from babel.numbers import NumberFormatError, get_group_symbol, parse_decimal

    locale = _babel_locale(language)
    group = get_group_symbol(locale)
    if " " in t and group in ("\u00a0", "\u202f"):
        t = t.replace(" ", group)  # a typed space where the language groups with a no-break space
    try:
        value = float(parse_decimal(t, locale=locale, strict=True))
    except (NumberFormatError, ValueError, ArithmeticError):
        return None
    return value if math.isfinite(value) else None

"""Amounts written by a model, read as plain numbers.

A bid must be one number in plain decimal notation: a JSON number, or a string of one
number with an optional currency sign and thousands commas.  Anything else is refused, and
the caller asks again: exponents ("1e9"), ranges ("between 10 and 90"), words, and other
scripts' digits.
"""

from __future__ import annotations

import math
import re
from typing import Any

_PLAIN = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")
_CURRENCY = "$€£¥"


def read_amount(x: Any) -> float | None:
    """``x`` as a plain number, or None."""
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x) if math.isfinite(x) else None
    if not isinstance(x, str):
        return None
    t = x.strip()
    if t[:1] in _CURRENCY:
        t = t[1:].strip()
    elif t[-1:] in _CURRENCY:
        t = t[:-1].strip()
    if len(t) > 40 or not _PLAIN.fullmatch(t):
        return None
    return float(t.replace(",", ""))

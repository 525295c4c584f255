"""How money is written in prompts: amounts in the conventions of the agent's language
(``12.5`` in English, ``12,5`` in Spanish or Russian, through Babel), the currency's sign or
name, and the currency's name in words."""

from __future__ import annotations

from functools import lru_cache

_NAMES = {"$": "dollars", "€": "euros", "£": "pounds", "¥": "yen", "₽": "rubles", "₹": "rupees"}


@lru_cache(maxsize=32)
def _locale(language: str):
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


def number(x: float, language: str = "en") -> str:
    """``x`` with at most two decimals, in ``language``'s digits grouping and decimal sign."""
    from babel.numbers import format_decimal

    return format_decimal(round(float(x), 2), format="#,##0.##", locale=_locale(language))


def money(x: float, currency: str, language: str = "en") -> str:
    s = number(x, language)
    return f"{currency}{s}" if len(currency) == 1 else f"{s} {currency}"


def currency_name(currency: str) -> str:
    return _NAMES.get(currency, currency)

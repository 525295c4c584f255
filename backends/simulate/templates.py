"""The prompt templates of LLM bidders (``prompts/*.txt``, shipped with the package) and
how money is written in them."""

from __future__ import annotations

from importlib import resources
from string import Template
from typing import Any


def prompt_text(name: str) -> str:
    return resources.files("auctionc.backends.simulate").joinpath("prompts", f"{name}.txt").read_text().strip()


def render(template: str, **kw: Any) -> str:
    return Template(prompt_text(template)).safe_substitute(**kw)


def money(x: float, currency: str) -> str:
    s = f"{x:.2f}".rstrip("0").rstrip(".") if not float(x).is_integer() else f"{int(x)}"
    return f"{currency}{s}" if len(currency) == 1 else f"{s} {currency}"


def currency_name(currency: str) -> str:
    return {"$": "dollars", "€": "euros", "£": "pounds"}.get(currency, currency)

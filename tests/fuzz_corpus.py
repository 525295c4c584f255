"""Hostile spec texts for fuzzing the front end: mutations and truncations of every example and
bad spec, extreme numbers, unicode (Arabic-Indic digits among them), nesting and repetition.

``hostile(rng)`` draws one text from a ``random.Random``; the property-based tests pass
hypothesis's ``randoms()`` and ``scripts/fuzz_frontend.py`` a seeded one, so both draw from
the same families.
"""

from __future__ import annotations

import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted(ROOT.glob("examples/*.auction")) + sorted(
    p for p in ROOT.glob("tests/bad/*.auction") if b"\x00" not in p.read_bytes()
)
TEXTS = [p.read_bytes().decode("utf-8", "replace") for p in SEEDS]

EXTREME_NUMBERS = [
    "0", "-0", "1e-320", "1e-400", "1e308", "1e309", "1e999999", "9" * 400, "9" * 5000,
    "18446744073709551616", "9223372036854775808", "0." + "0" * 300 + "1", "1" + "0" * 99,
    "123456789012345678901234567890", "1e12", "1e9", "-1", "-1e18", "0.0000000001",
]
UNICODE = [
    "\u0663", "\u0661\u0660", "\u06f5", "\u0969", "\uff13", "\u200f", "\u202e", "\u200b", "\ufeff",
    "\u00e9", "\u4e2d", "\U0001f600", "\u2212", "\u00a0", "\u2028", "\ud800", "\\", "\t", "\r",
]
TOKENS = [
    "{", "}", "(", ")", "[", "]", ",", ":", "~", "=", "+", "-", "*", "/", "..", '"', "'", "#",
    "auction", "market", "items", "bidder", "bidders", "buyer", "buyers", "value", "values",
    "valuation", "xor", "from", "cats", "agent", "llm", "mechanism", "solve", "with", "simulate",
    "verify", "require", "maximize", "param", "common", "states", "prior", "payoff", "actions",
    "type", "belief", "signal", "iid", "true", "false", "revenue", "welfare", "IC", "IR",
    "Uniform(0, 1)", "Normal(0, 1)", "Mixture({0.5: Beta(2, 2), 0.5: Uniform(0, 1)})",
    "Discrete({1: 0.5, 2: 0.5})", "Grid(0, 1, 5)", "PointMass(3)", "Exponential(2)",
    "bundleflow(menu = 1e9)", "menu(size = 1e9)", "lp(grid = 1e6)", "first_price", "dutch(increment = 1e-320)",
    "ascending_clock(increment = 1e-9)", "vcg", 'cats("regions", bids = 1000000)', "rounds 1e9",
    "samples 1e12", "seed -1", "parse_retries 50", 'prompt = "../../etc/passwd.txt"',
    'api_base = "http://evil.example/v1"', 'cache "/tmp/x.sqlite"', "bidders 100000 { value ~ Uniform(0, 1) }",
]
MAX_TEXT = 400_000
"""Generated texts stay under this many characters (past the front end's 64 KB limit, so
that limit is exercised, but bounded so a fuzz run keeps to seconds per input)."""


def _number_spans(text: str) -> list[tuple[int, int]]:
    out, i = [], 0
    while i < len(text):
        if text[i].isascii() and text[i].isdigit():
            j = i
            while j < len(text) and (text[j].isascii() and text[j].isdigit() or text[j] in ".eE"):
                j += 1
            out.append((i, j))
            i = j
        else:
            i += 1
    return out


def _nest(rng: random.Random) -> str:
    depth = rng.choice([10, 100, 127, 128, 129, 200, 600, 5000])
    kind = rng.choice(["paren", "neg", "list", "mixture", "sum", "dict"])
    if kind == "paren":
        return "(" * depth + "1" + ")" * depth
    if kind == "neg":
        return "-" * depth + "1"
    if kind == "list":
        return "[" * depth + "1" + "]" * depth
    if kind == "sum":
        return " + ".join(["1"] * depth)
    if kind == "dict":
        return "{1: " * depth + "1" + "}" * depth
    inner = "Uniform(0, 1)"
    for _ in range(min(depth, 400)):
        inner = f"Mixture({{1: {inner}}})"
    return inner


def mutate(text: str, rng: random.Random) -> str:
    """One mutation of ``text``."""
    n = len(text)
    op = rng.choice(["truncate", "delete", "duplicate", "insert", "number", "unicode", "nest", "repeat_block",
                     "swap", "big_string", "bytes"])
    i = rng.randrange(n + 1) if n else 0
    if op == "truncate":
        return text[:i]
    if op == "delete":
        return text[:i] + text[i + rng.randrange(1, 40):]
    if op == "duplicate":
        j = min(n, i + rng.randrange(1, 200))
        return text[:j] + text[i:j] * rng.choice([1, 2, 10, 100]) + text[j:]
    if op == "insert":
        return text[:i] + " " + rng.choice(TOKENS) + " " + text[i:]
    if op == "number":
        spans = _number_spans(text)
        if not spans:
            return text[:i] + rng.choice(EXTREME_NUMBERS) + text[i:]
        a, b = rng.choice(spans)
        return text[:a] + rng.choice(EXTREME_NUMBERS) + text[b:]
    if op == "unicode":
        spans = _number_spans(text)
        ch = rng.choice(UNICODE)
        if spans and rng.random() < 0.5:  # a digit replaced by another script's digit
            a, _ = rng.choice(spans)
            return text[:a] + ch + text[a + 1:]
        return text[:i] + ch + text[i:]
    if op == "nest":
        spans = _number_spans(text)
        if spans:
            a, b = rng.choice(spans)
            return text[:a] + _nest(rng) + text[b:]
        return text[:i] + _nest(rng) + text[i:]
    if op == "repeat_block":
        start = text.find("bidder")
        if start < 0:
            start = text.find("buyer")
        end = text.find("}", start) + 1 if start >= 0 else 0
        if start < 0 or end <= start:
            return text
        block = text[start:end] + rng.choice([" ", "\n"])
        times = rng.choice([2, 10, 1000, 10_000])
        return text[:start] + block * times + text[end:]
    if op == "swap":
        j = rng.randrange(n + 1) if n else 0
        a, b = sorted((i, j))
        return text[:a] + text[b:] + text[a:b]
    if op == "big_string":
        return text[:i] + '"' + "x" * rng.choice([10, 1001, 100_000, 10_000_000]) + '"' + text[i:]
    raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    return text[:i] + raw.decode("latin-1") + text[i:]


def hostile(rng: random.Random) -> str:
    """A hostile spec text: one to three mutations of a random example or bad spec."""
    text = rng.choice(TEXTS)
    for _ in range(rng.choice([1, 1, 2, 3])):
        text = mutate(text, rng)
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT]
    return text

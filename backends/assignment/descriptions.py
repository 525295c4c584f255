"""The text generator: a plain-language description of a student's true preferences, as the
student would write it for an LLM proxy, with a controllable share of facts left out.

The facts of a profile are one per course (its value level, or in the "precise" style its
value rounded to 5 out of 100) and one per complement or substitute set.  Each fact is
left out independently with probability ``omit`` (seeded), so ``omit = 0`` states every
fact and ``omit = 1`` only the demand.  The wording comes from
``proxy_prompts/description_phrases.toml`` and the course titles from
``proxy_prompts/course_titles.txt``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from .preferences import Profile

_DATA = "auctionc.backends.assignment"


def data_text(name: str) -> str:
    """A data file of ``proxy_prompts/`` (templates, phrases, titles)."""
    return resources.files(_DATA).joinpath("proxy_prompts", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def phrases() -> dict:
    return tomllib.loads(data_text("description_phrases.toml"))


@lru_cache(maxsize=1)
def _titles() -> tuple[str, ...]:
    lines = [ln.strip() for ln in data_text("course_titles.txt").splitlines()]
    return tuple(ln for ln in lines if ln and not ln.startswith("#"))


def course_titles(n: int) -> tuple[str, ...]:
    """Titles for courses 1..n: the list in order, then again with a section number."""
    base = _titles()
    return tuple(base[i % len(base)] + (f" (section {i // len(base) + 1})" if i >= len(base) else "")
                 for i in range(n))


@dataclass(frozen=True)
class Fact:
    kind: str
    """'level' (one course) or 'complement' / 'substitute' (a set)."""
    courses: tuple[int, ...]
    stated: bool


@dataclass(frozen=True)
class Description:
    text: str
    facts: tuple[Fact, ...]

    @property
    def omitted_share(self) -> float:
        return sum(not f.stated for f in self.facts) / len(self.facts) if self.facts else 0.0


def _join(items: list[str]) -> str:
    word = phrases()["words"]["and"]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


def _level(value: float) -> str:
    levels = phrases()["levels"]
    best = max((lv for lv in levels.values() if value >= lv["from"]), key=lambda lv: lv["from"], default=None)
    return next(k for k, lv in levels.items() if lv is best) if best is not None else "dislike"


def describe(profile: Profile, demand: int, style: str, omit: float, rng: np.random.Generator) -> Description:
    """The description of one student's true preferences (``style``: 'qualitative' or 'precise')."""
    ph = phrases()
    titles = course_titles(len(profile.base))
    facts: list[Fact] = []
    lines = [ph["opening"].format(demand=demand)]
    # courses in decreasing value, so the description opens with what matters most
    order = np.argsort(-profile.base, kind="stable")
    stated: dict[str, list[int]] = {k: [] for k in ph["levels"]}
    for c in order:
        keep = bool(rng.random() >= omit)
        facts.append(Fact("level", (int(c),), keep))
        if not keep:
            continue
        level = _level(float(profile.base[c]))
        if style == "precise":
            value = int(5 * round(float(profile.base[c]) / 5))
            lines.append(ph["levels"][level]["precise"].format(course=titles[c], value=value))
        else:
            stated[level].append(int(c))
    if style != "precise":
        for level, courses in stated.items():
            if courses:
                lines.append(ph["levels"][level]["qualitative"].format(courses=_join([titles[c] for c in courses])))
    for s in profile.sets:
        keep = bool(rng.random() >= omit)
        facts.append(Fact(s.kind, s.members, keep))
        if not keep:
            continue
        percent = int(round(abs(s.factors[1]) * 100)) if len(s.factors) > 1 else 0
        lines.append(ph["sets"][f"{s.kind}_{style}"].format(courses=_join([titles[c] for c in s.members]),
                                                            percent=percent))
    return Description(" ".join(lines), tuple(facts))

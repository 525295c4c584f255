"""Value draws with Python's ``random`` module, in the order of Shah et al.'s released code
(``Auction_plan.draw_value``, ``src/util_plan.py``), so that a simulation of a seed sees the
very values of the study's session of that seed and can be compared with its log value by
value.

The procedure, for seed s and R rounds of n bidders::

    random.seed(s)
    for each round:                       # every value is drawn before any bid
        c = randint(lo, hi)               # one call, only when there is a common part
        for each bidder j in order:       # then the bidders
            p_j = randint(a_j, b_j)       # the bidder's own draw
            value_j = c + p_j             # private: p_j; affiliated: c + p_j;
                                          # common: signal c + p_j, value c

``randint`` is inclusive at both ends and goes through ``getrandbits`` rejection sampling,
stable across CPython 3.2 and later.  A spec can be drawn this way when its values are whole
numbers from uniform distributions with whole bounds: each bidder's value (or signal) is one
``Uniform(a, b)`` draw, plus at most one common variable ``Uniform(lo, hi)``.  Repetition e
uses seed s + e, as the study's sessions did (seeds 1399, 1400, ...).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from auctionc import ir


class NotPythonDrawable(ValueError):
    """The spec's values cannot be drawn as the study drew them; the message says why."""


@dataclass(frozen=True)
class PythonDrawPlan:
    common: tuple[int, int] | None
    """(lo, hi) of the common variable, if any."""
    own: tuple[tuple[int, int], ...]
    """(a, b) of each bidder's own draw."""
    value_has_common: tuple[bool, ...]
    """Whether each bidder's value includes the common part (affiliated) or is it (common)."""
    value_is_common: bool
    """Common value: everyone's value is the common variable; the draws are signals."""


def _whole_uniform(d: ir.Distribution, what: str) -> tuple[int, int]:
    if not isinstance(d, ir.Uniform) or not (float(d.low).is_integer() and float(d.high).is_integer()):
        raise NotPythonDrawable(f"{what} is not a Uniform(a, b) with whole bounds")
    return int(d.low), int(d.high)


def _split(expr: ir.ValueExpr, common: str | None, what: str) -> tuple[bool, tuple[int, int] | None]:
    """(uses the common variable, bounds of its own draw or None)."""
    uses, own = False, None
    for c, t in zip(expr.coefs, expr.terms):
        if c != 1.0:
            raise NotPythonDrawable(f"{what} scales a term by {c:g}")
        if isinstance(t, ir.CommonRef):
            if t.name != common:
                raise NotPythonDrawable(f"{what} uses a second common variable")
            uses = True
        elif isinstance(t, ir.Draw):
            if own is not None:
                raise NotPythonDrawable(f"{what} has two draws of its own")
            own = _whole_uniform(t.dist, what)
        else:
            raise NotPythonDrawable(f"{what} adds a constant")
    return uses, own


def draw_plan(spec: ir.AuctionSpec) -> PythonDrawPlan:
    """How the spec's values map onto the study's draws, or ``NotPythonDrawable``."""
    if len(spec.common) > 1:
        raise NotPythonDrawable("the study's draws have at most one common variable")
    common = spec.common[0] if spec.common else None
    bounds = _whole_uniform(common.dist, f"common variable {common.name}") if common else None
    name = common.name if common else None
    value_is_common = any(b.signal is not None for b in spec.bidders)
    own, has_common = [], []
    for b in spec.bidders:
        if not isinstance(b.valuation, ir.Single):
            raise NotPythonDrawable(f"{b.name} does not value one item")
        if value_is_common:
            if b.signal is None:
                raise NotPythonDrawable(f"{b.name} has no signal in a common-value auction")
            val = b.valuation.value
            if not (len(val.terms) == 1 and isinstance(val.terms[0], ir.CommonRef) and val.coefs == (1.0,)):
                raise NotPythonDrawable(f"{b.name}'s value is not the common variable itself")
            uses, mine = _split(b.signal, name, f"{b.name}'s signal")
            if not uses:
                raise NotPythonDrawable(f"{b.name}'s signal does not include the common variable")
        else:
            uses, mine = _split(b.valuation.value, name, f"{b.name}'s value")
        if mine is None:
            raise NotPythonDrawable(f"{b.name}'s value has no Uniform draw of its own")
        own.append(mine)
        has_common.append(uses)
    if common is not None and not any(has_common):
        raise NotPythonDrawable(f"common variable {name} is used by no bidder")
    return PythonDrawPlan(bounds, tuple(own), tuple(has_common), value_is_common)


def python_draws(plan: PythonDrawPlan, rounds: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, random.Random]:
    """(values, observations, common or None) of ``rounds`` rounds from ``random.seed(seed)``,
    and the generator after the draws (the study drew its eBay daily orders from it)."""
    rng = random.Random(seed)
    n = len(plan.own)
    values = np.zeros((rounds, n))
    obs = np.zeros((rounds, n))
    commons = np.zeros(rounds) if plan.common is not None else None
    for r in range(rounds):
        c = rng.randint(*plan.common) if plan.common is not None else 0
        if commons is not None:
            commons[r] = c
        for j, (a, b) in enumerate(plan.own):
            p = rng.randint(a, b)
            seen = c + p if plan.value_has_common[j] else p
            obs[r, j] = seen
            values[r, j] = c if plan.value_is_common else seen
    return values, obs, commons, rng

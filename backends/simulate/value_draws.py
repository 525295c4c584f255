"""The values of a simulation, drawn before any bid so that no agent can shift them.

Two ways (``simulate { draws }``):

* ``numpy`` (default): numpy's generator, in blocks of ``BLOCK`` rounds, block k of
  experiment e from its own stream ``[seed, 0, e, k]``.  The first R rounds are the same
  whatever the number of rounds asked for, so adding rounds to a finished experiment keeps
  its values (and its cached model calls).  Whole-number values (``integer_values``) are the
  draws rounded.
* ``python_random``: Python's ``random`` in the order of Shah et al.'s released code
  (``python_draws``); experiment e is their session of seed ``seed + e``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
from auctionc import ir
from auctionc import valuation as V
from auctionc.backends.simulate.python_draws import NotPythonDrawable, draw_plan, python_draws
from auctionc.diagnostics import Diagnostic
from auctionc.errors import PlanError

BLOCK = 1000
"""Rounds drawn from one stream: memory holds a block, never every draw of a long run."""

Chunk = tuple[int, np.ndarray, np.ndarray, np.ndarray | None]
"""(first round, values (R, n), observations (R, n), common value (R,) or None)."""


def uses_python_random(spec: ir.AuctionSpec) -> bool:
    return spec.simulate is not None and spec.simulate.draws == "python_random"


def check_python_draws(spec: ir.AuctionSpec) -> None:
    """E0808 when ``draws "python_random"`` cannot reproduce the study's draws for this spec."""
    if not uses_python_random(spec):
        return
    try:
        draw_plan(spec)
    except NotPythonDrawable as e:
        raise PlanError(Diagnostic(
            "E0808", f"draws \"python_random\" reproduces Shah et al.'s draws, and {e}",
            help="use whole-number Uniform(a, b) values, optionally plus one common variable Uniform(lo, hi) "
                 "(private: value ~ Uniform(0, 99); affiliated: value = C + Uniform(0, 20); common: value = C, "
                 "signal = C + Uniform(-20, 20)), or the default numpy draws",
            where="simulate.draws").with_span(spec)) from None


def draw_chunks(spec: ir.AuctionSpec, rounds: int, seed: int, experiment: int, integer: bool) -> Iterator[Chunk]:
    """An experiment's values, block by block."""
    if uses_python_random(spec):
        values, obs, common, _ = python_draws(draw_plan(spec), rounds, seed + experiment)
        for first in range(0, rounds, BLOCK):
            last = min(first + BLOCK, rounds)
            yield first, values[first:last], obs[first:last], None if common is None else common[first:last]
        return
    for first in range(0, rounds, BLOCK):
        rng = np.random.default_rng([seed, 0, experiment, first // BLOCK])
        s = V.sample_values(spec, BLOCK, rng)
        take = min(BLOCK, rounds - first)
        values = s.values[:take, :, 0]
        obs = s.signals[:take] if s.signals is not None else values
        common = next(iter(s.common.values()))[:take] if s.common else None
        if integer:
            values, obs = np.rint(values), np.rint(obs)
            common = np.rint(common) if common is not None else None
        yield first, values, obs, common


def draw_values(spec: ir.AuctionSpec, rounds: int, seed: int, experiment: int, integer: bool):
    """All of an experiment's draws at once: (values, observations, common or None)."""
    parts = list(draw_chunks(spec, rounds, seed, experiment, integer))
    if not parts:
        n = spec.n_bidders
        return np.zeros((0, n)), np.zeros((0, n)), None
    values = np.concatenate([p[1] for p in parts])
    obs = np.concatenate([p[2] for p in parts])
    common = None if parts[0][3] is None else np.concatenate([p[3] for p in parts])  # type: ignore[misc]
    return values, obs, common


def ebay_orders(spec: ir.AuctionSpec, rounds: int, seed: int, experiment: int, round_: int, n: int):
    """The day -> order of turns function of an eBay round.  ``python_random``: round 0 of an
    experiment continues Python's generator after the value draws (the study drew its daily
    orders so, with ``random.sample``; not guaranteed to match its logs, whose driver shared
    the generator between threads); later rounds use a generator of their own."""
    if uses_python_random(spec):
        if round_ == 0:
            rng = python_draws(draw_plan(spec), rounds, seed + experiment)[3]
        else:
            rng = random.Random(f"auctionc-ebay-order:{seed + experiment}:{round_}")
        return lambda day: rng.sample(range(n), n)
    nprng = np.random.default_rng([seed, 4, experiment, round_])
    return lambda day: [int(i) for i in nprng.permutation(n)]

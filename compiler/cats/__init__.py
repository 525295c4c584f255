"""CATS v2 valuation generators (Leyton-Brown, Pearson, Shoham 2000), single-bidder
extraction as BundleFlow does it, and the CATS text file format.

    inst = auctionc.cats.generate("regions", goods=50, seed=7, bids=100)
    bidders = auctionc.cats.extract_bidders(inst)        # list[XorValuation]
    auctionc.cats.write_cats(inst, "regions.txt"); auctionc.cats.read_cats("regions.txt")
    vals = auctionc.cats.sample_valuations("arbitrary", goods=20, n=1000, seed=0)  # XorBatch
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import matching, paths, regions, scheduling
from .bidset import Bid, BidSet, CatsInstance
from .fileio import CatsFormatError, dumps, loads, read_cats, write_cats
from .xor import XorBatch, XorValuation, extract_bidders

DISTRIBUTIONS = ("arbitrary", "regions", "paths", "scheduling", "matching")
DEFAULT_BIDS = 50

OPTIONS: dict[str, dict[str, Any]] = {
    "regions": dict(regions.DEFAULTS),
    "arbitrary": {k: v for k, v in regions.DEFAULTS.items() if k != "jump_prob"},
    "paths": dict(paths.DEFAULTS),
    "scheduling": dict(scheduling.DEFAULTS),
    "matching": dict(matching.DEFAULTS),
}
"""Each distribution's options with their CATS v2 defaults."""


class CatsOptionError(ValueError):
    """An unknown distribution or option; ``suggestion`` holds a close match."""

    def __init__(self, message: str, suggestion: str | None = None, allowed: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.suggestion = suggestion
        self.allowed = allowed


def check_options(distribution: str, options: dict[str, Any]) -> dict[str, Any]:
    """Validate ``options`` (``goods``, ``bids``, ``seed`` and the distribution's parameters)."""
    import difflib

    if distribution not in DISTRIBUTIONS:
        close = difflib.get_close_matches(distribution, DISTRIBUTIONS, n=1)
        raise CatsOptionError(f"unknown CATS distribution '{distribution}'", close[0] if close else None, DISTRIBUTIONS)
    allowed = {"goods", "bids", "seed", *OPTIONS[distribution]}
    out = {}
    for k, v in options.items():
        if k not in allowed:
            close = difflib.get_close_matches(k, sorted(allowed), n=1)
            raise CatsOptionError(
                f"unknown option '{k}' for cats(\"{distribution}\")", close[0] if close else None, tuple(sorted(allowed))
            )
        default = OPTIONS[distribution].get(k)
        if k == "prices" and v not in ("uniform", "normal"):
            raise CatsOptionError(f"option 'prices' of cats(\"{distribution}\") must be uniform or normal, not {v!r}")
        if isinstance(default, bool) or k in ("goods", "bids", "seed"):
            out[k] = v
        elif isinstance(default, int) and not isinstance(v, str):
            out[k] = int(v)
        elif isinstance(default, float) and not isinstance(v, str):
            out[k] = float(v)
        else:
            out[k] = v
    return out


def generate(distribution: str, goods: int, seed: int | None = 0, bids: int = DEFAULT_BIDS, **options: Any) -> CatsInstance:
    """One CATS instance of ``bids`` (non-dominated) bids over ``goods`` goods, seeded."""
    opts = check_options(distribution, options)
    rng = np.random.default_rng(seed)
    if distribution in ("regions", "arbitrary"):
        return regions.generate(goods, bids, rng, distribution == "arbitrary", seed, **opts)
    mod = {"paths": paths, "scheduling": scheduling, "matching": matching}[distribution]
    return mod.generate(goods, bids, rng, seed, **opts)


def sample_valuations(
    distribution: str, goods: int, n: int, seed: int = 0, bids: int = DEFAULT_BIDS, **options: Any
) -> XorBatch:
    """``n`` single-bidder valuations: the bidders of successive instances, instance k seeded
    by (seed, k), in order; every valuation is over exactly ``goods`` items."""
    vals: list[XorValuation] = []
    k = 0
    while len(vals) < n:
        inst_seed = int(np.random.SeedSequence([seed, k]).generate_state(1)[0])
        inst = generate(distribution, goods, inst_seed, bids, **options)
        k += 1
        if inst.goods != goods:
            raise ValueError(f"cats(\"{distribution}\") made an instance over {inst.goods} goods, not {goods}")
        vals += extract_bidders(inst)
    return XorBatch.from_valuations(vals[:n], goods)


__all__ = [
    "DISTRIBUTIONS",
    "OPTIONS",
    "Bid",
    "BidSet",
    "CatsFormatError",
    "CatsInstance",
    "CatsOptionError",
    "XorBatch",
    "XorValuation",
    "check_options",
    "dumps",
    "extract_bidders",
    "generate",
    "loads",
    "read_cats",
    "sample_valuations",
    "write_cats",
]

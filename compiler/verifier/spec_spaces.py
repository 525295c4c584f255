"""What the verifier knows about the world, all of it from the spec: finite type spaces
(as given, or discretised on the grid the backend recorded), value boxes, and draws of
value profiles (arrays, or CATS bid lists)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import ir
from .. import valuation as V
from ..cats import sample_valuations
from ..cats.xor import XorBatch
from ..mechanism.datamarket import MarketTypes, market_types
from ..mechanism.table import TypeSpace, UnsupportedPrior, bidder_type_space


@dataclass
class Draws:
    """``values (B, n, dim)``: true values; ``reports``: the truthful reports (the values,
    or each bidder's signal where bidders observe signals); ``box (n, dim, 2)``: the report
    box the misreport search explores."""

    values: np.ndarray
    reports: np.ndarray
    box: np.ndarray
    signals: bool


def recorded_grid(mech: Any) -> int | None:
    """The grid a backend discretised continuous priors on (its ``grid`` option), if any."""
    g = (getattr(mech.meta, "options", None) or {}).get("grid")
    return int(g) if isinstance(g, (int, float)) and not isinstance(g, bool) and g > 0 else None


def is_cats(spec: Any) -> bool:
    return spec.kind == "auction" and any(b.valuation.kind == "cats" for b in spec.bidders)


def auction_spaces(spec: ir.AuctionSpec, grid: int | None = None) -> list[TypeSpace] | None:
    """Every bidder's finite type space (continuous priors discretised on ``grid`` cells
    when given), or None when the priors are not finite and private."""
    if spec.common or is_cats(spec):
        return None
    try:
        return [bidder_type_space(spec, i, grid) for i in range(spec.n_bidders)]
    except (UnsupportedPrior, TypeError, ValueError):
        return None


def market_spaces(spec: ir.MarketSpec, grid: int | None = None) -> list[MarketTypes] | None:
    try:
        return [market_types(spec, grid, b) for b in range(spec.n_bidders)]
    except UnsupportedPrior:
        return None


def value_box(spec: ir.AuctionSpec) -> np.ndarray | None:
    """``(n, dim, 2)`` bounds of the values, or None (CATS)."""
    try:
        return V.value_bounds(spec)
    except (TypeError, ValueError):
        return None


def draw(spec: ir.AuctionSpec, size: int, rng: np.random.Generator) -> Draws:
    """``size`` value profiles from the spec's priors (raises ``TypeError`` for CATS)."""
    vs = V.sample_values(spec, size, rng)
    values = vs.values
    if vs.signals is not None:
        if values.shape[2] != 1:
            raise ValueError("signals are supported for single-item auctions only")
        reports = vs.signals[:, :, None]
        box = np.stack([reports.min(axis=0), reports.max(axis=0)], axis=-1)
        return Draws(values, reports, box, True)
    box = value_box(spec)
    if box is None:
        box = np.stack([values.min(axis=0), values.max(axis=0)], axis=-1)
    return Draws(values, values, box, False)


def draw_cats(spec: ir.AuctionSpec, size: int, seed: int) -> XorBatch:
    """``size`` fresh XOR valuations from the single bidder's CATS generator (the verifier's
    seed, not the training seed)."""
    val = spec.bidders[0].valuation
    opts = dict(val.options)
    goods = int(opts.pop("goods", spec.n_items))
    opts.pop("seed", None)
    return sample_valuations(val.distribution, goods, size, seed=seed, **opts)


def bidder_names(spec: Any) -> list[str]:
    return [b.name for b in (spec.buyers if spec.kind == "market" else spec.bidders)]


def vec(x: np.ndarray) -> Any:
    x = np.asarray(x, float)
    return float(x[0]) if x.size == 1 else x.tolist()

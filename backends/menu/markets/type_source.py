"""Where the market trainers draw the buyer's types from: the spec's prior, or the prior
discretised on the ``grid`` option (the exact LP's discretisation, for like-for-like
comparisons), and the weights (belief times payoff scale) each type values experiments by."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from auctionc import ir
from auctionc.mechanism.market_space import MarketTypes, market_types, report_box, sample_types, type_weights


@dataclass
class TypeSource:
    spec: ir.MarketSpec
    buyer: int
    finite: MarketTypes | None
    """The finite types drawn from (the spec's finite prior, or its discretisation), else None."""

    def draw(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """``(size, d)`` types."""
        if self.finite is not None:
            idx = rng.choice(self.finite.size, size=size, p=self.finite.probs)
            return self.finite.reports[idx]
        return sample_types(self.spec, self.buyer, size, rng)

    def weights(self, x: np.ndarray) -> np.ndarray:
        """``(B, S)``: belief times payoff scale."""
        beliefs, scales = type_weights(self.spec, self.buyer, x)
        return beliefs * scales[:, None]


def type_source(spec: ir.MarketSpec, buyer: int, grid: int | None) -> TypeSource:
    """Finite priors as they are; continuous ones discretised when ``grid`` is given."""
    from auctionc.mechanism.market_space import is_finite

    if is_finite(spec, buyer):
        return TypeSource(spec, buyer, market_types(spec, None, buyer))
    return TypeSource(spec, buyer, market_types(spec, grid, buyer) if grid else None)


def value_scale(spec: ir.MarketSpec, buyer: int = 0) -> float:
    """The size of a buyer's payoffs (largest payoff times a high quantile of its scale), by
    which training divides values so that temperatures and learning rates mean the same for
    any units."""
    top = float(np.abs(np.asarray(spec.buyers[buyer].payoffs, float)).max(initial=1.0)) or 1.0
    t = spec.buyers[buyer].type
    if isinstance(t, (ir.ScaleType, ir.BeliefScaleType)):
        hi = float(report_box(spec, buyer)[-1, 1])
        draws = sample_types(spec, buyer, 20_000, np.random.default_rng(12345))[:, -1]
        q = float(np.quantile(np.abs(draws), 0.999))
        top *= min(hi, q) if q > 0 else max(hi, 1.0)
    return top if top > 0 else 1.0


@contextmanager
def one_thread() -> Iterator[None]:
    """Train on one torch thread: the market tensors are small, and on a shared 2-core machine
    a second intra-op thread made a training step ten times slower (measured: 5 ms against
    50 ms at load 7 with a 1,024-type batch)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)

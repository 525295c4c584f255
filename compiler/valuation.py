"""Valuations as arrays: outcome spaces, bundle enumeration, seeded value sampling
and feasibility.  See ``auctionc.mechanism.base`` for the array conventions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import distributions as D
from . import ir

MAX_BUNDLE_ITEMS = 12
"""XOR valuations are held as values over all 2**m bundles up to this many items;
larger combinatorial instances (CATS) use bid lists (``auctionc.cats``)."""


def outcome_space(spec: ir.AuctionSpec) -> str:
    kinds = spec.valuation_kinds
    if kinds & {"xor", "cats"}:
        return "bundles"
    return "items"


def outcome_dim(spec: ir.AuctionSpec) -> int:
    if outcome_space(spec) == "bundles":
        if spec.n_items > MAX_BUNDLE_ITEMS:
            raise ValueError(
                f"{spec.n_items} items make 2^{spec.n_items} bundles; bundle arrays stop at {MAX_BUNDLE_ITEMS} items"
            )
        return 2**spec.n_items
    return spec.n_items


def bundle_matrix(m: int) -> np.ndarray:
    """``(2**m, m)`` 0/1 matrix: row k holds the items of the bundle with bitmask k."""
    k = np.arange(2**m)[:, None]
    return ((k >> np.arange(m)[None, :]) & 1).astype(float)


def bundle_index(bundle: tuple[str, ...], items: tuple[str, ...]) -> int:
    pos = {name: i for i, name in enumerate(items)}
    return sum(1 << pos[name] for name in bundle)


def bundle_label(index: int, items: tuple[str, ...]) -> str:
    names = [items[i] for i in range(len(items)) if index >> i & 1]
    return "{" + ", ".join(names) + "}"


@dataclass
class ValueSample:
    """A batch of value profiles.

    ``values``: ``(B, n, dim)`` in the outcome space; ``signals``: ``(B, n)`` where
    bidders observe a signal rather than their value (common-value auctions),
    else None; ``common``: the common variables' draws, name -> ``(B,)``.
    """

    values: np.ndarray
    signals: np.ndarray | None
    common: dict[str, np.ndarray]


def sample_expr(
    expr: ir.ValueExpr, size: int, common: dict[str, np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    out = np.zeros(size)
    for coef, term in zip(expr.coefs, expr.terms):
        if isinstance(term, ir.Const):
            out += coef * term.value
        elif isinstance(term, ir.CommonRef):
            out += coef * common[term.name]
        else:
            out += coef * D.sample(term.dist, size, rng)
    return out


def expr_support(expr: ir.ValueExpr, spec: ir.AuctionSpec) -> tuple[float, float]:
    commons = {c.name: c.dist for c in spec.common}
    lo = hi = 0.0
    for coef, term in zip(expr.coefs, expr.terms):
        if isinstance(term, ir.Const):
            a = b = term.value
        elif isinstance(term, ir.CommonRef):
            a, b = D.support(commons[term.name])
        else:
            a, b = D.support(term.dist)
        a, b = coef * a, coef * b
        lo += min(a, b)
        hi += max(a, b)
    return lo, hi


def item_exprs(b: ir.Bidder) -> tuple[ir.ValueExpr, ...]:
    v = b.valuation
    if isinstance(v, ir.Single):
        return (v.value,)
    if isinstance(v, (ir.Additive, ir.UnitDemand)):
        return v.values
    raise TypeError(f"{v.kind} valuations have no per-item values")


def value_bounds(spec: ir.AuctionSpec) -> np.ndarray:
    """``(n, dim, 2)`` lower and upper bound of each bidder's value in each coordinate."""
    dim = outcome_dim(spec)
    out = np.zeros((spec.n_bidders, dim, 2))
    for i, b in enumerate(spec.bidders):
        if isinstance(b.valuation, ir.Xor):
            for bid in b.valuation.bids:
                lo, hi = expr_support(bid.value, spec)
                k = bundle_index(bid.bundle, spec.items)
                mask = np.array([(j & k) == k for j in range(dim)])
                out[i, mask, 1] = np.maximum(out[i, mask, 1], hi)
                out[i, mask, 0] = np.maximum(out[i, mask, 0], lo)
        elif isinstance(b.valuation, ir.Cats):
            raise TypeError("CATS valuations have no array bounds")
        else:
            for j, e in enumerate(item_exprs(b)):
                out[i, j] = expr_support(e, spec)
    return out


def sample_values(spec: ir.AuctionSpec, size: int, rng: np.random.Generator) -> ValueSample:
    """Draw ``size`` value profiles from the spec's priors (common variables first)."""
    common = {c.name: D.sample(c.dist, size, rng) for c in spec.common}
    dim = outcome_dim(spec)
    n = spec.n_bidders
    values = np.zeros((size, n, dim))
    has_signal = any(b.signal is not None for b in spec.bidders)
    signals = np.zeros((size, n)) if has_signal else None
    m = spec.n_items
    for i, b in enumerate(spec.bidders):
        v = b.valuation
        if isinstance(v, ir.Xor):
            bm = bundle_matrix(m)
            for bid in v.bids:
                x = sample_expr(bid.value, size, common, rng)
                cols = [spec.items.index(t) for t in bid.bundle]
                contains = bm[:, cols].min(axis=1) > 0 if cols else np.ones(dim, bool)
                values[:, i, contains] = np.maximum(values[:, i, contains], x[:, None])
        elif isinstance(v, ir.Cats):
            raise TypeError("CATS valuations are sampled by auctionc.cats, not as arrays")
        else:
            for j, e in enumerate(item_exprs(b)):
                values[:, i, j] = sample_expr(e, size, common, rng)
        if signals is not None:
            if b.signal is not None:
                signals[:, i] = sample_expr(b.signal, size, common, rng)
            else:
                signals[:, i] = values[:, i, 0]
    return ValueSample(values, signals, common)


def welfare(values: np.ndarray, alloc: np.ndarray) -> np.ndarray:
    """Total value ``(B,)`` of an allocation in the outcome space."""
    return (values * alloc).sum(axis=(1, 2))


def utilities(values: np.ndarray, alloc: np.ndarray, pay: np.ndarray) -> np.ndarray:
    """``(B, n)`` quasi-linear utilities."""
    return (values * alloc).sum(axis=2) - pay


def item_usage(spec: ir.AuctionSpec, alloc: np.ndarray) -> np.ndarray:
    """``(B, m)`` total probability with which each item is allocated."""
    if outcome_space(spec) == "bundles":
        return np.einsum("bnk,km->bm", alloc, bundle_matrix(spec.n_items))
    return alloc.sum(axis=1)


def feasibility_violation(spec: ir.AuctionSpec, alloc: np.ndarray) -> float:
    """Largest amount by which any item is over-allocated, or a unit-demand bidder
    gets more than one item in expectation, or a probability leaves [0, 1]."""
    worst = float(np.maximum(item_usage(spec, alloc) - 1.0, 0.0).max(initial=0.0))
    worst = max(worst, float(np.maximum(-alloc, 0).max(initial=0.0)))
    if outcome_space(spec) == "bundles":
        worst = max(worst, float(np.maximum(alloc.sum(axis=2) - 1.0, 0).max(initial=0.0)))
    for i, b in enumerate(spec.bidders):
        if isinstance(b.valuation, ir.UnitDemand):
            worst = max(worst, float(np.maximum(alloc[:, i, :].sum(axis=1) - 1.0, 0).max(initial=0.0)))
    return worst

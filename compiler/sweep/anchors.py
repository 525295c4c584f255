"""Published figures and closed forms that a sweep's figures draw beside its own lines.

A cell's *setting* (``setting_of``) is what the figures match: bidders, items, valuation
and a common iid prior.  Each anchor names the setting it belongs to, the figure and
where it comes from; the same figures, with their context, are in ``docs/benchmarks.md``.
A figure marked *recalled* could not be re-read from its paper (a target, not a test
constant); *secondhand* is quoted by a later paper.  The closed forms are exact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

BENCHMARKS_DOC = "docs/benchmarks.md, multi-bidder section"


@dataclass(frozen=True)
class Anchor:
    label: str
    revenue: float
    bidders: int
    items: int
    valuation: str
    prior: str
    source: str
    exactly_sp: bool = True


PUBLISHED: tuple[Anchor, ...] = (
    # 2 x 2 additive U[0,1] (RegretNet / GemNet / affine-maximizer setting)
    Anchor("AMA 0.862", 0.862, 2, 2, "additive", "U(0,1)",
           "Sandholm & Likhodedov (affine maximizer auctions), via " + BENCHMARKS_DOC),
    Anchor("lottery AMA ≈0.868 (recalled)", 0.868, 2, 2, "additive", "U(0,1)",
           "Curry, Sandholm & Dickerson (lottery AMA), recalled; " + BENCHMARKS_DOC),
    Anchor("GemNet ≈0.876 (secondhand)", 0.876, 2, 2, "additive", "U(0,1)",
           "Wang, Jiang & Parkes (GemNet, EC 2024), quoted by a later paper; " + BENCHMARKS_DOC),
    Anchor("RegretNet 0.878 (approx. SP, recalled)", 0.878, 2, 2, "additive", "U(0,1)",
           "Dütting et al. (RegretNet), recalled; " + BENCHMARKS_DOC, exactly_sp=False),
    Anchor("upper bound 0.8919 (secondhand)", 0.8919, 2, 2, "additive", "U(0,1)",
           "known upper bound quoted with GemNet; " + BENCHMARKS_DOC),
    # larger additive U[0,1] settings
    Anchor("lottery AMA 2.2354", 2.2354, 2, 5, "additive", "U(0,1)",
           "Curry, Sandholm & Dickerson (lottery AMA); " + BENCHMARKS_DOC),
    Anchor("lottery AMA 5.345", 5.345, 3, 10, "additive", "U(0,1)",
           "Curry, Sandholm & Dickerson (lottery AMA); " + BENCHMARKS_DOC),
    Anchor("RegretNet 5.541 (approx. SP, recalled)", 5.541, 3, 10, "additive", "U(0,1)",
           "Dütting et al. (RegretNet), recalled; " + BENCHMARKS_DOC, exactly_sp=False),
    Anchor("RegretNet 6.778 (approx. SP, recalled)", 6.778, 5, 10, "additive", "U(0,1)",
           "Dütting et al. (RegretNet), recalled; " + BENCHMARKS_DOC, exactly_sp=False),
    # one bidder, two items (RochetNet settings): known optima
    Anchor("optimum 0.549201 (Manelli–Vincent)", 0.549201, 1, 2, "additive", "U(0,1)",
           "Manelli & Vincent, closed form (12+2√2)/27; docs/benchmarks.md, single-bidder section"),
    Anchor("optimum 0.3849", 0.384900, 1, 2, "unit_demand", "U(0,1)",
           "each item at 1/√3, closed form (2/3)/√3; docs/benchmarks.md, single-bidder section"),
)


def myerson_uniform(n: int) -> float:
    """Myerson's optimal revenue for one item, n iid U[0,1] bidders (reserve 1/2):
    (n−1)/(n+1) + 2⁻ⁿ/(n+1)."""
    return (n - 1) / (n + 1) + 2.0 ** (-n) / (n + 1)


def second_price_uniform(n: int) -> float:
    """Second-price revenue for one item, n iid U[0,1] bidders: (n−1)/(n+1)."""
    return (n - 1) / (n + 1)


@dataclass(frozen=True)
class ClosedForm:
    label: str
    source: str

    def value(self, bidders: int, items: int) -> float:
        raise NotImplementedError


class VCGAdditive(ClosedForm):
    """VCG with additive bidders is a second-price auction per item."""

    def value(self, bidders: int, items: int) -> float:
        return items * second_price_uniform(bidders)


class ItemwiseMyerson(ClosedForm):
    """Each item sold by Myerson's optimal auction on its own (exactly strategy-proof)."""

    def value(self, bidders: int, items: int) -> float:
        return items * myerson_uniform(bidders)


CLOSED_FORMS: tuple[ClosedForm, ...] = (
    VCGAdditive("VCG, m·(n−1)/(n+1) (exact)",
                "second price item by item; docs/benchmarks.md, single-item section"),
    ItemwiseMyerson("item-wise Myerson, m·((n−1)+2⁻ⁿ)/(n+1) (exact)",
                    "Myerson per item, reserve 1/2; docs/benchmarks.md, single-item and multi-bidder sections"),
)
"""Closed forms for n additive bidders, m items, values iid U[0,1]."""


# --------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------


def _iid_prior(spec: Any) -> str | None:
    """``U(0,1)`` when every value of every bidder is one draw of the same uniform, else
    None (the anchors here are all for iid uniform values)."""
    dists = []
    for b in spec.bidders:
        v = b.valuation
        exprs = list(getattr(v, "values", ()) or ([v.value] if getattr(v, "value", None) is not None else []))
        if not exprs:
            return None
        for e in exprs:
            if len(e.terms) != 1 or e.coefs != (1.0,) or getattr(e.terms[0], "kind", "") != "draw":
                return None
            dists.append(e.terms[0].dist)
    if not dists or any(d != dists[0] for d in dists):
        return None
    d = dists[0]
    if d.kind == "uniform":
        return f"U({d.low:g},{d.high:g})"
    return None


def setting_of(spec: Any) -> dict[str, Any] | None:
    """The setting a cell's figures are matched on, or None for specs no anchor describes
    (markets, mixed valuations, signals, non-uniform priors)."""
    if getattr(spec, "kind", None) != "auction" or any(b.signal is not None for b in spec.bidders):
        return None
    kinds = spec.valuation_kinds
    if len(kinds) != 1:
        return None
    kind = next(iter(kinds))
    if kind == "single":
        kind = "additive"  # one item: additive and single-valued agree
    if kind not in ("additive", "unit_demand"):
        return None
    prior = _iid_prior(spec)
    if prior is None:
        return None
    return {"bidders": spec.n_bidders, "items": spec.n_items, "valuation": kind, "prior": prior}


def anchors_for(setting: dict[str, Any] | str | None) -> list[tuple[str, float, str, bool]]:
    """(label, revenue, source, closed_form) of every anchor of ``setting``."""
    if isinstance(setting, str):
        setting = json.loads(setting) if setting else None
    if not setting:
        return []
    n, m, kind, prior = setting["bidders"], setting["items"], setting["valuation"], setting["prior"]
    out = [(a.label, a.revenue, a.source, False) for a in PUBLISHED
           if (a.bidders, a.items, a.valuation, a.prior) == (n, m, kind, prior)]
    if kind == "additive" and prior == "U(0,1)" and n >= 1:
        out += [(c.label, c.value(n, m), c.source, True) for c in CLOSED_FORMS]
    return out

"""Posted item prices (the ``item_prices`` artifact) and their certificate: the rule equals the
argmax over all 2^m bundles, the verifier certifies it at 50 items from the prices alone, and a
mechanism that does not sell the favourite bundle at its additive price is refused."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from auctionc import api, cats, ir
from auctionc.backends.bundleflow.item_prices import ItemPriceMechanism, bundle_costs, xor_choice
from auctionc.cats.xor import XorBatch
from auctionc.mechanism.base import load_mechanism
from auctionc.verifier import verify

REV = ir.Objective(terms=("revenue",), weights=(1.0,))


def cats_spec(m: int, bids: int = 20) -> ir.AuctionSpec:
    return ir.AuctionSpec(name=f"cats_{m}", items=tuple(f"g{i}" for i in range(m)), requirements=(ir.IC(), ir.IR()),
                          objective=REV, bidders=(ir.Bidder(name="b", valuation=ir.Cats(distribution="regions",
                                                                                       options={"bids": bids})),))


def brute_force(prices: np.ndarray, data: XorBatch) -> np.ndarray:
    """Best utility over every one of the 2^m bundles."""
    m = len(prices)
    masks = ((np.arange(2**m)[:, None] >> np.arange(m)) & 1).astype(np.uint8)
    return (data.values_of(masks) - bundle_costs(prices)[None, :]).max(axis=1)


@pytest.mark.parametrize("negative", [False, True])
def test_the_rule_is_the_argmax_over_every_bundle(negative):
    m = 8
    data = cats.sample_valuations("arbitrary", m, 300, seed=2, bids=12)
    rng = np.random.default_rng(0)
    prices = rng.uniform(0, 1.5, m) * data.values.mean()
    if negative:
        prices[[1, 5]] = -0.3 * prices[[1, 5]]
    bundles, pay = xor_choice(prices, data)
    assert np.allclose(pay, bundles @ prices)
    own = np.array([data.valuation(b).value(bundles[b]) for b in range(len(data))])
    assert np.allclose(own - pay, brute_force(prices, data), atol=1e-9)
    if negative:  # a subsidised item is always taken
        assert bundles[:, [1, 5]].all()


def test_the_verifier_certifies_posted_prices_at_fifty_items(tmp_path):
    spec = cats_spec(50)
    data = cats.sample_valuations("regions", 50, 200, seed=0, bids=20)
    mech = ItemPriceMechanism(np.full(50, float(np.median(data.values / np.maximum(data.bundles.sum(-1), 1)))))
    cert = verify(mech, spec, samples=300, seed=1, metric_samples=300)
    assert cert.ok and cert.kind == "exact_by_construction", cert.checks
    assert cert.check("structure").detail.startswith("posted prices for 50 items")
    assert cert.max_regret == 0.0 and cert.max_ir_violation == 0.0
    assert cert.metrics["revenue"]["value"] > 0
    # saved and loaded as plain data: the same rule
    mech.save(tmp_path / "art")
    back = load_mechanism(tmp_path / "art")
    assert isinstance(back, ItemPriceMechanism) and np.array_equal(back.prices, mech.prices)
    assert np.array_equal(back.allocate_and_pay(data)[1], mech.allocate_and_pay(data)[1])


class _Discount(ItemPriceMechanism):
    """Charges item 0 at half price but reports the full prices."""

    def allocate_and_pay(self, bids):
        a, p = super().allocate_and_pay(bids)
        return a, p - 0.5 * self.prices[0] * a[:, :, 0]


class _Stingy(ItemPriceMechanism):
    """Sells only bundles of at most two items: not always the favourite."""

    def allocate_and_pay(self, bids):
        a, p = super().allocate_and_pay(bids)
        big = a.sum(axis=2) > 2
        return np.where(big[:, :, None], 0.0, a), np.where(big, 0.0, p)


@pytest.mark.parametrize("cls,stray,short", [(_Discount, True, False), (_Stingy, False, True)])
def test_a_rule_that_is_not_posted_pricing_is_refused(cls, stray, short):
    spec = cats_spec(20)
    mech = cls(np.full(20, 40.0))
    cert = verify(mech, spec, samples=300, seed=1, metric_samples=500)
    assert not cert.ok and "structure_confirmed" in [c.name for c in cert.failed]
    detail = cert.check("structure_confirmed").detail
    found = re.search(r"(\d+) outcomes are not a bundle at its additive price and (\d+) are not the bidder's "
                      r"favourite bundle", detail)
    assert found is not None, detail
    assert (int(found[1]) > 0, int(found[2]) > 0) == (stray, short), detail


def test_prices_for_another_number_of_items_are_refused():
    cert = verify(ItemPriceMechanism(np.full(12, 40.0)), cats_spec(10), samples=100, seed=1, metric_samples=200)
    assert not cert.ok and cert.kind == "invalid" and "shapes" in [c.name for c in cert.failed]


def test_bundle_value_reports_are_certified_through_the_listed_menu():
    """examples/xor_bundle.auction (two items, bundle-value reports): the rule is the menu of
    the three non-empty bundles at additive prices and nothing, exact on every report."""
    spec = api.load(Path(__file__).resolve().parents[1] / "examples" / "xor_bundle.auction")
    mech = ItemPriceMechanism(np.array([0.6, 0.7]))
    vals = np.array([[0.0, 0.9, 0.2, 2.5], [0.0, 0.1, 0.2, 0.5]])[:, None, :]  # bitmask order: {}, {A}, {B}, {A,B}
    a, p = mech.allocate_and_pay(vals)
    assert a[0, 0].tolist() == [0, 0, 0, 1] and p[0, 0] == pytest.approx(1.3)
    assert a[1, 0].tolist() == [0, 0, 0, 0] and p[1, 0] == 0.0
    cert = verify(mech, spec, samples=300, seed=0, metric_samples=2000)
    assert cert.ok and cert.kind == "exact_by_construction", cert.checks
    assert cert.check("structure").detail.startswith("posted prices for 2 items")

"""Bundle-RochetNet (the learned-allocation menu BundleFlow is compared with), the shared
softmax schedule, and the choice among the candidate mechanisms."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from auctionc import cats
from auctionc.backends.bundleflow import candidates as C
from auctionc.backends.bundleflow.bundle_rochetnet import (
    RochetConfig,
    exact_values,
    hard_revenue,
    train_bundle_rochetnet,
)
from auctionc.backends.bundleflow.relaxation import PAPER, Schedule
from auctionc.cats import XorBatch


def test_expected_value_of_a_product_lottery_is_exact() -> None:
    """The inclusion-exclusion expectation equals the sum over all 2^m bundles of
    P(bundle) * v(bundle), for fractional and 0/1 allocation probabilities."""
    data = cats.sample_valuations("regions", 8, 30, seed=3, bids=50)
    rng = np.random.default_rng(0)
    alpha = rng.uniform(0, 1, (5, 8))
    alpha[0] = (alpha[0] > 0.5) * 1.0
    ev = exact_values(data, np.clip(alpha, 1e-300, 1.0))
    every = np.array(list(itertools.product((0, 1), repeat=8)), dtype=np.uint8)
    prob = np.prod(np.where(every[None] == 1, alpha[:, None, :], 1 - alpha[:, None, :]), axis=2)
    assert np.allclose(ev, data.values_of(every) @ prob.T, atol=1e-8)


def test_expected_value_known_answer() -> None:
    # bids {0}: 10, {1}: 6, {0,1}: 20; each item with probability 1/2:
    # 1/4 * 20 + 1/4 * 10 + 1/4 * 6 = 9
    data = XorBatch(np.array([[[1, 0], [0, 1], [1, 1]]], dtype=np.uint8), np.array([[10.0, 6.0, 20.0]]))
    assert exact_values(data, np.array([[0.5, 0.5]]))[0, 0] == pytest.approx(9.0)


def _small() -> tuple[XorBatch, XorBatch]:
    data = cats.sample_valuations("arbitrary", 8, 400, seed=5, bids=20)
    return data[:360], data[360:]


def test_bundle_rochetnet_menu_is_ic_ir_and_reproducible() -> None:
    train, test = _small()
    cfg = RochetConfig(menu=16, steps=40, batch=64, init="random", eval_every=20, seed=2)
    r = train_bundle_rochetnet(train, test, cfg)
    r2 = train_bundle_rochetnet(train, test, cfg)
    assert np.array_equal(r.alpha, r2.alpha) and np.array_equal(r.prices, r2.prices) and r.revenue == r2.revenue
    assert [h["step"] for h in r.history] == [0, 20, 40] and r.steps == 40
    assert 0.0 <= r.alpha.min() and r.alpha.max() <= 1.0 and (r.prices >= 0).all()
    # the argmax choice: no element (nor the null one) gives a higher expected utility
    rev, idx = hard_revenue(r.alpha, r.prices, test)
    u = exact_values(test, r.alpha) - r.prices[None]
    got = np.where(idx >= 0, u[np.arange(len(test)), np.maximum(idx, 0)], 0.0)
    assert (got >= u.max(1) - 1e-9).all() and (got >= 0).all()
    assert rev == pytest.approx(r.revenue)
    # listed as bundle lotteries (no rounding), the menu makes the same choices
    cand = C.rochetnet_candidate(r, test, snap=0.0, max_fractional=8)
    assert cand.eligible and cand.payments.mean() == pytest.approx(rev)


def test_bundle_rochetnet_from_bids_starts_at_bid_bundles() -> None:
    train, test = _small()
    r = train_bundle_rochetnet(train, test, RochetConfig(menu=8, steps=1, warmup_steps=30, eval_every=1, seed=0))
    assert r.history[0]["step"] == 30  # the warm-up's steps are counted
    assert ((r.alpha < 0.01) | (r.alpha > 0.99)).all()


def test_unlistable_lottery_is_reported_not_chosen() -> None:
    train, test = _small()
    r = train_bundle_rochetnet(train, test, RochetConfig(menu=4, steps=1, init="random", eval_every=1, seed=0))
    cand = C.rochetnet_candidate(r, test, snap=0.01, max_fractional=2)
    assert not cand.eligible and cand.why_not.endswith("its lottery has 2^8 bundles, more than the 2^2 listed")
    assert C.best([cand]) is None


def test_schedules() -> None:
    paper = Schedule("paper", scale=100.0)
    assert paper.at(0, 10) == pytest.approx(PAPER["start"] * 100)
    assert paper.at(199, 10) == paper.at(0, 10) and paper.at(200, 10) == pytest.approx(PAPER["start"] * 1.05 * 100)
    cap = paper.cap_step()
    assert paper.at(cap, 10) == pytest.approx(20.0) and paper.at(cap - 200, 10) < 20.0 and paper.at(10**6, 10) == 20.0
    geo = Schedule("geometric", 5.0, 500.0)
    assert geo.at(0, 100) == pytest.approx(5.0) and geo.at(50, 100) == pytest.approx(50.0) and geo.at(100, 100) == pytest.approx(500.0)


def test_choice_and_paired_ratio() -> None:
    rng = np.random.default_rng(0)
    b = rng.uniform(0, 10, 500)
    assert C.ratio_ci(2 * b, b) == pytest.approx((2.0, 0.0), abs=1e-12)
    mean, half = C.mean_ci(b)
    assert mean == pytest.approx(b.mean()) and half == pytest.approx(1.959963984540054 * b.std(ddof=1) / np.sqrt(500))
    m = 3
    bundle = np.ones((1, 1, m), dtype=np.uint8)
    mk = lambda: C.BundleMenuMechanism(bundle, np.ones((1, 1)), np.array([1.0]))  # noqa: E731
    low, high, barred = (C.Candidate("a", np.array([1.0, 1.0]), mk()), C.Candidate("b", np.array([2.0, 2.0]), mk()),
                         C.Candidate("c", np.array([9.0, 9.0]), mk(), why_not="too large to list"))
    assert C.best([low, high, barred]) is high
    assert C.best([barred]) is None
    text = C.table([low, high, barred], high, 4.0)
    assert "Chosen: **b**" in text and "c is not eligible: too large to list. It earns more than the chosen mechanism." in text

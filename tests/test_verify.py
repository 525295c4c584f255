"""The verifier: certificate kinds and the figures that matter (known regrets, revenues,
violations), plus property tests on finite-type mechanisms."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from auctionc import ir
from auctionc.mechanism.base import ArtifactMeta, Mechanism
from auctionc.mechanism.datamarket import DataMarketMechanism, market_types
from auctionc.mechanism.format_mechanism import format_mechanism
from auctionc.mechanism.menu import MenuMechanism
from auctionc.mechanism.table import TableMechanism
from auctionc.verifier import Certificate, verify
from hypothesis import given, settings
from hypothesis import strategies as st


def U(lo: float = 0.0, hi: float = 1.0) -> ir.ValueExpr:
    return ir.ValueExpr(terms=(ir.Draw(dist=ir.Uniform(low=lo, high=hi)),), coefs=(1.0,))


def G(lo: float, hi: float, n: int) -> ir.ValueExpr:
    return ir.ValueExpr(terms=(ir.Draw(dist=ir.Grid(low=lo, high=hi, n=n)),), coefs=(1.0,))


def single_item(n: int, fmt: str = "second_price", value=U, **kw) -> ir.AuctionSpec:
    return ir.AuctionSpec(
        name="t", items=("x",),
        bidders=tuple(ir.Bidder(name=f"b{i}", valuation=ir.Single(value=value())) for i in range(n)),
        mechanism=ir.Format(name=fmt, **kw),
    )


def one_buyer_two_items(value=U) -> ir.AuctionSpec:
    return ir.AuctionSpec(
        name="mv", items=("A", "B"),
        bidders=(ir.Bidder(name="buyer", valuation=ir.Additive(values=(value(), value()))),),
        requirements=(ir.IC(), ir.IR()), objective=ir.Objective(terms=("revenue",), weights=(1.0,)),
    )


def fmt_verify(spec, **kw) -> Certificate:
    return verify(format_mechanism(spec.mechanism, spec), spec, **kw)


# ------------------------------------------------------------------ standard formats


@pytest.mark.parametrize("fmt", ["second_price", "vcg"])
def test_second_price_and_vcg_are_strategy_proof(fmt):
    c = fmt_verify(single_item(3, fmt), samples=1000, interim=False)
    assert c.kind == "estimated" and c.ok
    assert c.max_regret <= 1e-9 and c.max_ir_violation <= 1e-9
    # revenue of second price with n iid U[0,1] bidders: (n-1)/(n+1)
    lo, hi = c.metrics["revenue"]["ci95"]
    assert lo <= 0.5 <= hi


def test_vcg_two_additive_bidders_two_items_revenue():
    s = ir.AuctionSpec(
        name="t", items=("A", "B"),
        bidders=tuple(ir.Bidder(name=f"b{i}", valuation=ir.Additive(values=(U(), U()))) for i in range(2)),
        mechanism=ir.Format(name="vcg"),
    )
    c = fmt_verify(s, samples=2000, steps=10, restarts=4, interim=False)
    assert c.ok and c.max_regret <= 1e-9
    lo, hi = c.metrics["revenue"]["ci95"]
    assert lo <= 2 / 3 <= hi  # docs/published-figures.md: VCG 0.6667 on 2x2 additive U[0,1]


@pytest.mark.parametrize("n", [2, 3])
def test_first_price_regret_matches_the_best_deviation(n):
    # truthful first price: a bidder of value v facing n-1 truthful U[0,1] bids gains
    # max_b (v-b) b^(n-1) = v^n (n-1)^(n-1) / n^n; in expectation (n-1)^(n-1) / (n^n (n+1))
    exact = (n - 1) ** (n - 1) / (n**n * (n + 1))
    c = fmt_verify(single_item(n, "first_price"), samples=2000, interim=True)
    assert not c.ok and c.max_regret > 0.5
    it = c.interim
    assert abs(it["mean"] - exact) <= 3 * it["se"] + 0.002, (it["mean"], exact, it["se"])
    # ex post (others' bids known) the gain is v - max others: E = 1/(n(n+1)) per bidder
    assert c.mean_regret == pytest.approx(1 / (n * (n + 1)), rel=0.08)
    assert c.worst is not None and c.worst["misreport"] < c.worst["values"]  # shading pays


def test_bayesian_ic_makes_interim_regret_the_headline():
    s = single_item(2, "first_price").model_copy(update={"requirements": (ir.IC(mode="bayesian"),)})
    c = fmt_verify(s, samples=1000)
    assert c.mean_regret == pytest.approx(1 / 12, abs=3 * c.interim["se"] + 0.002)
    assert any("bayesian" in n for n in c.notes)


def test_posted_price_is_strategy_proof_and_revenue_is_known():
    c = fmt_verify(single_item(2, "posted_price", price=0.5), samples=4000, interim=False)
    assert c.ok and c.max_regret <= 1e-12
    # sold unless both values are below 1/2
    lo, hi = c.metrics["revenue"]["ci95"]
    assert lo <= 0.5 * 0.75 <= hi


class BuggySecondPrice(Mechanism):
    """Second price whose winner pays at least half its own bid: shading pays."""

    kind = "buggy"
    outcome_space = "items"

    def __init__(self, n: int) -> None:
        self.n_bidders = n
        self.meta = ArtifactMeta()

    def allocate_and_pay(self, bids):
        b = bids[:, :, 0]
        w = b.argmax(axis=1)
        alloc = np.zeros_like(bids)
        alloc[np.arange(len(b)), w, 0] = 1
        second = np.sort(b, axis=1)[:, -2]
        pay = np.zeros(b.shape)
        pay[np.arange(len(b)), w] = np.maximum(second, 0.5 * b[np.arange(len(b)), w])
        return alloc, pay

    def data(self):
        return {}

    @classmethod
    def from_data(cls, data, meta, directory):
        raise NotImplementedError


def test_a_broken_mechanism_is_caught_and_the_bidder_named():
    c = verify(BuggySecondPrice(2), single_item(2), samples=1000, interim=False)
    assert c.kind == "estimated" and not c.ok
    assert c.max_regret > 0.1 and c.worst["bidder"] in ("b0", "b1")
    v, r = c.worst["values"], c.worst["misreport"]
    other = next(iter(c.worst["others"].values()))
    # the best deviation bids just above the other so that half the bid is below its value
    assert r < v and r >= other - 1e-2


def test_ascending_clock_regret_is_bounded_by_the_increment():
    c = fmt_verify(single_item(2, "ascending_clock", increment=0.05), samples=1000, interim=False)
    assert 0 < c.max_regret <= 0.05 + 1e-9


def test_entry_fee_shows_as_an_ir_violation():
    c = fmt_verify(single_item(2, "second_price", entry_fee=0.1), samples=1000, interim=False)
    assert c.max_ir_violation == pytest.approx(0.1, abs=1e-3) and not c.ok


# ------------------------------------------------------------------ certificate kinds


def test_exact_by_construction_for_a_menu_with_a_null_element():
    pb = (4 - math.sqrt(2)) / 3
    menu = MenuMechanism(np.array([[0, 0], [1, 0], [0, 1], [1, 1]]), np.array([0, 2 / 3, 2 / 3, pb]))
    c = verify(menu, one_buyer_two_items(), samples=4000)
    assert c.kind == "exact_by_construction" and c.ok and c.max_regret == 0.0
    lo, hi = c.metrics["revenue"]["ci95"]
    assert lo <= (12 + 2 * math.sqrt(2)) / 27 <= hi  # Manelli-Vincent optimum 0.549201


def test_menu_without_null_element_is_only_estimated_and_fails_ir():
    menu = MenuMechanism(np.array([[1, 0], [0, 1], [1, 1]]), np.array([2 / 3, 2 / 3, 1.0]))
    c = verify(menu, one_buyer_two_items(), samples=2000)
    assert c.kind == "estimated" and not c.ok
    assert c.max_ir_violation > 0.5 and any("null element" in n for n in c.notes)


def test_exact_by_enumeration_on_finite_priors_names_the_deviation():
    s = single_item(2, "first_price", value=lambda: G(0, 1, 5))
    c = fmt_verify(s)
    assert c.kind == "exact_by_enumeration" and not c.ok
    assert c.max_regret == pytest.approx(0.75)
    assert c.worst == {"bidder": "b0", "type": 1.0, "misreport": 0.25, "others": {"b1": 0.0},
                       "regret": 0.75, "values": 1.0}
    ok = fmt_verify(single_item(2, "second_price", value=lambda: G(0, 1, 5)))
    assert ok.kind == "exact_by_enumeration" and ok.ok and ok.max_regret == 0.0
    # E[min of two iid uniform on {0, .25, .5, .75, 1}] = 0.3
    assert ok.metrics["revenue"]["value"] == pytest.approx(0.3) and ok.metrics["revenue"]["exact"]


def test_table_artifact_is_enumerated_through_its_evaluation():
    s = ir.AuctionSpec(name="p", items=("x",),
                       bidders=(ir.Bidder(name="buyer", valuation=ir.Single(value=G(0, 1, 3))),))
    V = np.array([[0.0], [0.5], [1.0]])
    table = TableMechanism([V], [np.full(3, 1 / 3)], np.array([[[0.0]], [[1.0]], [[1.0]]]),
                           np.array([[0.0], [0.5], [0.5]]), grids=[[V[:, 0]]], bidder_names=["buyer"])
    c = verify(table, s)
    assert c.kind == "exact_by_enumeration" and c.ok and c.search == "enumeration"
    assert c.details["enumeration"]["checked_pairs"] == 9
    assert c.metrics["revenue"]["value"] == pytest.approx(1 / 3) and c.metrics["revenue"]["ci95"] is None
    assert c.per_bidder[0]["expected_utility"] == pytest.approx(0.5 / 3)


def test_data_market_two_types_exact():
    # docs/published-figures.md, data markets: (theta_L, theta_H, f_H) = (0.2, 0.7, 0.5): revenue 0.23 with E_0.8 at 0.16, full at 0.30
    spec = ir.MarketSpec(
        name="w", states=("s0", "s1"),
        buyers=(ir.Buyer(name="farmer", actions=("a0", "a1"), payoffs=((1, 0), (0, 1)),
                         type=ir.BeliefType(state="s1", dist=ir.Discrete(values=(0.2, 0.7), probs=(0.5, 0.5)))),),
        requirements=(ir.IC(), ir.IR(), ir.Obedience()), objective=ir.Objective(terms=("revenue",), weights=(1.0,)),
    )
    mt = market_types(spec, None)
    q = 0.8
    partial = np.array([[1.0, 0.0], [1 - q, q]])  # state-by-signal
    exps = np.stack([partial.T, np.eye(2)])
    mech = DataMarketMechanism(["s0", "s1"], ["a0", "a1"], np.eye(2), "belief", mt.points, mt.beliefs,
                               mt.scales, mt.probs, exps, np.array([0.16, 0.30]), buyer="farmer")
    c = verify(mech, spec)
    assert c.kind == "exact_by_enumeration" and c.ok
    assert c.metrics["revenue"]["value"] == pytest.approx(0.23)
    assert c.max_obedience_violation == pytest.approx(0.0, abs=1e-12)
    # the same menu under a continuous prior: its two types are not the spec's type space
    cont = spec.model_copy(update={"buyers": (spec.buyers[0].model_copy(
        update={"type": ir.BeliefType(state="s1", dist=ir.Uniform(low=0, high=1))}),)})
    c2 = verify(mech, cont, samples=2000)
    assert c2.kind == "invalid" and [c.name for c in c2.failed] == ["world"]
    assert "continuous and the artifact records no grid" in c2.failed[0].detail


class SoftMenu(Mechanism):
    """A differentiable single-bidder menu (softmax choice) without a structural claim."""

    kind = "softmenu"
    outcome_space = "items"
    n_bidders = 1
    differentiable = True

    def __init__(self, alloc, prices, temp=200.0):
        self.A, self.p, self.temp = np.asarray(alloc, float), np.asarray(prices, float), temp
        self.meta = ArtifactMeta()

    def allocate_and_pay(self, bids):
        u = bids[:, 0, :] @ self.A.T - self.p
        k = u.argmax(axis=1)
        return self.A[k][:, None, :], self.p[k][:, None]

    def allocate_and_pay_torch(self, bids):
        import torch

        A = torch.as_tensor(self.A, dtype=bids.dtype)
        p = torch.as_tensor(self.p, dtype=bids.dtype)
        w = torch.softmax(self.temp * (bids[:, 0, :] @ A.T - p), dim=1)
        return (w @ A)[:, None, :], (w @ p)[:, None]

    def data(self):
        return {}

    @classmethod
    def from_data(cls, data, meta, directory):
        raise NotImplementedError


def test_gradient_path_finds_no_regret_on_an_ic_menu_and_regret_on_a_broken_one():
    import torch

    torch.set_num_threads(1)
    spec = one_buyer_two_items()
    good = SoftMenu([[0, 0], [1, 0], [0, 1], [1, 1]], [0, 0.6, 0.6, 0.9])
    c = verify(good, spec, samples=500, steps=30, restarts=4, interim=False)
    assert c.kind == "estimated" and "gradient" in c.search and c.steps == 30
    assert c.max_regret <= 1e-9

    class Broken(SoftMenu):
        # a report below 0.3 on item A gets item A for free: a profitable lie for everyone
        def allocate_and_pay(self, bids):
            a, p = super().allocate_and_pay(bids)
            low = bids[:, 0, 0] < 0.3
            a[low, 0, 0], p[low, 0] = 1.0, np.where(a[low, 0, 1] > 0, p[low, 0] - 0.6, 0.0)
            return a, p

    c = verify(Broken([[0, 0], [1, 0], [0, 1], [1, 1]], [0, 0.6, 0.6, 0.9]), spec,
               samples=500, steps=30, restarts=4, interim=False)
    assert not c.ok and c.max_regret > 0.3 and c.worst["misreport"][0] < 0.3


def test_certificate_json_keys():
    c = fmt_verify(single_item(2, "second_price"), samples=500, steps=5, interim=False)
    d = json.loads(json.dumps(c.to_json()))
    for key in ("kind", "max_regret", "mean_regret", "max_ir_violation", "max_obedience_violation",
                "regret_ci_upper", "per_bidder", "samples", "steps", "restarts", "feasibility_violation", "seconds"):
        assert key in d
    assert set(d["metrics"]["revenue"]) >= {"value", "ci95", "samples"}
    assert d["samples"] == 500 and d["failed_checks"] == [] and d["scope"] == "the spec's continuous prior"
    assert [c["name"] for c in d["checks"]][:2] == ["spec_hash", "shapes"]
    # one revenue figure, estimated until its 95% half-width is 0.25% of the estimate
    rev = d["metrics"]["revenue"]
    assert rev["precision_reached"] and (rev["ci95"][1] - rev["ci95"][0]) / 2 <= 0.0025 * rev["value"]
    assert rev["ci95"][0] <= 1 / 3 <= rev["ci95"][1]


def test_api_function_and_errors():
    import auctionc
    import auctionc.verifier  # noqa: F401 - importing the module must not shadow the API function
    from auctionc.errors import UsageError

    s = single_item(2, "second_price")
    m = format_mechanism(s.mechanism, s)
    assert auctionc.verify(m, s, samples=200, steps=2, interim=False).ok
    wrong = verify(m, single_item(3, "second_price"))
    assert wrong.kind == "invalid" and not wrong.ok and [c.name for c in wrong.failed] == ["shapes"]
    assert wrong.failed[0].code == "E0909" and "2 bidder(s), the spec 3" in wrong.failed[0].detail
    with pytest.raises(UsageError) as e:
        verify(m, None)
    assert e.value.diagnostics[0].code == "E0903"


# ------------------------------------------------------------------ property tests


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(2, 5), st.integers(0, 2**31 - 1))
def test_random_menus_with_null_element_have_no_violation(k, grid, seed):
    rng = np.random.default_rng(seed)
    alloc = np.vstack([np.zeros((1, 2)), rng.random((k, 2))])
    prices = np.concatenate([[0.0], rng.random(k)])
    menu = MenuMechanism(alloc, prices)
    spec = one_buyer_two_items(lambda: G(0, 1, grid))
    c = verify(menu, spec)
    assert c.kind == "exact_by_construction" and c.ok
    # the exact revenue is the expectation of the chosen element's price over the grid
    pts = np.linspace(0, 1, grid)
    v = np.stack(np.meshgrid(pts, pts, indexing="ij"), axis=-1).reshape(-1, 2)
    u = v @ alloc.T - prices
    best = u.max(axis=1, keepdims=True)
    chosen = np.where(u >= best - 1e-9, prices, -np.inf).argmax(axis=1)
    assert c.metrics["revenue"]["value"] == pytest.approx(prices[chosen].mean(), abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 3), st.integers(0, 2**31 - 1))
def test_random_direct_mechanisms_violations_are_found_and_named(T, seed):
    rng = np.random.default_rng(seed)
    types = np.linspace(0, 1, T)
    spec = single_item(2, "second_price", value=lambda: G(0, 1, T))
    alloc = rng.random((T, T, 2, 1))
    alloc /= np.maximum(alloc.sum(axis=2, keepdims=True), 1.0)
    pay = rng.random((T, T, 2))
    # plant a violation: bidder b1 of type 0 reporting the top type gets the item for free
    alloc[:, T - 1, 1, 0], pay[:, T - 1, 1] = 1.0, -1.0
    alloc[:, T - 1, 0, 0] = 0.0
    mech = TableMechanism([types[:, None]] * 2, [np.full(T, 1 / T)] * 2, alloc, pay,
                          grids=[[types]] * 2, bidder_names=["b0", "b1"])
    # brute force over (bidder, profile, misreport)
    best, arg = -np.inf, None
    for i in range(2):
        for t0 in range(T):
            for t1 in range(T):
                prof = [t0, t1]
                truth = types[prof[i]] * alloc[t0, t1, i, 0] - pay[t0, t1, i]
                for r in range(T):
                    q = list(prof)
                    q[i] = r
                    g = types[prof[i]] * alloc[q[0], q[1], i, 0] - pay[q[0], q[1], i] - truth
                    if g > best + 1e-12:
                        best, arg = g, (i, prof[i], r)
    c = verify(mech, spec)
    assert c.kind == "exact_by_enumeration" and not c.ok
    assert c.max_regret == pytest.approx(best, abs=1e-9)
    w = c.worst
    i = ["b0", "b1"].index(w["bidder"])
    # the named deviation really gains the reported amount
    t_own = list(types).index(w["type"])
    r = list(types).index(w["misreport"])
    o = list(types).index(next(iter(w["others"].values())))
    prof = [o, o]
    prof[i] = t_own
    q = list(prof)
    q[i] = r
    gain = (types[t_own] * alloc[q[0], q[1], i, 0] - pay[q[0], q[1], i]) - (
        types[t_own] * alloc[prof[0], prof[1], i, 0] - pay[prof[0], prof[1], i])
    assert gain == pytest.approx(best, abs=1e-9)
    assert arg is not None


def test_search_budget_and_progress_lines():
    import io

    from auctionc.progress import Progress

    stream = io.StringIO()
    c = verify(BuggySecondPrice(2), single_item(2), samples=2000, steps=10, restarts=4, interim=False,
               budget=20_000, metric_samples=20_000, progress=Progress("lines", stream))
    # 2 bidders x (256 grid + 4 restarts + 10 rounds x 2 directions) evaluations per profile
    assert c.samples == 20_000 // (2 * (256 + 4 + 20)) and not c.ok
    assert any("search budget of 20,000 evaluations allows 35 of 2,000 profiles" in n for n in c.notes)
    text = stream.getvalue()
    # the bar counts steps: per bidder the grid and restarts, then each of the 10 coordinate rounds
    assert "verify: misreport search: done 22/22" in text and "verify: revenue and welfare: done" in text

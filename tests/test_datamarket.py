"""Data markets (Bergemann-Bonatti-Smolin): the exact LP against the closed forms of docs/published-figures.md."""

from __future__ import annotations

import numpy as np
import pytest
from auctionc import ir
from auctionc.errors import PlanError
from auctionc.mechanism import load_mechanism
from auctionc.mechanism.datamarket import DataMarketMechanism
from conftest import accepts, run_backend


def market(dist, *, grid: int | None = None, reqs=(ir.IC(), ir.IR(), ir.Obedience())) -> ir.MarketSpec:
    buyer = ir.Buyer(name="buyer", actions=("act0", "act1"), payoffs=((1.0, 0.0), (0.0, 1.0)),
                     type=ir.BeliefType(state="w1", dist=dist))
    solve = ir.Solve(backend="lp", options={"grid": grid}) if grid else None
    return ir.MarketSpec(name="m", states=("w0", "w1"), buyers=(buyer,), requirements=reqs,
                         objective=ir.Objective(terms=("revenue",), weights=(1.0,)), solve=solve)


def solve(spec, **opts):
    return run_backend("lp", spec, opts)


def test_two_types_menu_shape():
    r = solve(market(ir.Discrete(values=(0.2, 0.7), probs=(0.5, 0.5))))
    table = r.mechanism.experiments_table()
    assert [round(g["price"], 6) for g in table] == [0.16, 0.3]
    # E_0.8 = [[0.8, 0.2], [0, 1]] in the literature's state-by-signal form, with states ordered
    # by the type's own state first; here w0 is the state the low type leans to
    low, high = table
    assert np.allclose(high["state_by_signal"], [[1, 0], [0, 1]])
    assert np.allclose(low["state_by_signal"], [[1, 0], [0.2, 0.8]], atol=1e-9)
    assert np.allclose(np.asarray(low["signal_by_state"]).sum(axis=0), 1.0)
    assert low["types"] == [0.2] and high["types"] == [0.7]


@pytest.mark.parametrize("p_low,expected", [(0.4, 0.2), (0.7, 0.315)])
def test_same_side_of_half(p_low, expected):
    # both types lean to w1; in terms of the doubted state's probability 1 - theta the types are
    # 0.2 and 0.45 (with probability p_low), and the optimum is max(0.2, p_low * 0.45)
    r = solve(market(ir.Discrete(values=(0.55, 0.8), probs=(p_low, 1 - p_low))))
    assert r.claim["revenue"] == pytest.approx(max(0.2, p_low * 0.45), abs=1e-6)
    assert r.claim["revenue"] == pytest.approx(expected, abs=1e-6)


def test_uniform_beliefs_flat_price():
    K = 200
    r = solve(market(ir.Uniform(low=0.0, high=1.0), grid=K), grid=K)
    rev = r.claim["revenue"]
    # full information at 1/4 earns 1/8 on U[0,1]; midpoint types shift values by at most 1/(2K)
    assert 0.125 <= rev <= 0.125 + 1 / (2 * K)
    assert rev == pytest.approx(0.125, abs=2e-3)
    informative = [g for g in r.mechanism.experiments_table() if g["informative"]]
    assert len(informative) == 1 and np.allclose(informative[0]["state_by_signal"], np.eye(2))
    assert r.stats["rounds"] <= 3
    assert r.stats["constraints_by_family"]["IC"] < r.stats["all_pairs_ic_constraints"]


def test_scale_types_full_information_price():
    # value types with a known prior 1/2: full information is worth v/2; the optimal price of
    # v/2 with v uniform on {0.2, 0.4, ..., 1} is a posted price on that grid
    vals = (0.2, 0.4, 0.6, 0.8, 1.0)
    t = ir.ScaleType(dist=ir.Discrete(values=vals, probs=(0.2,) * 5), prior=(0.5, 0.5))
    buyer = ir.Buyer(name="b", actions=("a0", "a1"), payoffs=((1.0, 0.0), (0.0, 1.0)), type=t)
    spec = ir.MarketSpec(name="s", states=("w0", "w1"), buyers=(buyer,), requirements=(ir.IC(), ir.IR(), ir.Obedience()),
                         objective=ir.Objective(terms=("revenue",), weights=(1.0,)))
    r = solve(spec)
    best = max(v / 2 * sum(1 for w in vals if w >= v) / 5 for v in vals)
    assert r.claim["revenue"] == pytest.approx(best, abs=1e-9)


def test_continuous_types_need_grid_and_round_trip(tmp_path):
    spec = market(ir.Beta(a=2.0, b=2.0))
    v = accepts("lp", spec)
    assert not v.ok and "continuous type priors" in v.reasons[0] and "grid" in v.hints[0]
    with pytest.raises(PlanError):
        solve(spec)
    r = solve(market(ir.Beta(a=2.0, b=2.0), grid=50), grid=50)
    path = r.mechanism.save(tmp_path / "dm")
    back = load_mechanism(path)
    assert isinstance(back, DataMarketMechanism)
    assert back.exact_check(None)["revenue"] == pytest.approx(r.claim["revenue"], abs=1e-12)
    E, p = back.allocate_and_pay(np.array([[0.31], [0.9]]))
    assert E.shape == (2, 1, 2, 2) and p.shape == (2, 1)
    assert "data market" in back.describe()


def test_exact_check_catches_a_bad_menu():
    # the low type's experiment recommends the wrong action in every state (price 0.1); the high
    # type's is full information at 0.3
    E = np.array([[[0, 1], [1, 0]], [[1, 0], [0, 1]]], float)
    m = DataMarketMechanism(["w0", "w1"], ["act0", "act1"], np.eye(2), "belief", np.array([0.2, 0.7]),
                            np.array([[0.8, 0.2], [0.3, 0.7]]), np.ones(2), np.array([0.5, 0.5]), E, np.array([0.1, 0.3]))
    c = m.exact_check(None)
    # obeying "act1" (sent in w0, joint probability 0.8 for the low type) loses 0.8
    assert c["max_obedience_violation"] == pytest.approx(0.8)
    # the low type is better off buying full information: 1 - 0.3 against 0 - 0.1
    assert c["max_ic_violation"] == pytest.approx(0.8)
    assert c["worst"]["type"] == 0.2 and c["worst"]["misreport"] == 0.7

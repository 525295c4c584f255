"""The eBay-style proxy auction: its price and closing rules, and rule-based bidders against
the exact expected revenue of truthful proxies (no model server needed)."""

from __future__ import annotations

import asyncio
import itertools

import numpy as np
import pytest
from auctionc import ir
from auctionc.backends.simulate.ebay import (
    DayView,
    EbayRules,
    expected_truthful_revenue,
    expected_truthful_revenue_discrete,
    play_ebay,
    truthful_outcome,
)
from test_simulate import ipv_spec, sim


def rules(**kw) -> EbayRules:
    base = dict(days=3, closing="hard", reserve=0.0, hidden_reserve=False, increments="flat", increment=1.0, start=0.0)
    return EbayRules(**{**base, **kw})


def test_proxy_price_flat_and_table():
    r = rules()
    assert r.price([0.0, 0.0, 0.0]) == (0.0, None)
    assert r.price([50.0, 0.0, 0.0]) == (0.0, 0)  # a lone bidder: the opening price
    assert r.price([50.0, 30.0, 0.0]) == (31.0, 0)  # second-highest plus the increment
    assert r.price([50.0, 49.5, 0.0]) == (50.0, 0)  # never above the leader's maximum
    assert r.price([40.0, 40.0, 10.0]) == (40.0, 0)  # a tie goes to the bidder listed first
    table = rules(increments="ebay", reserve=60.0)
    assert table.step(0.5) == 0.05 and table.step(3.0) == 0.25 and table.step(120.0) == 2.5
    assert table.price([130.0, 101.0]) == (103.5, 0)
    # eBay's reserve rule: a maximum that meets the reserve raises the price to it.
    assert table.price([70.0, 10.0]) == (60.0, 0)
    assert table.sold([70.0, 10.0], 60.0, 0) and not table.sold([59.0, 10.0], 11.0, 0)
    # The study's flat rule never raises the price to the reserve: a lone bidder is unsold.
    flat = rules(reserve=60.0)
    price, leader = flat.price([98.0, 0.0])
    assert (price, leader) == (0.0, 0) and not flat.sold([98.0, 0.0], price, leader)


def _play(r: EbayRules, plan: dict[tuple[int, int], float], n: int = 3):
    """Bidder i raises its maximum to plan[(day, i)] on that day."""

    async def act(i: int, view: DayView):
        amt = plan.get((view.day, i))
        return ("bid", amt, False) if amt is not None else ("hold", None, False)

    return asyncio.run(play_ebay(r, n, act, lambda day: list(range(n))))


def test_soft_close_extends_on_bids_before_the_last_day_only():
    # The fixture session of the study (seed 1399, values 66/31/98, reserve 60, 3 days planned):
    # bidding on day 2 extends the auction to 4 days; last-day snipes extend nothing.
    r = rules(days=3, closing="soft", reserve=60.0, hidden_reserve=True)
    state = _play(r, {(0, 0): 50.0, (1, 1): 31.0, (3, 2): 98.0, (3, 0): 66.0})
    assert state.days == 4
    assert state.outcome() == (2, 67.0)
    hard = _play(rules(days=3, closing="hard", reserve=60.0), {(0, 0): 50.0, (1, 1): 31.0})
    assert hard.days == 3
    # Any raise since the last extension extends once the next day would be the last; a raise
    # on the last day itself never does.
    snipe = _play(rules(days=3, closing="soft"), {(0, 0): 50.0, (3, 1): 60.0})
    assert snipe.days == 4 and snipe.outcome() == (1, 51.0)
    assert _play(rules(days=3, closing="soft"), {(2, 1): 60.0}).days == 3
    assert _play(rules(days=3, closing="soft"), {}).days == 3


def _brute_force_revenue(r: EbayRules, lo: int, hi: int, n: int) -> float:
    total = 0.0
    for vals in itertools.product(range(lo, hi + 1), repeat=n):
        winner, price = truthful_outcome(r, np.array(vals, float))
        total += price if winner is not None else 0.0
    return total / (hi - lo + 1) ** n


@pytest.mark.parametrize("kw", [{}, {"reserve": 4.0}, {"increments": "ebay", "reserve": 4.0}, {"increment": 2.0}])
def test_exact_truthful_revenue_matches_enumeration(kw):
    r = rules(**kw)
    assert expected_truthful_revenue_discrete(r, 0, 7, 3) == pytest.approx(_brute_force_revenue(r, 0, 7, 3), abs=1e-12)


def test_continuous_truthful_revenue_is_second_price_plus_increment():
    # U[0,1], n=2, increment d: E[min(v1, v2 + d)] = E[v2] + d - d^2 + d^3/3 (integrating the
    # joint density 2 on 0 < x < y < 1): 1/3 + 0.1 - 0.01 + 0.000333 for d = 0.1.
    r = rules(increment=0.1)
    got = expected_truthful_revenue(r, ir.Uniform(low=0, high=1), 2)
    assert got == pytest.approx(1 / 3 + 0.1 - 0.01 + 0.001 / 3, abs=1e-6)


def test_truthful_and_snipers_reach_the_same_outcomes(tmp_path):
    kw = dict(days=10, closing="soft", reserve=20.0, hidden_reserve=True, increment=1.0)
    def spec(agent: ir.Agent) -> ir.AuctionSpec:  # whole values as the study drew them: an exact theory
        s = ipv_spec("ebay", agent, rounds=300, seed=3, **kw)
        return s.model_copy(update={"simulate": s.simulate.model_copy(update={"draws": "python_random"})})

    truthful = sim(spec(ir.Truthful()), tmp_path / "t")
    snipers = sim(spec(ir.Sniper()), tmp_path / "s")
    for a, b in zip(truthful.records, snipers.records, strict=True):
        assert a.values == b.values and a.winner == b.winner and a.price == b.price
    # Truthful proxies bid on day 1, snipers on the last day: the timing metric tells them apart.
    assert truthful.behaviour["timing"] != snipers.behaviour["timing"]
    exact = expected_truthful_revenue_discrete(EbayRules.of(spec(ir.Truthful()).mechanism), 0, 99, 3)
    lo, hi = truthful.metrics["revenue"]["ci95"]
    assert lo < exact < hi, (exact, truthful.metrics["revenue"])
    assert truthful.theory["truthful_proxy_revenue"] == pytest.approx(exact)


def test_sniper_outside_ebay_is_refused(tmp_path):
    from auctionc.errors import PlanError

    with pytest.raises(PlanError) as e:
        sim(ipv_spec("second_price", ir.Sniper(), rounds=5), tmp_path)
    assert e.value.diagnostics[0].code == "E0809" and "eBay" in e.value.diagnostics[0].message


EBAY = """auction proxy {{
    items 1
    bidders 3 {{
        value ~ Uniform(0, 99)
        agent sniper
    }}
    mechanism ebay({options})
}}
"""


def test_ebay_options_parse():
    from auctionc import api

    spec = api.loads(EBAY.format(options='days = 10, closing = "soft", reserve = 60, hidden_reserve = true'))
    fmt = spec.mechanism
    assert (fmt.days, fmt.closing, fmt.reserve, fmt.hidden_reserve) == (10, "soft", 60.0, True)
    assert isinstance(spec.bidders[0].agent, ir.Sniper)
    # Options a format does not use stay out of its IR (and of the hash of older specs).
    assert "days" not in api.loads(EBAY.replace("mechanism ebay", "mechanism second_price").format(options="")
                                   ).mechanism.model_dump()


@pytest.mark.parametrize("options,needle", [("days = 0", "whole number from 1 to 20"), ("days = 2.5", "whole number"),
                                            ('closing = "sof"', "one of hard, soft"),
                                            ('increments = "table"', "one of flat, ebay")])
def test_ebay_option_errors_are_E0310(options, needle):
    from auctionc import api
    from auctionc.errors import SpecError

    with pytest.raises(SpecError) as e:
        api.loads(EBAY.format(options=options))
    d = e.value.diagnostics[0]
    assert d.code == "E0310" and needle in d.message


def test_compile_refuses_ebay():
    from auctionc import api
    from auctionc.errors import AuctionError

    spec = api.loads(EBAY.format(options="days = 3"))
    with pytest.raises(AuctionError) as e:
        api.compile(spec, backend="simulate")
    assert e.value.diagnostics[0].code == "E0808" and "day by day" in e.value.diagnostics[0].message


@pytest.mark.parametrize("increments,reserve", [("flat", 3.0), ("ebay", 4.5)])
def test_continuous_theory_equals_nested_quadrature_of_the_price_rule(increments, reserve):
    # the vectorised integral against scipy's adaptive quadrature of EbayRules.price itself,
    # the inner integral told where the price has kinks (x + increment, the reserve)
    from scipy import integrate

    r = rules(increments=increments, increment=1.0, reserve=reserve)
    hi = 10.0

    def inner(y: float, x: float) -> float:
        p, leader = r.price([y, x])
        return p if r.sold([y, x], p, leader) else 0.0

    def outer(x: float) -> float:  # two U[0, hi] values: joint density 2 / hi^2 on x < y
        kinks = [k for k in (x + r.step(x), reserve) if x < k < hi]
        return 2 / hi**2 * integrate.quad(inner, x, hi, args=(x,), points=kinks or None, epsabs=1e-10)[0]

    want, _ = integrate.quad(outer, 0, hi, points=[reserve, hi - 1.0], epsabs=1e-9, limit=200)
    got = expected_truthful_revenue(r, ir.Uniform(low=0, high=hi), 2)
    assert got == pytest.approx(want, rel=1e-6)

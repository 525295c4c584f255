"""Simulation backend with rule-based agents: theory reproduced, format rules, parsing,
cache keys, dry-run estimates and error messages (no model server needed)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from auctionc import ir
from auctionc.backends.simulate import replies, run_simulation
from auctionc.backends.simulate import rules as format_rules
from auctionc.backends.simulate.theory import (
    all_pay_bid,
    bne_threshold,
    crra_threshold,
    first_price_bid,
    info_model,
    third_price_bid,
)
from auctionc.errors import BackendError, PlanError
from auctionc.llm import reply_cache
from conftest import accepts, run_backend


def U(a: float, b: float) -> ir.ValueExpr:
    return ir.ValueExpr(terms=(ir.Draw(dist=ir.Uniform(low=a, high=b)),), coefs=(1.0,))


def ipv_spec(fmt: str = "first_price", agent: ir.Agent | None = ir.BNE(), n: int = 3, rounds: int = 15,
             integer: bool = False, hi: float = 99.0, seed: int = 1, agents: list | None = None, **kw) -> ir.AuctionSpec:
    bidders = tuple(
        ir.Bidder(name=f"bidder_{i + 1}", group="b", valuation=ir.Single(value=U(0, hi)),
                  agent=agents[i] if agents else agent)
        for i in range(n)
    )
    return ir.AuctionSpec(name="lab", items=("item",), bidders=bidders, mechanism=ir.Format(name=fmt, **kw),
                          simulate=ir.Simulate(rounds=rounds, seed=seed, integer_values=integer))


def cv_spec(fmt: str, n: int, eps: float, agent: ir.Agent, rounds: int, lo: float = 0.0, hi: float = 1000.0) -> ir.AuctionSpec:
    sig = ir.ValueExpr(terms=(ir.CommonRef(name="V"), ir.Draw(dist=ir.Uniform(low=-eps, high=eps))), coefs=(1.0, 1.0))
    val = ir.ValueExpr(terms=(ir.CommonRef(name="V"),), coefs=(1.0,))
    bidders = tuple(ir.Bidder(name=f"b{i}", valuation=ir.Single(value=val), signal=sig, agent=agent) for i in range(n))
    return ir.AuctionSpec(name="wallet", items=("item",), bidders=bidders,
                          common=(ir.CommonVar(name="V", dist=ir.Uniform(low=lo, high=hi)),),
                          mechanism=ir.Format(name=fmt), simulate=ir.Simulate(rounds=rounds, seed=3))


def sim(spec: ir.AuctionSpec, tmp_path: Path, **kw):
    return run_simulation(spec, out_dir=tmp_path, options={"report": False}, **kw)


# ---------------------------------------------------------------- theory


def test_closed_form_bids():
    d = ir.Uniform(low=0, high=99)
    v = np.array([10.0, 50.0, 90.0])
    np.testing.assert_allclose(first_price_bid(d, 3, v), 2 / 3 * v, rtol=1e-4)
    np.testing.assert_allclose(first_price_bid(d, 5, v), 4 / 5 * v, rtol=1e-4)
    np.testing.assert_allclose(third_price_bid(d, 4, v), 3 / 2 * v, rtol=1e-9)
    u = np.array([0.2, 0.5, 0.9])
    np.testing.assert_allclose(all_pay_bid(ir.Uniform(low=0, high=1), 3, u), 2 / 3 * u**3, atol=1e-6)
    # CRRA u = x^(1-r): (n-1)/(n-1+1-r) v for uniform priors.
    m = info_model(ipv_spec())
    np.testing.assert_allclose(crra_threshold(ir.Format(name="first_price"), m, v, 0.5), 2 / 2.5 * v, rtol=1e-3)
    # A reserve: E[max(r, Y) | Y < v] with Y ~ max of 2 U[0,1]: (2v^3/3 + r^3/3) / v^2.
    r, vv = 0.3, np.array([0.6])
    got = first_price_bid(ir.Uniform(low=0, high=1), 3, vv, reserve=r)
    np.testing.assert_allclose(got, (2 * vv**3 / 3 + r**3 / 3) / vv**2, rtol=1e-4)
    assert math.isnan(first_price_bid(ir.Uniform(low=0, high=1), 3, np.array([0.2]), reserve=r)[0])


def test_bne_first_price_revenue_is_49_5(tmp_path):
    res = sim(ipv_spec("first_price", rounds=3000), tmp_path)
    rev = res.metrics["revenue"]
    lo, hi = rev["ci95"]
    assert lo - 0.2 < 49.5 < hi + 0.2, rev
    assert res.metrics["efficiency"]["value"] == 1.0
    assert res.behaviour["bid_value_ratio"]["median"] == pytest.approx(2 / 3, abs=1e-3)


@pytest.mark.parametrize("fmt", ["all_pay", "third_price", "dutch"])
def test_revenue_equivalence(fmt, tmp_path):
    res = sim(ipv_spec(fmt, rounds=2000 if fmt != "dutch" else 500, increment=0.1), tmp_path)
    rev = res.metrics["revenue"]
    half = (rev["ci95"][1] - rev["ci95"][0]) / 2
    assert abs(rev["value"] - 49.5) < 1.5 * half + 0.3, rev


def test_truthful_second_price_always_efficient(tmp_path):
    res = sim(ipv_spec("second_price", ir.Truthful(), n=4, rounds=500, integer=True), tmp_path)
    assert res.metrics["efficiency"]["value"] == 1.0
    assert res.behaviour["share_at_value"]["value"] == 1.0
    for r in res.records:
        others = sorted(r.values, reverse=True)
        assert r.price == others[1]


def test_clock_matches_second_price_on_same_draws(tmp_path):
    sp = sim(ipv_spec("second_price", ir.Truthful(), rounds=300), tmp_path / "sp")
    ck = sim(ipv_spec("ascending_clock", ir.Truthful(), rounds=300, increment=0.5), tmp_path / "ck")
    for a, b in zip(sp.records, ck.records):
        assert a.values == b.values  # values never depend on the agents or the format
        if a.winner != b.winner:  # two values within one clock step: a draw between them
            assert abs(a.values[a.winner] - b.values[b.winner]) <= 0.5
        assert abs(b.price - a.price) <= 0.5 + 1e-9
    # Truthful drop-outs sit on the first clock level at or above the value.
    assert ck.behaviour["dropout_distance"]["mean"] <= 0.5


def test_naive_common_value_winner_loses_as_theory_says(tmp_path):
    eps = 10.0
    for n in (3, 5):
        res = sim(cv_spec("second_price", n, eps, ir.Truthful(), rounds=4000), tmp_path / str(n))
        wp = res.behaviour["winner_profit"]
        theory = -eps * (n - 3) / (n + 1)
        half = (wp["ci95"][1] - wp["ci95"][0]) / 2
        assert abs(wp["value"] - theory) < 1.3 * half + 0.05, (n, wp, theory)
        assert res.theory["naive_winner_profit"] == pytest.approx(theory)
    # Equilibrium bidders shade by eps(n-2)/n and stop losing.
    bne = sim(cv_spec("second_price", 5, eps, ir.BNE(), rounds=4000), tmp_path / "bne")
    assert bne.behaviour["winner_profit"]["value"] > 0.5


def test_announced_common_value_clock_uses_dropouts():
    m = info_model(cv_spec("ascending_clock", 3, 10.0, ir.BNE(), 1))
    fmt = ir.Format(name="ascending_clock")
    assert bne_threshold(fmt, m, np.array([500.0]))[0] == 500.0
    assert bne_threshold(fmt, m, np.array([500.0]), dropped=[490.0])[0] == 495.0


def test_mixed_population_and_crra(tmp_path):
    agents = [ir.BNE(), ir.CRRA(r=0.5), ir.RandomAgent()]
    res = sim(ipv_spec("first_price", agents=agents, rounds=400), tmp_path)
    bids = np.array([r.bids for r in res.records], float)
    vals = np.array([r.values for r in res.records])
    np.testing.assert_allclose(bids[:, 1] / vals[:, 1], 0.8, rtol=2e-3)
    assert (bids[:, 2] <= vals[:, 2] + 1e-12).all() and bids[:, 2].std() > 0
    # The risk-averse bidder outbids the risk-neutral one with the same value, so wins more.
    wins = np.bincount([r.winner for r in res.records], minlength=3)
    assert wins[1] > wins[0]


def test_seeded_runs_are_identical_and_values_do_not_depend_on_agents(tmp_path):
    a = sim(ipv_spec("first_price", ir.RandomAgent(), rounds=50, integer=True), tmp_path / "a")
    b = sim(ipv_spec("first_price", ir.RandomAgent(), rounds=50, integer=True), tmp_path / "b")
    c = sim(ipv_spec("first_price", ir.Truthful(), rounds=50, integer=True), tmp_path / "c")
    assert [r.bids for r in a.records] == [r.bids for r in b.records]
    assert [r.values for r in a.records] == [r.values for r in c.records]
    assert all(float(v).is_integer() for r in a.records for v in r.values)


def test_no_closed_form_is_a_plan_error(tmp_path):
    with pytest.raises(PlanError) as e:
        sim(ipv_spec("all_pay", ir.CRRA(r=0.3)), tmp_path)
    assert e.value.diagnostics[0].code == "E0809"
    with pytest.raises(PlanError) as e:
        sim(ipv_spec("posted_price"), tmp_path)
    assert e.value.diagnostics[0].code == "E0808"


# ---------------------------------------------------------------- format rules


def test_sealed_outcomes_realise_ties_and_agree_with_format_mechanism():
    spec = ipv_spec("second_price", n=3)
    fmt = spec.mechanism
    bids = np.array([[10.0, 30.0, 20.0], [30.0, 30.0, 5.0], [np.nan, 4.0, 2.0]])
    rng = np.random.default_rng(0)
    outs = format_rules.sealed_outcomes(fmt, spec, bids, lambda r: rng)
    assert (outs[0].winner, outs[0].price, outs[0].payments) == (1, 20.0, [0.0, 20.0, 0.0])
    assert outs[1].winner in (0, 1) and outs[1].price == 30.0 and sum(outs[1].payments) == 30.0
    assert (outs[2].winner, outs[2].price) == (1, 2.0)
    winners = {format_rules.sealed_outcomes(fmt, spec, bids[1:2], lambda r, s=s: np.random.default_rng(s))[0].winner
               for s in range(20)}
    assert winners == {0, 1}
    ap = ipv_spec("all_pay", n=3, entry_fee=1.0)
    out = format_rules.sealed_outcomes(ap.mechanism, ap, np.array([[10.0, 30.0, 0.0]]), lambda r: rng)[0]
    assert out.winner == 1 and out.payments == [11.0, 31.0, 0.0]


def test_clock_rules_ties_and_no_sale():
    import asyncio

    rules = format_rules.ClockRules(start=0.0, increment=1.0, max_ticks=20, descending=False)

    def play(thresholds, seed=0):
        async def decide(tick, price, active, log):
            return {i: price < thresholds[i] for i in active}
        return asyncio.run(format_rules.play_ascending(rules, len(thresholds), decide, np.random.default_rng(seed)))

    r = play([5, 9, 3])
    assert (r.winner, r.price, r.drops, r.ticks) == (1, 5.0, [5.0, None, 3.0], 6)
    r = play([7, 7, 2])
    assert r.winner in (0, 1) and r.price == 6.0  # both quit at 7: a draw at the last accepted price
    assert play([0, 0]).winner is None


# ---------------------------------------------------------------- LLM plumbing without a model


def test_parse_reply_json_tags_and_bounds():
    step = replies.make_step("combined", cot=False, bid_max=198)
    assert replies.parse_reply(step, '{"plan": "bid low", "bid": 42}') == {"plan": "bid low", "bid": 42.0}
    assert replies.parse_reply(step, '```json\n{"plan": "x", "bid": "$41.5"}\n```')["bid"] == 41.5
    assert replies.parse_reply(step, "I think <plan>shade</plan> <bid>$30</bid>") == {"plan": "shade", "bid": 30.0}
    assert replies.parse_reply(step, '{"plan": "x", "bid": 5000}') is None  # over the schema's maximum
    assert replies.parse_reply(step, "no idea") is None
    clock = replies.make_step("clock", cot=False, bid_max=10)
    assert replies.parse_reply(clock, '{"decision": "Stay"}') == {"decision": "stay"}
    assert replies.parse_reply(clock, '{"decision": "maybe"}') is None
    assert replies.make_step("bid", cot=False, bid_max=198, integer=True).schema["properties"]["bid"]["type"] == "integer"


def test_cache_keys_separate_replicates(tmp_path):
    msgs = [{"role": "user", "content": "same state"}]
    rep = {"experiment": "lab:seed1", "auction": 0, "round": 2, "bidder": 1, "tick": -1, "step": "bid", "attempt": 0}
    k1 = reply_cache.cache_key("m", {"temperature": 0.5}, msgs, rep)
    assert k1 != reply_cache.cache_key("m", {"temperature": 0.5}, msgs, {**rep, "round": 3})
    assert k1 != reply_cache.cache_key("m", {"temperature": 0.7}, msgs, rep)
    cache = reply_cache.ResponseCache(tmp_path / "c.sqlite")
    cache.put(k1, "m", '{"bid": 3}', 10, 2, 0.001, 0.5)
    assert cache.get(k1)["content"] == '{"bid": 3}' and cache.get("nope") is None
    cache.close()


def test_dry_run_counts_seed_experiment_calls(tmp_path):
    spec = ipv_spec("first_price", ir.LLMAgent(model="gpt-4o-mini"), rounds=15, integer=True)
    res = run_simulation(spec, dry_run=True, out_dir=tmp_path)
    # 3 bidders x (plan + bid per round + a reflection from round 2): the seed's 132 calls.
    assert res.dry_run["calls"] == 132
    assert 0 < res.dry_run["cost_usd"] < 0.5
    assert res.calls["model_calls"] == 0
    assert not (tmp_path / "transcript.jsonl").exists()


def test_missing_api_key_is_E0801(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    spec = ipv_spec("first_price", ir.LLMAgent(model="gpt-4o-mini"), rounds=1)
    with pytest.raises(BackendError) as e:
        run_simulation(spec, out_dir=tmp_path)
    d = e.value.diagnostics[0]
    assert d.code == "E0801" and "OPENAI_API_KEY" in d.message and d.help


def test_unreachable_local_server_is_E0804(tmp_path):
    from auctionc.llm.local_server import free_port

    spec = ipv_spec("first_price", ir.LLMAgent(), rounds=1)
    with pytest.raises(BackendError) as e:
        run_simulation(spec, llm=True, api_base=f"http://127.0.0.1:{free_port()}/v1", out_dir=tmp_path,
                       options={"api_retries": 0, "timeout": 5})
    assert e.value.diagnostics[0].code == "E0804"
    assert "serve-model" in e.value.diagnostics[0].help


# ---------------------------------------------------------------- backend and report


def test_backend_import_is_light_and_accepts():
    code = ("import sys; import auctionc.backends.simulate.backend as b; "
            "print(any(m in sys.modules for m in ('litellm', 'torch')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

    assert accepts("simulate", ipv_spec()).ok
    no_sim = ipv_spec().model_copy(update={"simulate": None, "bidders": tuple(
        b.model_copy(update={"agent": None}) for b in ipv_spec().bidders)})
    v = accepts("simulate", no_sim)
    assert not v.ok and "nothing to simulate" in v.reasons[0]


def test_backend_compile_returns_format_mechanism(tmp_path):
    res = run_backend("simulate", ipv_spec("second_price", ir.Truthful(), rounds=20), {}, seed=4, out_dir=tmp_path)
    alloc, pay = res.mechanism.allocate_and_pay(np.array([[[1.0], [3.0], [2.0]]]))
    assert pay[0, 1] == 2.0 and res.stats["metrics"]["efficiency"]["value"] == 1.0
    assert Path(res.files["report"]).exists() and Path(res.files["plot"]).exists()


def test_report_and_json_keys(tmp_path):
    res = run_simulation(ipv_spec("second_price", ir.Truthful(), rounds=30, integer=True), out_dir=tmp_path)
    doc = res.to_json()
    for key in ("metrics", "calls", "behaviour", "transcript_path", "report_path"):
        assert key in doc
    assert doc["calls"]["model_calls"] == 0
    md = Path(doc["report_path"]).read_text()
    assert "GPT-4o (Shah et al. 2025)" in md and "| efficiency | 100.0% [" in md
    assert (tmp_path / "bids.png").stat().st_size > 1000
    assert json.loads((tmp_path / "result.json").read_text())["format"] == "second_price"

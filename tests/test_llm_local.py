"""End to end against a real model: llama.cpp's OpenAI-compatible server (xllamacpp)
serving SmolLM2-135M on a loopback port, reached through litellm.  Set up with
``tests/setup_local_llm.sh``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from auctionc import ir
from auctionc.backends.simulate import run_simulation
from auctionc.llm.local_server import find_local_gguf, free_port, server_reachable

pytestmark = pytest.mark.llm


@pytest.fixture(scope="session")
def api_base():
    try:
        import xllamacpp  # noqa: F401
    except ImportError:
        pytest.skip("xllamacpp is not installed: run tests/setup_local_llm.sh")
    if find_local_gguf() is None:
        pytest.skip("the SmolLM2 GGUF is not installed: run tests/setup_local_llm.sh")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "auctionc.llm.local_server", "--port", str(port), "--threads", "2"],  # pytest waits on it
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ},
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    while not server_reachable(base, timeout=0.5):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            pytest.fail(f"the local model server did not start: {err}")
        time.sleep(0.3)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def U(a: float, b: float) -> ir.ValueExpr:
    return ir.ValueExpr(terms=(ir.Draw(dist=ir.Uniform(low=a, high=b)),), coefs=(1.0,))


def spec(fmt: str = "first_price", hi: float = 99, rounds: int = 2, **kw) -> ir.AuctionSpec:
    bidders = tuple(ir.Bidder(name=f"bidder_{i + 1}", group="b", valuation=ir.Single(value=U(0, hi)),
                              agent=ir.LLMAgent()) for i in range(3))
    return ir.AuctionSpec(name="lab", items=("item",), bidders=bidders, mechanism=ir.Format(name=fmt, **kw),
                          simulate=ir.Simulate(rounds=rounds, seed=7, integer_values=True,
                                               options={"steps": "combined", "report": False}))


def run(base: str, out: Path, s: ir.AuctionSpec | None = None, **kw):
    return run_simulation(s or spec(), llm=True, api_base=base, out_dir=out, progress=False, **kw)


def bids(res):
    return [(r.values, r.bids, r.winner, r.price) for r in res.records]


@pytest.fixture(scope="session")
def first_run(api_base, tmp_path_factory):
    out = tmp_path_factory.mktemp("fp")
    return out, run(api_base, out)


def test_first_price_plays_and_logs(first_run):
    out, res = first_run
    assert res.complete and len(res.records) == 2
    c = res.calls
    assert c["model_calls"] >= 6 and c["cache_hits"] == 0  # 3 bidders x 2 rounds, plus any re-asks
    logged = [json.loads(x) for x in Path(res.transcript_path).read_text().splitlines()]
    # A slow local model can time out; each failed attempt is logged with its error and
    # retried, and only answered calls count as model calls.
    lines = [x for x in logged if "error" not in x]
    assert all(x["api_attempt"] >= 0 for x in logged if "error" in x)
    assert len(lines) == c["model_calls"]
    for line in lines:
        for key in ("messages", "raw", "parsed", "prompt_tokens", "completion_tokens", "cost_usd", "latency_s",
                    "cache_hit", "retry", "round", "bidder", "tick", "attempt"):
            assert key in line
        assert line["prompt_tokens"] > 0 and line["cache_hit"] is False
    # Structured replies: what parsed is what was bid.
    parsed = {(x["round"], x["bidder"]): x["parsed"]["bid"] for x in lines if x["parsed"]}
    for r in res.records:
        for i, b in enumerate(r.bids):
            if b is not None:
                assert parsed[(r.round, i)] == b
    # The realised outcome follows first-price rules.
    for r in res.records:
        if r.winner is not None:
            assert r.price == r.bids[r.winner] == max(b for b in r.bids if b is not None)
    text = Path(res.transcript_path).read_text() + (out / "checkpoint.json").read_text()
    assert "sk-local" not in text and "api_key" not in text


def test_second_run_is_free_and_identical(api_base, first_run):
    out, first = first_run
    again = run(api_base, out)
    assert again.calls["model_calls"] == 0
    assert again.calls["cache_hits"] == first.calls["model_calls"]
    assert bids(again) == bids(first)


def test_fixed_seed_reproduces_without_cache(api_base, first_run, tmp_path):
    _, first = first_run
    fresh = run(api_base, tmp_path)
    assert fresh.calls["model_calls"] >= 6
    assert bids(fresh) == bids(first)


def test_budget_stop_then_resume_loses_and_repeats_nothing(api_base, first_run, tmp_path):
    _, first = first_run
    # Price the free local model so the budget bites after a few calls: the cap is hard, so a
    # call is made only while its worst case (prompt + 25% + max_tokens) fits what is left.
    opts = {"input_cost_per_token": 1e-5, "output_cost_per_token": 1e-5}
    part = run(api_base, tmp_path, concurrency=1, max_cost=0.02, options=opts)
    assert not part.complete and part.stop_reason == "max_cost"
    assert part.warnings[-1].code == "E0805"
    paid = part.calls["model_calls"]
    assert 1 <= paid < first.calls["model_calls"]
    assert part.calls["cost_usd"] <= 0.02
    rest = run(api_base, tmp_path, concurrency=1, resume=True, options=opts)
    assert rest.complete
    assert paid + rest.calls["model_calls"] == first.calls["model_calls"]
    assert bids(rest) == bids(first)
    lines = Path(rest.transcript_path).read_text().splitlines()
    assert len(lines) == first.calls["model_calls"]  # one line per call: none lost, none repeated
    assert sum(json.loads(x)["cost_usd"] > 0 for x in lines) == first.calls["model_calls"]


def test_clock_ticks_with_small_values(api_base, tmp_path):
    s = spec("ascending_clock", hi=3, rounds=1, increment=1.0)
    res = run(api_base, tmp_path, s)
    r = res.records[0]
    lines = [json.loads(x) for x in Path(res.transcript_path).read_text().splitlines()]
    # One call per active bidder per tick, the tick recorded with each.
    assert len(lines) == res.calls["model_calls"] >= 3
    assert {x["tick"] for x in lines} == set(range(r.ticks))
    assert all(x["parsed"]["decision"] in ("stay", "drop") for x in lines if x["parsed"])
    for i, d in enumerate(r.bids):
        if i != r.winner and d is not None:
            assert d in (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)
    if r.winner is not None:
        assert r.payments[r.winner] == r.price


def test_ebay_days_in_spanish_with_the_spec_agents_kept(api_base, tmp_path):
    # --llm keeps the spec's agent settings: these Spanish-speaking bidders stay Spanish.
    bidders = tuple(ir.Bidder(name=f"b{i}", valuation=ir.Single(value=U(0, 20)),
                              agent=ir.LLMAgent(model="openai/gpt-4o", language="es", currency="€", temperature=0.3))
                    for i in range(2))
    s = ir.AuctionSpec(name="proxy", items=("item",), bidders=bidders,
                       mechanism=ir.Format(name="ebay", days=2, closing="hard", reserve=5.0, hidden_reserve=True),
                       simulate=ir.Simulate(rounds=1, seed=1399, draws="python_random", options={"report": False}))
    res = run(api_base, tmp_path, s)
    r = res.records[0]
    assert r.values == [16.0, 7.0]  # Python's random for seed 1399 on U{0..20}, in the study's order
    lines = [json.loads(x) for x in Path(res.transcript_path).read_text().splitlines()]
    first = [x for x in lines if not x.get("retry") and "error" not in x]  # a timed-out attempt is logged, then retried
    assert len(first) == 4  # 2 bidders x 2 days, one turn a day
    system = first[0]["messages"][0]["content"]
    assert "español" in system and "€" in system and "subasta" in system.lower()
    assert first[0]["model"] != "openai/gpt-4o"  # --llm changed the model, and only the model
    assert all(x["messages"][-1]["content"] for x in first)
    # the outcome follows the proxy rules from the maximum bids the replies set
    maxes = [m or 0.0 for m in r.bids]
    if r.winner is not None:
        assert maxes[r.winner] == max(maxes) and r.price <= maxes[r.winner] and r.price >= 5.0

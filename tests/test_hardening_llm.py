"""The LLM path against a fake OpenAI-compatible server on loopback (``fake_openai``):
credentials follow the user and not the spec, every reply path (a schema the provider
enforces, free text, re-asks, provider errors), plain numbers only, a run with no valid action
fails, and the money cap is hard."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from auctionc import ir
from auctionc.backends.simulate import replies, run_simulation
from auctionc.errors import BackendError, PlanError
from auctionc.llm import call_budget, pricing
from auctionc.llm.endpoints import TRUST_ENV, is_loopback
from fake_openai import FakeServer

SECRET = "sk-test-SECRET-0123456789"
MODEL = "openai/fake-model"  # not in litellm's price table, no response-schema support


def U(a: float, b: float) -> ir.ValueExpr:
    return ir.ValueExpr(terms=(ir.Draw(dist=ir.Uniform(low=a, high=b)),), coefs=(1.0,))


def spec(fmt: str = "first_price", rounds: int = 2, api_base: str | None = None, **options) -> ir.AuctionSpec:
    agent = ir.LLMAgent(model=MODEL, api_base=api_base)
    bidders = tuple(ir.Bidder(name=f"bidder_{i + 1}", group="b", valuation=ir.Single(value=U(0, 99)), agent=agent)
                    for i in range(2))
    opts = {"steps": "combined", "report": False, "api_retries": 0, "timeout": 10, **options}
    return ir.AuctionSpec(name="lab", items=("item",), bidders=bidders, mechanism=ir.Format(name=fmt),
                          simulate=ir.Simulate(rounds=rounds, seed=3, integer_values=True, options=opts))


def run(s: ir.AuctionSpec, out: Path, **kw):
    return run_simulation(s, out_dir=out, progress=False, options=dict(s.simulate.options), **kw)


def bid_json(bid: float = 30) -> str:
    return json.dumps({"reflection": "it went fine", "plan": "shade a little", "bid": bid})


@pytest.fixture
def server():
    fake = FakeServer(lambda body, n: (200, bid_json()))
    yield fake
    fake.close()


@pytest.fixture(autouse=True)
def secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.delenv(TRUST_ENV, raising=False)
    monkeypatch.setenv("AUCTIONC_LLM_RATES", str(tmp_path / "rates.json"))  # a fake server's speed is no measurement


def _files_text(out: Path) -> str:
    return "".join(p.read_bytes().decode("utf-8", "replace") for p in out.rglob("*") if p.is_file())


# ---------------------------------------------------------------- credentials follow the user


def test_a_spec_endpoint_on_loopback_never_gets_the_environment_key(server, tmp_path):
    res = run(spec(api_base=server.url()), tmp_path)
    assert res.complete and res.calls["model_calls"] == 4
    assert server.requests and not server.seen(SECRET)
    auth = {r["headers"].get("authorization") for r in server.requests}
    assert auth == {"Bearer sk-local-no-key"}
    assert SECRET not in _files_text(tmp_path)  # transcript, cache, checkpoint, result


def test_a_spec_endpoint_elsewhere_is_refused_before_any_call(server, tmp_path):
    s = spec(api_base="http://192.0.2.10:8080/v1")  # TEST-NET: a host the user never named
    with pytest.raises(PlanError) as e:
        run(s, tmp_path)
    d = e.value.diagnostics[0]
    assert d.code == "E0812" and "192.0.2.10" in d.message
    assert "--api-base http://192.0.2.10:8080/v1" in d.help and TRUST_ENV in d.help
    assert not server.requests


def _lan_address() -> str | None:
    """This machine's address on a non-loopback interface, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") or addr == "0.0.0.0" else addr


@pytest.mark.parametrize("how", ["cli", "allow_list"])
def test_an_endpoint_the_user_trusts_gets_the_key(how, tmp_path, monkeypatch):
    addr = _lan_address()
    if addr is None:
        pytest.skip("no non-loopback interface to reach the fake server by")
    fake = FakeServer(lambda body, n: (200, bid_json()), host="0.0.0.0")
    try:
        url = fake.url(addr)
        assert not is_loopback(url)
        if how == "cli":
            res = run(spec(), tmp_path, llm=True, model=MODEL, api_base=url)
        else:
            monkeypatch.setenv(TRUST_ENV, f"http://other.example/v1, {url}/")
            res = run(spec(api_base=url), tmp_path)
        assert res.complete
        assert {r["headers"].get("authorization") for r in fake.requests} == {f"Bearer {SECRET}"}
        assert SECRET not in _files_text(tmp_path)
    finally:
        fake.close()


@pytest.mark.parametrize("url,loop", [
    ("http://127.0.0.1:8080/v1", True), ("http://127.1/v1", True), ("http://127.255.0.9/", True),
    ("http://2130706433/v1", True), ("http://0x7f000001/v1", True), ("http://0177.0.0.1/", True),
    ("http://localhost/v1", True), ("http://LOCALHOST./v1", True), ("https://[::1]:9/v1", True),
    ("http://[::ffff:127.0.0.1]/v1", True), ("http://[::ffff:7f00:1]/v1", True),
    ("http://127.0.0.1.evil.example/v1", False), ("http://evil.example/?h=127.0.0.1", False),
    ("http://127.0.0.1@evil.example/", False), ("http://localhost.evil.example/", False),
    ("http://10.0.0.1/", False), ("http://0.0.0.0/", False), ("http://[::2]/", False), ("ftp://127.0.0.1/", False),
    ("not a url", False), (None, False),
])
def test_loopback_by_parsed_address(url, loop):
    assert is_loopback(url) is loop


# ---------------------------------------------------------------- every reply path


def test_structured_replies_send_the_schema(server, tmp_path):
    res = run(spec(api_base=server.url(), response_format="json_schema"), tmp_path)
    assert res.complete and all(b == 30.0 for r in res.records for b in r.bids)
    fmt = server.requests[0]["body"]["response_format"]
    assert fmt["type"] == "json_schema" and "bid" in fmt["json_schema"]["schema"]["properties"]


@pytest.mark.parametrize("steps", ["separate", "combined"])
def test_free_text_replies_in_every_step(steps, tmp_path):
    """Models without response schemas (the sealed-bid turn crashed with KeyError 'decision'
    before sending anything): tags are asked for and read."""
    def reply(body, n):
        last = body["messages"][-1]["content"]
        if "<bid>" in last:
            head = "<reflection>fine</reflection>" if "<reflection>" in last else ""
            return 200, head + "<plan>bid low</plan> I bid <bid>$21</bid>" if "<plan>" in last else "<bid>21</bid>"
        return 200, "<reflection>fine</reflection><plan>bid low</plan>" if "<reflection>" in last else "<plan>x</plan>"

    fake = FakeServer(reply)
    try:
        res = run(spec(api_base=fake.url(), response_format="text", steps=steps), tmp_path)
    finally:
        fake.close()
    assert "response_format" not in fake.requests[0]["body"]
    assert res.complete and all(b == 21.0 for r in res.records for b in r.bids)


def test_clock_decisions_in_free_text(tmp_path):
    fake = FakeServer(lambda body, n: (200, "<decision>drop</decision>"))
    try:
        s = spec("ascending_clock", rounds=1, api_base=fake.url(), response_format="text")
        res = run(s, tmp_path)
    finally:
        fake.close()
    assert res.complete and res.records[0].ticks == 1


@pytest.mark.parametrize("bad", ['{"plan": "x", "bid": "1e9"}', '{"plan": "x", "bid": "between 10 and 90"}',
                                 '{"plan": "x", "bid": "\u0663\u0660"}', '{"plan": "x", "bid": "30 or 40"}',
                                 "<plan>x</plan><bid>1e1</bid>", '{"plan": "x", "bid": "NaN"}'])
def test_numbers_that_are_not_plain_are_refused_and_re_asked(bad, tmp_path):
    def reply(body, n):
        reminded = any("nothing else" in m["content"] or "format" in m["content"].lower()
                       for m in body["messages"][2:] if m["role"] == "user")
        return 200, bid_json(25) if reminded else bad

    fake = FakeServer(reply)
    try:
        res = run(spec(api_base=fake.url(), rounds=1), tmp_path)
    finally:
        fake.close()
    assert res.complete and res.records[0].bids == [25.0, 25.0]
    assert res.calls["failed_parses"] == 2 and len(fake.requests) == 4


def test_plain_numbers_parse():
    step = replies.make_step("combined", cot=False, bid_max=198)
    for text, bid in [('{"plan": "p", "bid": "$41.5"}', 41.5), ('{"plan": "p", "bid": " 42 "}', 42.0),
                      ('{"plan": "p", "bid": 7}', 7.0), ("<plan>p</plan><bid>€1,05</bid>", None),
                      ("<plan>p</plan><bid>1,050</bid>", None), ('{"plan": "p", "bid": "-3"}', None)]:
        got = replies.parse_reply(step, text)
        assert (got["bid"] if got else None) == bid, text


def test_parsing_is_linear_in_a_huge_reply():
    """A 200,000-character reply of unclosed braces, fences and tags (the regular
    expressions took minutes on it) is read in bounded time and refused."""
    step = replies.make_step("combined", cot=False, bid_max=198)
    for bomb in ("{" * 200_000, "```" * 70_000, "<bid>" * 40_000, '{"a":' * 40_000 + "1", "<plan>" + "{" * 199_990):
        assert replies.parse_reply(step, bomb) is None


def test_no_valid_action_fails_the_run(tmp_path):
    fake = FakeServer(lambda body, n: (200, "I would rather not say."))
    try:
        res = run(spec(api_base=fake.url(), rounds=1, parse_retries=1), tmp_path)
    finally:
        fake.close()
    assert not res.complete and res.stop_reason == "no_valid_action"
    assert res.warnings[-1].code == "E0814"
    assert json.loads((tmp_path / "result.json").read_text())["complete"] is False


def test_cli_exits_non_zero_when_no_action_is_valid(tmp_path):
    from auctionc.cli import app
    from typer.testing import CliRunner

    fake = FakeServer(lambda body, n: (200, "no"))
    text = ("auction lab { items 1 bidders 2 { value ~ Uniform(0, 99)  agent llm(model = \"openai/fake-model\") }\n"
            "  mechanism first_price  simulate { rounds 1  parse_retries 0  api_retries 0  report false } }\n")
    path = tmp_path / "lab.auction"
    path.write_text(text)
    try:
        r = CliRunner().invoke(app, ["simulate", str(path), "--api-base", fake.url(), "--out", str(tmp_path / "o"),
                                     "--json", "-q"])
    finally:
        fake.close()
    assert r.exit_code == 1, r.output
    assert '"stop_reason": "no_valid_action"' in r.stdout


@pytest.mark.parametrize("status,code", [(401, "E0801"), (400, "E0806"), (429, "E0802"), (500, "E0803")])
def test_provider_errors_become_diagnostics(status, code, tmp_path):
    fake = FakeServer(lambda body, n: (status, "nope"))
    try:
        with pytest.raises(BackendError) as e:
            run(spec(api_base=fake.url(), rounds=1), tmp_path)
    finally:
        fake.close()
    assert e.value.diagnostics[0].code == code
    assert not fake.seen(SECRET)


# ---------------------------------------------------------------- budgets


def test_an_unpriced_model_under_max_cost_is_refused_before_any_call(server, tmp_path):
    with pytest.raises(BackendError) as e:
        run(spec(api_base=server.url()), tmp_path, max_cost=1.0)
    d = e.value.diagnostics[0]
    assert d.code == "E0813" and MODEL in d.message and "--max-calls" in d.help
    assert not server.requests


def test_max_calls_bounds_an_unpriced_model(server, tmp_path):
    res = run(spec(api_base=server.url(), rounds=3), tmp_path, max_cost=1.0, max_calls=3, concurrency=4)
    assert not res.complete and res.stop_reason == "max_calls"
    assert len(server.requests) == 3 == res.calls["model_calls"]


def test_the_cost_cap_is_hard_with_calls_in_flight(tmp_path, monkeypatch):
    """A call is dispatched only when its worst case, with every call in flight, fits: with a
    budget of 2.2 worst-case calls and four allowed at once, never more than two run, and
    what is spent stays within the budget."""
    monkeypatch.setattr(call_budget, "count_tokens", lambda model, msgs: 100)
    price = 1e-4
    worst = (100 * call_budget.PROMPT_MARGIN + 32 + 200) * price  # 200: max_tokens of a plain combined step
    fake = FakeServer(lambda body, n: (200, bid_json()), delay=0.3)
    try:
        s = spec(api_base=fake.url(), rounds=4, input_cost_per_token=price, output_cost_per_token=price)
        res = run(s, tmp_path, max_cost=2.2 * worst, concurrency=4)
    finally:
        fake.close()
    assert not res.complete and res.stop_reason == "max_cost"
    assert fake.max_in_flight == 2
    assert res.calls["model_calls"] == len(fake.requests)
    assert 0 < res.calls["cost_usd"] <= 2.2 * worst


def test_a_spec_price_cannot_make_a_priced_model_free():
    table = pricing.price_per_token("openai/gpt-4o-mini")
    assert table is not None and table[0] > 0
    assert pricing.price_per_token("openai/gpt-4o-mini", (0.0, 0.0)) == table
    assert pricing.price_per_token(MODEL, (1e-6, 2e-6)) == (1e-6, 2e-6)


@pytest.mark.parametrize("setting,limit", [("parse_retries 50", "between 0 and 10"), ("api_retries 11", "between 0 and 10"),
                                           ("timeout 100000", "between 1 and 600"), ("max_tokens 1000000", "between 8 and 8192")])
def test_spec_settings_cannot_pass_the_limits(setting, limit):
    from auctionc.frontend import diagnose_text

    text = ("auction lab { items 1 bidders 2 { value ~ Uniform(0, 99)  agent truthful }\n"
            f"  mechanism first_price  simulate {{ rounds 1  {setting} }} }}\n")
    spec_, diags = diagnose_text(text)
    assert spec_ is None and diags[0].code == "E0604" and limit in diags[0].message


def test_prompt_file_from_the_spec_folder_reaches_the_model(server, tmp_path):
    from auctionc.frontend import load_file

    (tmp_path / "nudge.txt").write_text("Bid boldly today.")
    (tmp_path / "lab.auction").write_text(
        "auction lab { items 1 bidders 2 { value ~ Uniform(0, 99)\n"
        f'  agent llm(model = "openai/fake-model", prompt = "nudge.txt", api_base = "{server.url()}") }}\n'
        "  mechanism first_price  simulate { rounds 1  steps \"combined\"  report false } }\n")
    s = load_file(tmp_path / "lab.auction")
    res = run_simulation(s, out_dir=tmp_path / "out", progress=False)
    assert res.complete and server.seen("Bid boldly today.")
    # the same spec as JSON (an artifact's spec.json) carries no file text: refused, not read
    again = ir.SpecDocument.model_validate_json(json.dumps({"spec": s.model_dump(mode="json")})).spec
    with pytest.raises(BackendError) as e:
        run_simulation(again, out_dir=tmp_path / "out2", progress=False)
    assert e.value.diagnostics[0].code == "E0808"


def test_more_rounds_reuse_the_earlier_rounds_calls(server, tmp_path):
    """Values are drawn in fixed blocks and prompts do not name the number of rounds, so a
    longer rerun of a finished experiment replays the earlier rounds from the cache."""
    cache = tmp_path / "replies.sqlite"
    short = run(spec(api_base=server.url(), rounds=2), tmp_path / "a", cache_path=cache)
    asked = len(server.requests)
    longer = run(spec(api_base=server.url(), rounds=3), tmp_path / "b", cache_path=cache)
    assert short.calls["model_calls"] == asked == 4  # 2 bidders x 2 rounds, one combined call each
    assert longer.calls["cache_hits"] == 4 and longer.calls["model_calls"] == 2 == len(server.requests) - asked
    assert [r.values for r in longer.records[:2]] == [r.values for r in short.records]
    assert [r.bids for r in longer.records[:2]] == [r.bids for r in short.records]

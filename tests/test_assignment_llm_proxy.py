"""The LLM proxy without a model: a fake engine checks how votes are asked, swapped and
counted; a fake OpenAI-compatible server on loopback (``fake_openai``) answers through the
real engine (auctionc.llm), so the cache, the transcript, the hard budget, the dry run and
the diagnostics are those of a real run."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
import torch
from auctionc import api
from auctionc.backends.assignment.descriptions import course_titles
from auctionc.backends.assignment.llm_proxy import LLMSession, ProxySettings
from auctionc.backends.assignment.preferences import generate_instance
from auctionc.backends.assignment.proxies import Query
from auctionc.backends.assignment.schedules import enumerate_schedules
from auctionc.errors import AuctionError
from auctionc.frontend import load_text
from auctionc.llm import CallStats, read_reply
from fake_openai import FakeServer

SPEC = """assignment tiny {{
    courses 8
    students 4 {{
        demand 3
        preferences simulator(popular = 4)
        proxy llm(model = "openai/fake", votes = 3, reasoning = "plain", api_base = "{base}")
    }}
    mechanism course_match
    simulate {{ instances 1 queries 2 curve 1 epochs 30 query_epochs 10 }}
}}"""
CALLS = 4 * 2 * 3  # students x queries x votes


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class FakeEngine:
    """``LLMEngine``'s interface (``ask``, ``stats``) with a reply function in place of a model."""

    def __init__(self, reply):
        self.reply = reply
        self.stats = CallStats()
        self.asked: list[tuple[list[dict[str, str]], dict]] = []

    async def ask(self, cfg, messages, *, schema, name, replicate, parse=None, instruction=None, reminder=None):
        self.asked.append((messages, replicate))
        self.stats.model_calls += 1
        await asyncio.sleep(0)
        read = parse or (lambda raw: read_reply(schema, raw))  # the engine's default reader
        return read(self.reply(messages, replicate)), messages


def _proxy(reply, votes: int):
    spec = load_text(SPEC.format(base="http://127.0.0.1:9/v1"))
    inst = generate_instance(spec, 0)
    sch = enumerate_schedules(8, 3, inst.conflict, 10**6)
    engine = FakeEngine(reply)
    session = LLMSession(engine, None, ProxySettings(votes, "plain", "qualitative", 0.0, True), run="tiny")
    return session, session.proxy_for(inst, 0, sch), engine, sch


def _schedule(text: str, which: str) -> str:
    return re.search(rf"Schedule {which}: (.*)", text).group(1)  # type: ignore[union-attr]


def test_votes_alternate_the_order_so_a_model_that_always_says_a_splits_its_votes() -> None:
    session, proxy, engine, sch = _proxy(lambda m, r: '{"preferred": "A", "confidence": 0.9, "evidence": ""}', 3)
    with session:
        (ans,) = proxy.answer([Query(1, sch.index_of((0, 1)), sch.index_of((2,)))])
    # votes 0 and 2 show the first schedule as A, vote 1 shows it as B
    assert (ans.votes_first, ans.votes, ans.shown_first, ans.confidence) == (2, 3, 3, pytest.approx(0.9))
    assert ans.prefers_first and ans.agreement == pytest.approx(2 / 3)
    shown = [(_schedule(m[-1]["content"], "A"), r["vote"]) for m, r in engine.asked]
    assert shown == [("Corporate Finance, Negotiations", 0), ("Marketing Strategy", 1),
                     ("Corporate Finance, Negotiations", 2)]
    # every vote is its own draw: the engine seeds and caches each under this id
    assert {json.dumps(r, sort_keys=True) for _, r in engine.asked} == {json.dumps(
        {"run": "tiny:seed0", "student": 1, "first": sch.index_of((0, 1)), "second": sch.index_of((2,)), "vote": v},
        sort_keys=True) for v in range(3)}
    assert proxy.usage()["calls"] == 3


def test_unreadable_replies_are_not_votes_and_a_query_without_votes_trains_nothing() -> None:
    def reply(messages, rep):
        return "I cannot decide." if rep["student"] == 0 or rep["vote"] == 1 else '{"preferred": "B"}'

    session, proxy, _, sch = _proxy(reply, 3)
    with session:
        none, some = proxy.answer([Query(0, 1, 2), Query(2, 1, 2)])
    assert (none.votes, none.answered, none.share_first, none.agreement) == (0, False, 0.5, 0.0)
    assert (some.votes, some.votes_first, some.prefers_first) == (2, 0, False)
    assert proxy.usage()["unreadable_votes"] == 4


def _model(body, n):
    """A stand-in model: prefers the schedule with more courses the description likes, and
    fills in the interface with 80 for those and 20 for the others."""
    user = body["messages"][-1]["content"]
    liked = " ".join(s for s in re.split(r"(?<=\.) ", user.split('"""')[1]) if s.startswith(("I really", "I like")))
    if "course-ranking interface" in user:
        rows = re.findall(r"- (course_\d+): (.*)", user)
        return 200, json.dumps({name: 80 if title in liked else 20 for name, title in rows})
    score = {k: sum(t.strip() in liked for t in _schedule(user, k).split(",")) for k in "AB"}
    return 200, json.dumps({"preferred": "A" if score["A"] >= score["B"] else "B", "confidence": 0.8,
                            "evidence": "I like"})


@pytest.fixture
def server():
    fake = FakeServer(_model)
    yield fake
    fake.close()


def test_a_run_through_the_engine_is_counted_cached_and_predicted_by_the_dry_run(server, tmp_path: Path) -> None:
    spec = load_text(SPEC.format(base=server.url()))
    dry = api.simulate(spec, out_dir=tmp_path / "dry", dry_run=True).to_json()["dry_run"]
    assert dry["model_calls"] == dry["llm"]["calls"] == CALLS and not server.requests
    res = api.simulate(spec, out_dir=tmp_path / "a", max_calls=100).to_json()
    assert res["complete"] and res["calls"]["model_calls"] == CALLS == len(server.requests)
    assert res["llm"]["retries"] == 0 and res["calls"]["unreadable_votes"] == 0
    # the loopback server gets the reply schema and no key of the user's
    assert server.requests[0]["body"]["response_format"]["json_schema"]["schema"]["required"] == [
        "preferred", "confidence", "evidence"]
    lines = (tmp_path / "a" / "transcript.jsonl").read_text().splitlines()
    assert len(lines) == CALLS and all(json.loads(x)["step"] == "compare" for x in lines)
    m = res["metrics"]
    assert m["calls_per_student"]["value"] == 2 * 3 and m["proxy_answered_share"]["value"] == 1.0
    assert 0 <= m["proxy_consistency"]["value"] <= 1 and m["proxy_confidence"]["value"] == pytest.approx(0.8)
    again = api.simulate(spec, out_dir=tmp_path / "a").to_json()
    assert again["calls"]["model_calls"] == 0 and again["calls"]["cache_hits"] == CALLS
    assert len(server.requests) == CALLS and again["metrics"]["efficiency"] == m["efficiency"]


def test_a_spent_budget_stops_cleanly_and_a_resumed_run_makes_only_the_missing_calls(server, tmp_path: Path) -> None:
    spec = load_text(SPEC.format(base=server.url()))
    part = api.simulate(spec, out_dir=tmp_path / "a", max_calls=10).to_json()
    assert not part["complete"] and part["stop_reason"] == "max_calls" and part["instances"] == 1
    assert part["per_instance"] == [] and part["llm"]["model_calls"] <= 10
    assert part["warnings"][0]["code"] == "E0805"
    made = len(server.requests)
    done = api.simulate(spec, out_dir=tmp_path / "a", resume=True, max_calls=100).to_json()
    assert done["complete"] and done["llm"]["cache_hits"] == made
    assert len(server.requests) == CALLS and done["llm"]["model_calls"] == CALLS - made


def test_the_model_can_fill_in_the_interface_report_too(server, tmp_path: Path) -> None:
    spec = load_text(SPEC.format(base=server.url()).replace('reasoning = "plain"', 'reasoning = "plain", interface = true'))
    assert spec.students.proxy.interface is True
    dry = api.simulate(spec, out_dir=tmp_path / "dry", dry_run=True).to_json()["dry_run"]
    # one interface call per student and vote, on top of the comparison queries
    assert dry["interface_calls"] == 4 * 3 and dry["model_calls"] == dry["llm"]["calls"] == CALLS + 12
    res = api.simulate(spec, out_dir=tmp_path / "a").to_json()
    assert res["complete"] and len(server.requests) == res["llm"]["model_calls"] == CALLS + 12
    steps = [json.loads(x)["step"] for x in (tmp_path / "a" / "transcript.jsonl").read_text().splitlines()]
    assert steps.count("interface") == 12 and steps.count("compare") == CALLS
    schema = next(r["body"] for r in server.requests if r["body"]["response_format"]["json_schema"]["name"] ==
                  "interface")["response_format"]["json_schema"]["schema"]
    assert schema["required"] == [f"course_{k}" for k in range(1, 9)]
    assert res["per_instance"][0]["proxy"]["unreadable_report_votes"] == 0


def test_interface_votes_are_combined_by_their_median_per_course() -> None:
    def reply(messages, rep):
        return json.dumps({f"course_{k}": 10 * rep["vote"] + k for k in range(1, 9)})

    session, proxy, engine, _ = _proxy(reply, 3)
    with session:
        reports = proxy.interface_reports()
    assert len(reports) == 4 and len(engine.asked) == 12
    assert list(reports[0].base) == [10 + k for k in range(1, 9)] and reports[0].sets == []


def test_a_model_whose_replies_cannot_be_read_fails_the_run(tmp_path: Path) -> None:
    fake = FakeServer(lambda body, n: (200, "Schedule A, clearly."))
    try:
        res = api.simulate(load_text(SPEC.format(base=fake.url())), out_dir=tmp_path / "a").to_json()
    finally:
        fake.close()
    assert not res["complete"] and res["stop_reason"] == "no_readable_reply"
    # each vote was asked three times (two re-asks with the reminder)
    assert res["warnings"][0]["code"] == "E0850" and res["llm"]["failed_parses"] == res["llm"]["model_calls"] == 3 * CALLS
    assert res["calls"]["unreadable_votes"] == CALLS


def test_an_endpoint_only_the_spec_names_is_refused_before_any_call(tmp_path: Path) -> None:
    spec = load_text(SPEC.format(base="http://192.0.2.1:8000/v1"))
    with pytest.raises(AuctionError) as e:
        api.simulate(spec, out_dir=tmp_path / "a")
    assert e.value.diagnostics[0].code == "E0812"
    assert not (tmp_path / "a" / "llm_cache.sqlite").exists()


def test_descriptions_follow_the_seed_and_state_what_the_student_loves() -> None:
    _, proxy, _, _ = _proxy(lambda m, r: "", 1)
    _, again, _, _ = _proxy(lambda m, r: "", 1)
    assert proxy.descriptions == again.descriptions
    inst = generate_instance(load_text(SPEC.format(base="http://127.0.0.1:9/v1")), 0)
    titles = course_titles(8)
    j = next(j for j, p in enumerate(inst.students) if (p.base >= 75).any())
    loved = next(s for s in proxy.descriptions[j].split(". ") if s.startswith("I really want"))
    assert [t in loved for t in titles] == list(inst.students[j].base >= 75)

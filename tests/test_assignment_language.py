"""Assignment specs in the language: parsing, defaults (the simulator's calibrated values),
the proxy's settings in the IR, formatting, and how the commands treat them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from auctionc import ir
from auctionc.dsl.format import format_source
from auctionc.errors import SpecError
from auctionc.frontend import load_text
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent

SMALL = """
assignment small {
    courses 10 { seats supply_ratio(1.25) }
    students 20 {
        demand 3
        preferences simulator(popular = 4)
        proxy oracle(flip = 0.1)
    }
    mechanism course_match
}
"""


def test_defaults_are_the_calibrated_simulator() -> None:
    spec = load_text("assignment a { courses 25 students 100 mechanism course_match }")
    assert isinstance(spec, ir.AssignmentSpec)
    p, r = spec.students.preferences, spec.students.reports
    assert (p.popular, p.favourites, p.favourite_values, p.other_values) == (9, 2.6, (50.0, 100.0), (0.0, 50.0))
    assert (p.complements, p.substitutes, p.decay, p.centres, p.grid) == (0.4, 0.4, 0.8, 2, (7, 7))
    assert (r.forget_base, r.forget_adjustments, r.base_std, r.adjustment_std) == (0.5, 0.48, 23.0, 0.2)
    # supply ratio 1.25: 100 students x 5 courses x 1.25 / 25 courses = 25 seats each
    assert spec.courses.seats == (25,) * 25 and spec.courses.supply_ratio == 1.25
    assert spec.students.demand == 5 and spec.courses.timetable.kind == "generated"
    assert spec.mechanism.budget_spread == 0.04
    assert spec.students.proxy is None and spec.simulate.queries == 0


def test_six_popular_courses_take_their_own_calibration() -> None:
    spec = load_text("assignment a { courses 25 students 100 { preferences simulator(popular = 6) } "
                     "mechanism course_match }")
    assert spec.students.preferences.favourites == 3.85
    assert (spec.students.reports.forget_adjustments, spec.students.reports.base_std) == (0.4825, 17.0)


def test_small_instances_keep_the_grid_density_and_a_proxy_gets_ten_queries() -> None:
    spec = load_text(SMALL)
    # 10 courses at the density of 25 on 7 x 7: a 5 x 5 grid
    assert spec.students.preferences.grid == (5, 5)
    assert spec.courses.seats == (8,) * 10  # 20 x 3 x 1.25 / 10 = 7.5 -> 8
    assert spec.simulate.queries == 10 and spec.students.proxy == ir.OracleProxy(flip=0.1)


def test_llm_proxy_settings_reach_the_ir() -> None:
    spec = load_text(SMALL.replace(
        "proxy oracle(flip = 0.1)",
        'proxy llm(model = "openai/gpt-4o-mini", votes = 3, temperature = 0.9, reasoning = "plain", '
        'description = "precise", omit = 0.25, interface = true)'))
    proxy = spec.students.proxy
    assert isinstance(proxy, ir.LLMProxy)
    assert (proxy.model, proxy.votes, proxy.temperature, proxy.reasoning, proxy.description, proxy.omit,
            proxy.interface) == ("openai/gpt-4o-mini", 3, 0.9, "plain", "precise", 0.25, True)
    doc = json.loads(ir.SpecDocument(spec=spec).model_dump_json())
    assert doc["spec"]["students"]["proxy"]["kind"] == "llm"


@pytest.mark.parametrize("old,new,code,words", [
    ("proxy oracle(flip = 0.1)", 'proxy llm(description = "poetic")', "E0310", "must be qualitative or precise"),
    ("proxy oracle(flip = 0.1)", "proxy llm(interface = 1)", "E0305", "true or false"),
    ("flip = 0.1", "flip = 1.5", "E0310", "must lie in [0, 1]"),
    ("flip = 0.1", "votes = 0", "E0310", "must be at least 1"),
    ("demand 3", "demand 3 reports interface(base_std = -1)", "E0310", "must be at least 0"),
    ("popular = 4", "popular = 4, favourite_values = [100, 50]", "E0310", "0 <= low < high"),
    ("popular = 4", "popular = 4, favourites = 5", "E0443", "only 4 courses are popular"),
    ("demand 3", "demand 11", "E0443", "each student demands 11 courses"),
    ("simulator(popular = 4)", "magic", "E0442", "unknown preference generator 'magic'"),
])
def test_bad_student_settings(old: str, new: str, code: str, words: str) -> None:
    with pytest.raises(SpecError) as e:
        load_text(SMALL.replace(old, new))
    d = e.value.diagnostics[0]
    assert d.code == code and words in d.message, d.message


def test_timetable_and_seat_tables() -> None:
    spec = load_text("assignment a { courses 3 { seats { course_1: 2, course_2: 0, course_3: 5 } "
                     "timetable { course_1: [0, 1], course_3: [1] } } students 4 { demand 2 "
                     "preferences simulator(popular = 2, favourites = 1) } mechanism a_ceei }")
    assert spec.courses.seats == (2, 0, 5) and spec.courses.supply_ratio is None
    assert spec.courses.timetable == ir.FixedTimetable(slots=((0, 1), (), (1,)))
    with pytest.raises(SpecError) as e:
        load_text("assignment a { courses 3 { seats { course_1: 2 } } students 4 mechanism a_ceei }")
    assert e.value.diagnostics[0].code == "E0444"


def test_backend_options_are_checked_by_the_front_end() -> None:
    with pytest.raises(SpecError) as e:
        load_text(SMALL.replace("mechanism course_match", 'mechanism course_match simulate { loss "mse" }'))
    d = e.value.diagnostics[0]
    assert d.code == "E0604" and "gce, ce" in d.message
    with pytest.raises(SpecError) as e:
        load_text(SMALL.replace("mechanism course_match", "mechanism course_match simulate { ensembel 3 }"))
    assert e.value.diagnostics[0].code == "E0602" and e.value.diagnostics[0].suggestion == "ensemble"


def test_formatting_round_trips_and_drops_empty_braces() -> None:
    text = format_source("assignment a { courses 25 { } students 100 { demand 5 } mechanism course_match }")
    assert "    courses 25\n" in text and "        demand 5\n" in text
    assert format_source(text) == text
    assert load_text(text).courses.seats == (25,) * 25


def test_compile_refuses_an_assignment_spec_and_plan_names_the_backend(tmp_path: Path) -> None:
    from auctionc.cli import app

    path = tmp_path / "a.auction"
    path.write_text(SMALL)
    runner = CliRunner()
    r = runner.invoke(app, ["compile", str(path), "--json"])
    assert r.exit_code == 2
    assert json.loads(r.stdout)["diagnostics"][0]["code"] == "E0620"
    r = runner.invoke(app, ["plan", str(path), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["plan"]["chosen"] == "assignment"


def test_the_llm_proxys_dry_run_counts_its_calls_and_prices_them_without_a_call(tmp_path: Path) -> None:
    from auctionc.cli import app

    path = tmp_path / "a.auction"
    path.write_text(SMALL.replace("proxy oracle(flip = 0.1)", 'proxy llm(model = "openai/gpt-4o-mini", votes = 5)'))
    r = CliRunner().invoke(app, ["simulate", str(path), "--json", "--dry-run", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.stdout
    dry = json.loads(r.stdout)["dry_run"]
    # 1 instance x 20 students x 10 queries x 5 votes
    assert dry["model_calls"] == 1000 and dry["llm"]["calls"] == 1000 and dry["model"] == "openai/gpt-4o-mini"
    # each call's prompt holds the student's description, the catalogue and two schedules
    assert 200 < dry["llm"]["prompt_tokens"] / 1000 < 2000
    assert dry["llm"]["completion_tokens_at_most"] == 1000 * 600  # chain-of-thought: 600 tokens a vote at most
    assert dry["llm"]["cost_usd_at_most"] > 0 and dry["llm"]["unpriced_models"] == []
    assert not (tmp_path / "out" / "llm_cache.sqlite").exists()

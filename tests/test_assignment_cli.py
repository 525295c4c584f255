"""`auctionc simulate` on the example assignment spec: it runs end to end with the oracle
proxy, writes its report, plot and result.json, makes no model call, and a rerun with the
same seed gives the same figures; the dry run counts the LLM proxy's calls under --llm."""

from __future__ import annotations

import json
from pathlib import Path

from auctionc.cli import app
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "examples" / "course_allocation.auction")


def _run(out: Path, *extra: str) -> dict:
    r = CliRunner().invoke(app, ["simulate", EXAMPLE, "--json", "--quiet", "--out", str(out), "--set", "n=12", *extra])
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_the_example_runs_end_to_end_and_reruns_identically(tmp_path: Path) -> None:
    first = _run(tmp_path / "a")
    assert first["ok"] and first["backend"] == "assignment" and first["students"] == 12
    m = first["metrics"]
    assert 0 < m["efficiency"]["value"] <= 1.2 and m["benchmark_proven"] == 1.0
    assert m["calls_per_student"]["value"] == 0 and first["calls"]["model_calls"] == 0
    assert [c["queries"] for c in first["curve"]] == [0, 3, 6]
    for key in ("report", "plot", "result"):
        assert Path(first["files"][key]).exists(), key
    assert "efficiency_vs_queries.png" in Path(first["files"]["report"]).read_text()
    again = _run(tmp_path / "b")
    assert again["metrics"]["efficiency"] == m["efficiency"]
    assert again["per_instance"][0]["welfare"] == first["per_instance"][0]["welfare"]


def test_dry_run_and_run_settings(tmp_path: Path) -> None:
    dry = _run(tmp_path / "d", "--dry-run")
    # 2 instances x 12 students x 6 queries, one vote each, no model
    assert dry["dry_run"] == {"instances": 2, "schedules_at_most": 176, "proxy_answers": 144, "votes": 144,
                              "model_calls": 0}
    r = CliRunner().invoke(app, ["simulate", EXAMPLE, "--json", "--rounds", "3", "--set", "n=12"])
    assert r.exit_code == 1 and json.loads(r.stdout)["diagnostics"][0]["code"] == "E0852"
    # --llm puts the default LLM proxy (5 votes, the bundled local model) in the oracle's place
    llm = _run(tmp_path / "l", "--dry-run", "--llm")["dry_run"]
    assert llm["model_calls"] == 2 * 12 * 6 * 5 and llm["model"] == "openai/smollm2"

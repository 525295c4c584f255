"""The LLM proxy end to end against the bundled local model (SmolLM2-135M served by
llama.cpp on loopback, reached through litellm; set up with ``tests/setup_local_llm.sh``,
skipped without it): the LLM example runs through the CLI, a rerun makes no model call, and
the dry run predicts the calls (students x queries x votes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from auctionc.cli import app
from test_llm_local import api_base  # noqa: F401 - the session's local model server
from typer.testing import CliRunner

pytestmark = pytest.mark.llm

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "examples" / "course_allocation_llm.auction")
CALLS = 2 * 2 * 3  # 2 students x 2 queries x 3 votes, one instance


def _simulate(out: Path, *extra: str) -> tuple[int, dict]:
    r = CliRunner().invoke(app, ["simulate", EXAMPLE, "--json", "--quiet", "--out", str(out), "--set", "n=2", *extra])
    return r.exit_code, json.loads(r.stdout)


def test_the_llm_example_runs_on_the_local_model_and_reruns_from_the_cache(api_base, tmp_path):  # noqa: F811
    code, dry = _simulate(tmp_path / "dry", "--dry-run", "--api-base", api_base)
    assert code == 0 and dry["dry_run"]["model_calls"] == dry["dry_run"]["llm"]["calls"] == CALLS
    code, first = _simulate(tmp_path / "a", "--api-base", api_base)
    assert code == 0 and first["complete"], first.get("warnings")
    llm = first["llm"]
    # every planned vote was asked; re-asks after an unreadable reply are the only extra calls
    assert llm["model"] == "openai/smollm2" and llm["structured"] is True
    assert llm["model_calls"] - llm["retries"] == CALLS and llm["cache_hits"] == 0
    assert first["calls"]["answers"] == 2 * 2 and first["metrics"]["proxy_answered_share"]["value"] > 0
    lines = (tmp_path / "a" / "transcript.jsonl").read_text().splitlines()
    assert len(lines) == llm["model_calls"] and all(json.loads(x)["model"] == "openai/smollm2" for x in lines)
    code, again = _simulate(tmp_path / "a", "--api-base", api_base)
    assert code == 0 and again["llm"]["model_calls"] == 0 and again["llm"]["cache_hits"] == llm["model_calls"]
    assert again["metrics"]["efficiency"] == first["metrics"]["efficiency"]
    assert again["per_instance"][0]["welfare"] == first["per_instance"][0]["welfare"]

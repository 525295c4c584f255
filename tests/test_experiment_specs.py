"""examples/experiments: one spec per experiment of Shah et al. (2025); each passes the front end
with the study's value draws, and its dry run counts the calls the docs list."""

from __future__ import annotations

from pathlib import Path

import pytest
from auctionc import api
from auctionc.frontend import load_file

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "examples" / "experiments").glob("*.auction"))
DOC = (ROOT / "docs" / "llm-bidders.md").read_text(encoding="utf-8")


def test_every_experiment_has_a_spec_and_a_documented_cost():
    assert len(SPECS) == 35
    for p in SPECS:
        assert f"`{p.name}`" in DOC, f"{p.name} has no dry-run cost in docs/llm-bidders.md"


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_experiment_spec_loads(path):
    spec = load_file(path)
    assert spec.simulate.draws == "python_random"
    assert all(b.agent.kind == "llm" for b in spec.bidders)


def test_no_plan_dry_run(tmp_path):
    spec = load_file(ROOT / "examples" / "experiments" / "fpsb_ipv_no_plan.auction")
    res = api.simulate(spec, dry_run=True, out_dir=tmp_path)
    assert res.dry_run["calls"] == 450  # 10 sessions x 15 rounds x 3 bidders, one bid call each
    assert "| `fpsb_ipv_no_plan.auction` | 450 |" in DOC

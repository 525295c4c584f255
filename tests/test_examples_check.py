"""The gallery: every example passes the front end (backends that do not exist yet
included), covers the vocabulary the issue lists, names its published figure, and
matches its golden IR (tests/golden/ir/<name>.json; UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from auctionc import ir
from auctionc.frontend import load_file

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.auction"))
GOLDEN = ROOT / "tests" / "golden" / "ir"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def specs() -> dict[str, ir.AuctionSpec | ir.MarketSpec | ir.AssignmentSpec]:
    return {p.stem: load_file(p) for p in EXAMPLES}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_checks_and_matches_golden_ir(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[0]
    assert first.startswith("# "), "an example starts with a comment saying what it is"
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "published-figures.md" in header or "No published figure" in header, "name the figure that applies"
    spec = load_file(path)
    data = ir.SpecDocument(spec=spec).model_dump(mode="json")
    golden = GOLDEN / f"{path.stem}.json"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert json.loads(golden.read_text(encoding="utf-8")) == data


def test_gallery_covers_the_vocabulary(specs: dict) -> None:
    assert len(specs) >= 12
    auctions = [s for s in specs.values() if s.kind == "auction"]
    markets = [s for s in specs.values() if s.kind == "market"]
    kinds = set().union(*(s.valuation_kinds for s in auctions))
    assert {"additive", "unit_demand", "single", "xor", "cats"} <= kinds
    assert any(b.type.kind == "belief" for m in markets for b in m.buyers)
    assert any(b.type.kind == "scale" for m in markets for b in m.buyers)
    assert any(m.externality > 0 for m in markets)
    # common value (signals) and affiliated values (value = common + own draw)
    assert any(b.signal is not None for s in auctions for b in s.bidders)
    assert any(
        b.valuation.kind == "single"
        and len(b.valuation.value.terms) == 2
        and {t.kind for t in b.valuation.value.terms} == {"common_ref", "draw"}
        for s in auctions
        for b in s.bidders
    )
    formats = {s.mechanism.name for s in specs.values() if s.mechanism is not None and s.kind != "assignment"}
    assert formats == {"first_price", "second_price", "third_price", "vcg", "all_pay", "ascending_clock", "dutch", "posted_price"}
    agents = {b.agent.kind for s in auctions for b in s.bidders if b.agent is not None}
    assert {"llm", "truthful", "bne", "crra"} <= agents
    assignments = [s for s in specs.values() if s.kind == "assignment"]
    assert any(s.students.proxy is not None and s.students.proxy.kind == "oracle" for s in assignments)


def test_one_spec_per_backend_family(specs: dict) -> None:
    mv = specs["manelli_vincent"]
    assert mv.solve is not None and mv.solve.backend == "menu" and mv.n_bidders == 1
    assert any(s.solve and s.solve.backend == "menu" and s.n_bidders == 2 for s in specs.values())
    assert any(s.solve and s.solve.backend == "lp" and "grid" in s.solve.options for s in specs.values())
    assert any(s.solve and s.solve.backend == "milp" and s.requires("deterministic") for s in specs.values())
    assert any(
        s.solve and s.solve.backend == "bundleflow" and s.n_items >= 20 and s.valuation_kinds == {"cats"}
        for s in specs.values()
    )
    lab = specs["lab_first_price"]
    assert lab.simulate is not None and all(b.agent and b.agent.kind == "llm" for b in lab.bidders)
    assert any(
        s.simulate is not None and all(b.agent and b.agent.kind in ("truthful", "bne", "crra", "random") for b in s.bidders)
        for s in specs.values()
        if s.kind == "auction"
    )

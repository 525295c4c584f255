"""Reports: files written, menus deduplicated and sorted by price, experiments as matrices,
certificate figures, plots where they apply, and the terminal summary table."""

from __future__ import annotations

import numpy as np
from auctionc import ir
from auctionc.mechanism.datamarket import DataMarketMechanism, market_types
from auctionc.mechanism.format_mechanism import format_mechanism
from auctionc.mechanism.menu import MenuMechanism
from auctionc.report import summary_table, write_report
from auctionc.verifier import verify
from rich.console import Console
from rich.table import Table


def U() -> ir.ValueExpr:
    return ir.ValueExpr(terms=(ir.Draw(dist=ir.Uniform(low=0, high=1)),), coefs=(1.0,))


def mv_spec(source: str | None = None) -> ir.AuctionSpec:
    return ir.AuctionSpec(
        name="mv", items=("A", "B"), source=source,
        bidders=(ir.Bidder(name="buyer", valuation=ir.Additive(values=(U(), U()))),),
        requirements=(ir.IC(), ir.IR()), objective=ir.Objective(terms=("revenue",), weights=(1.0,)),
    )


def test_menu_report(tmp_path):
    src = tmp_path / "mv.auction"
    src.write_text("auction mv { items A, B }\n")
    spec = mv_spec(str(src))
    spec._source_text = src.read_text()  # what the front end keeps; the report never reads `source`
    # duplicates (same allocation and price) appear once; rows sorted by price
    menu = MenuMechanism(np.array([[1, 1], [0, 0], [1, 0], [0, 1], [1, 0]]), np.array([0.862, 0, 0.667, 0.667, 0.667]))
    cert = verify(menu, spec, samples=500, steps=5)
    files = write_report(tmp_path, spec=spec, mechanism=menu, certificate=cert,
                         plan={"chosen": "menu", "why": "continuous priors", "refused": [{"backend": "lp", "reason": "needs a grid"}]},
                         extra_sections=[("Training", "loss went down")])
    md = files["report_md"].read_text()
    assert "auction mv { items A, B }" in md  # the source text
    rows = [line for line in md.splitlines() if line.startswith("| ") and line.count("|") == 4][1:5]
    prices = [float(r.split("|")[3]) for r in rows]
    assert prices == sorted(prices) and len(rows) == 4 and "4 distinct elements" in md
    assert "exact_by_construction" in md and "Training" in md and "needs a grid" in md
    assert files["allocation_png"].stat().st_size > 1000 and files["regret_png"].exists()
    html = files["report_html"].read_text()
    assert "<table>" in html and 'src="allocation.png"' in html and "<pre>" in html


def test_format_and_market_reports(tmp_path):
    spec = ir.AuctionSpec(name="fp", items=("x",),
                          bidders=tuple(ir.Bidder(name=f"b{i}", valuation=ir.Single(value=U())) for i in range(2)),
                          mechanism=ir.Format(name="first_price"))
    mech = format_mechanism(spec.mechanism, spec)
    cert = verify(mech, spec, samples=500, steps=5, interim=False)
    files = write_report(tmp_path / "fp", spec=spec, mechanism=mech, certificate=cert)
    md = files["report_md"].read_text()
    assert "FAILS" in md and "Worst deviation found" in md and "allocation_png" not in files
    assert '"first_price"' in md  # no source file: the IR is shown

    mspec = ir.MarketSpec(
        name="w", states=("rain", "sun"),
        buyers=(ir.Buyer(name="farmer", actions=("plant", "wait"), payoffs=((0, 1), (1, 0)),
                         type=ir.BeliefType(state="rain", dist=ir.Discrete(values=(0.2, 0.7), probs=(0.5, 0.5)))),),
    )
    mt = market_types(mspec, None)
    exps = np.stack([np.full((2, 2), 0.5), np.array([[0.0, 1.0], [1.0, 0.0]])])
    m = DataMarketMechanism(["rain", "sun"], ["plant", "wait"], np.array([[0, 1], [1, 0]]), "belief",
                            mt.points, mt.beliefs, mt.scales, mt.probs, exps, np.array([0.0, 0.25]))
    files = write_report(tmp_path / "w", spec=mspec, mechanism=m, certificate=verify(m, mspec))
    md = files["report_md"].read_text()
    assert "**Experiment 2** at price 0.25" in md and "state \\ signal" in md and "recommend plant" in md


def test_summary_table():
    result = {"spec": "mv", "backend": "menu",
              "certificate": {"kind": "estimated", "ok": False, "max_regret": 0.01, "mean_regret": 0.001,
                              "max_ir_violation": 0.0, "samples": 100, "steps": 5, "restarts": 2},
              "metrics": {"revenue": {"value": 0.55, "ci95": [0.54, 0.56], "samples": 100}},
              "timings": {"solve_s": 1.5}}
    t = summary_table(result)
    assert isinstance(t, Table)
    console = Console(record=True, width=100)
    console.print(t)
    text = console.export_text()
    assert "estimated" in text and "0.55  [0.54, 0.56]" in text and "100 / 5 / 2" in text


def test_bundle_labels_are_not_enumerated_for_many_items():
    """2**50 bundle columns cannot be listed: the report must not try (it once hung here)."""
    from types import SimpleNamespace

    from auctionc.report import _items_label

    mech = SimpleNamespace(outcome_space="bundles")
    assert _items_label(mech, SimpleNamespace(items=tuple(f"g{i}" for i in range(50)))) == []
    assert len(_items_label(mech, SimpleNamespace(items=("A", "B")))) == 4

"""The adversarial corpus: hand-edited artifacts (the spec left as it was) must be refused.

For each artifact family (tables, one-bidder menus, affine maximizers, GemNet, bundle menus,
posted item prices, data markets, standard formats) a known strategy-proof artifact is written the way
``auctionc compile`` writes it, then edited: a perturbed payment or price, broken feasibility
or stochasticity, edited world data (grids, beliefs, payoffs, items), a structure or claim
that does not hold, a swapped spec.  ``auctionc verify`` must come back ``ok: false`` naming
the failed check and exit 1; the unedited artifacts stay ``ok: true``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from auctionc import api, ir
from auctionc.cli import app
from auctionc.mechanism.base import stamp_provenance
from auctionc.verifier import EXIT_NOT_VERIFIED
from typer.testing import CliRunner

runner = CliRunner()
REV = ir.Objective(terms=("revenue",), weights=(1.0,))
FAST = ["--samples", "300", "--restarts", "4", "--misreport-steps", "10", "--metric-samples", "20000"]


def E(d) -> ir.ValueExpr:
    return ir.ValueExpr(terms=(ir.Draw(dist=d),), coefs=(1.0,))


def three_types(probs=(1 / 3, 1 / 3, 1 / 3)) -> ir.Discrete:
    return ir.Discrete(values=(0.0, 0.5, 1.0), probs=probs)


def table_spec(probs=(1 / 3, 1 / 3, 1 / 3)) -> ir.AuctionSpec:
    return ir.AuctionSpec(name="table", items=("x",), requirements=(ir.IC(), ir.IR()), objective=REV,
                          bidders=tuple(ir.Bidder(name=f"b{i}", valuation=ir.Single(value=E(three_types(probs))))
                                        for i in range(2)))


def menu_spec(n: int = 3) -> ir.AuctionSpec:
    g = ir.Grid(low=0.0, high=1.0, n=n)
    return ir.AuctionSpec(name="menu", items=("A", "B"), requirements=(ir.IC(), ir.IR()), objective=REV,
                          bidders=(ir.Bidder(name="buyer", valuation=ir.Additive(values=(E(g), E(g)))),))


def two_uniform(name: str, items=("I0",)) -> ir.AuctionSpec:
    u = E(ir.Uniform(low=0.0, high=1.0))
    return ir.AuctionSpec(name=name, items=items, requirements=(ir.IC(), ir.IR()), objective=REV,
                          bidders=tuple(ir.Bidder(name=f"b{i}", valuation=ir.Additive(values=(u,) * len(items)))
                                        for i in range(2)))


def cats_spec(name: str = "cats") -> ir.AuctionSpec:
    return ir.AuctionSpec(name=name, items=tuple(f"g{i}" for i in range(10)), requirements=(ir.IC(), ir.IR()),
                          objective=REV, bidders=(ir.Bidder(name="b", valuation=ir.Cats(distribution="regions",
                                                                                       options={"bids": 5})),))


def market_spec(name: str = "market", probs=(0.5, 0.5)) -> ir.MarketSpec:
    t = ir.BeliefType(state="s1", dist=ir.Discrete(values=(0.2, 0.7), probs=probs))
    return ir.MarketSpec(name=name, states=("s0", "s1"), requirements=(ir.IC(), ir.IR(), ir.Obedience()), objective=REV,
                         buyers=(ir.Buyer(name="farmer", actions=("a0", "a1"), payoffs=((1, 0), (0, 1)), type=t),))


def format_spec(name: str = "second", fmt: str = "second_price", **kw) -> ir.AuctionSpec:
    g = E(ir.Grid(low=0.0, high=1.0, n=5))
    return ir.AuctionSpec(name=name, items=("x",), mechanism=ir.Format(name=fmt, **kw),
                          bidders=tuple(ir.Bidder(name=f"b{i}", valuation=ir.Single(value=g)) for i in range(2)))


def write_spec(spec, d: Path) -> None:
    (d / "spec.json").write_text(json.dumps({"ir_version": 1, "spec": spec.model_dump(mode="json")}))


def save(mech, spec, d: Path, claim=None, options=None) -> Path:
    """Write an artifact as ``auctionc compile`` does: provenance, mechanism.json, spec.json."""
    stamp_provenance(mech, spec, backend="test", seed=0, options=options or {}, stats={}, claim=claim)
    mech.save(d)
    write_spec(spec, d)
    return d


def gemnet_artifact(d: Path) -> Path:
    """Two bidders, one item, each offered the item at 0.3 whatever the other bids, made
    compatible by the cells transform (surcharges where both could buy)."""
    from auctionc.backends.menu.gemnet import cells, edge_grid
    from auctionc.backends.menu.gemnet.gemnet_artifact import GemNetMechanism

    def net():
        return {"trunk": [(np.zeros((1, 1)), np.zeros(1))], "alloc": (np.zeros((1, 1)), np.array([30.0])),
                "price": (np.zeros((1, 1)), np.array([0.3])), "head": "additive_clipped", "K": 1, "m": 1}

    nets = [net(), net()]
    grid = edge_grid.make_grid(np.array([[[0.0, 1.0]], [[0.0, 1.0]]]), 10, np.zeros((2, 1), bool))
    cr = cells.certify_cells(nets, 1.0, grid, [np.ones(10) / 10] * 2, depth=2)
    assert cr.certified
    mech = GemNetMechanism(nets, 1.0, ["I0"], edge_grid=grid, surcharge=cr.surcharge, caps=cr.caps,
                           factors=cr.factors, cells=True)
    return save(mech, two_uniform("gemnet"), d, claim={"kind": "exact_by_menu_compatibility", "transform": "cells"},
                options={"cell_depth": 2})


def ama_artifact(d: Path) -> Path:
    """Myerson for two U[0,1] bidders as an affine maximizer (boost -1/2 on selling)."""
    from auctionc.backends.menu.lottery_ama.affine_maximizer import AffineMaximizerMechanism

    outcomes = np.array([[[1.0], [0.0]], [[0.0], [1.0]], [[0.0], [0.0]]])
    mech = AffineMaximizerMechanism(outcomes, np.ones(2), np.array([-0.5, -0.5, 0.0]), ["I0"])
    return save(mech, two_uniform("ama"), d, claim={"kind": "exact_by_construction"})


def bundle_artifact(d: Path) -> Path:
    from auctionc.backends.bundleflow.bundle_menu import BundleMenuMechanism

    rng = np.random.default_rng(0)
    bundles = (rng.random((6, 2, 10)) < 0.4).astype(np.uint8)
    mech = BundleMenuMechanism(bundles, np.full((6, 2), 0.5), rng.uniform(50, 300, 6))
    return save(mech, cats_spec(), d, claim={"kind": "exact_by_construction"})


def item_price_artifact(d: Path) -> Path:
    from auctionc.backends.bundleflow.item_prices import ItemPriceMechanism

    mech = ItemPriceMechanism(np.random.default_rng(1).uniform(20, 60, 10))
    return save(mech, cats_spec(), d, claim={"kind": "exact_by_construction"})


def compiled(spec, backend: str, d: Path, **opts) -> Path:
    api.compile(spec, backend, opts, out=d, verify=False)
    return d


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "table": lambda d: compiled(table_spec(), "lp", d),
    "menu": lambda d: compiled(menu_spec(), "lp", d),
    "affine_maximizer": ama_artifact,
    "gemnet": gemnet_artifact,
    "bundle_menu": bundle_artifact,
    "item_prices": item_price_artifact,
    "datamarket": lambda d: compiled(market_spec(), "lp", d),
    "format": lambda d: compiled(format_spec(), "format", d),
}
EXTRA = {"bundle_menu": ["--metric-samples", "2000"], "item_prices": ["--metric-samples", "2000"]}


@pytest.fixture(scope="module")
def baselines(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("baselines")
    return {name: build(root / name) for name, build in BUILDERS.items()}


def verify_cli(d: Path, *extra: str):
    r = runner.invoke(app, ["verify", str(d), "--json", "--quiet", *FAST, *extra])
    assert "Traceback" not in r.output
    return r, json.loads(r.stdout) if r.stdout.strip().startswith("{") else None


# ----------------------------------------------------------------------------- edits


def doc_edit(fn: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(d: Path) -> None:
        p = d / "mechanism.json"
        doc = json.loads(p.read_text())
        fn(doc)
        p.write_text(json.dumps(doc))
    return apply


def spec_swap(spec) -> Callable[[Path], None]:
    return lambda d: write_spec(spec, d)


def npz_edit(fn: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(d: Path) -> None:
        p = d / "gemnet_weights.npz"
        with np.load(p) as z:
            arrays = {k: z[k].copy() for k in z.files}
        fn(arrays)
        np.savez(p, **arrays)
    return apply


def _set(path: list, value) -> Callable[[dict], None]:
    def fn(doc: dict) -> None:
        node = doc
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value(node[path[-1]]) if callable(value) else value
    return fn


def _both_win(doc: dict) -> None:
    doc["data"]["alloc"][2][2][0][0] = 1.0
    doc["data"]["alloc"][2][2][1][0] = 1.0


def _no_null(doc: dict) -> None:
    d = doc["data"]
    d["prices"] = [0.05 if max(a) == 0 else p for a, p in zip(d["allocations"], d["prices"], strict=True)]


def _column_sums_two(doc: dict) -> None:
    doc["data"]["experiments"][0][0][0] += 1.0  # P(recommend a0 | s0) + P(recommend a1 | s0) = 2


def _negative_entry(doc: dict) -> None:
    e = doc["data"]["experiments"][1]
    e[0][0], e[1][0] = -0.2, 1.2  # still sums to one, but a negative probability


CASES = [
    # family, kind of edit, edit, the check that must fail
    ("table", "perturbed payment", doc_edit(_set(["data", "pay", 2, 1, 0], lambda p: p + 0.2)), "claim"),
    ("table", "broken feasibility", doc_edit(_both_win), "feasibility"),
    ("table", "edited world data", doc_edit(_set(["data", "grids", 0, 0], lambda g: [x + 0.3 for x in g])), "world"),
    ("table", "claim that does not hold", doc_edit(_set(["meta", "claim", "revenue"], lambda r: r + 0.1)), "claim"),
    ("table", "swapped spec", spec_swap(table_spec((0.5, 0.25, 0.25))), "spec_hash"),
    ("menu", "perturbed price", doc_edit(_set(["data", "prices", -2], lambda p: p - 0.3)), "claim"),
    ("menu", "perturbed price (no null element)", doc_edit(_no_null), "IR"),
    ("menu", "broken feasibility", doc_edit(_set(["data", "allocations", 0], [1.5, 0.0])), "allocation_range"),
    ("menu", "broken feasibility (three units of one item)", doc_edit(_set(["data", "allocations", 1], [3.0, 0.0])),
     "allocation_range"),
    ("menu", "edited world data", doc_edit(_set(["data", "outcome_space"], "bundles")), "shapes"),
    ("menu", "claim that does not hold", doc_edit(_set(["meta", "claim", "welfare"], lambda w: w * 1.1)), "claim"),
    ("menu", "swapped spec", spec_swap(menu_spec(4)), "spec_hash"),
    ("affine_maximizer", "structure that does not hold", doc_edit(_set(["data", "weights", 1], -1.0)), "structure"),
    ("affine_maximizer", "broken feasibility", doc_edit(_set(["data", "outcomes", 2], [[1.0], [1.0]])), "feasibility"),
    ("affine_maximizer", "edited world data", doc_edit(_set(["data", "items"], ["J0"])), "world"),
    ("affine_maximizer", "swapped spec", spec_swap(two_uniform("ama2")), "spec_hash"),
    # without bidder 0's surcharges both bidders buy where both values exceed 0.3: the first
    # profiles evaluated already over-allocate, so validity refuses it before the proof is re-run
    ("gemnet", "perturbed price", npz_edit(lambda z: z.__setitem__("b0_surcharge", 0 * z["b0_surcharge"])),
     "feasibility"),
    ("gemnet", "structure that does not hold", doc_edit(_set(["data", "factors"], False)), "claim"),
    ("gemnet", "edited world data (grid)",
     doc_edit(_set(["data", "edge_grid", "edges"], lambda e: [[[x * 0.5 for x in c] for c in b] for b in e])),
     "menu_compatibility"),
    ("gemnet", "edited world data (items)", doc_edit(_set(["data", "items"], ["J0"])), "world"),
    ("gemnet", "swapped spec", spec_swap(two_uniform("gemnet2")), "spec_hash"),
    ("bundle_menu", "broken stochasticity", doc_edit(_set(["data", "elements", 0, "probs"], [0.5, 0.8])), "lotteries"),
    ("bundle_menu", "perturbed price", doc_edit(_set(["data", "elements", 1, "price"], float("inf"))), "finite_payments"),
    ("bundle_menu", "edited world data", doc_edit(_set(["data", "items"], 12)), "shapes"),
    ("bundle_menu", "swapped spec", spec_swap(cats_spec("cats2")), "spec_hash"),
    ("item_prices", "perturbed price", doc_edit(_set(["data", "prices", 3], float("nan"))), "finite_payments"),
    ("item_prices", "edited world data", doc_edit(lambda doc: doc["data"].update(items=12, prices=[30.0] * 12)),
     "shapes"),
    ("item_prices", "swapped spec", spec_swap(cats_spec("cats2")), "spec_hash"),
    ("datamarket", "perturbed price", doc_edit(_set(["data", "prices", 0], 5.0)), "IR"),
    ("datamarket", "broken stochasticity (columns sum to 2)", doc_edit(_column_sums_two), "stochastic_experiments"),
    ("datamarket", "broken stochasticity (negative entry)", doc_edit(_negative_entry), "stochastic_experiments"),
    ("datamarket", "edited world data (beliefs)", doc_edit(_set(["data", "beliefs", 0], [0.5, 0.5])), "world"),
    ("datamarket", "edited world data (payoffs)", doc_edit(_set(["data", "payoffs"], [[2, 0], [0, 1]])), "world"),
    ("datamarket", "swapped spec", spec_swap(market_spec("market2", (0.3, 0.7))), "spec_hash"),
    # a format artifact's rule is compared with the format the spec names
    ("format", "perturbed payment", doc_edit(_set(["data", "format", "entry_fee"], 0.1)), "world"),
    ("format", "rule that does not hold", doc_edit(_set(["data", "format", "name"], "first_price")), "world"),
    ("format", "edited world data", doc_edit(_set(["data", "items"], ["y"])), "world"),
    ("format", "swapped spec", spec_swap(format_spec("second2", reserve=0.25)), "spec_hash"),
]


@pytest.mark.parametrize("family,kind,edit,check", CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_an_edited_artifact_is_refused(baselines, tmp_path, family, kind, edit, check):
    d = tmp_path / family
    shutil.copytree(baselines[family], d)
    edit(d)
    r, doc = verify_cli(d, *EXTRA.get(family, []))
    assert r.exit_code == EXIT_NOT_VERIFIED == 3, r.output
    assert doc is not None and doc["ok"] is False and doc["certificate"]["ok"] is False
    assert check in doc["certificate"]["failed_checks"], doc["certificate"]["checks"]
    assert f"check {check} failed" in r.stderr


def test_the_corpus_covers_every_family_with_three_kinds_of_edit():
    kinds: dict[str, set[str]] = {}
    for family, kind, _, _ in CASES:
        kinds.setdefault(family, set()).add(kind.split(" (")[0])
    assert set(kinds) == set(BUILDERS)
    assert all(len(k) >= 3 for k in kinds.values()), kinds


@pytest.mark.parametrize("family", list(BUILDERS))
def test_the_unedited_artifact_stays_verified(baselines, family):
    r, doc = verify_cli(baselines[family], *EXTRA.get(family, []))
    assert r.exit_code == 0, r.output
    assert doc["ok"] is True and doc["certificate"]["failed_checks"] == []
    assert doc["certificate"]["kind"] in ("exact_by_enumeration", "exact_by_construction", "exact_by_menu_compatibility")


@pytest.mark.parametrize("fmt,kw", [("second_price", {}), ("vcg", {}), ("posted_price", {"price": 0.5})])
def test_known_strategy_proof_formats_stay_verified(tmp_path, fmt, kw):
    spec = format_spec(fmt, fmt, **kw)
    r, doc = verify_cli(compiled(spec, "format", tmp_path / fmt))
    assert r.exit_code == 0 and doc["certificate"]["kind"] == "exact_by_enumeration" and doc["ok"]


def test_a_trained_menu_stays_verified(tmp_path):
    u = E(ir.Uniform(low=0.0, high=1.0))
    spec = ir.AuctionSpec(name="mv", items=("A", "B"), requirements=(ir.IC(), ir.IR()), objective=REV,
                          bidders=(ir.Bidder(name="buyer", valuation=ir.Additive(values=(u, u))),))
    d = tmp_path / "rochetnet"
    api.compile(spec, "menu", {"steps": 50, "size": 16, "test_samples": 2000}, out=d, verify=False)
    r, doc = verify_cli(d)
    assert r.exit_code == 0 and doc["certificate"]["kind"] == "exact_by_construction" and doc["ok"]


def test_a_menu_against_a_spec_it_cannot_evaluate_is_refused(baselines, tmp_path):
    """A one-bidder menu verified against a spec whose values are CATS bid lists: no check can
    run, and that is a failure, not a pass."""
    d = tmp_path / "menu_cats"
    shutil.copytree(baselines["menu"], d)
    write_spec(cats_spec("menu_cats"), d)
    r, doc = verify_cli(d, "--allow-spec-mismatch")
    assert r.exit_code == EXIT_NOT_VERIFIED and not doc["ok"] and doc["certificate"]["kind"] == "invalid"
    assert "shapes" in doc["certificate"]["failed_checks"]


def test_a_reformatted_spec_passes_only_with_the_override(baselines, tmp_path):
    d = tmp_path / "renamed"
    shutil.copytree(baselines["table"], d)
    write_spec(table_spec().model_copy(update={"name": "renamed"}), d)
    r, doc = verify_cli(d)
    assert r.exit_code == EXIT_NOT_VERIFIED and doc["certificate"]["failed_checks"] == ["spec_hash"]
    assert "made for spec 'table'" in doc["certificate"]["checks"][0]["detail"]
    r, doc = verify_cli(d, "--allow-spec-mismatch")
    assert r.exit_code == 0 and doc["ok"] and any("--allow-spec-mismatch" in n for n in doc["certificate"]["notes"])


# ----------------------------------------------------------------------------- safe loading


def _pickled_weights(d: Path) -> None:
    np.save(d / "gemnet_weights.npz", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (d / "gemnet_weights.npz.npy").rename(d / "gemnet_weights.npz")


MALFORMED = [
    ("table", lambda d: (d / "mechanism.json").write_text("{not json"), "is not JSON"),
    ("table", doc_edit(lambda doc: doc["data"].pop("pay")), "table data: pay: Field required"),
    ("menu", doc_edit(_set(["data", "prices"], "cheap")), "menu data: prices: Input should be a valid list"),
    ("menu", doc_edit(_set(["data", "allocations"], [[0.0, 1.0], [1.0]])), "menu artifact"),
    ("gemnet", doc_edit(_set(["data", "weights_file"], "../../outside.npz")), "lies outside the artifact folder"),
    ("gemnet", _pickled_weights, "gemnet artifact"),
    ("bundle_menu", doc_edit(_set(["data", "elements", 0, "support", 0], [-1])), "an item index outside"),
    ("datamarket", doc_edit(_set(["data", "experiments", 0], [[1.0, 0.0]])), "datamarket artifact"),
    ("item_prices", doc_edit(_set(["data", "prices"], [1.0, 2.0])), "item prices: 2 prices for 10 items"),
]


@pytest.mark.parametrize("family,edit,message", MALFORMED, ids=[f"{m[0]}: {m[2]}" for m in MALFORMED])
def test_a_malformed_artifact_gets_a_diagnostic_not_a_traceback(baselines, tmp_path, family, edit, message):
    d = tmp_path / family
    shutil.copytree(baselines[family], d)
    edit(d)
    r, _ = verify_cli(d)
    assert r.exit_code == 2, r.output
    assert "error[E0908]" in r.stderr and message in r.stderr and "Traceback" not in r.output

"""Lottery affine maximizers (menu backend, architecture = "lottery_ama"): the artifact's
rule and payments, the verifier's structural certificate, known-answer training."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from auctionc import api, ir
from auctionc.backends.menu.lottery_ama.affine_maximizer import AffineMaximizerMechanism
from auctionc.errors import PlanError
from auctionc.mechanism import load_mechanism
from auctionc.verifier import verify
from conftest import accepts, run_backend
from test_menu import OBJ, REQ, U, bidders

torch.set_num_threads(1)


def myerson_ama() -> AffineMaximizerMechanism:
    """Myerson for two U[0,1] bidders as an affine maximizer: virtual value 2v - 1, i.e.
    weights 1 and a boost of -1/2 on every outcome that sells the item."""
    outcomes = np.array([[[1.0], [0.0]], [[0.0], [1.0]], [[0.0], [0.0]]])
    return AffineMaximizerMechanism(outcomes, np.ones(2), np.array([-0.5, -0.5, 0.0]), ["I0"])


def test_affine_maximizer_is_myerson_with_clarke_payments(tmp_path):
    mech = myerson_ama()
    v = np.random.default_rng(0).uniform(size=(200_000, 2, 1))
    alloc, pay = mech.allocate_and_pay(v)
    hi, lo = v[:, :, 0].max(1), v[:, :, 0].min(1)
    sold = hi > 0.5
    # the higher bidder wins above the reserve and pays max(other bid, reserve)
    assert np.array_equal(alloc[:, :, 0].sum(1), sold.astype(float))
    assert np.allclose(pay.sum(1), np.where(sold, np.maximum(lo, 0.5), 0.0))
    assert abs(pay.sum(1).mean() - 5 / 12) < 3e-3
    # the torch path and a saved copy evaluate identically
    at, pt = mech.allocate_and_pay_torch(torch.as_tensor(v[:1000]))
    assert np.allclose(at.numpy(), alloc[:1000]) and np.allclose(pt.numpy(), pay[:1000])
    loaded = load_mechanism(mech.save(tmp_path))
    a2, p2 = loaded.allocate_and_pay(v[:1000])
    assert isinstance(loaded, AffineMaximizerMechanism)
    assert np.array_equal(a2, alloc[:1000]) and np.array_equal(p2, pay[:1000])


def test_verifier_certifies_affine_maximizer_by_construction():
    spec = bidders(2, [U(0, 1)], "myerson_ama")
    cert = verify(myerson_ama(), spec, samples=2000, steps=30, restarts=4)
    assert cert.kind == "exact_by_construction" and cert.ok
    assert cert.max_regret <= 1e-9 and cert.max_ir_violation == 0.0
    assert cert.check("structure").detail.startswith("affine maximizer: 3 fixed outcomes")
    assert cert.check("structure_confirmed").ok and cert.samples == 500  # a sanity sample, no search
    # Myerson's revenue 5/12, estimated to 0.25%
    rev = cert.metrics["revenue"]
    assert rev["precision_reached"] and rev["ci95"][0] <= 5 / 12 <= rev["ci95"][1]


def test_verifier_refuses_structure_when_an_outcome_is_infeasible_or_values_negative():
    bad = myerson_ama()
    bad.outcomes[2] = [[1.0], [1.0]]  # both bidders get the whole item
    cert = verify(bad, bidders(2, [U(0, 1)]), samples=500, steps=10, restarts=2)
    assert cert.kind == "invalid" and [c.name for c in cert.failed] == ["feasibility"]
    assert cert.failed[0].detail.startswith("largest over-allocation: 1 over the offered outcomes")
    neg = verify(myerson_ama(), bidders(2, [U(-1, 1)]), samples=500, steps=10, restarts=2, metric_samples=20_000)
    assert neg.kind == "estimated"
    assert "not exact by construction: values may be negative (IR by construction needs values >= 0)" in neg.notes
    zero = myerson_ama()
    zero.weights[1] = 0.0  # Clarke payments divide by the weight: not finite, refused before anything else
    c = verify(zero, bidders(2, [U(0, 1)]), samples=500, steps=10, restarts=2, metric_samples=20_000)
    assert c.kind == "invalid" and [x.name for x in c.failed] == ["finite_payments"]
    neg_w = myerson_ama()
    neg_w.weights[1] = -1.0
    c = verify(neg_w, bidders(2, [U(0, 1)]), samples=500, steps=10, restarts=2, metric_samples=20_000)
    assert not c.ok and "structure" in [x.name for x in c.failed]
    assert "a bidder weight is not positive" in c.check("structure").detail


def test_lottery_ama_records_its_options_and_artifact(tmp_path):
    # its known optima (Myerson for two uniform and three exponential bidders) are in the
    # shared table, tests/known_answers.py
    spec = bidders(2, [U(0, 1)], "m2")
    res = api.compile(spec, "menu", {"architecture": "lottery_ama", "steps": 200, "test_samples": 10_000},
                      seed=0, out=tmp_path, verify=False)
    assert res.claim["kind"] == "exact_by_construction"
    assert res.mechanism.weights.max() == 1.0  # weights are normalised to a largest of one
    opts = res.mechanism.meta.options
    assert (opts["temperature"], opts["temperature_final"], opts["size"]) == (0.01, 3e-4, 64)
    assert "training_curves_png" in res.files
    assert isinstance(load_mechanism(res.artifact), AffineMaximizerMechanism)


@pytest.mark.slow
def test_lottery_ama_two_by_two_beats_the_affine_maximizer_baseline():
    spec = bidders(2, [U(0, 1)] * 2, "g22")
    res = run_backend("menu", spec, {"architecture": "lottery_ama", "steps": 3000, "test_samples": 100_000},
                                seed=0)
    # AMA (Sandholm and Likhodedov) 0.862, exactly strategy-proof like this one
    assert res.stats["test_revenue"] >= 0.862, res.stats["test_revenue"]
    a, _ = res.mechanism.allocate_and_pay(np.random.default_rng(1).uniform(size=(10_000, 2, 2)))
    assert a.sum(1).max() <= 1.0 + 1e-12


def test_lottery_ama_accepts_more_items_and_refuses_xor():
    four = bidders(2, [U(0, 1)] * 4).model_copy(
        update={"solve": ir.Solve(backend="menu", options={"architecture": "lottery_ama"})})
    assert accepts("menu", four).ok and "lottery AMA" in accepts("menu", four).reasons[0]
    assert not accepts("menu", bidders(2, [U(0, 1)] * 4)).ok  # GemNet: at most 3 items
    xor = ir.AuctionSpec(name="x", items=("a", "b"), requirements=REQ, objective=OBJ,
                         bidders=(ir.Bidder(name="b", valuation=ir.Xor(bids=(ir.XorBid(bundle=("a", "b"), value=U(0, 1)),))),))
    with pytest.raises(PlanError) as e:
        run_backend("menu", xor, {"architecture": "lottery_ama"})
    d = e.value.diagnostics[0]
    assert d.code == "E0730"
    assert d.message == "a lottery AMA of backend menu takes additive and unit-demand bidders, not xor"


def test_two_by_two_example_asks_for_a_lottery_ama():
    spec = api.load("examples/two_by_two.auction")
    assert spec.solve.options["architecture"] == "lottery_ama"
    assert accepts("menu", spec).ok


def test_lottery_ama_unit_demand_outcomes_respect_both_constraints():
    spec = ir.AuctionSpec(
        name="ud2", items=("a", "b"), requirements=REQ, objective=OBJ,
        bidders=tuple(ir.Bidder(name=f"b{i}", valuation=ir.UnitDemand(values=(U(0, 1), U(0, 1)))) for i in range(2)),
    )
    res = run_backend("menu", spec, {"architecture": "lottery_ama", "steps": 300, "test_samples": 20_000},
                                seed=0)
    x = res.mechanism.outcomes
    assert x.sum(2).max() <= 1 + 1e-12  # each bidder at most one item in expectation
    assert x.sum(1).max() <= 1 + 1e-12  # each item at most once
    assert res.stats["test_revenue"] > 0 and res.claim["kind"] == "exact_by_construction"


FOUR_ITEMS = """auction four {
    items 4
    bidders 2 {
        valuation additive
        values ~ Uniform(0, 1) iid
    }
    require IC, IR
    maximize revenue
    solve with menu(steps = 50)
}
"""


def test_command_line_architecture_counts_when_planning():
    spec = api.loads(FOUR_ITEMS)
    with pytest.raises(PlanError) as e:
        api.compile(spec, verify=False)
    assert e.value.diagnostics[0].message.endswith("takes at most 3 items with several bidders, not 4")
    out = api.compile(spec, options={"architecture": "lottery_ama", "test_samples": 1000}, verify=False)
    assert out.backend == "menu" and out.stats["method"] == "lottery_ama"
    with pytest.raises(PlanError) as e:
        api.compile(spec, options={"architecture": "lottery_amma"}, verify=False)
    d = e.value.diagnostics[0]
    assert d.code == "E0604" and d.suggestion == "lottery_ama"
    assert d.message == "option 'architecture' of backend menu must be one of gemnet, lottery_ama, experiments, experiment_network, not 'lottery_amma'"


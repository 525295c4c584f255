"""Menu networks: RochetNet's artifact and structure, GemNet's certified transform, training
experience.  The known optima every backend meets (Manelli-Vincent, unit demand, Pavlov, a
single-minded bidder) are in the shared table, tests/known_answers.py.

GemNet's revenues are measured on >= 100,000 fresh profiles with argmax choice, so a 2%
tolerance is well above the Monte Carlo noise (about 0.25% at 95% for these settings).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from auctionc import api, ir
from auctionc import valuation as V
from auctionc.backends.menu.gemnet import network_bounds as bounds
from auctionc.backends.menu.gemnet import surcharge
from auctionc.backends.menu.gemnet.gemnet_artifact import GemNetMechanism
from auctionc.errors import PlanError
from auctionc.mechanism import load_mechanism
from auctionc.verifier import verify
from conftest import accepts, run_backend

torch.set_num_threads(1)

REQ = (ir.IC(), ir.IR())
OBJ = ir.Objective(terms=("revenue",), weights=(1.0,))


def U(a: float, b: float) -> ir.ValueExpr:
    return ir.ValueExpr(terms=(ir.Draw(dist=ir.Uniform(low=a, high=b)),), coefs=(1.0,))


def one_bidder(kind: str, dists: list[ir.ValueExpr], name: str = "t") -> ir.AuctionSpec:
    items = tuple(f"I{j}" for j in range(len(dists)))
    val = ir.Additive(values=tuple(dists)) if kind == "additive" else ir.UnitDemand(values=tuple(dists))
    return ir.AuctionSpec(name=name, items=items, bidders=(ir.Bidder(name="b", valuation=val),),
                          requirements=REQ, objective=OBJ)


def bidders(n: int, dists: list[ir.ValueExpr], name: str = "m") -> ir.AuctionSpec:
    items = tuple(f"I{j}" for j in range(len(dists)))
    return ir.AuctionSpec(
        name=name, items=items, requirements=REQ, objective=OBJ,
        bidders=tuple(ir.Bidder(name=f"b{i}", valuation=ir.Additive(values=tuple(dists))) for i in range(n)),
    )


def within(x: float, target: float, tol: float) -> bool:
    return abs(x / target - 1.0) <= tol


# ------------------------------------------------------------------ RochetNet


def test_rochetnet_manelli_vincent_with_outputs(tmp_path):
    spec = one_bidder("additive", [U(0, 1), U(0, 1)], "mv")
    res = api.compile(spec, "menu", {"steps": 300, "test_samples": 10_000}, seed=0, out=tmp_path, verify=False)
    assert res.claim["kind"] == "exact_by_construction"
    mech = res.mechanism
    st = mech.structure()  # the elements themselves, with the null element among them
    assert ((np.abs(st.allocations).max(axis=1) == 0) & (st.prices == 0)).any() and not st.null_by_rule
    # IR by construction: nobody pays more than the value of what they get
    v = np.random.default_rng(5).uniform(size=(20_000, 1, 2))
    alloc, pay = mech.allocate_and_pay(v)
    assert ((v * alloc).sum(2) - pay).min() >= -1e-9
    # the artifact, the plots and the checkpoint are written and listed
    from pathlib import Path

    for key in ("allocation_png", "training_curves_png", "checkpoint"):
        assert Path(res.files[key]).is_file() and Path(res.files[key]).is_relative_to(tmp_path)
    assert res.artifact == tmp_path / "mechanism.json"
    loaded = load_mechanism(res.artifact)
    a2, p2 = loaded.allocate_and_pay(v)
    assert np.allclose(a2, alloc) and np.allclose(p2, pay)
    doc = json.loads((tmp_path / "mechanism.json").read_text())
    assert doc["meta"]["seed"] == 0 and doc["meta"]["options"]["size"] == 200
    assert "torch" in doc["meta"]["versions"]
    title, table = res.report_sections[0]
    assert title == "Menu (RochetNet)" and table.startswith("| price | I0 | I1 | chosen |")


def test_rochetnet_unit_demand_elements_give_at_most_one_item():
    spec = one_bidder("unit_demand", [U(0, 1), U(0, 1)])
    res = run_backend("menu", spec, {"steps": 200, "test_samples": 1000}, seed=1)
    # unit demand: no element gives more than one item in expectation
    assert res.mechanism.allocations.sum(1).max() <= 1.0 + 1e-9


def test_rochetnet_xor_menu_offers_lotteries_over_bundles():
    # one bidder wants only {A, B}, value U[0,1] (its optimum, 1/4, is in the known-answer table)
    spec = ir.AuctionSpec(
        name="xor", items=("A", "B"), requirements=REQ, objective=OBJ,
        bidders=(ir.Bidder(name="b", valuation=ir.Xor(bids=(ir.XorBid(bundle=("A", "B"), value=U(0, 1)),))),),
    )
    res = run_backend("menu", spec, {"steps": 200, "size": 50, "test_samples": 1000}, seed=0)
    assert res.mechanism.outcome_space == "bundles"
    assert res.mechanism.allocations.shape[1] == 4
    # lotteries over bundles: every element is a probability distribution
    assert np.allclose(res.mechanism.allocations[:-1].sum(1), 1.0)


def test_resume_continues_from_checkpoint(tmp_path):
    spec = one_bidder("additive", [U(0, 1), U(0, 1)])
    opts = {"size": 20, "batch": 128, "checkpoint_every": 50, "test_samples": 1000}
    first = api.compile(spec, "menu", {**opts, "steps": 100}, seed=3, out=tmp_path, verify=False)
    assert first.stats["resumed_from"] is None and first.stats["steps"] == 100
    second = run_backend("menu", spec, {**opts, "steps": 150}, seed=3, out_dir=tmp_path, resume=True)
    assert second.stats["resumed_from"] == 100 and second.stats["steps"] == 150


# ------------------------------------------------------------------ GemNet


@pytest.mark.slow
def test_gemnet_two_bidders_one_item_certified(tmp_path):
    spec = bidders(2, [U(0, 1)], "myerson2")
    res = api.compile(spec, "menu", {"steps": 2000, "test_samples": 100_000, "transform": "surcharge"}, seed=0, out=tmp_path, verify=False)
    rev = res.stats["test_revenue"]
    assert within(rev, 5 / 12, 0.02), rev
    cert = res.claim
    assert cert["kind"] == "exact_by_menu_compatibility"
    assert cert["failed_cells"] == 0 and cert["grid"]["full_cells"] == 400 * 400
    assert math.isfinite(cert["lipschitz_bound"]["price"])
    assert cert["milp_status"] in ("not needed", "optimal", "time limit (feasible incumbent)")
    assert res.stats["over_allocation"]["rate"] == 0.0
    # the saved artifact re-checks its own certificate and evaluates identically
    loaded = load_mechanism(res.artifact)
    assert isinstance(loaded, GemNetMechanism)
    assert proof(loaded, spec)["ok"] is True
    v = np.random.default_rng(9).uniform(size=(5000, 2, 1))
    a1, p1 = res.mechanism.allocate_and_pay(v)
    a2, p2 = loaded.allocate_and_pay(v)
    assert np.array_equal(a1, a2) and np.array_equal(p1, p2)
    at, pt = loaded.allocate_and_pay_torch(torch.as_tensor(v))
    assert np.allclose(at.numpy(), a1) and np.allclose(pt.numpy(), p1)
    # self-bid independence: a bidder's price does not move with its own report
    w = v.copy()
    w[:, 0, 0] = np.random.default_rng(2).uniform(size=5000)
    _, p_a = loaded.menus(v)[0]
    _, p_b = loaded.menus(w)[0]
    assert np.array_equal(p_a, p_b)


def _constant_menu_net(price: float) -> bounds.NetWeights:
    """One element: the item (allocation sigmoid(30) ~ 1) at a fixed price, whatever the others bid."""
    return {
        "trunk": [(np.zeros((1, 1)), np.zeros(1))],
        "alloc": (np.zeros((1, 1)), np.array([30.0])),
        "price": (np.zeros((1, 1)), np.array([price])),
        "head": "additive",
        "K": 1,
        "m": 1,
    }


def test_transform_detects_and_repairs_over_allocating_pair():
    spec = bidders(2, [U(0, 1)])
    nets = [_constant_menu_net(0.3), _constant_menu_net(0.3)]
    grid = surcharge.Grid(np.array([[[0.0, 1.0]], [[0.0, 1.0]]]), 20)
    before = surcharge.recheck_surcharge(nets, grid, 1.0, None)
    assert before["ok"] is False and before["failed_cells"] > 0.45 * grid.full_cells
    v = np.random.default_rng(0).uniform(size=(100_000, 2, 1))
    raw = GemNetMechanism(nets, 1.0, ["I0"])
    alloc, _ = raw.allocate_and_pay(v)
    rate = float((alloc.sum(1)[:, 0] > 1 + 1e-9).mean())
    assert abs(rate - 0.49) < 0.01  # both buy when both values exceed 0.3

    weights = [np.ones((20, 1)) / 20] * 2
    tr = surcharge.transform(nets, grid, 1.0, weights, time_limit=15)
    assert tr.certified and tr.failed_before == before["failed_cells"] and tr.failed_after == 0
    assert tr.milp_status in ("optimal", "time limit (feasible incumbent)")
    fixed = GemNetMechanism(nets, 1.0, ["I0"], grid, tr.surcharge,
                            meta=_meta({"kind": "exact_by_menu_compatibility"}))
    alloc, pay = fixed.allocate_and_pay(v)
    assert (alloc.sum(1)[:, 0] <= 1 + 1e-9).all()
    assert pay.sum(1).mean() > 0.3  # the repair keeps selling, not just shutting the menus
    assert proof(fixed, spec)["ok"] is True
    # the re-check is not a rubber stamp: without the surcharges it fails
    unfixed = GemNetMechanism(nets, 1.0, ["I0"], grid, None, meta=_meta({"kind": "exact_by_menu_compatibility"}))
    assert proof(unfixed, spec) is None  # no surcharges: nothing to prove with
    c = verify(unfixed, spec, samples=300, steps=5, restarts=2, metric_samples=20_000)
    # the first profiles evaluated already over-allocate: refused as invalid before any certificate
    assert c.kind == "invalid" and [x.name for x in c.failed] == ["feasibility"]


def proof(mech, spec):
    """The compatibility proof re-run from the artifact's parameters, for the spec's value box."""
    return mech.compatibility_proof(V.value_bounds(spec))


def _meta(cert):
    from auctionc.mechanism.base import ArtifactMeta

    return ArtifactMeta(claim=cert)


def test_interval_bounds_contain_sampled_menus():
    gen = torch.Generator().manual_seed(0)
    from auctionc.backends.menu.gemnet.gemnet_training import MenuNet

    for head in ("additive", "unit_demand"):
        net = MenuNet(2, 16, 2, 5, 2, head, gen).export()
        lo = np.array([[0.2, 0.5]])
        hi = np.array([[0.3, 0.55]])
        aL, aU, pL, pU = bounds.interval_bounds(net, lo, hi)
        x = np.random.default_rng(1).uniform(lo, hi, size=(5000, 2))
        a, p = bounds.forward(net, x)
        assert (a >= aL - 1e-12).all() and (a <= aU + 1e-12).all()
        assert (p >= pL - 1e-12).all() and (p <= pU + 1e-12).all()
        La, Lp = bounds.lipschitz_bounds(net)
        y = x + np.random.default_rng(2).uniform(-0.01, 0.01, size=x.shape)
        a2, p2 = bounds.forward(net, y)
        d = np.abs(y - x).max(1)
        assert (np.abs(p2 - p).max(1) <= Lp * d + 1e-12).all()
        assert (np.abs(a2 - a).max((1, 2)) <= La * d + 1e-12).all()


# ------------------------------------------------------------------ refusals and options


def test_accepts_refuses_with_pointers():
    market = ir.MarketSpec(
        name="dm", states=("r", "s"), requirements=REQ, objective=OBJ,
        buyers=(ir.Buyer(name="f", actions=("a", "b"), payoffs=((1.0, 0.0), (0.0, 1.0)),
                         type=ir.BeliefType(state="r", dist=ir.Uniform(low=0, high=1))),),
    )
    assert accepts("menu", market).ok  # a learned menu of experiments (tests/test_learned_markets.py)
    welfare = market.model_copy(update={"objective": ir.Objective(terms=("welfare",), weights=(1.0,))})
    v = accepts("menu", welfare)
    assert not v.ok and "revenue only" in v.reasons[0] and "lp" in v.hints[0]
    cats = ir.AuctionSpec(name="c", items=tuple(f"i{k}" for k in range(20)), requirements=REQ, objective=OBJ,
                          bidders=(ir.Bidder(name="b", valuation=ir.Cats(distribution="regions")),))
    v = accepts("menu", cats)
    assert not v.ok and "bundleflow" in v.hints[0]
    items = tuple(f"i{k}" for k in range(7))
    xor7 = ir.AuctionSpec(name="x", items=items, requirements=REQ, objective=OBJ,
                          bidders=(ir.Bidder(name="b", valuation=ir.Xor(bids=(ir.XorBid(bundle=items, value=U(0, 1)),))),))
    v = accepts("menu", xor7)
    assert not v.ok and v.reasons[0] == "backend menu takes xor valuations over at most 6 items, not 7"
    det = one_bidder("additive", [U(0, 1)]).model_copy(update={"requirements": REQ + (ir.Deterministic(),)})
    v = accepts("menu", det)
    assert not v.ok and "milp" in v.hints[0]
    assert accepts("menu", bidders(4, [U(0, 1)])).ok and "may fail" in accepts("menu", bidders(4, [U(0, 1)])).reasons[0]
    assert not accepts("menu", bidders(2, [U(0, 1)] * 4)).ok
    with pytest.raises(PlanError) as e:
        run_backend("menu", xor7, {})
    assert e.value.diagnostics[0].code == "E0730"


def test_option_errors():
    spec = one_bidder("additive", [U(0, 1), U(0, 1)])
    with pytest.raises(PlanError) as e:
        run_backend("menu", spec, {"sise": 10})
    d = e.value.diagnostics[0]
    assert d.code == "E0602" and d.suggestion == "size"
    with pytest.raises(PlanError) as e:
        run_backend("menu", spec, {"temperature": 0.001, "temperature_final": 0.01})
    assert e.value.diagnostics[0].message.startswith("option 'temperature_final' of backend menu (0.01) must not exceed")
    # a cells certification that would run for hours is refused before any training
    two = bidders(2, [U(0, 1), U(0, 1)])
    with pytest.raises(PlanError) as e:
        run_backend("menu", two, {"size": 512})
    d = e.value.diagnostics[0]
    assert d.code == "E0604" and d.message == (
        "GemNet's cells certification with size = 512 and grid = 21 would compare about 2.0e+11 pairs "
        "of menu elements, hours of work")
    assert d.help == 'lower `size` (default 16 here) or `grid` (default 21), or use transform = "scale"'


# ------------------------------------------------------------------ scaling transform, tails


def _clipped_menu_net(price: float, n_in: int = 1) -> bounds.NetWeights:
    """One element: the whole item (the clipped head reaches exactly 1) at a fixed price."""
    return {
        "trunk": [(np.zeros((1, n_in)), np.zeros(1))],
        "alloc": (np.zeros((1, 1)), np.array([30.0])),
        "price": (np.zeros((1, 1)), np.array([price])),
        "head": "additive_clipped",
        "K": 1,
        "m": 1,
    }


def test_clipped_head_reaches_exact_zero_and_one():
    net = _clipped_menu_net(0.3)
    a, _ = bounds.forward(net, np.zeros((3, 1)))
    assert (a == 1.0).all()
    net["alloc"] = (np.zeros((1, 1)), np.array([-30.0]))
    a, _ = bounds.forward(net, np.zeros((3, 1)))
    assert (a == 0.0).all()


def test_scaling_transform_repairs_over_allocating_pair():
    from auctionc.backends.menu.gemnet import edge_grid, scale

    spec = bidders(2, [U(0, 1)])
    nets = [_clipped_menu_net(0.3), _clipped_menu_net(0.3)]
    grid = edge_grid.make_grid(np.array([[[0.0, 1.0]], [[0.0, 1.0]]]), 10, np.zeros((2, 1), bool))
    # both buy whenever both values exceed 0.3: the cells above 0.3 x 0.3 fail (the
    # cells holding 0.3 too, since a bidder there may buy)
    ref = scale.refine(nets, 1.0, grid, None, depth=0)
    assert ref.failing_per_level[0] == 8 * 8
    weights = [np.ones(10) / 10, np.ones(10) / 10]
    sr = scale.certify_scaling(nets, 1.0, grid, weights, budget=5_000)
    assert sr.certified and sr.lp_status == "optimal" and sr.failing_before == 64
    f0, f1 = sr.factors
    # only the others-cells where the other may buy are scaled, and there the factors share the item
    assert (f0[:2] == 1).all() and (f1[:2] == 1).all()
    assert np.allclose(f0[2:] + f1[2:], 1 - scale.LP_MARGIN, atol=1e-6)
    cert = {"kind": "exact_by_menu_compatibility", "transform": "scaling", "depth": sr.depth}
    mech = GemNetMechanism(nets, 1.0, ["I0"], edge_grid=grid, factors=sr.factors, meta=_meta(cert))
    v = np.random.default_rng(0).uniform(size=(50_000, 2, 1))
    alloc, pay = mech.allocate_and_pay(v)
    assert alloc.sum(1).max() <= 1.0
    # IR: the scaled menus charge the factor times the price for the factor times the item
    assert ((v * alloc).sum(2) - pay).min() >= -1e-12
    at, pt = mech.allocate_and_pay_torch(torch.as_tensor(v[:2000]))
    assert np.allclose(at.numpy(), alloc[:2000]) and np.allclose(pt.numpy(), pay[:2000])
    assert proof(mech, spec)["ok"] is True
    # the re-check is not a rubber stamp: without factors, or with one raised, it fails
    raised = [f0.copy(), f1.copy()]
    raised[0][5] = raised[1][5] = 1.0
    bad = GemNetMechanism(nets, 1.0, ["I0"], edge_grid=grid, factors=raised, meta=_meta(cert))
    out = proof(bad, spec)
    assert out["ok"] is False and out["failed_boxes"] > 0
    ones = GemNetMechanism(nets, 1.0, ["I0"], edge_grid=grid, factors=[np.ones(10)] * 2, meta=_meta(cert))
    assert proof(ones, spec)["ok"] is False


def test_scaling_certificate_covers_unbounded_tail(tmp_path):
    from auctionc.backends.menu.gemnet import edge_grid, scale
    from auctionc.backends.menu.gemnet.gemnet_training import upper_tails

    exp = ir.ValueExpr(terms=(ir.Draw(dist=ir.Exponential(rate=1 / 3)),), coefs=(1.0,))
    spec = bidders(2, [exp], "exp2")
    unb, cap = upper_tails(spec, 1e-6)
    assert unb.all() and np.allclose(cap, 3 * np.log(1e6))
    box = np.array([[[0.0, 62.0]], [[0.0, 62.0]]])
    grid = edge_grid.make_grid(box, 8, unb, cap)
    assert np.isinf(grid.edges[0][0][-1]) and grid.covers(box) and grid.counts(0) == (9,)
    assert np.allclose(grid.input_cap(), cap)
    nets = [_clipped_menu_net(0.3), _clipped_menu_net(0.3)]
    sr = scale.certify_scaling(nets, 10.0, grid, [np.ones(9), np.ones(9)], budget=5_000)
    assert sr.certified
    cert = {"kind": "exact_by_menu_compatibility", "transform": "scaling", "depth": sr.depth}
    mech = GemNetMechanism(nets, 10.0, ["I0"], edge_grid=grid, factors=sr.factors, meta=_meta(cert))
    # far in the tail, where no grid cell is finite, the chosen items still fit
    v = np.array([[[1e6], [5e5]], [[1e9], [40.0]], [[2.0], [1e12]]])
    alloc, _ = mech.allocate_and_pay(v)
    assert alloc.sum(1).max() <= 1.0 and alloc.sum() > 0
    mech.save(tmp_path)
    loaded = load_mechanism(tmp_path)
    assert proof(loaded, spec)["ok"] is True
    a2, _ = loaded.allocate_and_pay(v)
    assert np.array_equal(a2, alloc)


def test_interval_bounds_clipped_head_and_boxes():
    from auctionc.backends.menu.gemnet import scale
    from auctionc.backends.menu.gemnet.gemnet_training import MenuNet

    gen = torch.Generator().manual_seed(3)
    nets = [MenuNet(2, 16, 2, 6, 2, "additive_clipped", gen).export() for _ in range(2)]
    infos = [scale._NetInfo(net, *bounds.lipschitz_bounds(net)) for net in nets]
    lo = np.array([[0.2, 0.5]])
    hi = np.array([[0.3, 0.55]])
    aL, aU, pL, pU, dU = scale._menu_bounds(infos[0], lo, hi, 2.0, first_order=True)
    x = np.random.default_rng(1).uniform(lo, hi, size=(5000, 2))
    a, p = bounds.forward(nets[0], x / 2.0)
    assert (a >= aL - 1e-12).all() and (a <= aU + 1e-12).all()
    assert (p * 2.0 >= pL - 1e-12).all() and (p * 2.0 <= pU + 1e-12).all()
    diff = 2.0 * (p[:, :, None] - p[:, None, :])
    assert (diff <= dU + 1e-12).all()
    # the first-order bound on price differences is much tighter than pU_l - pL_k
    assert (dU < (pU[:, :, None] - pL[:, None, :]) - 1e-6).mean() > 0.5
    # the usage bound over a box holds at every profile in it
    blo = np.array([[[0.1, 0.2], [0.3, 0.4]]])
    bhi = blo + 0.05
    v = np.random.default_rng(2).uniform(blo[0], bhi[0], size=(5000, 2, 2))
    for margin in (0.0, 0.15):  # 0.15 pushes the lowered values below 0
        Ub = scale.usage_upper(infos, 2.0, np.full((2, 2), np.inf), blo, bhi, margin)
        alloc, _ = GemNetMechanism(nets, 2.0, ["A", "B"], margin=margin).allocate_and_pay(v)
        assert (alloc <= Ub + 1e-12).all()


@pytest.mark.slow
def test_gemnet_scaling_transform_certifies_two_bidders(tmp_path):
    spec = bidders(2, [U(0, 1)], "myerson2s")
    opts = {"steps": 2000, "test_samples": 100_000, "transform": "scale", "grid": 100, "refine_budget": 100_000}
    res = api.compile(spec, "menu", opts, seed=0, out=tmp_path, verify=False)
    rev = res.stats["test_revenue"]
    assert within(rev, 5 / 12, 0.02), rev
    cert = res.claim
    assert cert["kind"] == "exact_by_menu_compatibility" and cert["transform"] == "scaling"
    assert cert["margin"] == pytest.approx(0.01 * res.stats["value_scale"])
    assert res.stats["over_allocation"]["rate"] == 0.0
    loaded = load_mechanism(res.artifact)
    out = proof(loaded, spec)
    assert out["ok"] is True and out["transform"] == "scaling" and out["depth"] <= cert["depth"]
    v = np.random.default_rng(9).uniform(size=(5000, 2, 1))
    a1, p1 = res.mechanism.allocate_and_pay(v)
    a2, p2 = loaded.allocate_and_pay(v)
    assert np.array_equal(a1, a2) and np.array_equal(p1, p2)
    # without the margin the bidders' choice boundaries touch and the same proof fails
    loaded.margin = 0.0
    assert proof(loaded, spec)["ok"] is False


# ------------------------------------------------------------------ cells transform


def test_cells_possible_sets_contain_every_sampled_choice():
    """The pairwise-domination enclosure is sound: every element chosen at a sampled own value
    in the box is in the possible set (boxes with an unbounded coordinate included)."""
    from auctionc.backends.menu.gemnet import cells

    rng = np.random.default_rng(4)
    N, K, m = 300, 6, 2
    a = rng.uniform(size=(N, K, m)) * (rng.uniform(size=(N, K, 1)) > 0.3)
    p = rng.uniform(0, 1.5, size=(N, K))
    lo = rng.uniform(0, 1, size=(N, m))
    hi = lo + rng.uniform(0.01, 0.3, size=(N, m))
    hi[::7, 1] = np.inf
    ok = cells._possible(a, p, lo, hi)
    v = lo[:, None, :] + rng.uniform(size=(N, 400, m)) * np.where(np.isfinite(hi), hi - lo, 50.0)[:, None, :]
    u = np.einsum("nsm,nkm->nsk", v, a) - p[:, None, :]
    u = np.concatenate([u, np.zeros(u.shape[:2] + (1,))], axis=2)
    best = u.argmax(2)  # (N, S); K is the null element
    chosen = np.zeros((N, K + 1), bool)
    np.put_along_axis(chosen, best, True, axis=1)
    assert not (chosen[:, :K] & ~ok).any()
    assert ok.sum() < N * K  # and it does exclude elements
    # usage is the largest allocation among the possible elements
    use = cells.usage(a, p, lo, hi)
    assert np.allclose(use, np.where(ok[..., None], a, 0).max(1))


def test_cells_repair_certifies_over_allocating_pair(tmp_path):
    from auctionc.backends.menu.gemnet import cells, edge_grid

    spec = bidders(2, [U(0, 1)])
    nets = [_clipped_menu_net(0.3), _clipped_menu_net(0.3)]
    grid = edge_grid.make_grid(np.array([[[0.0, 1.0]], [[0.0, 1.0]]]), 10, np.zeros((2, 1), bool))
    # both buy whenever both values exceed 0.3: the 7 x 7 cells above 0.3 fail, and the
    # cells holding 0.3 too (a bidder there may buy)
    before = cells.check_cells(grid, cells.menu_table(nets, 1.0, grid), None, depth=0)
    assert len(before.own) == 8 * 8
    weights = [np.ones(10) / 10, np.ones(10) / 10]
    cr = cells.certify_cells(nets, 1.0, grid, weights, depth=2)
    assert cr.certified and cr.failing_before == 64 and cr.failing_after_repair == 0
    # the repair raised prices (no lottery fragments to trim here) and scaled nothing
    assert sum((s > 0).sum() for s in cr.surcharge) > 0 and all((c == 1).all() for c in cr.caps)
    assert all((f == 1).all() for f in cr.factors)
    cert = {"kind": "exact_by_menu_compatibility", "transform": "cells", "depth": cr.depth}
    mech = GemNetMechanism(nets, 1.0, ["I0"], edge_grid=grid, surcharge=cr.surcharge, caps=cr.caps,
                           factors=cr.factors, meta=_meta(cert), cells=True)
    v = np.random.default_rng(0).uniform(size=(50_000, 2, 1))
    alloc, pay = mech.allocate_and_pay(v)
    assert alloc.sum(1).max() <= 1.0
    assert ((v * alloc).sum(2) - pay).min() >= -1e-12  # IR
    # the higher bidder keeps the item: close to a second-price auction with reserve 0.3
    # (0.4123 on the continuum), not a shut-down menu
    assert pay.sum(1).mean() > 0.38
    at, pt = mech.allocate_and_pay_torch(torch.as_tensor(v[:2000]))
    assert np.allclose(at.numpy(), alloc[:2000]) and np.allclose(pt.numpy(), pay[:2000])
    assert proof(mech, spec)["ok"] is True
    mech.save(tmp_path)
    loaded = load_mechanism(tmp_path)
    assert proof(loaded, spec)["ok"] is True
    a2, p2 = loaded.allocate_and_pay(v)
    assert np.array_equal(a2, alloc) and np.array_equal(p2, pay)
    # the re-check is not a rubber stamp: without the surcharges it fails
    bare = GemNetMechanism(nets, 1.0, ["I0"], edge_grid=grid, factors=cr.factors, meta=_meta(cert), cells=True)
    out = proof(bare, spec)
    assert out["ok"] is False and out["failed_cells"] == 64


def test_cells_repair_trims_lottery_fragments():
    """A sliver of the item in one bidder's element, next to the other's whole item, is trimmed
    to zero rather than priced out of the menu."""
    from auctionc.backends.menu.gemnet import cells, edge_grid

    whole = _clipped_menu_net(0.3)
    sliver = _clipped_menu_net(0.0)
    sliver["alloc"] = (np.zeros((1, 1)), np.array([-np.log((1.02 / 0.03) - 1)]))  # ~0.02 of the item, free
    grid = edge_grid.make_grid(np.array([[[0.0, 1.0]], [[0.0, 1.0]]]), 10, np.zeros((2, 1), bool))
    sur, caps, rounds, first, left = cells.repair(grid, [whole, sliver], 1.0, 1)
    assert first > 0 and rounds >= 1 and len(left.own) == 0
    assert (sur[1] == 0).all() and caps[1].min() == 0.0
    assert cells.recheck_cells(grid=grid, nets=[whole, sliver], scale=1.0, factors=[np.ones(10)] * 2, depth=1,
                    surcharge=sur, caps=caps)["ok"] is True


@pytest.mark.slow
def test_gemnet_cells_transform_certifies_two_bidders(tmp_path):
    spec = bidders(2, [U(0, 1)], "myerson2c")
    opts = {"steps": 2000, "test_samples": 100_000, "transform": "cells"}
    res = api.compile(spec, "menu", opts, seed=0, out=tmp_path, verify=False)
    rev = res.stats["test_revenue"]
    assert within(rev, 5 / 12, 0.02), rev
    cert = res.claim
    assert cert["kind"] == "exact_by_menu_compatibility" and cert["transform"] == "cells"
    assert cert["failed_cells"] == 0 and cert["checked_cells"] == cert["grid"]["full_cells"]
    assert res.stats["over_allocation"]["rate"] == 0.0
    loaded = load_mechanism(res.artifact)
    assert proof(loaded, spec)["ok"] is True
    v = np.random.default_rng(9).uniform(size=(5000, 2, 1))
    a1, p1 = res.mechanism.allocate_and_pay(v)
    a2, p2 = loaded.allocate_and_pay(v)
    assert np.array_equal(a1, a2) and np.array_equal(p1, p2)
    # self-bid independence: bidder 0's menu does not move with its own report
    w = v.copy()
    w[:, 0, 0] = np.random.default_rng(2).uniform(size=5000)
    assert np.array_equal(loaded.menus(v)[0][1], loaded.menus(w)[0][1])

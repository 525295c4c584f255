"""Known answers of the exact backend (lp, milp) on finite and discretised type spaces."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from auctionc import api, ir
from auctionc.errors import BackendError, PlanError
from auctionc.mechanism import load_mechanism
from auctionc.mechanism.menu import MenuMechanism
from auctionc.mechanism.table import TableMechanism, bidder_type_space
from conftest import accepts, run_backend
from scipy.optimize import linprog

REV = ir.Objective(terms=("revenue",), weights=(1.0,))
U01 = ir.Uniform(low=0.0, high=1.0)


def E(d) -> ir.ValueExpr:
    return ir.ValueExpr(terms=(ir.Draw(dist=d),), coefs=(1.0,))


def kgrid(K: int) -> ir.Discrete:
    return ir.Discrete(values=tuple(k / K for k in range(K)), probs=tuple([1.0 / K] * K))


def single_item(n: int, dist, ic: str = "dominant", ir_mode: str = "ex_post", objective=REV) -> ir.AuctionSpec:
    bidders = tuple(ir.Bidder(name=f"b{i + 1}", valuation=ir.Single(value=E(dist))) for i in range(n))
    return ir.AuctionSpec(name="single", items=("item",), bidders=bidders,
                          requirements=(ir.IC(mode=ic), ir.IR(mode=ir_mode)), objective=objective)


def two_items(kind: str, da, db, *, grid: int | None = None, reqs=(ir.IC(), ir.IR())) -> ir.AuctionSpec:
    cls = {"additive": ir.Additive, "unit_demand": ir.UnitDemand}[kind]
    solve = ir.Solve(backend="lp", options={"grid": grid}) if grid else None
    return ir.AuctionSpec(name="two", items=("A", "B"), bidders=(ir.Bidder(name="buyer", valuation=cls(values=(E(da), E(db)))),),
                          requirements=reqs, objective=REV, solve=solve)


def compile_(spec, backend="lp", **opts):
    return run_backend(backend, spec, opts)


@pytest.mark.parametrize("K", [10, 20, 40])
@pytest.mark.parametrize("ic", ["dominant", "bayesian"])
def test_two_bidders_grid_myerson(K, ic):
    r = compile_(single_item(2, kgrid(K), ic=ic))
    assert r.claim["revenue"] == pytest.approx(5 / 12 - 1 / (6 * K**2), abs=1e-9)
    assert r.claim["kind"] == "exact_by_enumeration"
    assert r.claim["max_ic_violation"] <= 1e-9
    assert r.claim["max_ir_violation"] <= 1e-9
    assert r.claim["max_feasibility_violation"] <= 1e-9
    assert isinstance(r.mechanism, TableMechanism)
    assert r.stats["rounds"] >= 1
    assert r.stats["constraints_by_family"]["IC"] < r.stats["all_pairs_ic_constraints"]


@pytest.mark.parametrize("K", [10, 20])
def test_midpoint_grid_myerson(K):
    """What `lp(grid = K)` makes of U[0,1] (examples/myerson_lp.auction): the cell midpoints, whose
    optimum is 5/12 - 1/(6K^2) + 3/(8K) (docs/published-figures.md), 0.435 at K = 20."""
    r = compile_(single_item(2, ir.Uniform(low=0.0, high=1.0), ic="bayesian", ir_mode="interim"), grid=K)
    assert r.claim["revenue"] == pytest.approx(5 / 12 - 1 / (6 * K**2) + 3 / (8 * K), abs=1e-9)


def test_one_bidder_posted_price():
    vals, probs = (1.0, 2.0, 3.0, 5.0), (0.4, 0.3, 0.2, 0.1)
    spec = single_item(1, ir.Discrete(values=vals, probs=probs))
    best = max(v * sum(p for w, p in zip(vals, probs, strict=False) if w >= v) for v in vals)  # 1.2 at price 2 (or 3)
    r = compile_(spec)
    assert r.claim["revenue"] == pytest.approx(best, abs=1e-9)
    assert isinstance(r.mechanism, MenuMechanism) and r.mechanism.has_null_element
    # the menu prices the item at one posted price on the grid
    alloc, pay = r.mechanism.allocate_and_pay(np.array([[[2.5]], [[0.5]], [[10.0]]]))
    assert alloc[:, 0, 0].tolist() == [1.0, 0.0, 1.0]
    assert pay[0, 0] == pay[2, 0] and pay[0, 0] in (2.0, 3.0)


def test_welfare_objective_is_efficient():
    # maximising welfare gives each profile's item to a highest type: E[max of two on {0, .5}]
    spec = single_item(2, ir.Discrete(values=(0.0, 0.5), probs=(0.5, 0.5)),
                       objective=ir.Objective(terms=("welfare",), weights=(1.0,)))
    r = compile_(spec)
    assert r.claim["welfare"] == pytest.approx(0.375, abs=1e-9)


@pytest.mark.parametrize("kind,target", [("additive", 0.549201), ("unit_demand", 0.384900)])
def test_two_items_approach_known_optimum(kind, target):
    gaps = []
    for K in (10, 20):
        r = compile_(two_items(kind, U01, U01, grid=K), grid=K)
        assert r.claim["max_ic_violation"] <= 1e-8
        assert r.stats["discretisation"].startswith("finite priors as given; continuous priors: midpoint")
        gaps.append(r.claim["revenue"] - target)
    # midpoint grids overshoot the continuous optimum by O(1/K), and the gap shrinks
    assert 0 < gaps[1] < gaps[0] < 0.05
    assert gaps[1] < 0.6 * gaps[0]


def test_menu_is_ic_off_grid_and_table_matches():
    r = compile_(two_items("additive", U01, U01, grid=8), grid=8)
    menu = r.mechanism
    assert isinstance(menu, MenuMechanism)
    assert len(menu.prices) == 64 + 1
    rng = np.random.default_rng(0)
    v = rng.uniform(0, 1, (500, 2))
    a, p = menu.allocate_and_pay(v[:, None, :])
    u = (v * a[:, 0]).sum(1) - p[:, 0]
    # truthful choice beats every menu element: IC on the continuous space by construction
    assert np.all(u[:, None] >= v @ menu.allocations.T - menu.prices[None] - 1e-9)
    assert np.all(u >= -1e-9)
    table = TableMechanism.from_menu(menu, bidder_type_space(two_items("additive", U01, U01), 0, 8))
    assert table.exact_check(None)["revenue"] == pytest.approx(r.claim["revenue"], abs=1e-12)


def test_grid_lp_menu_is_verified_on_the_continuous_prior_and_on_the_discretised_one():
    spec = two_items("additive", U01, U01, grid=8)
    res = api.compile(spec, "lp", {"grid": 8}, verify_options={"samples": 200, "metric_samples": 20_000})
    c = res.certificate
    # IC and IR for every report by construction; revenue estimated on the continuous prior
    assert c.kind == "exact_by_construction" and c.ok and c.scope == "the spec's continuous prior"
    assert not c.metrics["revenue"]["exact"] and c.metrics["revenue"]["samples"] == 20_000
    # exact on the prior discretised on the recorded grid, which the verifier builds from the spec
    disc = c.details["discretised"]
    assert disc["grid"] == 8 and disc["profiles"] == 64
    assert abs(disc["revenue"] - res.stats["objective"]) <= 1e-9
    assert c.check("claim").ok and "the solver's objective (to 1e-09)" in c.check("claim").detail


def test_finite_lp_headline_is_the_exact_revenue():
    # three types, one item: the optimum is a posted price; the headline is exact, without an interval
    spec = single_item(1, ir.Discrete(values=(2.0, 5.0, 9.0), probs=(0.3, 0.5, 0.2)))
    res = api.compile(spec, "lp", {})
    rev = res.certificate.metrics["revenue"]
    best = max(v * sum(p for w, p in zip((2.0, 5.0, 9.0), (0.3, 0.5, 0.2), strict=True) if w >= v) for v in (2.0, 5.0, 9.0))
    assert rev["exact"] and rev["ci95"] is None and rev["value"] == pytest.approx(best, abs=1e-12)
    assert abs(rev["value"] - res.stats["objective"]) <= 1e-9
    assert res.certificate.kind == "exact_by_construction" and res.ok
    assert res.to_json()["metrics"]["revenue"]["value"] == rev["value"]


def test_xor_single_bidder_bundle_menu():
    # one bidder, xor bids {A,B}: 2 or 3, {A}: 1; menu over bundles
    bids = (ir.XorBid(bundle=("A", "B"), value=E(ir.Discrete(values=(2.0, 3.0), probs=(0.5, 0.5)))),
            ir.XorBid(bundle=("A",), value=E(ir.PointMass(value=1.0))))
    spec = ir.AuctionSpec(name="x", items=("A", "B"), bidders=(ir.Bidder(name="b", valuation=ir.Xor(bids=bids)),),
                          requirements=(ir.IC(), ir.IR()), objective=REV)
    r = compile_(spec)
    assert r.mechanism.outcome_space == "bundles" and r.mechanism.allocations.shape[1] == 4
    # sell the pair at 2 (revenue 2) or at 3 (1.5) or {A} at 1 with the pair at 3 (0.5 + 1.5 = 2)
    assert r.claim["revenue"] == pytest.approx(2.0, abs=1e-9)


def _brute_deterministic(spec) -> float:
    ts = bidder_type_space(spec, 0, None)
    V, f = ts.values, ts.probs
    T = len(f)
    opts = [np.array(o, float) for o in [(0, 0), (1, 0), (0, 1), (1, 1)]]
    best = -np.inf
    for asg in itertools.product(range(len(opts)), repeat=T):
        X = np.array([opts[a] for a in asg])
        A, b = [], []
        for t in range(T):
            for s in range(T):
                if s != t:
                    row = np.zeros(T)
                    row[t], row[s] = 1.0, -1.0
                    A.append(row)
                    b.append(V[t] @ (X[t] - X[s]))
            row = np.zeros(T)
            row[t] = 1.0
            A.append(row)
            b.append(V[t] @ X[t])
        res = linprog(-f, A_ub=np.array(A), b_ub=np.array(b), bounds=[(None, None)] * T, method="highs")
        if res.status == 0:
            best = max(best, -res.fun)
    return best


def test_deterministic_milp_hand_case():
    # A in {1, 3}, B in {1, 2}, uniform, additive: selling A at 3 and B at 2 gives 1.5 + 1 = 2.5, the
    # deterministic optimum (bundle at 3: 2.25, at 4: 2); a lottery menu gets 2.625
    da = ir.Discrete(values=(1.0, 3.0), probs=(0.5, 0.5))
    db = ir.Discrete(values=(1.0, 2.0), probs=(0.5, 0.5))
    lp = compile_(two_items("additive", da, db))
    det = two_items("additive", da, db, reqs=(ir.IC(), ir.IR(), ir.Deterministic()))
    r = compile_(det, backend="milp")
    assert lp.claim["revenue"] == pytest.approx(2.625, abs=1e-9)
    assert r.claim["revenue"] == pytest.approx(2.5, abs=1e-9)
    assert r.claim["revenue"] == pytest.approx(_brute_deterministic(det), abs=1e-9)
    assert set(np.unique(r.mechanism.allocations)) <= {0.0, 1.0}
    r2 = compile_(det, backend="milp", solver="highs")
    assert r2.claim["revenue"] == pytest.approx(2.5, abs=1e-9)


def test_accepts_and_refusals():
    v = accepts("lp", single_item(2, kgrid(4)))
    assert v.ok and v.score == 10.0
    cont = two_items("additive", U01, U01)
    v = accepts("lp", cont)
    assert not v.ok
    assert v.reasons[0].startswith("backend lp cannot take continuous priors for 2 items")
    assert v.hints[0] == "add `solve with lp(grid = 20)` or use `menu`"
    assert accepts("lp", two_items("additive", U01, U01, grid=20)).ok
    det = two_items("additive", kgrid(3), kgrid(3), reqs=(ir.IC(), ir.IR(), ir.Deterministic()))
    assert not accepts("lp", det).ok and accepts("milp", det).ok
    assert not accepts("milp", single_item(1, kgrid(3))).ok
    with pytest.raises(PlanError) as e:
        compile_(cont)
    assert e.value.diagnostics[0].code == "E0610"


def test_type_space_too_big_names_sizes():
    with pytest.raises(PlanError) as e:
        compile_(single_item(3, kgrid(200)))
    d = e.value.diagnostics[0]
    assert d.code == "E0710"
    assert "200 x 200 x 200 types make 48,000,000 variables" in d.message
    assert "IC constraints over all pairs" in d.message and "grid" in d.help


def test_unbounded_without_ir_names_family():
    spec = ir.AuctionSpec(name="u", items=("item",), bidders=(ir.Bidder(name="b", valuation=ir.Single(value=E(kgrid(3)))),),
                          requirements=(ir.IC(),), objective=REV)
    with pytest.raises(BackendError) as e:
        compile_(spec)
    d = e.value.diagnostics[0]
    assert d.code == "E0712" and "payments grow without limit because the IR family is absent" in d.message
    assert e.value.stats["variables"] == 6


def test_solver_failure_keeps_stats():
    spec = two_items("unit_demand", U01, U01, grid=12)
    with pytest.raises(BackendError) as e:
        compile_(spec, grid=12, max_rounds=1)
    d = e.value.diagnostics[0]
    assert d.code == "E0714" and "did not converge in 1 rounds" in d.message
    assert e.value.stats["rounds"] == 1 and e.value.stats["constraints"] > 0


def test_artifacts_round_trip(tmp_path):
    r = api.compile(single_item(2, kgrid(6)), "lp", out=tmp_path / "t", verify=False)
    back = load_mechanism(r.artifact)
    assert back.kind == "table"
    assert back.exact_check(single_item(2, kgrid(6)))["revenue"] == pytest.approx(r.claim["revenue"], abs=1e-12)
    assert back.meta.stats["grid"] is None and back.meta.backend == "lp"
    # off-grid reports go to the nearest type per coordinate
    a, p = back.allocate_and_pay(np.array([[[0.99], [0.01]]]))
    a2, p2 = back.allocate_and_pay(np.array([[[5 / 6], [0.0]]]))
    assert np.allclose(a, a2) and np.allclose(p, p2)
    one = run_backend("lp", single_item(1, kgrid(5)), {}, out_dir=tmp_path / "o")
    assert load_mechanism(one.files["finite_types"]).kind == "table"


def test_spec_text_through_frontend():
    frontend = pytest.importorskip("auctionc.frontend")
    spec = frontend.load_text(
        "auction mv {\n items A, B\n bidder b {\n  valuation additive\n  value A ~ Uniform(0, 1)\n"
        "  value B ~ Uniform(0, 1)\n }\n require IC, IR\n maximize revenue\n solve with lp(grid = 10)\n}\n"
    )
    r = run_backend("lp", spec, dict(spec.solve.options))
    assert r.claim["revenue"] == pytest.approx(0.59, abs=1e-9)
    assert math.isclose(r.stats["grid"], 10)


def test_interim_ir_bayesian_ic_same_myerson_revenue():
    K = 8
    r = compile_(single_item(2, kgrid(K), ic="bayesian", ir_mode="interim"))
    assert r.claim["revenue"] == pytest.approx(5 / 12 - 1 / (6 * K**2), abs=1e-9)
    assert r.claim["ir_mode"] == "interim" and r.claim["max_ir_violation"] <= 1e-9


def test_xor_two_bidders_welfare_equals_winner_determination():
    # VCG is dominant-strategy IC and ex post IR and efficient, so the welfare optimum under IC and IR
    # is the expected winner-determination welfare over the type profiles
    from auctionc.mechanism.table import type_spaces
    from auctionc.winner_determination import winner_determination_batch

    def bidder(name, pair_vals, single_item_name, single_val):
        bids = (ir.XorBid(bundle=("A", "B"), value=E(ir.Discrete(values=pair_vals, probs=(0.5, 0.5)))),
                ir.XorBid(bundle=(single_item_name,), value=E(ir.Discrete(values=single_val, probs=(0.5, 0.5)))))
        return ir.Bidder(name=name, valuation=ir.Xor(bids=bids))

    spec = ir.AuctionSpec(name="x2", items=("A", "B"),
                          bidders=(bidder("b1", (1.0, 3.0), "A", (0.5, 1.5)), bidder("b2", (1.0, 2.5), "B", (1.0, 2.0))),
                          requirements=(ir.IC(), ir.IR()), objective=ir.Objective(terms=("welfare",), weights=(1.0,)))
    r = compile_(spec)
    s1, s2 = type_spaces(spec, None)
    bv = np.stack([np.repeat(s1.values, len(s2.probs), axis=0), np.tile(s2.values, (len(s1.probs), 1))], axis=1)
    w = np.multiply.outer(s1.probs, s2.probs).ravel()
    _, best = winner_determination_batch(bv)
    assert r.claim["welfare"] == pytest.approx(float(w @ best), abs=1e-9)
    assert r.claim["max_feasibility_violation"] <= 1e-9 and r.claim["max_ic_violation"] <= 1e-9

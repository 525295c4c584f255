"""Learned data markets (backend menu, architectures "experiments" and "experiment_network"):
closed forms on hand-built menus and networks, invariants of the artifacts, short trainings
against known optima, the front end of the new type forms, and edited artifacts refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from auctionc import api, ir
from auctionc.cli import app
from auctionc.errors import SpecError
from auctionc.mechanism import load_mechanism
from auctionc.mechanism.base import stamp_provenance
from auctionc.mechanism.datamarket_menu import ExperimentMenuMechanism, entry_values
from auctionc.mechanism.datamarket_network import ExperimentNetworkMechanism, accuracies, outside_options
from auctionc.mechanism.market_space import dirichlet_lattice, market_types, sample_types, type_weights
from auctionc.verifier import EXIT_NOT_VERIFIED
from conftest import accepts, run_backend
from typer.testing import CliRunner

REV = ir.Objective(terms=("revenue",), weights=(1.0,))
MATCH = ((1.0, 0.0), (0.0, 1.0))  # plant pays in rain, wait in sun (actions = states)
FULL = np.eye(2)
NULL = np.full((2, 2), 0.5)
runner = CliRunner()


def one_buyer(t, *, states=("rain", "sun"), actions=("plant", "wait"), payoffs=MATCH, name="m") -> ir.MarketSpec:
    b = ir.Buyer(name="farmer", actions=actions, payoffs=payoffs, type=t)
    return ir.MarketSpec(name=name, states=states, buyers=(b,), requirements=(ir.IC(), ir.IR(), ir.Obedience()),
                         objective=REV)


def two_buyers(alpha=0.5, prior=(0.5, 0.5), name="ext") -> ir.MarketSpec:
    t = ir.ScaleType(dist=ir.Uniform(low=0.0, high=1.0), prior=prior)
    bs = tuple(ir.Buyer(name=f"b{i}", actions=("plant", "wait"), payoffs=MATCH, type=t) for i in range(2))
    return ir.MarketSpec(name=name, states=("rain", "sun"), buyers=bs, externality=alpha,
                         requirements=(ir.IC(), ir.IR(), ir.Obedience()), objective=REV)


UNIFORM_BELIEF = ir.BeliefType(state="rain", dist=ir.Uniform(low=0.0, high=1.0))


def menu(spec: ir.MarketSpec, experiments, prices) -> ExperimentMenuMechanism:
    b = spec.buyers[0]
    return ExperimentMenuMechanism(list(spec.states), list(b.actions), np.asarray(b.payoffs, float), b.type,
                                   np.asarray(experiments, float), np.asarray(prices, float), buyer=b.name)


def save(mech, spec, d: Path, claim=None) -> Path:
    stamp_provenance(mech, spec, backend="test", seed=0, options={}, stats={}, claim=claim)
    mech.save(d)
    (d / "spec.json").write_text(json.dumps({"ir_version": 1, "spec": spec.model_dump(mode="json")}))
    return d


def verify_cli(d: Path, *extra: str):
    r = runner.invoke(app, ["verify", str(d), "--json", "--quiet", "--samples", "2000", "--restarts", "4",
                            "--metric-samples", "40000", *extra])
    assert "Traceback" not in r.output
    return r, json.loads(r.stdout) if r.stdout.strip().startswith("{") else None


# ------------------------------------------------------------------ one buyer: closed forms


def test_entry_values_are_the_best_action_per_signal():
    # belief theta = P(rain): full information is worth 1 (always right), no information max(theta, 1 - theta)
    theta = np.array([0.1, 0.5, 0.8])
    w = np.stack([theta, 1 - theta], axis=1)
    vals = entry_values(w, np.stack([FULL, NULL]), np.asarray(MATCH))
    assert np.allclose(vals[:, 0], 1.0) and np.allclose(vals[:, 1], np.maximum(theta, 1 - theta))


def test_full_information_at_a_quarter_is_verified_exactly_and_earns_one_eighth():
    spec = one_buyer(UNIFORM_BELIEF)
    mech = menu(spec, [FULL, NULL], [0.25, 0.0])
    cert = api.verify(mech, spec, samples=2000, metric_samples=200_000)
    assert cert.ok and cert.kind == "exact_by_construction", cert.failed
    rev = cert.metrics["revenue"]
    # full information sells when min(theta, 1 - theta) >= 1/4: probability 1/2, revenue 1/8
    assert rev["value"] == pytest.approx(0.125, abs=4 * (rev["ci95"][1] - rev["ci95"][0]) + 1e-4)
    # the outcome is in recommendation form: columns are distributions and obeying is optimal
    R, p = mech.allocate_and_pay(np.array([[0.1], [0.4], [0.9]]))
    assert np.allclose(R.sum(axis=2), 1.0) and np.allclose(p[:, 0], [0.0, 0.25, 0.0])
    assert np.allclose(R[1, 0], FULL)  # rain -> plant, sun -> wait


def test_a_three_state_menu_with_belief_and_value_types_is_ic_for_every_pair_of_reports():
    # three states and actions, random payoffs and experiments, a Dirichlet belief and a value
    rng = np.random.default_rng(3)
    U = rng.uniform(0, 1, (3, 3))
    t = ir.BeliefScaleType(belief=ir.DirichletBelief(alpha=(1.0, 2.0, 1.0)), scale=ir.Uniform(low=0.0, high=2.0))
    spec = one_buyer(t, states=("s0", "s1", "s2"), actions=("a0", "a1", "a2"), payoffs=tuple(map(tuple, U)))
    E = rng.dirichlet(np.ones(3), size=(6, 3)).transpose(0, 2, 1)  # (K, G, S), columns sum to one
    E = np.concatenate([E, np.full((1, 3, 3), 1 / 3)])
    mech = menu(spec, E, list(rng.uniform(0, 0.3, 6)) + [0.0])
    x = sample_types(spec, 0, 400, rng)
    beliefs, scales = type_weights(spec, 0, x)
    w = beliefs * scales[:, None]
    R, p = mech.allocate_and_pay(x[:, None, :])
    R, p = R[:, 0], p[:, 0]
    # what type b gets from report r's outcome, acting optimally on each recommendation
    value = np.einsum("bs,ras,cs->brac", w, R, U).max(axis=3).sum(axis=2) - p[None, :]
    truthful = np.einsum("bs,bas,as->b", w, R, U) - p
    assert np.allclose(np.diag(value), truthful)  # obeying is the best action: obedience
    assert (value.max(axis=1) <= truthful + 1e-9).all()  # no report beats the truth: IC
    assert (truthful >= (w @ U.T).max(axis=1) - 1e-9).all()  # the null entry: IR
    cert = api.verify(mech, spec, samples=1000, metric_samples=20_000)
    assert cert.ok and cert.kind == "exact_by_construction", cert.failed


def test_full_information_over_three_states_at_a_third_earns_two_ninths():
    # beliefs uniform on the simplex: P(max theta > m) = 3 (1 - m)^2 for m >= 1/2, so full
    # information (worth 1 - max theta) at price p <= 1/2 sells with probability 1 - 3 p^2 and
    # earns p (1 - 3 p^2), largest at p = 1/3: 2/9
    spec = one_buyer(ir.DirichletBelief(alpha=(1.0, 1.0, 1.0)), states=("s0", "s1", "s2"), actions=("a0", "a1", "a2"),
                     payoffs=((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)))
    mech = menu(spec, [np.eye(3), np.full((3, 3), 1 / 3)], [1 / 3, 0.0])
    cert = api.verify(mech, spec, samples=2000, metric_samples=200_000)
    assert cert.ok and cert.kind == "exact_by_construction", cert.failed
    rev = cert.metrics["revenue"]
    assert rev["ci95"][0] - 1e-3 <= 2 / 9 <= rev["ci95"][1] + 1e-3


def test_dirichlet_lattice_for_two_states_is_the_midpoint_grid():
    pts, probs = dirichlet_lattice(np.array([1.0, 1.0]), 10)
    assert np.allclose(np.sort(pts[:, 0]), (np.arange(10) + 0.5) / 10) and np.allclose(probs, 0.1)
    pts3, probs3 = dirichlet_lattice(np.array([2.0, 1.0, 1.0]), 8)
    assert len(pts3) == 36 and np.allclose(pts3.sum(axis=1), 1.0) and probs3.sum() == pytest.approx(1.0)
    # a belief and a value: the product of the grids
    t = ir.BeliefScaleType(belief=UNIFORM_BELIEF, scale=ir.Uniform(low=0.0, high=1.0))
    types = market_types(one_buyer(t), 5)
    assert types.points.shape == (25, 2) and types.probs.sum() == pytest.approx(1.0)
    assert np.allclose(types.scales, types.points[:, 1])


# ------------------------------------------------------------------ one buyer: training


def test_learned_menu_for_uniform_beliefs_earns_one_eighth_within_one_percent(tmp_path):
    spec = one_buyer(UNIFORM_BELIEF)
    out = api.compile(spec, "menu", {"steps": 400, "test_samples": 100_000}, out=tmp_path / "u", verify=True)
    cert = out.certificate
    assert cert.ok and cert.kind == "exact_by_construction", cert.failed
    assert out.stats["test_revenue"] == pytest.approx(0.125, rel=0.01)
    informative = [g for g in out.mechanism.experiments_table() if g["informative"]]
    # one informative entry, close to full information, priced near 1/4
    assert len(informative) == 1 and informative[0]["price"] == pytest.approx(0.25, abs=0.015)


def test_learned_menu_matches_the_exact_lp_on_the_same_finite_types():
    # the beta mixture of Ravindranath et al. on 200 types: the optimum sells a partial
    # experiment to the types leaning to sun and full information to the others
    mix = ir.Mixture(weights=(0.5, 0.5), components=(ir.Beta(a=8, b=30), ir.Beta(a=60, b=30)))
    spec = one_buyer(ir.BeliefType(state="rain", dist=mix))
    lp = run_backend("lp", spec, {"grid": 200}).claim["revenue"]
    learned = run_backend("menu", spec, {"grid": 200, "steps": 2000})
    assert learned.stats["test_revenue_exact"] is True and learned.stats["whole_type_space_per_step"] is True
    assert learned.stats["test_revenue"] == pytest.approx(lp, rel=0.005)
    assert learned.stats["test_revenue"] <= lp + 1e-9  # the LP is the optimum on these types
    informative = [g for g in learned.mechanism.experiments_table() if g["informative"]]
    assert len(informative) == 2  # a partial experiment and full information


# ------------------------------------------------------------------ several buyers


def constant_network(spec: ir.MarketSpec, frac: float) -> ExperimentNetworkMechanism:
    """Full information to both buyers whatever they report, and payment fraction ``frac``."""
    n, A, S = 2, 2, 2
    W = np.zeros((n * S * A + n, n))
    logits = np.zeros((n, S, A))
    logits[:, 0, 0] = logits[:, 1, 1] = 40.0  # state s -> recommend action s
    f = np.clip(frac, 1e-12, 1 - 1e-12)
    b = np.concatenate([logits.ravel(), np.full(n, np.log(f / (1 - f)))])
    return ExperimentNetworkMechanism([x.name for x in spec.buyers], list(spec.states),
                                      [list(x.actions) for x in spec.buyers],
                                      np.asarray([x.payoffs for x in spec.buyers], float),
                                      [x.type for x in spec.buyers], spec.externality, [(W, b)], 1.0)


@pytest.mark.parametrize("prior,alpha,expected", [((0.5, 0.5), 0.5, 0.0), ((0.75, 0.25), 0.5, 0.25),
                                                  ((0.5, 0.5), 2.0, -1.5)])
def test_outside_option_acts_on_the_prior_against_informed_others(prior, alpha, expected):
    # max_a theta.U - alpha * (the other, fully informed, is always right)
    o = outside_options(np.asarray(prior), np.asarray([MATCH, MATCH], float), alpha)
    assert np.allclose(o, expected)


def test_network_payments_never_exceed_the_gain_over_the_outside_option(tmp_path):
    spec = two_buyers()
    rng = np.random.default_rng(0)
    dims = [2, 8, 10]
    weights = [(rng.normal(size=(o, i)), rng.normal(size=o)) for i, o in zip(dims[:-1], dims[1:], strict=True)]
    mech = ExperimentNetworkMechanism(["b0", "b1"], ["rain", "sun"], [["plant", "wait"]] * 2,
                                      np.asarray([MATCH, MATCH], float), [b.type for b in spec.buyers], 0.5, weights, 1.0)
    v = rng.uniform(0, 1, (500, 2))
    E, p = mech.allocate_and_pay(v)
    x, _ = accuracies(mech.prior, E, mech.payoffs)
    gain = v * (x - 0.5 * x[:, ::-1]) - v * outside_options(mech.prior, mech.payoffs, 0.5)
    assert np.allclose(E.sum(axis=2), 1.0) and (p >= 0).all() and (p <= np.maximum(gain, 0) + 1e-12).all()
    save(mech, spec, tmp_path)  # the weights go to a side file and come back exactly
    back = load_mechanism(tmp_path)
    E2, p2 = back.allocate_and_pay(v)
    assert np.array_equal(E, E2) and np.array_equal(p, p2)


def test_the_network_verifier_measures_a_known_regret():
    # full information for both at any report, and a payment v_i * f * (1 - alpha - 0): a buyer
    # of value v gains v * f / 2 by reporting 0, so the mean regret per buyer is f / 4 (v ~ U[0, 1])
    spec, f = two_buyers(), 0.5
    cert = api.verify(constant_network(spec, f), spec, samples=3000, restarts=4, metric_samples=40_000)
    assert cert.kind == "estimated" and "IC" in [c.name for c in cert.failed]
    assert cert.mean_regret == pytest.approx(f / 4, abs=0.01)
    assert cert.max_regret == pytest.approx(f / 2, abs=0.01)
    assert cert.max_ir_violation <= 1e-9 and cert.max_obedience_violation <= 1e-9
    assert cert.details["regret_over_value"]["mean"] == pytest.approx(f / 2, abs=0.01)
    net = cert.details["revenue_net_of_regret"]  # revenue f/2 * (E v_1 + E v_2) = f/2, regret 2 * f/4
    assert net["revenue"] == pytest.approx(f / 2, abs=0.01) and net["net"] == pytest.approx(0.0, abs=0.02)


def test_a_free_network_is_verified_with_no_regret():
    spec = two_buyers()
    cert = api.verify(constant_network(spec, 0.0), spec, samples=1000, restarts=4, metric_samples=20_000)
    assert cert.ok and cert.kind == "estimated" and cert.max_regret <= 1e-6
    assert any("estimated" in n for n in cert.notes)


# ------------------------------------------------------------------ planning and front end


def test_menu_accepts_markets_and_refuses_what_it_does_not_build():
    assert accepts("menu", one_buyer(UNIFORM_BELIEF)).ok
    assert accepts("menu", two_buyers()).ok
    v = accepts("menu", two_buyers(), {"architecture": "experiments"})
    assert not v.ok and v.code == "E0730" and "one buyer" in " ".join(v.reasons)
    belief_buyers = two_buyers().model_copy(update={"buyers": tuple(
        b.model_copy(update={"type": UNIFORM_BELIEF}) for b in two_buyers().buyers)})
    v = accepts("menu", belief_buyers)
    assert not v.ok and "value types with a common prior" in " ".join(v.reasons)
    v = accepts("menu", one_buyer(UNIFORM_BELIEF), {"architecture": "gemnet"})
    assert not v.ok and "auctions, not data markets" in " ".join(v.reasons)


MARKET = """market m {{
    states {states}
    {top}
    buyer farmer {{
        actions {actions}
        {payoffs}
        {type}
    }}
    maximize revenue
}}"""


def src(type_line: str, *, states="rain, sun, snow", top="") -> str:
    names = [s.strip() for s in states.split(",")]
    payoffs = "\n        ".join(
        f"payoff a{i} {{ " + ", ".join(f"{s}: {int(i == j)}" for j, s in enumerate(names)) + " }"
        for i in range(len(names)))
    return MARKET.format(states=states, top=top, actions=", ".join(f"a{i}" for i in range(len(names))),
                         payoffs=payoffs, type=type_line)


def test_dirichlet_beliefs_and_values_parse_into_the_ir():
    spec = api.loads(src("type belief ~ Dirichlet({rain: 1, sun: 2, snow: 1}), value ~ Uniform(0, 2)"))
    t = spec.buyers[0].type
    assert isinstance(t, ir.BeliefScaleType) and t.belief.alpha == (1.0, 2.0, 1.0)
    assert t.scale == ir.Uniform(low=0.0, high=2.0)
    two = api.loads(src("type belief(rain) ~ Uniform(0, 1), value ~ Uniform(0, 1)", states="rain, sun"))
    assert isinstance(two.buyers[0].type, ir.BeliefScaleType) and two.buyers[0].type.belief.state == "rain"


@pytest.mark.parametrize("type_line,top,code,words", [
    ("type belief ~ Dirichlet({rain: 1, sun: 1})", "", "E0416", "no entry for state snow"),
    ("type belief ~ Uniform(0, 1)", "", "E0416", "needs a Dirichlet distribution"),
    ("type belief ~ Dirichlet({rain: 1, sun: 1, snow: 1}), value ~ Uniform(-1, 1)", "", "E0417", "must not be negative"),
    ("type belief ~ Dirichlet({rain: 1, sun: 0, snow: 1})", "", "E0301", "must be positive"),
    ("type belief ~ Dirichlet({rain: 1, sun: 1, snow: 1})", "externality -0.5", "E0417",
     "externality must not be negative"),
])
def test_bad_market_types_have_codes(type_line, top, code, words):
    with pytest.raises(SpecError) as e:
        api.loads(src(type_line, top=top))
    diags = e.value.diagnostics
    assert any(d.code == code and words in d.message for d in diags), [(d.code, d.message) for d in diags]


# ------------------------------------------------------------------ edited artifacts


def _doc(d: Path, fn) -> None:
    p = d / "mechanism.json"
    doc = json.loads(p.read_text())
    fn(doc["data"])
    p.write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def menu_dir(tmp_path_factory) -> Path:
    spec = one_buyer(UNIFORM_BELIEF, name="menu_market")
    return save(menu(spec, [FULL, [[0.9, 0.0], [0.1, 1.0]], NULL], [0.25, 0.1, 0.0]), spec,
                tmp_path_factory.mktemp("menu"), claim={"kind": "exact_by_construction"})


def _no_null(data):
    data["prices"][-1] = 0.05


def _other_prior(data):
    data["type_model"]["dist"] = {"kind": "beta", "a": 2.0, "b": 2.0}


def _payoffs(data):
    data["payoffs"] = [[2.0, 0.0], [0.0, 1.0]]


def _column_sums(data):
    data["experiments"][0][0][0] += 1.0


EDITS = [(_no_null, "structure"), (_other_prior, "world"), (_payoffs, "world"), (_column_sums, "stochastic_experiments")]


def test_the_unedited_menu_artifact_is_verified(menu_dir):
    r, doc = verify_cli(menu_dir)
    assert r.exit_code == 0 and doc["ok"] and doc["certificate"]["kind"] == "exact_by_construction", r.output


@pytest.mark.parametrize("edit,check", EDITS, ids=[e.__name__ for e, _ in EDITS])
def test_an_edited_menu_artifact_is_refused(menu_dir, tmp_path, edit, check):
    d = tmp_path / "edited"
    shutil.copytree(menu_dir, d)
    _doc(d, edit)
    r, doc = verify_cli(d)
    assert r.exit_code == EXIT_NOT_VERIFIED, r.output
    assert doc is not None and check in doc["certificate"]["failed_checks"], doc["certificate"]["checks"]


@pytest.mark.parametrize("field,value,check", [("externality", 0.0, "world"),
                                              ("payoffs", [[[1, 0], [0, 1]], [[2, 0], [0, 1]]], "world")])
def test_an_edited_network_artifact_is_refused(tmp_path, field, value, check):
    spec = two_buyers()
    d = save(constant_network(spec, 0.0), spec, tmp_path / "net", claim={"kind": "estimated"})
    r, doc = verify_cli(d)
    assert r.exit_code == 0, r.output
    _doc(d, lambda data: data.__setitem__(field, value))
    r, doc = verify_cli(d)
    assert r.exit_code == EXIT_NOT_VERIFIED and check in doc["certificate"]["failed_checks"], r.output


def test_a_network_whose_weights_pay_for_lies_is_refused(tmp_path):
    spec = two_buyers()
    d = save(constant_network(spec, 0.0), spec, tmp_path / "net", claim={"kind": "estimated"})
    with np.load(d / "network.npz") as z:
        arrays = {k: z[k].copy() for k in z.files}
    arrays["b0"][-2:] = 0.0  # payment fraction 1/2 whatever is reported: lowering the report pays
    np.savez(d / "network.npz", **arrays)
    r, doc = verify_cli(d)
    assert r.exit_code == EXIT_NOT_VERIFIED and "IC" in doc["certificate"]["failed_checks"], r.output

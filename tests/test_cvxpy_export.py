"""``auctionc.to_cvxpy`` and ``auctionc export --to cvxpy``: the exact backend's program as a
cvxpy problem whose optimum is the LP's, whose constraint families are what their names
say, and whose solution turns back into an artifact the verifier accepts."""

from __future__ import annotations

import json
from pathlib import Path

import auctionc
import cvxpy as cp
import pytest
from auctionc.errors import PlanError, UsageError
from auctionc.program_export import export_targets
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
MARKET = ROOT / "examples" / "two_types_market.auction"  # optimum 0.23 (docs/published-figures.md)
# Two bidders, values on the grid k/4: the optimum is 5/12 - 1/(6*4^2) = 0.40625
# (docs/published-figures.md); Bayesian IC and interim IR bring in the interim variables.
GRID_MYERSON = """auction grid_myerson {
    items 1
    bidders 2 { value ~ Grid(0, 0.75, 4) }
    require IC(bayesian), IR(interim)
    maximize revenue
}"""


def _solve(problem: cp.Problem) -> float:
    problem.solve(solver="HIGHS")
    assert problem.status == cp.OPTIMAL
    return float(problem.value)


def test_exact_backends_declare_the_cvxpy_export() -> None:
    assert export_targets()["cvxpy"] == ["lp", "milp"]


@pytest.mark.parametrize(("spec_text", "optimum"), [(MARKET.read_text(encoding="utf-8"), 0.23), (GRID_MYERSON, 0.40625)])
def test_the_cvxpy_optimum_is_the_lp_optimum_and_its_mechanism_verifies(spec_text: str, optimum: float) -> None:
    spec = auctionc.loads(spec_text)
    lp = auctionc.compile(spec, backend="lp", verify=False)
    assert lp.stats["objective"] == pytest.approx(optimum, abs=1e-9)
    problem = auctionc.to_cvxpy(spec)
    assert isinstance(problem, cp.Problem) and problem.backend == "lp"
    assert _solve(problem) == pytest.approx(lp.stats["objective"], abs=1e-6)
    mech = problem.mechanism()
    assert mech.meta.backend == "lp" and mech.meta.spec_hash == spec.spec_hash()
    assert mech.meta.stats["exported_to"] == "cvxpy"
    cert = auctionc.verify(mech, spec)
    assert cert.ok and cert.kind == "exact_by_enumeration"
    assert cert.metrics["revenue"]["value"] == pytest.approx(lp.stats["objective"], abs=1e-6)


def test_families_and_variables_are_named_and_sized() -> None:
    market = auctionc.to_cvxpy(auctionc.load(MARKET))
    summary = market.summary()
    # 2 types x 2 actions x 2 states; IC over every (type, report, deviation map): 2 * 1 * 4
    assert summary["variables"] == {"experiments": 8, "prices": 2}
    assert summary["families"] == {"experiment columns": 4, "obedience": 4, "IR": 2, "IC": 8, "bounds": 16}
    auction = auctionc.to_cvxpy(auctionc.loads(GRID_MYERSON))
    assert set(auction.named_variables) == {"allocations", "payments", "interim"}
    assert {"IC", "IR", "feasibility", "interim definitions", "bounds"} == set(auction.families)
    assert auction.summary()["families"]["IC"] == 2 * 4 * 3  # Bayesian IC: per bidder, types x misreports
    assert "profile r" in auction.layout["allocations"]


def test_added_constraints_and_dropped_families_change_the_optimum() -> None:
    spec = auctionc.load(MARKET)
    problem = auctionc.to_cvxpy(spec)
    prices = problem.named_variables["prices"]
    capped = cp.Problem(problem.objective, problem.constraints + [prices <= 0.2])
    assert _solve(capped) < 0.23 - 1e-3
    mech = problem.mechanism()  # the variables hold the capped solution
    assert max(mech.prices) <= 0.2 + 1e-9
    assert auctionc.verify(mech, spec).ok
    without_ic = [c for name, cons in problem.families.items() if name != "IC" for c in cons]
    assert _solve(cp.Problem(problem.objective, without_ic)) > 0.23 + 1e-3
    cert = auctionc.verify(problem.mechanism(), spec)
    assert not cert.ok and cert.max_regret > 1e-3  # the dropped family is the one that fails


def test_a_backend_without_the_export_and_an_unsolved_problem_say_so() -> None:
    spec = auctionc.load(ROOT / "examples" / "manelli_vincent.auction")  # solve with menu
    with pytest.raises(PlanError) as e:
        auctionc.to_cvxpy(spec)
    d = e.value.diagnostics[0]
    assert d.code == "E0608" and d.message == "backend menu cannot export to 'cvxpy'" and "lp, milp" in d.help
    with pytest.raises(PlanError) as e:
        auctionc.to_cvxpy(spec, backend="lp")
    assert e.value.diagnostics[0].code == "E0610"  # the exact backend's own refusal: add a grid
    with pytest.raises(UsageError) as e:
        auctionc.to_cvxpy(auctionc.load(MARKET)).mechanism()
    assert e.value.diagnostics[0].code == "E0703"


def test_cli_export_prints_the_program_and_solves_it(tmp_path: Path) -> None:
    from auctionc.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["export", str(MARKET), "--to", "cvxpy", "--json"])
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["backend"] == "lp" and doc["families"]["IC"] == 8 and "auctionc.to_cvxpy" in doc["python"]
    r = runner.invoke(app, ["export", str(MARKET), "--to", "cvxpy", "--solve", "HIGHS", "--out", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)  # nothing but the JSON object on stdout (HiGHS's banner goes to stderr)
    assert doc["ok"] and doc["metrics"]["revenue"]["value"] == pytest.approx(0.23, abs=1e-6)
    assert doc["stats"]["cvxpy_solver"] == "HIGHS"
    r = runner.invoke(app, ["verify", str(tmp_path), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["certificate"]["kind"] == "exact_by_enumeration"
    r = runner.invoke(app, ["export", str(MARKET), "--to", "cvxpy", "--solve", "NO_SUCH_SOLVER"])
    assert r.exit_code == 1 and "E0703" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("solver", ["CLARABEL", "SCS"])
def test_other_cvxpy_solvers_and_copies_give_the_same_verified_mechanism(solver: str) -> None:
    if solver not in cp.installed_solvers():
        pytest.skip(f"cvxpy solver {solver} is not installed")
    spec = auctionc.load(MARKET)
    problem = auctionc.to_cvxpy(spec)
    copy = problem.copy()  # cvxpy rebuilds problems through copy(); it is a plain Problem
    assert type(copy) is cp.Problem
    copy.solve(solver=solver)
    assert copy.status == cp.OPTIMAL and copy.value == pytest.approx(0.23, abs=1e-5)
    cert = auctionc.verify(problem.mechanism(), spec)  # the shared variables hold the copy's solution
    assert cert.ok and cert.metrics["revenue"]["value"] == pytest.approx(0.23, abs=1e-5)

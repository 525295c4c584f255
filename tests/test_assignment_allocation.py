"""Allocation: demand by value table and by MILP agree, A-CEEI's clearing error stays within
Budish's bound, clearing leaves no course over-demanded, the aftermarket helps, and the
full-information benchmark is the welfare optimum (brute force) with efficiency 1."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
import torch
from auctionc.backends.assignment.assignment_backend import AssignmentBackend
from auctionc.backends.assignment.assignment_run import run_assignment
from auctionc.backends.assignment.course_match import (
    allocate,
    clearing_error,
    error_bound,
    reduce_undersubscription,
    remove_oversubscription,
)
from auctionc.backends.assignment.demand import (
    MilpDemand,
    TableDemand,
    counts,
    milp_demand_network,
    milp_demand_profile,
)
from auctionc.backends.assignment.full_information import welfare_optimum
from auctionc.backends.assignment.interface_noise import report
from auctionc.backends.assignment.mvnn import MonotoneNets, predict
from auctionc.backends.assignment.preferences import generate_instance
from auctionc.backends.assignment.schedule_values import value_table
from auctionc.backends.assignment.schedules import enumerate_schedules
from auctionc.frontend import load_text
from auctionc.planner import parse_backend_options


def _instance(courses: int = 8, students: int = 12, demand: int = 3, popular: int = 4, timetable: str = "generated",
              seed: int = 0, favourites: float = 2.6):
    spec = load_text(f"assignment a {{ courses {courses} {{ timetable {timetable} }} students {students} {{ "
                     f"demand {demand} preferences simulator(popular = {popular}, favourites = {favourites}) }} "
                     "mechanism course_match }")
    inst = generate_instance(spec, seed)
    sch = enumerate_schedules(courses, demand, inst.conflict, 10**6)
    return spec, inst, sch, value_table(inst.students, sch)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_milp_demand_equals_the_table(solver: str) -> None:
    _, inst, sch, table = _instance()
    demand = TableDemand(table, sch, inst.budgets)
    rng = np.random.default_rng(1)
    for trial in range(4):
        prices = rng.uniform(0, 0.6, size=8)
        chosen = demand(prices)
        for i in range(0, 12, 3):
            got = milp_demand_profile(inst.students[i], prices, inst.budgets[i], 3, inst.conflict, solver)
            assert got.status == "Optimal"
            assert got.value == pytest.approx(table[i, chosen[i]], abs=1e-6), (trial, i)
            assert sch.costs(prices, np.array([sch.index_of(got.courses)]))[0] <= inst.budgets[i] + 1e-9


def test_milp_demand_of_monotone_networks_equals_their_table() -> None:
    _, inst, sch, _ = _instance()
    nets = MonotoneNets(6, 8, (5, 4), torch.Generator().manual_seed(0))
    values = predict(nets, torch.from_numpy(sch.matrix)).double().numpy()
    rng = np.random.default_rng(2)
    for k in range(0, 6, 2):
        ensemble = [nets.numpy_net(k), nets.numpy_net(k + 1)]
        mean = (values[k] + values[k + 1]) / 2
        for _ in range(3):
            prices = rng.uniform(0, 0.6, size=8)
            got = milp_demand_network(ensemble, prices, 1.0, 3, inst.conflict, "highs")
            affordable = (sch.costs(prices) <= 1.0 + 1e-9)
            assert got.value == pytest.approx(mean[affordable].max(), abs=1e-6)


def test_the_milp_demand_path_allocates_like_the_table() -> None:
    spec, inst, sch, table = _instance(courses=6, students=6, demand=2, popular=3)
    reps = [report(p, spec.students.reports, np.random.default_rng([0, 3, j])) for j, p in enumerate(inst.students)]
    reported = value_table(reps, sch)
    by_table = allocate(TableDemand(reported, sch, inst.budgets), inst.seats, np.random.default_rng(5),
                        aftermarket=True, steps=6)
    by_milp = allocate(MilpDemand(reps, reported, sch, inst.budgets, 2, inst.conflict), inst.seats,
                       np.random.default_rng(5), aftermarket=True, steps=6)
    assert np.allclose(reported[np.arange(6), by_milp.chosen], reported[np.arange(6), by_table.chosen])
    assert by_milp.search_error == pytest.approx(by_table.search_error)


def test_clearing_error_is_within_budishs_bound_and_clearing_makes_it_feasible() -> None:
    _, inst, sch, table = _instance(courses=10, students=30, demand=3, popular=4, seed=1)
    demand = TableDemand(table, sch, inst.budgets)
    al = allocate(demand, inst.seats, np.random.default_rng(0), aftermarket=False, steps=40)
    bound = error_bound(3, 10)
    assert bound == pytest.approx(np.sqrt(6 * 10) / 2)
    assert al.search_error <= bound
    assert al.search_error == pytest.approx(clearing_error(counts(sch, al.search.chosen), inst.seats, al.search.prices))
    assert (counts(sch, al.chosen) <= inst.seats).all()
    # every student buys her demand at the final prices
    assert (al.chosen == demand(al.prices)).all()


def test_clearing_error_clips_free_undersubscribed_courses() -> None:
    demanded, seats = np.array([5, 1, 3]), np.array([3, 3, 3])
    assert clearing_error(demanded, seats, np.array([0.5, 0.0, 0.2])) == pytest.approx(2.0)
    assert clearing_error(demanded, seats, np.array([0.5, 0.1, 0.2])) == pytest.approx(np.sqrt(8))


def test_the_aftermarket_only_helps_and_stays_feasible() -> None:
    _, inst, sch, table = _instance(courses=10, students=30, demand=3, popular=4, seed=2)
    demand = TableDemand(table, sch, inst.budgets)
    al = allocate(demand, inst.seats, np.random.default_rng(0), aftermarket=False, steps=30)
    prices, chosen = remove_oversubscription(demand, inst.seats, al.search.prices)
    after = reduce_undersubscription(demand, inst.seats, prices, chosen)
    rows = np.arange(30)
    assert (table[rows, after] >= table[rows, chosen] - 1e-9).all()
    assert (counts(sch, after) <= inst.seats).all()


def test_the_benchmark_is_the_welfare_optimum_by_brute_force() -> None:
    _, inst, sch, table = _instance(courses=4, students=4, demand=2, popular=2, timetable="none", seed=4, favourites=1.5)
    seats = np.array([1, 2, 1, 2])
    best = -1.0
    for pick in product(range(sch.count), repeat=4):
        if (sch.matrix[list(pick)].sum(axis=0) <= seats).all():
            best = max(best, sum(table[i, s] for i, s in enumerate(pick)))
    got = welfare_optimum(table, sch, seats)
    assert got.proven and got.welfare == pytest.approx(best)
    assert got.upper_bound >= got.welfare - 1e-9
    assert (sch.matrix[got.chosen].sum(axis=0) <= seats).all()


@pytest.fixture()
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_full_information_gives_efficiency_one(one_thread) -> None:
    spec = load_text("assignment a { courses 8 students 16 { demand 3 preferences simulator(popular = 4) } "
                     "mechanism full_information simulate { instances 2 } }")
    res = run_assignment(spec, parse_backend_options(AssignmentBackend(), spec, None), seed=0, out_dir=None,
                         write=False)
    assert res.metrics["efficiency"]["value"] == pytest.approx(1.0)
    assert res.metrics["min_utility_share"]["value"] == pytest.approx(1.0)
    assert res.metrics["benchmark_proven"] == 1.0
    assert "interface_efficiency" not in res.metrics


def test_too_many_schedules_is_a_diagnostic_not_a_crash(one_thread) -> None:
    from auctionc.errors import BackendError

    spec = load_text("assignment a { courses 8 students 6 { demand 3 preferences simulator(popular = 4) } "
                     "mechanism course_match simulate { max_schedules 10 } }")
    with pytest.raises(BackendError) as e:
        run_assignment(spec, parse_backend_options(AssignmentBackend(), spec, None), seed=0, out_dir=None, write=False)
    d = e.value.diagnostics[0]
    assert d.code == "E0851" and "more than 10 schedules" in d.message and d.span is not None

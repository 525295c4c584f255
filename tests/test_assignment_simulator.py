"""The preference simulator, the value of schedules, the interface-report noise model and the
text generator.

The summary statistics of the public simulator's stored instances (SR 1.25, 25 courses, 100
students; docs/assignment.md lists them and their source) are the targets: our generator
uses its own random streams, so the statistics must agree, not the draws."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from auctionc import ir
from auctionc.backends.assignment.descriptions import describe
from auctionc.backends.assignment.interface_noise import report
from auctionc.backends.assignment.preferences import (
    AdjustmentSet,
    Profile,
    adjustment_factors,
    generate_instance,
)
from auctionc.backends.assignment.schedule_values import closure, raw_values, value_table
from auctionc.backends.assignment.schedules import (
    HOUR_CONFIGURATIONS,
    conflicts,
    enumerate_schedules,
    generated_timetable,
)
from auctionc.frontend import load_text


def _spec(popular: int = 9, timetable: str = "none") -> ir.AssignmentSpec:
    return load_text(f"assignment a {{ courses 25 {{ timetable {timetable} }} students 100 {{ demand 5 "
                     f"preferences simulator(popular = {popular}) }} mechanism course_match }}")


def test_adjustment_factors_are_the_decaying_cumulative_steps() -> None:
    assert adjustment_factors(5, 0.4, 0.8) == pytest.approx((0.0, 0.4, 0.72, 0.976, 1.1808))
    assert adjustment_factors(1, 0.4, 0.8) == (0.0,)


def test_value_of_a_schedule_by_hand() -> None:
    # base values 10, 20, 30, 40; courses 0 and 1 complement each other (+40% each when both are
    # taken); courses 1, 2, 3 are substitutes (-40% each with two, -72% each with three)
    p = Profile(base=np.array([10.0, 20.0, 30.0, 40.0]), sets=[
        AdjustmentSet("complement", (0, 1), (0.0, 0.4)),
        AdjustmentSet("substitute", (1, 2, 3), (0.0, -0.4, -0.72)),
    ])
    sch = enumerate_schedules(4, 4, np.zeros((4, 4), dtype=bool), 100)
    raw = raw_values(p, sch)
    expect = {(0,): 10, (0, 1): 10 * 1.4 + 20 * 1.4, (1, 2): 20 * 0.6 + 30 * 0.6,
              (1, 2, 3): (20 + 30 + 40) * 0.28, (0, 1, 2, 3): 10 * 1.4 + 20 * 1.4 - 20 * 0.72 - 30 * 0.72 - 40 * 0.72 + 70}
    for courses, value in expect.items():
        assert raw[sch.index_of(courses)] == pytest.approx(value)
    # free disposal: {1, 2, 3} (25.2 together) is worth its best subset, {2, 3} at (30 + 40) x 0.6
    closed = closure(raw, sch)
    assert closed[sch.index_of((1, 2, 3))] == pytest.approx(42.0)


def test_closure_is_the_best_subset_by_brute_force() -> None:
    inst = generate_instance(load_text("assignment a { courses 8 { timetable none } students 12 { demand 4 "
                                       "preferences simulator(popular = 4) } mechanism course_match }"), 3)
    sch = enumerate_schedules(8, 4, inst.conflict, 10**5)
    table = value_table(inst.students, sch)
    for i, p in enumerate(inst.students):
        raw = raw_values(p, sch)
        for s in range(0, sch.count, 7):
            members = tuple(np.flatnonzero(sch.matrix[s]))
            best = max(raw[sch.index_of(sub)] for k in range(len(members) + 1) for sub in combinations(members, k))
            assert table[i, s] == pytest.approx(best)


def test_generated_timetable_follows_the_hour_configurations() -> None:
    slots = generated_timetable(25, 5, 12, np.random.default_rng(0))
    for c, occupied in enumerate(slots):
        credit = 0.5 if c < 12 else 1.0
        assert all(0 <= s < 60 for s in occupied)
        # one lecture per day, each a run of consecutive hours, of one of the course's configurations
        by_day: dict[int, list[int]] = {}
        for s in occupied:
            by_day.setdefault(s // 12, []).append(s)
        for hours in by_day.values():
            assert hours == list(range(hours[0], hours[0] + len(hours)))
        assert tuple(sorted(len(h) for h in by_day.values())) in {tuple(sorted(cfg)) for cfg in HOUR_CONFIGURATIONS[credit]}
    conflict = conflicts(slots)
    assert (conflict == conflict.T).all() and not conflict.diagonal().any()
    sch = enumerate_schedules(25, 5, conflict, 10**6)
    assert not any(conflict[a, b] for s in range(0, sch.count, 97)
                   for a, b in combinations(np.flatnonzero(sch.matrix[s]), 2))


@pytest.mark.parametrize("popular,favourites,low_share", [(9, 2.6, 0.4), (6, 3.85, 0.15)])
def test_favourites_match_the_calibration(popular: int, favourites: float, low_share: float) -> None:
    """Stored instances: 2.607 favourites (2: 39%, 3: 61%) with 9 popular; 3.857 (3: 14%) with 6."""
    counts = [len(p.favourites) for seed in range(10) for p in generate_instance(_spec(popular), seed).students]
    assert np.mean(counts) == pytest.approx(favourites, abs=0.06)
    low = int(np.floor(favourites))
    assert set(counts) <= {low, low + 1}
    assert counts.count(low) / len(counts) == pytest.approx(low_share, abs=0.06)


@pytest.mark.slow
def test_sets_and_best_values_match_the_stored_instances() -> None:
    """Stored instances (9 popular, SR 1.25): 1.61 complement and 1.82 substitute sets per
    student; the best schedule of at most 5 courses is worth 364.6 on average (sd 69.5)."""
    comp, subs, best = [], [], []
    for seed in range(50):  # the set counts vary with each instance's grid: 50 instances
        inst = generate_instance(_spec(9), seed)
        comp += [sum(s.kind == "complement" for s in p.sets) for p in inst.students]
        subs += [sum(s.kind == "substitute" for s in p.sets) for p in inst.students]
        if seed < 4:
            sch = enumerate_schedules(25, 5, inst.conflict, 10**6)
            best += list(value_table(inst.students, sch).max(axis=1))
    assert np.mean(comp) == pytest.approx(1.61, abs=0.1)
    assert np.mean(subs) == pytest.approx(1.82, abs=0.1)
    assert np.mean(best) == pytest.approx(364.6, rel=0.05)
    assert np.std(best) == pytest.approx(69.5, rel=0.15)


@pytest.mark.slow
def test_interface_noise_matches_its_measured_cost() -> None:
    """Re-implementations of the noise model on the stored instances (docs/assignment.md): the
    report-optimal schedule is worth 0.770 of the true optimum on average (9 popular), and
    reports order random pairs of 5-course schedules as the truth does 71.5% of the time."""
    spec = _spec(9)
    ratio, agree = [], []
    for seed in range(3):
        inst = generate_instance(spec, seed)
        sch = enumerate_schedules(25, 5, inst.conflict, 10**6)
        truth = value_table(inst.students, sch)
        reps = value_table([report(p, spec.students.reports, np.random.default_rng([seed, 3, j]))
                            for j, p in enumerate(inst.students)], sch)
        five = np.flatnonzero(sch.sizes == 5)
        rng = np.random.default_rng(seed)
        for i in range(len(inst.students)):
            ratio.append(truth[i, reps[i].argmax()] / truth[i].max())
            a, b = rng.choice(five, 1000), rng.choice(five, 1000)
            agree.append(np.mean(np.sign(truth[i, a] - truth[i, b]) == np.sign(reps[i, a] - reps[i, b])))
    assert np.mean(ratio) == pytest.approx(0.770, abs=0.04)
    assert np.mean(agree) == pytest.approx(0.715, abs=0.03)


def test_noise_free_reports_keep_values_and_speak_in_pairwise_adjustments() -> None:
    truth = Profile(base=np.array([60.0, 30.0, 20.0, 10.0]), sets=[
        AdjustmentSet("complement", (0, 1, 2), adjustment_factors(3, 0.4, 0.8)),
        AdjustmentSet("substitute", (0, 3), tuple(-x for x in adjustment_factors(2, 0.4, 0.8))),
    ])
    exact = ir.InterfaceReports(forget_base=0.0, forget_adjustments=0.0, base_std=0.0, adjustment_std=0.0)
    rep = report(truth, exact, np.random.default_rng(0))
    assert rep.base == pytest.approx(truth.base)
    by_kind = {s.kind: s for s in rep.sets}
    # one constant factor per set, the true two-member one, applied once two are taken
    assert by_kind["complement"].factors == pytest.approx((0.0, 0.4, 0.4))
    assert by_kind["substitute"].factors == pytest.approx((0.0, -0.4))
    # forgetting half of 4 courses: the two lowest reported values become 0, and their set goes
    half = ir.InterfaceReports(forget_base=0.5, forget_adjustments=0.0, base_std=0.0, adjustment_std=0.0)
    rep = report(truth, half, np.random.default_rng(0))
    assert list(rep.base) == [60.0, 30.0, 0.0, 0.0]
    assert [s.members for s in rep.sets] == [(0, 1)]


def test_the_text_generator_states_or_omits_each_fact() -> None:
    inst = generate_instance(_spec(9), 0)
    p = inst.students[0]
    full = describe(p, 5, "qualitative", 0.0, np.random.default_rng(0))
    assert all(f.stated for f in full.facts) and full.omitted_share == 0.0
    assert len(full.facts) == 25 + len(p.sets)
    assert full.text.startswith("I am choosing my courses") and "at most 5 courses" in full.text
    none = describe(p, 5, "qualitative", 1.0, np.random.default_rng(0))
    assert none.omitted_share == 1.0 and none.text == "I am choosing my courses for next term. I can take at most 5 courses."
    shares = [describe(q, 5, "precise", 0.3, np.random.default_rng(k)).omitted_share
              for k, q in enumerate(inst.students)]
    assert np.mean(shares) == pytest.approx(0.3, abs=0.03)
    precise = describe(p, 5, "precise", 0.0, np.random.default_rng(0))
    assert "out of 100 to me" in precise.text
    from auctionc.backends.assignment.descriptions import course_titles

    top = int(np.argmax(p.base))
    assert course_titles(25)[top] in full.text.split(".")[1] + full.text.split(".")[2]

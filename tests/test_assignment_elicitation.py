"""Elicitation: monotone networks, the losses, the oracle proxy, the LLM proxy's prompts and
reply parsing, and the two claims of the issue: an oracle proxy does at least as well as the
interface reports alone, and with a noisy oracle the generalised cross-entropy beats plain
cross-entropy on held-out comparisons."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from auctionc.backends.assignment.assignment_backend import AssignmentBackend
from auctionc.backends.assignment.assignment_run import run_assignment
from auctionc.backends.assignment.elicitation import ElicitationSettings, elicit, pairwise_accuracy
from auctionc.backends.assignment.interface_noise import report
from auctionc.backends.assignment.mvnn import FitSettings, MonotoneNets, comparison_loss, fit, predict
from auctionc.backends.assignment.preferences import generate_instance
from auctionc.backends.assignment.prompting import query_messages, read_answer
from auctionc.backends.assignment.proxies import OracleProxy, Query
from auctionc.backends.assignment.schedule_values import value_table
from auctionc.backends.assignment.schedules import enumerate_schedules
from auctionc.frontend import load_text
from auctionc.planner import parse_backend_options


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_networks_stay_monotone_and_value_nothing_at_zero() -> None:
    sch = enumerate_schedules(6, 6, np.zeros((6, 6), dtype=bool), 100)
    x = torch.from_numpy(sch.matrix)
    nets = MonotoneNets(3, 6, (8, 8), torch.Generator().manual_seed(0))
    target = torch.rand(3, sch.count, generator=torch.Generator().manual_seed(1))  # not monotone at all
    fit(nets, x.expand(3, -1, -1), target, torch.ones(3, sch.count), None, None, None, None,
        FitSettings(epochs=50, learning_rate=0.05, loss="gce", q=0.7, sharpness=20, report_weight=1))
    values = predict(nets, x).numpy()
    assert np.allclose(values[:, 0], 0.0)  # the empty schedule
    for s in range(1, sch.count):
        for k in range(sch.sizes[s]):
            assert (values[:, s] >= values[:, sch.drop[s, k]] - 1e-6).all()


def test_losses_in_closed_form() -> None:
    diff = torch.tensor([0.0, 2.0, -2.0])
    label = torch.tensor([1.0, 1.0, 0.25])
    p = torch.sigmoid(diff)
    gce = comparison_loss(diff, label, "gce", 0.7)
    expect = label * (1 - p**0.7) / 0.7 + (1 - label) * (1 - (1 - p) ** 0.7) / 0.7
    assert torch.allclose(gce, expect)
    assert gce[0].item() == pytest.approx((1 - 0.5**0.7) / 0.7)
    ce = comparison_loss(diff, label, "ce", 0.7)
    assert ce[0].item() == pytest.approx(math.log(2))
    # q = 1 is the mean absolute error 1 - p_label
    assert comparison_loss(diff[:2], label[:2], "gce", 1.0) == pytest.approx(1 - p[:2])


def test_the_oracle_answers_from_true_values_and_flips_at_its_rate() -> None:
    truth = np.array([[10.0, 20.0, 20.0]])
    oracle = OracleProxy(truth, 0.0, 5, np.random.default_rng(0))
    right = oracle.answer([Query(0, 1, 0)])[0]
    assert (right.votes_first, right.votes, right.agreement, right.shown_first) == (5, 5, 1.0, 5)
    assert oracle.usage()["calls"] == 0 and oracle.usage()["cost_usd"] == 0.0
    wrong = OracleProxy(truth, 1.0, 3, np.random.default_rng(0)).answer([Query(0, 1, 0)])[0]
    assert wrong.votes_first == 0 and not wrong.prefers_first
    noisy = OracleProxy(truth, 0.2, 1, np.random.default_rng(0)).answer([Query(0, 1, 0)] * 4000)
    assert np.mean([not a.prefers_first for a in noisy]) == pytest.approx(0.2, abs=0.02)
    ties = OracleProxy(truth, 0.0, 1, np.random.default_rng(0)).answer([Query(0, 1, 2)] * 4000)
    assert np.mean([a.prefers_first for a in ties]) == pytest.approx(0.5, abs=0.03)


def test_prompts_hold_the_description_and_both_schedules_and_replies_are_read() -> None:
    names = tuple(f"course_{i}" for i in range(1, 6))
    msgs = query_messages("I love Negotiations.", names, (0, 1), (2,), "cot")
    assert [m["role"] for m in msgs] == ["system", "user"]
    user = msgs[1]["content"]
    assert "I love Negotiations." in user and "Schedule A: Corporate Finance, Negotiations" in user
    assert "Schedule B: Marketing Strategy" in user and "step by step" in user
    swapped = query_messages("x", names, (0, 1), (2,), "plain", swapped=True)[1]["content"]
    assert "Schedule A: Marketing Strategy" in swapped and "step by step" not in swapped
    reply = 'A has both courses I love. {"preferred": "B", "confidence": 2} ... {"preferred": "A", "confidence": 0.8, "evidence": "I love"}'
    got = read_answer(reply)
    assert got is not None and got.prefers_first and got.confidence == 0.8 and got.evidence == "I love"
    assert read_answer(reply, swapped=True).prefers_first is False  # type: ignore[union-attr]
    assert read_answer('{"preferred": "C"}') is None and read_answer("no json here") is None and read_answer(None) is None


def test_an_oracle_proxy_does_at_least_as_well_as_the_interface_reports() -> None:
    spec = load_text("assignment a { courses 10 students 20 { demand 3 preferences simulator(popular = 4) "
                     "proxy oracle } mechanism course_match simulate { instances 3 queries 8 curve 1 epochs 150 } }")
    res = run_assignment(spec, parse_backend_options(AssignmentBackend(), spec, None), seed=0, out_dir=None,
                         write=False)
    for inst in res.instances:
        assert inst.utilities["elicited_8"].sum() >= inst.utilities["interface"].sum(), inst.seed
        assert inst.proxy["consistency"] == 1.0 and inst.proxy["calls"] == 0
    assert res.metrics["gain_over_interface"]["value"] > 0


@pytest.mark.slow
def test_with_a_noisy_oracle_the_robust_loss_beats_cross_entropy_on_held_out_comparisons() -> None:
    flip, queries, n = 0.3, 40, 12
    spec = load_text(f"assignment a {{ courses 10 {{ timetable none }} students {n} {{ demand 3 "
                     f"preferences simulator(popular = 4) proxy oracle(flip = {flip}) }} mechanism course_match }}")
    scores: dict[str, list[float]] = {"gce": [], "ce": []}
    for seed in range(3):
        inst = generate_instance(spec, seed)
        sch = enumerate_schedules(10, 3, inst.conflict, 10**6)
        truth = value_table(inst.students, sch)
        reported = value_table([report(p, spec.students.reports, np.random.default_rng([seed, 3, j]))
                                for j, p in enumerate(inst.students)], sch)
        rng = np.random.default_rng([seed, 99])
        first, second = rng.integers(0, sch.count, (n, 400)), rng.integers(0, sch.count, (n, 400))
        for loss in scores:
            settings = ElicitationSettings(
                queries=queries, selection="random", ensemble=1, hidden=(16, 16), card=16, pool=sch.count,
                fit=FitSettings(epochs=100, learning_rate=0.01, loss=loss, q=0.7, sharpness=20, report_weight=1),
                query_epochs=20, checkpoints=(queries,))
            got = elicit(reported, sch, inst.budgets, np.zeros(10), OracleProxy(truth, flip, 1, np.random.default_rng([seed, 4])),
                         truth, settings, seed)
            assert got.consistency == pytest.approx(1 - flip, abs=0.06)
            scores[loss].append(pairwise_accuracy(got.tables[queries], truth, first, second))
    assert np.mean(scores["gce"]) > np.mean(scores["ce"]) + 0.01, scores

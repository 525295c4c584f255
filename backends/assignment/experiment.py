"""One seeded instance of an assignment spec, end to end.

1. generate the timetable, the courses' seats and every student's true profile
   (``preferences``) and list the schedules (``schedules``);
2. draw each student's interface report (``interface_noise``), or with an LLM proxy that
   fills in the interface, ask it (``llm_proxy``);
3. allocate with the spec's mechanism on the interface reports (Course Match or A-CEEI);
4. with a proxy: elicit each student's value model from her report and the proxy's answers
   to comparison queries, and allocate on the models after each checkpoint's number of
   queries (``elicitation``);
5. solve the full-information benchmark (``full_information``);
6. score every allocation with the students' true values.

Random streams: ``[seed, k, ...]`` with k = 0 courses, 1 timetable, 2 students, 3 reports,
4 oracle votes, 5 and 6 elicitation, 7 price searches, 8 the omitted facts of the LLM proxy's
descriptions (the LLM's own draws are seeded by the engine from each vote's id).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from auctionc import ir
from auctionc.diagnostics import Diagnostic
from auctionc.errors import BackendError

from .course_match import Allocation, allocate, error_bound
from .demand import MilpDemand, TableDemand
from .elicitation import ElicitationSettings, elicit
from .full_information import welfare_optimum
from .interface_noise import report
from .mvnn import FitSettings
from .preferences import generate_instance
from .proxies import make_proxy
from .schedule_values import value_table
from .schedules import TooManySchedules, enumerate_schedules


@dataclass(frozen=True)
class RunSettings:
    """The assignment backend's options, parsed (see ``AssignmentBackend.options``)."""

    price_steps: int
    price_seconds: float
    demand: str
    milp_solver: str
    loss: str
    q: float
    selection: str
    ensemble: int
    hidden: int
    layers: int
    card: int
    pool: int
    epochs: int
    query_epochs: int
    learning_rate: float
    sharpness: float
    report_weight: float
    curve: int
    max_schedules: int

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> RunSettings:
        return cls(**{k: options[k] for k in cls.__dataclass_fields__})

    def checkpoints(self, queries: int) -> tuple[int, ...]:
        """Query counts at which the students' models are allocated on (the efficiency curve)."""
        if queries == 0:
            return (0,)
        if self.curve == 1:
            return (queries,)
        return tuple(sorted({int(round(x)) for x in np.linspace(0, queries, self.curve)}))

    def elicitation(self, queries: int) -> ElicitationSettings:
        fit = FitSettings(epochs=self.epochs, learning_rate=self.learning_rate, loss=self.loss, q=self.q,
                          sharpness=self.sharpness, report_weight=self.report_weight)
        return ElicitationSettings(queries=queries, selection=self.selection, ensemble=self.ensemble,
                                   hidden=(self.hidden,) * self.layers, card=self.card, pool=self.pool, fit=fit,
                                   query_epochs=self.query_epochs, checkpoints=self.checkpoints(queries),
                                   keep_networks=self.demand == "milp")


@dataclass
class InstanceResult:
    seed: int
    schedules: int
    utilities: dict[str, np.ndarray]
    """Per-student true utility under each allocation: 'full_information', 'interface',
    'elicited_<k>' (after k queries per student)."""
    search_errors: dict[str, float] = field(default_factory=dict)
    error_bound: float = 0.0
    benchmark: dict[str, Any] = field(default_factory=dict)
    proxy: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "schedules": self.schedules,
            "welfare": {k: float(v.sum()) for k, v in self.utilities.items()},
            "min_utility": {k: float(v.min()) for k, v in self.utilities.items()},
            "clearing_error": self.search_errors,
            "clearing_error_bound": self.error_bound,
            "benchmark": self.benchmark,
            "proxy": self.proxy,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


def run_instance(spec: ir.AssignmentSpec, seed: int, settings: RunSettings, log=lambda _m: None,
                 llm_session: Any = None) -> InstanceResult:
    """One instance; ``llm_session`` (``llm_proxy.LLMSession``) makes the LLM proxy's calls."""
    timings: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        timings[name] = now - t
        t = now

    inst = generate_instance(spec, seed)
    try:
        sch = enumerate_schedules(inst.n_courses, inst.demand, inst.conflict, settings.max_schedules)
    except TooManySchedules as e:
        raise BackendError(Diagnostic(
            "E0851",
            f"the instance has more than {e.limit:,} schedules to list (up to {e.count:,})",
            help="lower the demand or the number of courses, or raise the backend option max_schedules",
            where="courses",
        ).with_span(spec)) from None
    true_table = value_table(inst.students, sch)
    proxy = make_proxy(spec, true_table, seed, llm_session, inst, sch)
    if proxy is not None and getattr(proxy, "fills_interface", False) and spec.mechanism.name != "full_information":
        log(f"instance {seed}: the proxy fills in the interface reports")
        reported = proxy.interface_reports()
    else:
        reported = [report(p, spec.students.reports, np.random.default_rng([seed, 3, j]))
                    for j, p in enumerate(inst.students)]
    reported_table = value_table(reported, sch)
    lap("generate_s")
    rows = np.arange(len(inst.students))
    res = InstanceResult(seed=seed, schedules=sch.count, utilities={},
                         error_bound=error_bound(inst.demand, inst.n_courses))
    mech = spec.mechanism.name
    allocations: list[np.ndarray] = []
    if mech != "full_information":
        aftermarket = mech == "course_match"

        def run(label: str, table: np.ndarray, models: list | None, stream: int) -> Allocation:
            if settings.demand == "milp":
                demand = MilpDemand(models or [], table, sch, inst.budgets, inst.demand, inst.conflict,
                                    settings.milp_solver)
            else:
                demand = TableDemand(table, sch, inst.budgets)
            al = allocate(demand, inst.seats, np.random.default_rng([seed, 7, stream]), aftermarket=aftermarket,
                          steps=settings.price_steps, max_seconds=settings.price_seconds or None)
            res.utilities[label] = true_table[rows, al.chosen]
            res.search_errors[label] = al.search_error
            allocations.append(al.chosen)
            return al

        log(f"instance {seed}: allocating on the interface reports")
        gui = run("interface", reported_table, reported, 0)
        lap("interface_s")
        queries = spec.simulate.queries
        if proxy is not None:
            log(f"instance {seed}: eliciting ({queries} queries per student)")
            got = elicit(reported_table, sch, inst.budgets, gui.prices, proxy, true_table,
                         settings.elicitation(queries), seed)
            lap("elicitation_s")
            res.proxy = {**got.summary(), **proxy.usage()}
            for k, table in sorted(got.tables.items()):
                log(f"instance {seed}: allocating on the models after {k} queries")
                models = got.networks.get(k) if settings.demand == "milp" else None
                run(f"elicited_{k}", table, models, 1 + k)
            lap("elicited_allocation_s")
    bench = welfare_optimum(true_table, sch, inst.seats, warm=allocations)
    res.utilities["full_information"] = true_table[rows, bench.chosen]
    res.benchmark = {"welfare": bench.welfare, "upper_bound": bench.upper_bound, "proven": bench.proven,
                     "columns": bench.columns}
    lap("benchmark_s")
    res.timings = timings
    return res

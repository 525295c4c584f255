"""A student's demand: her best affordable schedule at given prices and budget.

Two ways to the same answer.  ``TableDemand`` (the default) reads it off a value table over
every schedule: each student's undominated schedules are ranked once by value (ties: fewer
courses first), and the demand at a price vector is the first one she can afford, so one
demand query for all students costs a matrix-vector product and a gather.  ``milp_demand_*``
solve it as a MILP through pulp (HiGHS or CBC): the path for instances too large to list,
checked against the table in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .preferences import Profile
from .schedule_values import undominated
from .schedules import Schedules

PRICE_TOL = 1e-9
"""A schedule costing its budget plus this is still affordable (float noise in sums of prices)."""


class TableDemand:
    """Demand of every student from a (n_students, n_schedules) value table."""

    TOP = 1024
    """Demand looks at each student's best 64 schedules first, then at all of them."""

    def __init__(self, table: np.ndarray, schedules: Schedules, budgets: np.ndarray):
        self.table = table
        self.schedules = schedules
        self.budgets = np.asarray(budgets, dtype=np.float64)
        self.keep = undominated(table, schedules)
        k = min(self.TOP, schedules.count)
        # schedules are sorted by size, then lexicographically, so among equal values the
        # lowest index is the one with fewest courses: argmax and this ranking agree on ties
        self.masked = np.where(self.keep, table, -np.inf)
        top = np.argpartition(-self.masked, k - 1, axis=1)[:, :k]
        order = np.lexsort((top, -np.take_along_axis(self.masked, top, axis=1)), axis=1)
        self.ranked = np.take_along_axis(top, order, axis=1)
        self.evaluations = 0

    @property
    def n_students(self) -> int:
        return self.table.shape[0]

    def costs(self, prices: np.ndarray) -> np.ndarray:
        return self.schedules.costs(prices)

    def __call__(self, prices: np.ndarray, budgets: np.ndarray | None = None) -> np.ndarray:
        """(n_students,) schedule indices demanded at ``prices``: each student's best affordable
        undominated schedule (ties: fewest courses); the empty schedule is always affordable."""
        self.evaluations += 1
        b = (self.budgets if budgets is None else np.asarray(budgets, dtype=np.float64)) + PRICE_TOL
        ok = self.schedules.costs(prices, self.ranked) <= b[:, None]
        found = ok.any(axis=1)
        out = np.zeros(self.n_students, dtype=np.int64)
        out[found] = self.ranked[found][np.arange(int(found.sum())), ok[found].argmax(axis=1)]
        todo = np.flatnonzero(~found)
        if len(todo):
            cost = self.costs(prices)
            afford = cost[None, :] <= b[todo, None]
            out[todo] = np.where(afford, self.masked[todo], -np.inf).argmax(axis=1)
        return out

    def best_within(self, student: int, allowed: np.ndarray) -> int:
        """The student's best undominated schedule among ``allowed`` (a mask over schedules)."""
        return int(np.where(allowed, self.masked[student], -np.inf).argmax())

    def best_among(self, student: int, courses: np.ndarray, prices: np.ndarray, budget: float) -> int:
        """The best schedule using only ``courses`` (a course mask) within ``budget``."""
        within = np.take(np.append(courses, True), self.schedules.members).all(axis=0)
        within &= self.schedules.costs(prices) <= budget + PRICE_TOL
        return self.best_within(student, within)


def counts(schedules: Schedules, chosen: np.ndarray) -> np.ndarray:
    """Seats taken in each course by the chosen schedules."""
    return schedules.matrix[chosen].sum(axis=0).astype(np.int64)


# --------------------------------------------------------------------------
# The MILP path (pulp: HiGHS or CBC)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class MilpSolution:
    courses: tuple[int, ...]
    value: float
    status: str


def _solver(pulp, name: str):
    from auctionc.solvers import cbc_solver, new_highs

    if name == "highs":
        new_highs()  # the start-up banner, once per process, on stderr
        return pulp.HiGHS(msg=False, threads=1)
    return cbc_solver(pulp)


def _var(pulp, prob, name: str, low: float | None = None, up: float | None = None, binary: bool = False):
    # pulp >= 3.3 attaches variables to their model (``LpVariable(...)`` directly is deprecated)
    make = getattr(prob, "add_variable", None) or pulp.LpVariable
    if binary:
        return make(name, cat=pulp.LpBinary)
    return make(name, low, up)


def _base_problem(pulp, n_courses: int, prices, budget: float, demand: int, conflict: np.ndarray):
    prob = pulp.LpProblem("demand", pulp.LpMaximize)
    x = [_var(pulp, prob, f"x{c}", binary=True) for c in range(n_courses)]
    prob += pulp.lpSum(float(prices[c]) * x[c] for c in range(n_courses)) <= budget + PRICE_TOL, "budget"
    prob += pulp.lpSum(x) <= demand, "demand"
    for a, b in zip(*np.nonzero(np.triu(conflict, 1)), strict=True):
        prob += x[int(a)] + x[int(b)] <= 1, f"conflict_{a}_{b}"
    return prob, x


def _solve(pulp, prob, x, solver: str) -> MilpSolution:
    status = pulp.LpStatus[prob.solve(_solver(pulp, solver))]
    chosen = tuple(c for c, v in enumerate(x) if (v.value() or 0) > 0.5)
    return MilpSolution(chosen, float(pulp.value(prob.objective) or 0.0), status)


def milp_demand_profile(profile: Profile, prices, budget: float, demand: int, conflict: np.ndarray,
                        solver: str = "highs") -> MilpSolution:
    """The demand under a base-value-and-sets profile.  For a set S, binaries z[t] say that t of
    its members are taken, and y[t, j] = x[j] * z[t] (linearised) carries member j's adjusted
    base value; dropping a course is free, so the optimum is the free-disposal value."""
    import pulp

    m = len(profile.base)
    prob, x = _base_problem(pulp, m, prices, budget, demand, conflict)
    objective = [float(profile.base[c]) * x[c] for c in range(m)]
    for k, s in enumerate(profile.sets):
        n = len(s.members)
        z = [_var(pulp, prob, f"z{k}_{t}", binary=True) for t in range(n + 1)]
        prob += pulp.lpSum(z) == 1, f"one_count_{k}"
        prob += pulp.lpSum(t * z[t] for t in range(n + 1)) == pulp.lpSum(x[j] for j in s.members), f"count_{k}"
        for t in range(2, n + 1):
            for j in s.members:
                y = _var(pulp, prob, f"y{k}_{t}_{j}", 0, 1)
                prob += y <= x[j], f"y_x_{k}_{t}_{j}"
                prob += y <= z[t], f"y_z_{k}_{t}_{j}"
                prob += y >= x[j] + z[t] - 1, f"y_xz_{k}_{t}_{j}"
                objective.append(float(profile.base[j]) * s.factors[t - 1] * y)
    prob += pulp.lpSum(objective)
    return _solve(pulp, prob, x, solver)


def milp_demand_network(networks: list[tuple[list[np.ndarray], list[np.ndarray], np.ndarray]], prices, budget: float,
                        demand: int, conflict: np.ndarray, solver: str = "highs") -> MilpSolution:
    """The demand under the mean of monotone networks (each: hidden weights >= 0, hidden biases
    <= 0, bounded-ReLU units, output weights >= 0).  Every unit's activation a is bounded by
    a <= delta and a <= s - b (1 - delta) with a binary delta, s its pre-activation and b <= 0
    its bias (the lowest s can be): since the objective grows with every activation, the
    optimum sets a = min(1, max(0, s)), the bounded ReLU."""
    import pulp

    m = len(prices)
    prob, x = _base_problem(pulp, m, prices, budget, demand, conflict)
    outputs = []
    for e, (weights, biases, out_w) in enumerate(networks):
        prev = list(x)
        for layer, (w, b) in enumerate(zip(weights, biases, strict=True)):
            acts = []
            for u in range(w.shape[1]):
                a = _var(pulp, prob, f"a{e}_{layer}_{u}", 0, 1)
                d = _var(pulp, prob, f"d{e}_{layer}_{u}", binary=True)
                s = pulp.lpSum(float(w[v, u]) * prev[v] for v in range(w.shape[0]) if w[v, u] != 0) + float(b[u])
                prob += a <= d, f"on_{e}_{layer}_{u}"
                prob += a <= s - float(b[u]) * (1 - d), f"relu_{e}_{layer}_{u}"
                acts.append(a)
            prev = acts
        outputs.append(pulp.lpSum(float(out_w[u]) * prev[u] for u in range(len(prev))))
    prob += pulp.lpSum(outputs) * (1.0 / len(networks))
    return _solve(pulp, prob, x, solver)


class MilpDemand:
    """Demand of every student solved as one MILP each (pulp), with the interface of
    ``TableDemand``: ``models[i]`` is a profile or a list of networks (their mean is the value);
    the table is read only to compare the values of given schedules (the aftermarket)."""

    def __init__(self, models: list, table: np.ndarray, schedules: Schedules, budgets: np.ndarray,
                 demand: int, conflict: np.ndarray, solver: str = "highs"):
        self.models = models
        self.table = table
        self.schedules = schedules
        self.budgets = np.asarray(budgets, dtype=np.float64)
        self.demand = demand
        self.conflict = conflict
        self.solver = solver
        self.evaluations = 0

    @property
    def n_students(self) -> int:
        return len(self.models)

    def solve(self, student: int, prices: np.ndarray, budget: float, banned: np.ndarray | None = None) -> int:
        prices = np.asarray(prices, dtype=np.float64)
        if banned is not None and banned.any():
            # a banned course costs more than any budget
            prices = np.where(banned, budget + 1.0, prices)
        model = self.models[student]
        if isinstance(model, Profile):
            got = milp_demand_profile(model, prices, budget, self.demand, self.conflict, self.solver)
        else:
            got = milp_demand_network(model, prices, budget, self.demand, self.conflict, self.solver)
        if got.status != "Optimal":
            raise RuntimeError(f"the demand MILP of student {student} ended {got.status}")
        return self._disposed(student, self.schedules.index_of(got.courses))

    def _disposed(self, student: int, index: int) -> int:
        """Drop courses that add no value (the table's tie-break against zero-value courses)."""
        while True:
            for k in range(self.schedules.sizes[index]):
                smaller = int(self.schedules.drop[index, k])
                if self.table[student, smaller] >= self.table[student, index] - 1e-9:
                    index = smaller
                    break
            else:
                return index

    def __call__(self, prices: np.ndarray, budgets: np.ndarray | None = None) -> np.ndarray:
        self.evaluations += 1
        b = self.budgets if budgets is None else np.asarray(budgets, dtype=np.float64)
        return np.array([self.solve(i, prices, float(b[i])) for i in range(self.n_students)], dtype=np.int64)

    def best_among(self, student: int, courses: np.ndarray, prices: np.ndarray, budget: float) -> int:
        """The best schedule using only ``courses`` (a course mask) within ``budget``."""
        return self.solve(student, prices, budget, banned=~courses)

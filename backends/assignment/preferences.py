"""The seeded preference generator: students' true values over schedules.

A re-implementation, from its published description, of the course-allocation preference
simulator of Soumalias et al. (marketdesignresearch/Course-Match-Preference-Simulator; no
code is taken from it): a set of popular courses; courses placed on a thematic grid; each
student draws her favourites from the popular courses (favourites valued in one range,
every other course in a lower one), picks centres among her favourites and gets a
complement set (the centre and its diagonal neighbours on the grid) and a substitute set
(the centre and its orthogonal neighbours) around each centre.  When t members of a set
are in a schedule, each of them has its base value scaled by ``1 + factors[t - 1]``.

Randomness: numpy generators seeded by ``[seed, stream, ...]`` (courses 0, timetable 1,
student j ``[seed, 2, j]``), so one student's draws do not depend on the others'.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from auctionc import ir

from .schedules import conflicts, generated_timetable


@dataclass(frozen=True)
class AdjustmentSet:
    kind: str
    """'complement' or 'substitute'."""
    members: tuple[int, ...]
    factors: tuple[float, ...]
    """``factors[t - 1]``: the adjustment of each member's base value when t members are taken."""


@dataclass
class Profile:
    """A value function over schedules: base values plus complement and substitute sets."""

    base: np.ndarray
    sets: list[AdjustmentSet] = field(default_factory=list)
    favourites: tuple[int, ...] = ()
    centres: tuple[int, ...] = ()


@dataclass
class Instance:
    seed: int
    names: tuple[str, ...]
    seats: np.ndarray
    course_slots: list[tuple[int, ...]]
    conflict: np.ndarray
    popular: tuple[int, ...]
    cells: np.ndarray
    """(n_courses, 2): each course's (row, column) on the thematic grid."""
    students: list[Profile]
    budgets: np.ndarray
    demand: int

    @property
    def n_courses(self) -> int:
        return len(self.names)


def adjustment_factors(n: int, first: float, decay: float) -> tuple[float, ...]:
    """``(0, a, a + a d, a + a d + a d^2, ...)`` for a set of n members: one member alone gets no
    adjustment, each further member adds a decaying step."""
    steps = [0.0] + [first * decay**k for k in range(n - 1)]
    return tuple(float(x) for x in np.cumsum(steps))


def randomised_round(x: float, rng: np.random.Generator) -> int:
    """floor(x), plus one with probability equal to the fractional part."""
    low = int(np.floor(x))
    return low + int(rng.random() < x - low)


def sets_around(centre: int, cells: np.ndarray, complements: float, substitutes: float,
                decay: float) -> list[AdjustmentSet]:
    """The complement set (the centre and its diagonal neighbours) and the substitute set (the
    centre and its orthogonal neighbours) around a centre; a set of one is dropped."""
    d = np.abs(cells - cells[centre])
    manhattan = d.sum(axis=1)
    chebyshev = d.max(axis=1)
    subs = [int(j) for j in np.flatnonzero(manhattan <= 1)]
    comps = [centre] + [int(j) for j in np.flatnonzero((manhattan > 1) & (chebyshev <= 1))]
    out = []
    if len(comps) > 1:
        out.append(AdjustmentSet("complement", tuple(comps), adjustment_factors(len(comps), complements, decay)))
    if len(subs) > 1:
        f = adjustment_factors(len(subs), substitutes, decay)
        out.append(AdjustmentSet("substitute", tuple(subs), tuple(-x for x in f)))
    return out


def draw_student(prefs: ir.SimulatorPreferences, popular: tuple[int, ...], cells: np.ndarray,
                 rng: np.random.Generator) -> Profile:
    m = len(cells)
    n_fav = min(len(popular), max(0, randomised_round(prefs.favourites, rng)))
    favourites = tuple(sorted(int(c) for c in rng.choice(popular, size=n_fav, replace=False)))
    base = rng.uniform(*prefs.other_values, size=m)
    base[list(favourites)] = rng.uniform(*prefs.favourite_values, size=n_fav)
    n_centres = min(prefs.centres, n_fav)
    centres = tuple(int(c) for c in rng.choice(favourites, size=n_centres, replace=False)) if n_centres else ()
    sets: list[AdjustmentSet] = []
    for c in centres:
        for s in sets_around(c, cells, prefs.complements, prefs.substitutes, prefs.decay):
            if prefs.complements == 0 and s.kind == "complement" or prefs.substitutes == 0 and s.kind == "substitute":
                continue  # additive preferences: no sets at all
            if all(set(s.members) != set(t.members) or s.kind != t.kind for t in sets):
                sets.append(s)
    return Profile(base=base, sets=sets, favourites=favourites, centres=centres)


def generate_instance(spec: ir.AssignmentSpec, seed: int) -> Instance:
    """One seeded instance of the spec: timetable, popular courses, grid and every student."""
    courses, students = spec.courses, spec.students
    prefs = students.preferences
    m = len(courses.names)
    rng = np.random.default_rng([seed, 0])
    popular = tuple(sorted(int(c) for c in rng.choice(m, size=prefs.popular, replace=False)))
    h, w = prefs.grid
    cell_ids = rng.choice(h * w, size=m, replace=False)
    cells = np.stack([cell_ids // w, cell_ids % w], axis=1)
    tt = courses.timetable
    if tt.kind == "generated":
        slots = generated_timetable(m, tt.days, tt.slots, np.random.default_rng([seed, 1]))
    elif tt.kind == "fixed":
        slots = [tuple(s) for s in tt.slots]
    else:
        slots = [() for _ in range(m)]
    n = students.count
    profiles = [draw_student(prefs, popular, cells, np.random.default_rng([seed, 2, j])) for j in range(n)]
    budgets = 1.0 + np.arange(n) * spec.mechanism.budget_spread / n
    return Instance(seed=seed, names=tuple(courses.names), seats=np.asarray(courses.seats, dtype=np.int64),
                    course_slots=slots, conflict=conflicts(slots), popular=popular, cells=cells,
                    students=profiles, budgets=budgets, demand=students.demand)

"""Timetables and the schedules a student may take.

A schedule is a set of at most ``demand`` courses, no two of which meet at the same hour.
With 25 courses and a demand of 5 there are at most 68,406 schedules, so every schedule is
listed once per instance (``Schedules``) and every value function is a table over them: a
student's demand at given prices is then the best affordable row, which is faster than a
MILP per student (the MILP path lives in ``demand.py`` and is tested against this one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Start-slot probabilities of a lecture of 1, 2 or 3 hours on a 12-slot day: morning slots are
# likelier and a lecture must end by the last slot (the public course-allocation simulator's
# timetable generator; docs/assignment.md).
START_PROBABILITIES_12 = {
    1: (0.10,) * 8 + (0.05, 0.05, 0.05, 0.05),
    2: (0.10,) * 8 + (0.05, 0.05, 0.10, 0.00),
    3: (0.10,) * 8 + (0.05, 0.15, 0.00, 0.00),
}
HOUR_CONFIGURATIONS = {0.5: ((2, 1), (2,)), 1.0: ((3, 2), (2, 2))}
"""Lecture lengths of a half-credit and a full-credit course (one choice per course)."""


def generated_timetable(n_courses: int, days: int, slots: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """The hourly slots (``day * slots + hour``) each course occupies.  The first half of the
    courses are half-credit courses; each course picks an hour configuration, puts each
    lecture on a different day and draws its start hour."""
    out: list[tuple[int, ...]] = []
    for c in range(n_courses):
        credit = 0.5 if c < n_courses // 2 else 1.0
        options = HOUR_CONFIGURATIONS[credit]
        lectures = options[int(rng.integers(len(options)))]
        lecture_days = rng.choice(days, size=len(lectures), replace=len(lectures) > days)
        occupied: set[int] = set()
        for hours, day in zip(lectures, lecture_days, strict=True):
            starts = _start_probabilities(hours, slots)
            start = int(rng.choice(slots, p=starts))
            occupied.update(int(day) * slots + start + k for k in range(hours))
        out.append(tuple(sorted(occupied)))
    return out


def _start_probabilities(hours: int, slots: int) -> np.ndarray:
    if slots == 12:
        return np.asarray(START_PROBABILITIES_12[hours])
    # other day lengths: uniform over the starts at which the lecture fits
    fits = np.arange(slots) + hours <= slots
    return fits / fits.sum()


def conflicts(course_slots: list[tuple[int, ...]]) -> np.ndarray:
    """``conflict[a, b]``: courses a and b meet at the same hour (a != b)."""
    m = len(course_slots)
    out = np.zeros((m, m), dtype=bool)
    sets = [set(s) for s in course_slots]
    for a in range(m):
        for b in range(a + 1, m):
            if sets[a] & sets[b]:
                out[a, b] = out[b, a] = True
    return out


@dataclass
class Schedules:
    """Every feasible schedule of an instance, sorted by size (the empty schedule first).

    ``matrix[s, c]`` is 1 when schedule s holds course c; ``drop[s, k]`` is the index of
    schedule s without its k-th course (or -1), which the free-disposal closure and the
    dominance pruning use."""

    matrix: np.ndarray
    """(n_schedules, n_courses) float32 0/1."""
    sizes: np.ndarray
    drop: np.ndarray
    """(n_schedules, demand) int64."""
    members: np.ndarray
    """(demand, n_schedules) int64: the courses of each schedule, padded with n_courses."""

    @property
    def count(self) -> int:
        return int(self.matrix.shape[0])

    def costs(self, prices: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """The cost of each schedule (or of ``rows``, any shape) at ``prices``, in float64.  A
        gather over each schedule's courses: a matrix product with all schedules is slower
        whenever BLAS threads compete for the cores."""
        padded = np.append(np.asarray(prices, dtype=np.float64), 0.0)
        members = self.members if rows is None else self.members[:, rows]
        return np.take(padded, members).sum(axis=0)

    def index_of(self, courses: tuple[int, ...] | list[int]) -> int:
        """The row of the schedule holding exactly these courses."""
        key = sum(1 << int(c) for c in courses)
        i = int(np.searchsorted(self._keys_sorted, key))
        if i >= len(self._keys_sorted) or self._keys_sorted[i] != key:
            raise KeyError(tuple(courses))
        return int(self._key_order[i])

    def __post_init__(self) -> None:
        weights = (1 << np.arange(self.matrix.shape[1], dtype=np.int64)).astype(np.int64)
        keys = self.matrix.astype(np.int64) @ weights
        self._key_order = np.argsort(keys, kind="stable")
        self._keys_sorted = keys[self._key_order]


class TooManySchedules(Exception):
    def __init__(self, count: int, limit: int):
        super().__init__(f"{count} schedules exceed the limit of {limit}")
        self.count = count
        self.limit = limit


def enumerate_schedules(n_courses: int, demand: int, conflict: np.ndarray, limit: int) -> Schedules:
    """All conflict-free sets of at most ``demand`` courses, by size then lexicographically."""
    rows: list[tuple[int, ...]] = [()]
    level: list[tuple[int, ...]] = [()]
    for _ in range(demand):
        nxt: list[tuple[int, ...]] = []
        for s in level:
            start = s[-1] + 1 if s else 0
            for c in range(start, n_courses):
                if not any(conflict[c, x] for x in s):
                    nxt.append((*s, c))
        if not nxt:
            break
        rows.extend(nxt)
        if len(rows) > limit:
            raise TooManySchedules(_count_upper(n_courses, demand), limit)
        level = nxt
    matrix = np.zeros((len(rows), n_courses), dtype=np.float32)
    for i, s in enumerate(rows):
        matrix[i, list(s)] = 1.0
    sizes = matrix.sum(axis=1).astype(np.int64)
    weights = (1 << np.arange(n_courses, dtype=np.int64)).astype(np.int64)
    keys = matrix.astype(np.int64) @ weights
    order = np.argsort(keys)
    sorted_keys = keys[order]
    width = max(demand, 1)
    members = np.full((len(rows), width), n_courses, dtype=np.int64)
    for i, s in enumerate(rows):
        members[i, : len(s)] = s
    drop = np.full((len(rows), width), -1, dtype=np.int64)
    for k in range(width):
        has = members[:, k] < n_courses
        without = keys[has] - (np.int64(1) << members[has, k])
        drop[has, k] = order[np.searchsorted(sorted_keys, without)]
    return Schedules(matrix=matrix, sizes=sizes, drop=drop, members=np.ascontiguousarray(members.T))


def _count_upper(n_courses: int, demand: int) -> int:
    from math import comb

    return sum(comb(n_courses, k) for k in range(demand + 1))


def count_without_conflicts(n_courses: int, demand: int) -> int:
    """How many schedules there are when no two courses conflict."""
    return _count_upper(n_courses, demand)



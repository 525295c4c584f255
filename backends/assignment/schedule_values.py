"""Value tables: a value function evaluated on every schedule of an instance.

The value of a schedule x under a profile is the sum of its base values, plus, for each
complement or substitute set S with t = |S ∩ x| members taken, ``factors[t - 1]`` times the
base values of those members.  Students dispose freely: a schedule is worth the best of
its subsets (``closure``), since a student can always drop a course she was given.
"""

from __future__ import annotations

import numpy as np

from .preferences import Profile
from .schedules import Schedules


def raw_values(profile: Profile, schedules: Schedules) -> np.ndarray:
    """The profile's value of every schedule, before free disposal."""
    x = schedules.matrix.astype(np.float64)
    v = x @ profile.base
    for s in profile.sets:
        members = list(s.members)
        taken = x[:, members]
        t = taken.sum(axis=1).astype(np.int64)
        factor = np.concatenate([[0.0], s.factors])[t]
        v = v + factor * (taken @ profile.base[members])
    return v


def closure(values: np.ndarray, schedules: Schedules) -> np.ndarray:
    """Free disposal: each schedule's value becomes the best value of its subsets.  ``values`` is
    (n_schedules,) or (n_students, n_schedules); schedules are sorted by size, so one pass over
    the sizes, each taking the best of the schedule itself and its one-smaller subsets,
    reaches every subset."""
    out = np.array(values, dtype=np.float64, copy=True)
    flat = out.ndim == 1
    if flat:
        out = out[None, :]
    sizes = schedules.sizes
    for k in range(1, int(sizes.max(initial=0)) + 1):
        rows = np.flatnonzero(sizes == k)
        best = out[:, rows]
        for j in range(k):
            best = np.maximum(best, out[:, schedules.drop[rows, j]])
        out[:, rows] = best
    return out[0] if flat else out


def raw_table(profiles: list[Profile], schedules: Schedules, chunk: int = 8192) -> np.ndarray:
    """``raw_values`` of every profile at once: (n_students, n_schedules).  Every set of every
    student becomes a column of member indicators and of member base values, so a block of
    schedules needs two matrix products for all sets together."""
    x = schedules.matrix
    m = x.shape[1]
    bases = np.stack([p.base for p in profiles]).astype(np.float64)
    owners, members, weights, factors = [], [], [], []
    width = 1 + max((len(st.members) for p in profiles for st in p.sets), default=0)
    for i, p in enumerate(profiles):
        for st in p.sets:
            ind = np.zeros(m, dtype=np.float64)
            ind[list(st.members)] = 1.0
            owners.append(i)
            members.append(ind)
            weights.append(ind * p.base)
            f = np.zeros(width, dtype=np.float64)
            f[1 : len(st.factors) + 1] = st.factors
            factors.append(f)
    out = np.empty((len(profiles), schedules.count), dtype=np.float64)
    if owners:
        ind_m = np.stack(members, axis=1)
        w_m = np.stack(weights, axis=1)
        f_m = np.stack(factors, axis=1)  # (width, n_sets): factor by members taken
        owner = np.zeros((len(owners), len(profiles)), dtype=np.float64)
        owner[np.arange(len(owners)), owners] = 1.0
        cols = np.arange(len(owners))
    for lo in range(0, schedules.count, chunk):
        block = x[lo : lo + chunk].astype(np.float64)
        v = block @ bases.T
        if owners:
            taken = (block @ ind_m).astype(np.int64)
            adjust = f_m[taken, cols] * (block @ w_m)
            v = v + adjust @ owner
        out[:, lo : lo + chunk] = v.T
    return out


def value_table(profiles: list[Profile], schedules: Schedules) -> np.ndarray:
    """(n_students, n_schedules): each student's free-disposal value of every schedule."""
    return closure(raw_table(profiles, schedules), schedules)


def undominated(table: np.ndarray, schedules: Schedules, tol: float = 1e-9) -> np.ndarray:
    """(n_students, n_schedules) bool: schedules worth strictly more than each of their
    one-smaller subsets.  At non-negative prices a dominated schedule is never needed: a
    subset is as good and costs no more, so demand is taken among the undominated ones
    (this is the tie-break against buying courses of no value)."""
    keep = np.ones(table.shape, dtype=bool)
    sizes = schedules.sizes
    for k in range(1, int(sizes.max(initial=0)) + 1):
        rows = np.flatnonzero(sizes == k)
        for j in range(k):
            keep[:, rows] &= table[:, rows] > table[:, schedules.drop[rows, j]] + tol
    return keep

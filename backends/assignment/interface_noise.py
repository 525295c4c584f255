"""What students report through the Course Match interface (the simulator's noise model,
re-implemented from its description; docs/assignment.md lists the calibrated parameters).

Per student, from her true profile:

1. every base value gets Gaussian noise (``base_std``) and is floored at 0;
2. the lowest ``forget_base`` share of the noisy base values (randomised rounding of
   ``forget_base * n_courses``) is forgotten, i.e. reported as 0; each course is also
   forgotten with probability ``forget_uniform``;
3. for each substitute set, then each complement set: members with a reported base of 0
   leave the set, each remaining member is forgotten with probability
   ``forget_adjustments``; if at least two remain, their adjustment factors are the true
   ones times independent U(1 - adjustment_std, 1 + adjustment_std) noise, clipped to keep
   their sign and sorted back into order;
4. the interface speaks in pairwise adjustments: each reported set keeps one constant
   factor, its two-member one, applied to each member once two or more are taken.
"""

from __future__ import annotations

import numpy as np
from auctionc import ir

from .preferences import AdjustmentSet, Profile, randomised_round


def report(profile: Profile, model: ir.InterfaceReports, rng: np.random.Generator) -> Profile:
    m = len(profile.base)
    base = np.maximum(0.0, profile.base + rng.normal(0.0, model.base_std, size=m))
    forget = randomised_round(m * model.forget_base, rng)
    if forget > 0:
        base[np.argsort(base, kind="stable")[:forget]] = 0.0
    base[rng.random(m) < model.forget_uniform] = 0.0
    ordered = [s for s in profile.sets if s.kind == "substitute"] + [s for s in profile.sets if s.kind == "complement"]
    sets: list[AdjustmentSet] = []
    for s in ordered:
        alive = [c for c in s.members if base[c] > 0]
        kept = [c for c in alive if rng.random() >= model.forget_adjustments]
        if len(kept) < 2:
            continue
        factors = np.asarray(s.factors[: len(kept)]) * rng.uniform(
            1 - model.adjustment_std, 1 + model.adjustment_std, size=len(kept))
        if s.kind == "substitute":
            factors = -np.sort(-np.minimum(factors, 0.0))  # 0, then more and more negative
        else:
            factors = np.sort(np.maximum(factors, 0.0))
        pairwise = float(factors[1])
        sets.append(AdjustmentSet(s.kind, tuple(kept), (0.0,) + (pairwise,) * (len(kept) - 1)))
    return Profile(base=base, sets=sets, favourites=(), centres=())

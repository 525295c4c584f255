"""Validity, checked before any certificate: the artifact was made for this spec, its shapes
and the facts about the world it carries agree with the spec, and every outcome it offers or
produces is an outcome at all (allocations in [0, 1] and feasible, experiments stochastic,
lotteries distributions, payments finite).

The facts the artifact carries (type grids, beliefs, payoffs, item names) are compared with
the same facts computed from the spec and never used: the verifier works from the spec.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import valuation as V
from ..mechanism.format_mechanism import valuation_class
from .certificate import VALIDITY, Check
from .evaluation import STOCHASTIC_TOL, Evaluator
from .spec_spaces import auction_spaces, bidder_names, is_cats, market_spaces

WORLD_TOL = 1e-9


def spec_hash_check(mech: Any, spec: Any, allow: bool, notes: list[str]) -> Check:
    mine = spec.spec_hash()
    theirs = getattr(mech.meta, "spec_hash", "") or ""
    name = getattr(mech.meta, "spec_name", "") or "?"
    if not theirs:
        return Check("spec_hash", True, "the artifact records no spec hash (it was not made by `auctionc compile`)")
    if theirs == mine:
        return Check("spec_hash", True, f"the artifact was made for this spec (hash {mine})")
    msg = f"the artifact was made for spec {name!r} (hash {theirs}), not for spec {spec.name!r} (hash {mine})"
    if allow:
        notes.append(msg + "; verified anyway (--allow-spec-mismatch)")
        return Check("spec_hash", True, msg + " (overridden)")
    return Check("spec_hash", False, msg)


def shape_check(mech: Any, spec: Any) -> Check:
    w = mech.world()
    problems = []
    if spec.kind == "market":
        if w.outcome_space != "experiments":
            problems.append(f"the artifact allocates {w.outcome_space}, but the spec is a data market")
    elif w.outcome_space == "experiments":
        problems.append("the artifact sells experiments, but the spec is an auction")
    elif w.outcome_space != V.outcome_space(spec):
        problems.append(f"the artifact's outcomes are {w.outcome_space}, the spec's {V.outcome_space(spec)}")
    if w.n_bidders != spec.n_bidders:
        problems.append(f"the artifact has {w.n_bidders} bidder(s), the spec {spec.n_bidders}")
    if spec.kind == "auction" and not problems:
        if w.n_items is not None and w.n_items != spec.n_items:
            problems.append(f"the artifact has {w.n_items} items, the spec {spec.n_items}")
        if w.dim is not None and not is_cats(spec) and w.dim != V.outcome_dim(spec):
            problems.append(f"the artifact's outcomes have {w.dim} coordinates, the spec's {V.outcome_dim(spec)}")
    if problems:
        return Check("shapes", False, "; ".join(problems))
    return Check("shapes", True, "bidders, outcome space and dimensions agree with the spec")


def _same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=WORLD_TOL, atol=WORLD_TOL))


def world_check(mech: Any, spec: Any, grid: int | None) -> Check:
    """Compare every fact the artifact carries with the spec's."""
    w = mech.world()
    bad: list[str] = []
    if w.items is not None and spec.kind == "auction" and list(w.items) != list(spec.items):
        bad.append(f"items {w.items} (the spec: {list(spec.items)})")
    if w.bidders is not None and list(w.bidders) != bidder_names(spec):
        bad.append(f"bidder names {w.bidders} (the spec: {bidder_names(spec)})")
    if w.valuations is not None and spec.kind == "auction":
        want = [valuation_class(b) for b in spec.bidders]
        if list(w.valuations) != want:
            bad.append(f"valuations {w.valuations} (the spec: {want})")
    if w.format is not None and spec.kind == "auction":
        named = spec.mechanism.model_dump(mode="json") if spec.mechanism is not None else None
        if named is not None and w.format != named:
            bad.append(f"the format {w.format.get('name')} {_diff(w.format, named)} (the spec names "
                       f"{named.get('name')})")
    if w.type_values is not None:
        bad += _table_types(w, spec, grid)
    if w.states is not None:
        bad += _market_world(w, spec, grid)
    if bad:
        return Check("world", False, "the artifact's copy of the world disagrees with the spec: " + "; ".join(bad))
    return Check("world", True, "the facts the artifact carries agree with the spec (which alone is used)")


def _diff(a: dict, b: dict) -> str:
    keys = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k) and k != "name"]
    return "with " + ", ".join(f"{k} = {a.get(k)}" for k in keys) if keys else ""


def _table_types(w: Any, spec: Any, grid: int | None) -> list[str]:
    spaces = auction_spaces(spec, grid)
    if spaces is None:
        return ["finite type lists, but the spec's priors are not finite and the artifact records no grid"]
    out = []
    for i, s in enumerate(spaces):
        name = bidder_names(spec)[i]
        if not _same(w.type_values[i], s.values):
            out.append(f"the types of {name}")
        elif not _same(w.type_probs[i], s.probs):
            out.append(f"the type probabilities of {name}")
        g = w.type_grids[i] if w.type_grids is not None else None
        if not _same_grids(g, s.grids):
            out.append(f"the off-grid lookup grid of {name}")
    return out


def _same_grids(a: list[np.ndarray] | None, b: list[np.ndarray] | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))


def _market_world(w: Any, spec: Any, grid: int | None) -> list[str]:
    out = []
    if list(w.states) != list(spec.states):
        out.append(f"states {w.states} (the spec: {list(spec.states)})")
    b = spec.buyers[0]
    if w.actions is not None and list(w.actions) != list(b.actions):
        out.append(f"actions {w.actions} (the spec: {list(b.actions)})")
    if w.payoffs is not None and not _same(w.payoffs, b.payoffs):
        out.append("payoffs")
    if w.buyer_actions is not None and [list(a) for a in w.buyer_actions] != [list(x.actions) for x in spec.buyers]:
        out.append("the buyers' actions")
    if w.buyer_payoffs is not None and (len(w.buyer_payoffs) != spec.n_bidders or not all(
            _same(p, x.payoffs) for p, x in zip(w.buyer_payoffs, spec.buyers, strict=False))):
        out.append("the buyers' payoffs")
    if w.externality is not None and not _same(w.externality, spec.externality):
        out.append(f"externality {w.externality} (the spec: {spec.externality})")
    if w.type_kind is not None and w.type_kind != b.type.kind:
        out.append(f"type kind {w.type_kind} (the spec: {b.type.kind})")
    if w.type_models is not None and w.type_models != [x.type.model_dump(mode="json") for x in spec.buyers]:
        out.append("the buyers' types (kind, distributions or common prior)")
    if all(x is None for x in (w.type_points, w.type_probs, w.beliefs, w.scales)):
        return out  # a rule for every report, not a table of types
    spaces = market_spaces(spec, grid)
    if spaces is None:
        out.append("finite types, but the spec's type prior is continuous and the artifact records no grid")
        return out
    t = spaces[0]
    if w.type_points is not None and not _same(w.type_points, t.points):
        out.append("type points")
    elif w.type_probs is not None and not _same(w.type_probs[0], t.probs):
        out.append("type probabilities")
    if w.beliefs is not None and not _same(w.beliefs, t.beliefs):
        out.append("beliefs")
    if w.scales is not None and not _same(w.scales, t.scales):
        out.append("payoff scales")
    return out


def offered_figures(mech: Any, spec: Any, ev: Evaluator) -> dict[str, float]:
    """Fold every outcome the artifact offers (when it lists them) into the evaluator's
    running figures; returns the lottery figure (bundle menus), which has no running twin."""
    off = mech.offered_outcomes()
    out: dict[str, float] = {}
    if off is None:
        return out
    arrays = [x for x in (off.allocations, off.payments, off.experiments, off.prices, off.lotteries) if x is not None]
    ev.nonfinite += int(sum((~np.isfinite(np.asarray(x, float))).sum() for x in arrays))
    if off.allocations is not None:
        a = np.nan_to_num(np.asarray(off.allocations, float))
        ev.range_violation = max(ev.range_violation, float(np.maximum(-a, 0).max(initial=0.0)),
                                 float(np.maximum(a - 1, 0).max(initial=0.0)))
        if spec.kind == "auction" and not is_cats(spec) and a.ndim == 3 \
                and a.shape[1:] == (spec.n_bidders, V.outcome_dim(spec)):
            ev.feasibility_violation = max(ev.feasibility_violation, V.feasibility_violation(spec, a))
    if off.lotteries is not None:
        q = np.nan_to_num(np.asarray(off.lotteries, float))
        out["lottery_violation"] = max(float(np.maximum(-q, 0).max(initial=0.0)),
                                       float(np.abs(q.sum(axis=1) - 1).max(initial=0.0)))
    if off.experiments is not None:
        e = np.nan_to_num(np.asarray(off.experiments, float))
        ev.range_violation = max(ev.range_violation, float(np.maximum(-e, 0).max(initial=0.0)))
        ev.feasibility_violation = max(ev.feasibility_violation, float(np.abs(e.sum(axis=1) - 1).max(initial=0.0)))
    return out


def outcome_checks(ev: Evaluator, spec: Any, figures: dict[str, float], tol: float) -> list[Check]:
    """The range, feasibility (or stochasticity) and finiteness checks over everything offered
    and everything evaluated so far."""
    checks = []
    seen = f"over the offered outcomes and {ev.rows:,} evaluated profiles"
    if spec.kind == "market":
        checks.append(Check("stochastic_experiments",
                            ev.range_violation <= STOCHASTIC_TOL and ev.feasibility_violation <= STOCHASTIC_TOL,
                            f"most negative entry {-ev.range_violation:.3g}, largest column-sum error "
                            f"{ev.feasibility_violation:.3g} (tolerance {STOCHASTIC_TOL:g}) {seen}"))
    else:
        checks.append(Check("allocation_range", ev.range_violation <= tol,
                            f"largest step outside [0, 1]: {ev.range_violation:.3g} {seen}"))
        checks.append(Check("feasibility", ev.feasibility_violation <= tol,
                            f"largest over-allocation: {ev.feasibility_violation:.3g} {seen}"))
        if "lottery_violation" in figures:
            lv = figures["lottery_violation"]
            checks.append(Check("lotteries", lv <= STOCHASTIC_TOL,
                                f"largest error of a bundle lottery (negative or not summing to one): {lv:.3g}"))
    checks.append(Check("finite_payments", ev.nonfinite == 0,
                        f"{ev.nonfinite} non-finite allocation, payment or price entries {seen}"))
    return checks


def with_final_outcome_checks(checks: list[Check], ev: Evaluator, spec: Any, figures: dict[str, float],
                              tol: float) -> list[Check]:
    """``checks`` with the range, feasibility and finiteness checks recomputed over everything
    evaluated on the way (the enumeration, the search, the estimate), validity checks first."""
    final = outcome_checks(ev, spec, figures, tol)
    names = {c.name for c in final}
    rest = [c for c in checks if c.name not in names]
    return [c for c in rest if c.name in VALIDITY] + final + [c for c in rest if c.name not in VALIDITY]

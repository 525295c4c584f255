"""Verifying an auction artifact: which certificate, at what cost.

1. Validity (``validity``): spec hash, shapes, world data, offered outcomes, a probe of the
   artifact's evaluation.  A failure gives the kind ``invalid`` and stops.
2. Structure (``structure``), when the artifact declares one: recomputed from its
   parameters and confirmed on sampled reports.
3. A finite type space is enumerated (``enumeration``): exact incentive checks and exact
   revenue, welfare and utilities.  A structural certificate keeps its kind (it holds for
   every report) and takes the exact figures.
4. Otherwise (continuous priors): a structural certificate needs only a sanity sample of
   misreports; without one, the misreport search (``search``, ``interim``) estimates the
   regret.  Revenue and welfare come from the adaptive estimate (``estimate``).  When the
   backend solved on a grid (its recorded ``grid`` option), the verifier also enumerates
   the spec's prior discretised on that grid, which it computes itself from the spec.
5. The backend's claim is compared with the verifier's figures on the same prior (``claims``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import valuation as V
from .certificate import Z95, Certificate, Check, exact_metric
from .claims import add_claim_check
from .enumeration import enumerate_auction, objective_value
from .estimate import adaptive_metrics
from .evaluation import EvaluationError, Evaluator
from .interim import interim_regret
from .search import planned_samples, search_regret
from .settings import CATS_METRIC_SAMPLES, SANITY_SAMPLES, Settings
from .spec_spaces import (
    Draws,
    auction_spaces,
    bidder_names,
    draw,
    draw_cats,
    is_cats,
    recorded_grid,
    value_box,
)
from .structure import StructureResult, check_structure, favourite_utility
from .validity import (
    offered_figures,
    outcome_checks,
    shape_check,
    spec_hash_check,
    with_final_outcome_checks,
    world_check,
)


def verify_auction(mech: Any, spec: Any, settings: Settings) -> Certificate:
    notes: list[str] = []
    details: dict[str, Any] = {}
    box = value_box(spec)
    scale = max(1.0, float(np.abs(box[np.isfinite(box)]).max(initial=1.0))) if box is not None else 1.0
    tol = settings.tolerance if settings.tolerance is not None else 1e-6 * scale
    ev = Evaluator(mech, spec)
    grid = recorded_grid(mech)
    checks = [spec_hash_check(mech, spec, settings.allow_spec_mismatch, notes), shape_check(mech, spec)]
    figures: dict[str, float] = {}
    if checks[-1].ok:
        checks.append(world_check(mech, spec, grid))
        figures = offered_figures(mech, spec, ev)
        checks.append(_probe(ev, spec, settings))
        checks += outcome_checks(ev, spec, figures, tol)
    cert = certified(checks, notes, tol, ev, spec, figures,
                     lambda: _certify(mech, spec, settings, ev, tol, grid, checks, notes, details))
    if cert.kind == "invalid":
        return cert
    cert.feasibility_violation = ev.feasibility_violation
    cert.details["evaluated_profiles"] = ev.rows
    return cert


def invalid(checks: list[Check], notes: list[str], tol: float) -> Certificate:
    """The certificate of an artifact that fails a validity check: no figures."""
    return Certificate(kind="invalid", checks=checks, max_regret=None, mean_regret=None, max_ir_violation=None,
                       max_obedience_violation=None, feasibility_violation=None, metrics={}, scope="none (invalid artifact)",
                       notes=notes, tolerance=tol, search="none")


def certified(checks: list[Check], notes: list[str], tol: float, ev: Evaluator, spec: Any,
              figures: dict[str, float], certify: Callable[[], Certificate]) -> Certificate:
    """The certificate once the validity ``checks`` are in: ``invalid`` when one failed or
    the artifact's evaluation fails on the way, else ``certify()``'s, with the range,
    feasibility and finiteness checks recomputed over everything evaluated on the way (the
    enumeration, the search, the estimate).  Auctions and both market paths end so."""
    if not all(c.ok for c in checks):
        return invalid(checks, notes, tol)
    try:
        cert = certify()
    except EvaluationError as e:
        return invalid([*checks, Check("evaluation", False, str(e))], notes, tol)
    cert.checks = with_final_outcome_checks(cert.checks, ev, spec, figures, tol)
    return cert


def _probe(ev: Evaluator, spec: Any, settings: Settings) -> Check:
    try:
        if is_cats(spec):
            ev(draw_cats(spec, 16, settings.seed))
        else:
            ev(draw(spec, 64, np.random.default_rng([settings.seed, 3])).reports)
    except EvaluationError as e:
        return Check("evaluation", False, str(e))
    return Check("evaluation", True, "the artifact evaluates reports of the spec's shape")


def _certify(mech, spec, settings, ev, tol, grid, checks, notes, details) -> Certificate:
    names = bidder_names(spec)
    st = mech.structure()
    sres = check_structure(ev, mech, spec, st, settings, tol) if st is not None else StructureResult()
    checks += sres.checks
    notes += sres.notes
    details.update(sres.details)
    kind_struct = sres.kind if all(c.ok for c in sres.checks) else None
    finite = auction_spaces(spec)
    # a structure rules out every misreport: only the truthful profiles are enumerated
    search_misreports = kind_struct is None
    ex = enumerate_auction(ev, spec, finite, names, search_misreports) if finite is not None else None
    if finite is not None and ex is None:
        notes.append("the finite type space is too large to enumerate: the figures are estimated")
    if ex is not None:
        cert = _exact(ex, kind_struct or "exact_by_enumeration", tol, checks, notes, details)
        cert.scope = f"the spec's finite prior ({ex['profiles']:,} profiles enumerated)"
        add_claim_check(mech, spec, cert, ex, cert.scope, tol)
        return cert
    disc = auction_spaces(spec, grid) if grid else None
    exd = enumerate_auction(ev, spec, disc, names, search_misreports) if disc is not None else None
    if exd is not None:
        details["discretised"] = _discretised(spec, exd, grid, tol)
    if is_cats(spec):
        cert = _cats(mech, spec, settings, ev, kind_struct, st, tol, checks, notes, details)
    else:
        cert = _continuous(mech, spec, settings, ev, kind_struct, tol, checks, notes, details)
    if exd is not None:
        add_claim_check(mech, spec, cert, exd, f"the spec's prior discretised on the backend's {grid}-cell grid", tol)
    else:
        add_claim_check(mech, spec, cert, None, cert.scope, tol)
    return cert


def _incentive_checks(regret: float, ir: float, tol: float, how: str) -> list[Check]:
    return [Check("IC", regret <= tol, f"{how}: max regret {regret:.3g} (tolerance {tol:.3g})"),
            Check("IR", ir <= tol, f"max IR violation {ir:.3g}")]


def _exact(ex, kind, tol, checks, notes, details) -> Certificate:
    if kind == "exact_by_enumeration":
        how = (f"exact: {ex['checked_pairs']:,} (bidder, type, misreport) pairs over {ex['profiles']:,} profiles "
               f"({ex['ic_mode']} IC, {ex['ir_mode']} IR)")
    else:
        how = f"by construction (every report); IR exact over the {ex['profiles']:,} profiles"
    details["enumeration"] = {k: ex[k] for k in ("checked_pairs", "profiles", "ic_mode", "ir_mode", "type_counts")}
    return Certificate(
        kind=kind, checks=[*checks, *_incentive_checks(ex["max_regret"], ex["max_ir_violation"], tol, how)],
        max_regret=ex["max_regret"], mean_regret=ex["mean_regret"], max_ir_violation=ex["max_ir_violation"],
        max_obedience_violation=None, feasibility_violation=None,
        metrics={"revenue": exact_metric(ex["revenue"], ex["profiles"]), "welfare": exact_metric(ex["welfare"], ex["profiles"])},
        per_bidder=ex["per_bidder"], worst=ex["worst"] if ex["max_regret"] > tol else None, search="enumeration",
        notes=notes, details=details, tolerance=tol, regrets=ex["regrets"])


def _discretised(spec, exd, grid, tol) -> dict[str, Any]:
    return {"grid": grid, "kind": "exact_by_enumeration", "profiles": exd["profiles"],
            "revenue": exd["revenue"], "welfare": exd["welfare"], "objective": objective_value(spec, exd),
            "max_regret": exd["max_regret"], "max_ir_violation": exd["max_ir_violation"],
            "ok": bool(exd["max_regret"] <= tol and exd["max_ir_violation"] <= tol),
            "meaning": "exact on the spec's prior discretised on the backend's grid (midpoints of equal cells, "
                       "computed by the verifier from the spec), through the artifact's evaluation"}


def _metrics_batch(ev: Evaluator, spec: Any):
    def batch(size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        d = draw(spec, size, rng)
        a, p = ev(d.reports)
        return {"revenue": p.sum(axis=1), "welfare": V.welfare(d.values, a), "utility": (d.values * a).sum(axis=2) - p}
    return batch


def _continuous(mech, spec, settings, ev, kind_struct, tol, checks, notes, details) -> Certificate:
    names = bidder_names(spec)
    rng = np.random.default_rng([settings.seed, 0])
    full = draw(spec, settings.samples, rng)
    B, n, dim = full.values.shape
    bayes = spec.requires("IC") and spec.requirement("IC").mode == "bayesian"
    if kind_struct is not None:
        d = _head(full, SANITY_SAMPLES)
        res = search_regret(ev, mech, d, settings, names, local=False, label="verify: sanity misreports")
        how = f"by construction; a sanity sample of {len(d.values):,} profiles ({res.search})"
        kind, interim = kind_struct, None
    else:
        m = planned_samples(settings, B, n, dim, bool(getattr(mech, "differentiable", False)), local=True)
        if m < B:
            notes.append(f"the search budget of {settings.budget:,} evaluations allows {m:,} of {B:,} profiles")
        d = _head(full, m)
        res = search_regret(ev, mech, d, settings, names, local=True)
        how = f"sampled at {m:,} profiles, others truthful ({res.search}; the largest gain found is a lower bound)"
        kind, interim = "estimated", None
        want = settings.interim if settings.interim is not None else (bayes or dim <= 2)
        if want and not d.signals:
            interim = interim_regret(ev, d, settings, names)
    if d.signals:
        notes.append("bidders observe signals: the truthful report is the signal; utility uses the common value")
    est = adaptive_metrics(_metrics_batch(ev, spec), settings)
    regrets = res.regrets
    ir = max(float(np.maximum(-res.u_true, 0).max(initial=0.0)), max(0.0, -min(est["min_utility"])))
    worst = res.worst
    if interim is not None:
        details["interim_regret"] = {k: v for k, v in interim.items() if k not in ("regrets", "truthful")}
        if bayes:
            regrets, worst = interim["regrets"], interim["worst"]
            notes.append("IC(bayesian): the headline regret is the interim regret")
            how = (f"interim regret of {interim['types']} sampled own types per bidder against {interim['others']} "
                   "draws of the others (a grid and a coordinate search over reports; a lower bound)")
            if spec.requires("IR") and spec.requirement("IR").mode == "interim":
                ir = float(np.maximum(-interim["truthful"], 0).max(initial=0.0))
    max_r = float(regrets.max(initial=0.0))
    per = regrets.mean(axis=1)
    ci = float(per.mean() + Z95 * per.std(ddof=1) / np.sqrt(len(per))) if len(per) > 1 else None
    if not est["precision_reached"]:
        notes.append(f"revenue and welfare: the budget of {settings.metric_budget():,} profiles ended before the 95% "
                     f"half-width reached {settings.precision:.2%} of the estimate")
    per_bidder = [{**pb, "mean_utility": u} for pb, u in zip(res.per_bidder, est["per_bidder_utility"], strict=True)]
    return Certificate(
        kind=kind, checks=[*checks, *_incentive_checks(max_r, ir, tol, how)], max_regret=max_r,
        mean_regret=float(regrets.mean()), regret_ci_upper=ci, max_ir_violation=ir, max_obedience_violation=None,
        feasibility_violation=None, metrics=est["metrics"], scope="the spec's continuous prior",
        per_bidder=per_bidder, worst=worst if max_r > tol else None, samples=len(d.values), steps=res.steps,
        restarts=settings.restarts, search=res.search, notes=notes, details=details, tolerance=tol,
        interim={k: v for k, v in interim.items() if k not in ("regrets", "truthful")} if interim else None,
        regrets=regrets)


def _head(d: Draws, m: int) -> Draws:
    return Draws(d.values[:m], d.reports[:m], d.box, d.signals)


def _cats(mech, spec, settings, ev, kind_struct, st, tol, checks, notes, details) -> Certificate:
    """CATS bid lists have no array form: only a structural certificate applies, and the
    misreports of a one-bidder menu are its other elements, which the confirmation covers."""
    if kind_struct is None:
        checks.append(Check("IC", False, "CATS valuations can be verified only through a one-bidder menu's "
                                         "or posted item prices' structure, which does not hold here"))
        return Certificate(kind="estimated", checks=checks, max_regret=None, mean_regret=None, max_ir_violation=None,
                           max_obedience_violation=None, feasibility_violation=None, metrics={}, notes=notes,
                           details=details, tolerance=tol, scope="the spec's CATS generator")

    def batch(size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        b = draw_cats(spec, size, int(rng.integers(2**31)))
        best = favourite_utility(st, b)
        _, p = ev(b)
        return {"revenue": p[:, 0], "welfare": best + p[:, 0], "utility": best[:, None]}

    est = adaptive_metrics(batch, settings, default_budget=CATS_METRIC_SAMPLES)
    if not est["precision_reached"]:
        notes.append(f"revenue and welfare: the budget of {settings.metric_budget(CATS_METRIC_SAMPLES):,} CATS valuations "
                     f"ended before the 95% half-width reached {settings.precision:.2%} of the estimate "
                     "(--metric-samples buys more)")
    checks += _incentive_checks(0.0, max(0.0, -min(est["min_utility"])), tol,
                                "by construction (misreports only pick other menu elements, confirmed above)")
    return Certificate(kind=kind_struct, checks=checks, max_regret=0.0, mean_regret=0.0, max_ir_violation=0.0,
                       max_obedience_violation=None, feasibility_violation=None, metrics=est["metrics"],
                       scope="the spec's CATS generator (fresh valuations)", search="menu structure", notes=notes,
                       details=details, tolerance=tol)


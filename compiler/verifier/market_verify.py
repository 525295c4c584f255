"""Verifying a data market: experiments with prices, sold to one buyer or several.

The world is the spec's: its states, the buyers' actions and payoffs, their types (beliefs,
payoff scales or both, with their probabilities) and the externality.  The artifact is only
asked, via ``allocate_and_pay``, which experiment and price a report buys; its own copy of
the world is compared with the spec's by the validity checks and never used.

* IC: a type that reports another type and then takes the best action on each signal must
  not gain (every map from signals to actions is covered by acting optimally per signal).
* IR: the truthful buyer's payoff, obeying, minus the price is at least its payoff acting on
  its prior alone.  Obedience: given each recommendation, the recommended action is a best
  response.
* A learned menu (``ExperimentMenu`` structure): ``market_menu`` confirms the structure, which
  gives IC for every report, and measures IR and obedience.
* Several buyers: ``market_network`` estimates regret, IR and obedience by sampling.
* Otherwise (a type-indexed table, the LP's): finite types, every type against every other
  type's entry (exact); continuous types, the entries the buyer can buy are those at the
  backend's recorded grid points (or, without a grid, at 1,024 quantiles or draws of the type
  prior), each sampled type against all of them; with a grid the discretised prior is also
  enumerated exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import distributions as D
from .. import ir
from ..mechanism.datamarket import MarketTypes, joint_values
from ..mechanism.market_space import point as vec
from ..mechanism.market_space import sample_types, type_weights
from ..mechanism.structures import ExperimentMenu
from .auction_verify import certified
from .certificate import Certificate, Check, exact_metric
from .claims import add_claim_check
from .estimate import adaptive_metrics
from .evaluation import EvaluationError, Evaluator
from .settings import Settings
from .spec_spaces import market_spaces, recorded_grid
from .validity import (
    offered_figures,
    outcome_checks,
    shape_check,
    spec_hash_check,
    world_check,
)

QUANTILES = 1024


def reports_of(x: np.ndarray) -> np.ndarray:
    """One buyer's types ``(B,)`` or ``(B, d)`` as reports: ``(B, 1)`` for one-number types (the
    layout every market artifact takes), ``(B, 1, d)`` otherwise."""
    x = np.asarray(x, float)
    if x.ndim == 1 or x.shape[1] == 1:
        return x.reshape(len(x), 1)
    return x[:, None, :]


def _buy(ev: Evaluator, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    E, p = ev(reports_of(x))
    return E[:, 0], p[:, 0]


def _figures(U: np.ndarray, w: np.ndarray, E_own: np.ndarray, p_own: np.ndarray, E_menu: np.ndarray,
             p_menu: np.ndarray, own_index: np.ndarray | None) -> dict[str, np.ndarray]:
    """Per type (rows of ``w``): the gain of the best misreport into the menu entries
    ``(E_menu, p_menu)``, the IR shortfall, the obedience violation, and the figures."""
    M_own = np.einsum("bs,bas,cs->bac", w, E_own, U)  # type b, recommendation a, action c
    obedient = np.einsum("baa->b", M_own)
    truthful = obedient - p_own
    best = joint_values(w, E_menu, U).max(axis=3).sum(axis=2) - p_menu[None, :]  # (B, entries)
    if own_index is not None:  # a finite type's own entry is obedience, not a misreport
        best[np.arange(len(w)), own_index] = -np.inf
    gain = best.max(axis=1, initial=-np.inf) - truthful
    outside = (w @ U.T).max(axis=1)
    return {"gain": gain, "best_entry": best.argmax(axis=1), "ir": outside - truthful,
            "obey": (M_own.max(axis=2) - np.einsum("baa->ba", M_own)).max(axis=1),
            "revenue": p_own, "welfare": obedient - outside, "surplus": truthful - outside}


def _exact_on(ev: Evaluator, spec: Any, t: MarketTypes) -> dict[str, Any]:
    U = np.asarray(spec.buyers[0].payoffs, float)
    E, p = _buy(ev, t.points)
    f = _figures(U, t.beliefs * t.scales[:, None], E, p, E, p, np.arange(t.size))
    gain = np.maximum(f["gain"], 0.0) if t.size > 1 else np.zeros(t.size)
    k = int(gain.argmax())
    return {"max_regret": float(gain.max(initial=0.0)), "mean_regret": float(t.probs @ gain),
            "max_ir_violation": float(max(0.0, f["ir"].max())), "max_obedience_violation": float(max(0.0, f["obey"].max())),
            "revenue": float(t.probs @ f["revenue"]), "welfare": float(t.probs @ f["welfare"]),
            "buyer_surplus": float(t.probs @ f["surplus"]), "profiles": t.size, "regrets": gain[:, None],
            "worst": {"type": vec(t.points[k]), "values": vec(t.points[k]),
                      "misreport": vec(t.points[int(f["best_entry"][k])]), "regret": float(gain[k])}}


def market_tolerance(spec: Any, settings: Settings) -> float:
    """The tolerance of the incentive checks: the setting, else 1e-6 times the largest payoff
    times the largest payoff scale."""
    if settings.tolerance is not None:
        return settings.tolerance
    from ..mechanism.market_space import report_box, scale_of

    big = 1.0
    for i, b in enumerate(spec.buyers):
        top = float(np.abs(np.asarray(b.payoffs, float)).max(initial=1.0))
        if scale_of(b.type) is not None:
            top *= float(np.abs(report_box(spec, i)[-1]).max())
        big = max(big, top)
    return 1e-6 * big


def verify_market(mech: Any, spec: Any, settings: Settings) -> Certificate:
    if spec.n_bidders > 1:
        from .market_network import verify_several

        return verify_several(mech, spec, settings)
    notes: list[str] = []
    details: dict[str, Any] = {}
    U = np.asarray(spec.buyers[0].payoffs, float)
    tol = market_tolerance(spec, settings)
    ev = Evaluator(mech, spec)
    grid = recorded_grid(mech)
    checks = [spec_hash_check(mech, spec, settings.allow_spec_mismatch, notes), shape_check(mech, spec)]
    figures: dict[str, float] = {}
    if all(c.ok for c in checks):
        checks.append(world_check(mech, spec, grid))
        figures = offered_figures(mech, spec, ev)
        try:
            _buy(ev, sample_types(spec, 0, 64, np.random.default_rng([settings.seed, 3])))
            checks.append(Check("evaluation", True, "the artifact evaluates type reports"))
        except EvaluationError as e:
            checks.append(Check("evaluation", False, str(e)))
        checks += outcome_checks(ev, spec, figures, tol)
    def certify() -> Certificate:
        if isinstance(mech.structure(), ExperimentMenu):
            from .market_menu import certify_menu

            return certify_menu(mech, spec, settings, ev, U, tol, grid, checks, notes, details)
        return _certify(mech, spec, settings, ev, U, tol, grid, checks, notes, details)

    return certified(checks, notes, tol, ev, spec, figures, certify)


def _checks(ex: dict[str, Any], tol: float, how: str) -> list[Check]:
    return [Check("IC", ex["max_regret"] <= tol, f"{how}: max gain of a misreport {ex['max_regret']:.3g}"),
            Check("IR", ex["max_ir_violation"] <= tol, f"max IR violation {ex['max_ir_violation']:.3g}"),
            Check("obedience", ex["max_obedience_violation"] <= tol,
                  f"max obedience violation {ex['max_obedience_violation']:.3g}")]


def _certify(mech, spec, settings, ev, U, tol, grid, checks, notes, details) -> Certificate:
    finite = market_spaces(spec)
    name = spec.buyers[0].name
    if finite is not None:
        ex = _exact_on(ev, spec, finite[0])
        scope = f"the spec's finite prior ({ex['profiles']} types)"
        cert = Certificate(
            kind="exact_by_enumeration",
            checks=[*checks, *_checks(ex, tol, "exact: every type against every other type's entry, then the best action")],
            max_regret=ex["max_regret"], mean_regret=ex["mean_regret"], max_ir_violation=ex["max_ir_violation"],
            max_obedience_violation=ex["max_obedience_violation"], feasibility_violation=None, scope=scope,
            metrics={k: exact_metric(ex[k], ex["profiles"]) for k in ("revenue", "welfare", "buyer_surplus")},
            per_bidder=[{"bidder": name, "mean_regret": ex["mean_regret"], "max_regret": ex["max_regret"],
                         "max_ir_violation": ex["max_ir_violation"], "expected_utility_over_outside": ex["buyer_surplus"]}],
            worst={"bidder": name, **ex["worst"]} if ex["max_regret"] > tol else None, search="enumeration",
            notes=notes, details=details, tolerance=tol, regrets=ex["regrets"])
        add_claim_check(mech, spec, cert, ex, scope, tol)
        return cert
    disc = market_spaces(spec, grid) if grid else None
    if disc is not None:
        exd = _exact_on(ev, spec, disc[0])
        details["discretised"] = {"grid": grid, "kind": "exact_by_enumeration", "profiles": exd["profiles"],
                                  **{k: exd[k] for k in ("revenue", "welfare", "buyer_surplus", "max_regret",
                                                         "max_ir_violation", "max_obedience_violation")},
                                  "meaning": "exact on the spec's type prior discretised on the backend's grid "
                                             "(computed by the verifier from the spec)"}
        menu_points = disc[0].points
        how = f"the entries at the {grid} grid points"
    else:
        exd = None
        t = spec.buyers[0].type
        if isinstance(t, (ir.BeliefType, ir.ScaleType)):
            menu_points = D.ppf(t.dist, (np.arange(QUANTILES) + 0.5) / QUANTILES)
            how = f"the entries at {QUANTILES} quantiles of the type prior"
        else:
            menu_points = sample_types(spec, 0, QUANTILES, np.random.default_rng([settings.seed, 7]))
            how = f"the entries at {QUANTILES} draws of the type prior"
    E_menu, p_menu = _buy(ev, menu_points)
    rng = np.random.default_rng([settings.seed, 0])
    x = sample_types(spec, 0, settings.samples, rng)
    beliefs, scales = type_weights(spec, 0, x)
    E, p = _buy(ev, x)
    f = _figures(U, beliefs * scales[:, None], E, p, E_menu, p_menu, None)
    gain = np.maximum(f["gain"], 0.0)
    k = int(gain.argmax())
    ex = {"max_regret": float(gain.max(initial=0.0)), "max_ir_violation": float(max(0.0, f["ir"].max())),
          "max_obedience_violation": float(max(0.0, f["obey"].max()))}

    def batch(size: int, r: np.random.Generator) -> dict[str, np.ndarray]:
        xs = sample_types(spec, 0, size, r)
        bl, sc = type_weights(spec, 0, xs)
        Eb, pb = _buy(ev, xs)
        w = bl * sc[:, None]
        M = np.einsum("bs,bas,cs->bac", w, Eb, U)
        obedient = np.einsum("baa->b", M)
        outside = (w @ U.T).max(axis=1)
        return {"revenue": pb, "welfare": obedient - outside, "buyer_surplus": obedient - pb - outside,
                "utility": (obedient - pb - outside)[:, None]}

    est = adaptive_metrics(batch, settings)
    ir_v = max(ex["max_ir_violation"], max(0.0, -min(est["min_utility"])))
    ex["max_ir_violation"] = ir_v
    cert = Certificate(
        kind="estimated", checks=[*checks, *_checks(ex, tol, f"{len(x):,} sampled types, each against {how}")],
        max_regret=ex["max_regret"], mean_regret=float(gain.mean()), max_ir_violation=ir_v,
        max_obedience_violation=ex["max_obedience_violation"], feasibility_violation=None,
        scope="the spec's continuous type prior", metrics=est["metrics"],
        per_bidder=[{"bidder": name, "mean_regret": float(gain.mean()), "max_regret": ex["max_regret"],
                     "max_ir_violation": ir_v}],
        worst={"bidder": name, "values": vec(x[k]), "type": vec(x[k]),
               "misreport": vec(menu_points[int(f["best_entry"][k])]), "regret": float(gain[k])}
        if ex["max_regret"] > tol else None,
        samples=len(x), search=f"every buyable entry ({how}), then the best action per signal",
        notes=notes, details=details, tolerance=tol, regrets=gain[:, None])
    if exd is not None:
        add_claim_check(mech, spec, cert, exd, f"the spec's type prior discretised on the backend's {grid}-cell grid", tol)
    else:
        add_claim_check(mech, spec, cert, None, cert.scope, tol)
    return cert



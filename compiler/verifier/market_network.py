"""Verifying a data market with several buyers and an externality: an estimated certificate.

The world is the spec's: the common prior ``theta``, each buyer's payoffs ``U_i``, its value
type and the externality ``alpha``; a buyer's payoff is ``v_i * (U_i[a_i, w] - alpha * sum_{j != i}
U_j[a_j, w])`` (``ir.MarketSpec.externality``), so with ``x_j`` the expected payoff at scale one of
obeying its recommendations, buyer ``i`` gets ``v_i * (x_i - alpha * sum_{j != i} x_j) - p_i``.

On profiles drawn from the spec (the others truthful and obedient):

* regret: the largest gain of reporting something else and then taking the best action on each
  recommendation (misreport and disobey together), searched over a 64-point grid of the report's
  support, ``restarts`` draws from the buyer's prior and two rounds of a 16-point refinement
  around the best report found; the largest gain found is a lower bound of the supremum, and the
  mean comes with a 95% upper bound.  Reported raw and divided by the buyer's value (the paper's
  measure);
* IR against the released code's outside option: a buyer who abstains acts on the prior and
  faces the others fully informed, ``v_i * (max_a theta . U_i[a] - alpha * sum_{j != i} sum_s theta_s
  max_a U_j[a, s])``;
* obedience: the largest gain, in payoff, of taking another action than a recommendation.

Revenue is estimated to the stated precision; the report also gives the revenue net of the
buyers' mean measured regret.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ir
from ..mechanism.market_space import report_box, sample_types
from .auction_verify import certified, invalid
from .certificate import Z95, Certificate, Check
from .claims import add_claim_check
from .estimate import adaptive_metrics
from .evaluation import EvaluationError, Evaluator
from .settings import Settings
from .validity import (
    offered_figures,
    outcome_checks,
    shape_check,
    spec_hash_check,
    world_check,
)

GRID = 64
REFINE = 16
ROUNDS = 2


class World:
    """The spec's facts the payoffs are computed from."""

    def __init__(self, spec: ir.MarketSpec) -> None:
        self.spec = spec
        self.n = spec.n_bidders
        self.U = np.asarray([b.payoffs for b in spec.buyers], float)  # (n, A, S)
        prior = np.asarray(spec.buyers[0].type.prior, float)  # type: ignore[union-attr]
        self.prior = prior / prior.sum()
        self.alpha = float(spec.externality)
        alone = (self.U @ self.prior).max(axis=1)
        informed = (self.U.max(axis=1) * self.prior[None, :]).sum(axis=1)
        self.outside = alone - self.alpha * (informed.sum() - informed)  # (n,) at scale one
        self.baseline = alone - self.alpha * (alone.sum() - alone)  # nobody informed

    def draw(self, size: int, rng: np.random.Generator) -> np.ndarray:
        return np.concatenate([sample_types(self.spec, i, size, rng) for i in range(self.n)], axis=1)

    def payoffs(self, E: np.ndarray) -> dict[str, np.ndarray]:
        """At scale one, per profile and buyer: obeying, the best action on each recommendation,
        the others' obedient payoffs summed, and the largest gain of disobeying one recommendation."""
        M = np.einsum("s,bias,ics->biac", self.prior, E, self.U)
        x = np.einsum("biaa->bi", M)
        return {"x": x, "x_br": M.max(axis=3).sum(axis=2), "others": x.sum(axis=1, keepdims=True) - x,
                "disobey": (M.max(axis=3) - np.einsum("biaa->bia", M)).max(axis=2)}


def _supported(spec: ir.MarketSpec) -> str | None:
    types = [b.type for b in spec.buyers]
    if not all(isinstance(t, ir.ScaleType) for t in types):
        return "several buyers are verified for value types with a common prior"
    if len({tuple(t.prior) for t in types}) != 1:  # type: ignore[union-attr]
        return "the buyers' priors differ; several buyers are verified under a common prior"
    if len({len(b.actions) for b in spec.buyers}) != 1:
        return "the buyers have different numbers of actions"
    return None


def _utility(world: World, v: np.ndarray, E: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    f = world.payoffs(E)
    return v * (f["x"] - world.alpha * f["others"]) - p, f


def _deviations(ev: Evaluator, world: World, v: np.ndarray, i: int, cand: np.ndarray) -> np.ndarray:
    """Buyer ``i``'s payoff ``(B, C)`` from reporting ``cand (B, C)`` and then acting optimally."""
    B, C = cand.shape
    bids = np.repeat(v[:, None, :], C, axis=1)
    bids[:, :, i] = cand
    E, p = ev(bids.reshape(B * C, world.n))
    f = world.payoffs(E)
    dev = f["x_br"][:, i] - world.alpha * f["others"][:, i]
    return v[:, None, i] * dev.reshape(B, C) - p[:, i].reshape(B, C)


def _search(ev: Evaluator, world: World, v: np.ndarray, u: np.ndarray, settings: Settings,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per profile and buyer: the largest gain found and the report that gives it."""
    B, n = v.shape
    gain, where = np.zeros((B, n)), v.copy()
    for i in range(n):
        lo, hi = report_box(world.spec, i)[0]
        cand = np.concatenate([np.tile(np.linspace(lo, hi, GRID), (B, 1)),
                               sample_types(world.spec, i, B * settings.restarts, rng).reshape(B, settings.restarts)],
                              axis=1)
        best_u = np.full(B, -np.inf)
        best_r = v[:, i].copy()
        width = (hi - lo) / (GRID - 1)
        for _ in range(1 + ROUNDS):
            d = _deviations(ev, world, v, i, cand)
            k = d.argmax(axis=1)
            top = d[np.arange(B), k]
            better = top > best_u
            best_u = np.where(better, top, best_u)
            best_r = np.where(better, cand[np.arange(B), k], best_r)
            cand = np.clip(best_r[:, None] + np.linspace(-width, width, REFINE)[None, :], lo, hi)
            width *= 2.0 / (REFINE - 1)
        gain[:, i] = np.maximum(best_u - u[:, i], 0.0)
        where[:, i] = best_r
    return gain, where


def verify_several(mech: Any, spec: Any, settings: Settings) -> Certificate:
    from .market_verify import market_tolerance

    notes: list[str] = []
    details: dict[str, Any] = {}
    tol = market_tolerance(spec, settings)
    checks = [spec_hash_check(mech, spec, settings.allow_spec_mismatch, notes), shape_check(mech, spec)]
    why = _supported(spec)
    if why is not None:
        checks.append(Check("shapes", False, why))
    if not all(c.ok for c in checks):
        return invalid(checks, notes, tol)
    ev = Evaluator(mech, spec)
    world = World(spec)
    checks.append(world_check(mech, spec, None))
    figures = offered_figures(mech, spec, ev)
    try:
        ev(world.draw(64, np.random.default_rng([settings.seed, 3])))
        checks.append(Check("evaluation", True, "the artifact evaluates value profiles"))
    except EvaluationError as e:
        checks.append(Check("evaluation", False, str(e)))
    checks += outcome_checks(ev, spec, figures, tol)
    return certified(checks, notes, tol, ev, spec, figures,
                     lambda: _estimate(mech, spec, settings, ev, world, tol, checks, notes, details))


def _stats(x: np.ndarray) -> dict[str, float]:
    m = float(x.mean())
    up = m + Z95 * float(x.std(ddof=1)) / np.sqrt(len(x)) if len(x) > 1 else m
    return {"mean": m, "ci95_upper": float(up), "max": float(x.max(initial=0.0))}


def _estimate(mech, spec, settings, ev, world: World, tol, checks, notes, details) -> Certificate:
    n = world.n
    per_eval = n * (GRID + settings.restarts + ROUNDS * REFINE)
    B = settings.samples if settings.budget is None else max(2, min(settings.samples, settings.budget // per_eval))
    if B < settings.samples:
        notes.append(f"the search budget of {settings.budget:,} evaluations allows {B:,} of {settings.samples:,} profiles")
    rng = np.random.default_rng([settings.seed, 0])
    v = world.draw(B, rng)
    E, p = ev(v)
    u, f = _utility(world, v, E, p)
    gain, where = _search(ev, world, v, u, settings, rng)
    over_v = gain / (v + 1e-8)
    ir = v * world.outside[None, :] - u
    disobey = v * f["disobey"]
    names = [b.name for b in spec.buyers]
    per_bidder = []
    for i, name in enumerate(names):
        g, r, o = _stats(gain[:, i]), _stats(over_v[:, i]), _stats(disobey[:, i])
        per_bidder.append({"bidder": name, "mean_regret": g["mean"], "regret_ci_upper": g["ci95_upper"],
                           "max_regret": g["max"], "mean_regret_over_value": r["mean"],
                           "regret_over_value_ci_upper": r["ci95_upper"], "max_regret_over_value": r["max"],
                           "max_ir_violation": float(max(0.0, ir[:, i].max())),
                           "ir_violation_rate": float((ir[:, i] > tol).mean()),
                           "mean_obedience_violation": o["mean"], "max_obedience_violation": o["max"]})

    def batch(size: int, r: np.random.Generator) -> dict[str, np.ndarray]:
        vb = world.draw(size, r)
        Eb, pb = ev(vb)
        ub, fb = _utility(world, vb, Eb, pb)
        created = vb * (fb["x"] - world.alpha * fb["others"]) - vb * world.baseline[None, :]
        return {"revenue": pb.sum(axis=1), "welfare": created.sum(axis=1),
                "utility": ub - vb * world.outside[None, :]}

    est = adaptive_metrics(batch, settings)
    ir_max = float(max(0.0, ir.max(), -min(est["min_utility"])))
    ob_max = float(max(0.0, disobey.max()))
    total = gain.sum(axis=1)
    reg = _stats(total)
    rev = est["metrics"]["revenue"]["value"]
    details["regret_over_value"] = {**_stats(over_v.mean(axis=1)),
                                    "meaning": "each buyer's gain divided by its value, averaged over buyers and "
                                               "profiles (the measure Ravindranath, Jiang and Parkes report)"}
    details["revenue_net_of_regret"] = {
        "revenue": rev, "mean_total_regret": reg["mean"], "net": rev - reg["mean"],
        "net_at_95_upper": rev - reg["ci95_upper"],
        "meaning": "revenue minus the buyers' summed mean regret: what the seller keeps if every buyer's measured "
                   "gain from misreporting were handed back to it; the gap is how far the residual regret can move "
                   "the revenue figure"}
    details["outside_option"] = ("abstain: act on the prior and face the other buyers fully informed (the released "
                                 "code's threat point)")
    k = np.unravel_index(int(gain.argmax()), gain.shape)
    worst = {"bidder": names[k[1]], "values": v[k[0]].tolist(), "misreport": float(where[k]),
             "regret": float(gain[k])} if gain[k] > tol else None
    max_r = float(gain.max(initial=0.0))
    how = (f"estimated on {B:,} profiles, others truthful: a {GRID}-point grid, {settings.restarts} prior draws and "
           f"{ROUNDS} refinements per buyer (the largest gain found is a lower bound); mean {reg['mean'] / n:.3g} per "
           f"buyer, mean divided by the value {details['regret_over_value']['mean']:.3g}")
    checks += [Check("IC", max_r <= tol, f"{how}; max regret {max_r:.3g} (tolerance {tol:.3g})"),
               Check("IR", ir_max <= tol, f"max IR violation {ir_max:.3g} against the outside option "
                                          "(abstain, act on the prior, the others fully informed)"),
               Check("obedience", ob_max <= tol, f"max gain of disobeying a recommendation {ob_max:.3g} "
                                                 f"(mean {float(disobey.mean()):.3g})")]
    if not est["precision_reached"]:
        notes.append(f"revenue and welfare: the budget of {settings.metric_budget():,} profiles ended before the 95% "
                     f"half-width reached {settings.precision:.2%} of the estimate")
    notes.append("the certificate is estimated: regret, IR and obedience are measured on sampled profiles, not proved")
    cert = Certificate(
        kind="estimated", checks=checks, max_regret=max_r, mean_regret=float(gain.mean()),
        regret_ci_upper=_stats(gain.mean(axis=1))["ci95_upper"], max_ir_violation=ir_max, max_obedience_violation=ob_max,
        feasibility_violation=None, metrics=est["metrics"], scope="the spec's continuous prior (sampled profiles)",
        per_bidder=per_bidder, worst=worst, samples=B, steps=ROUNDS, restarts=settings.restarts,
        search=f"grid ({GRID}) + prior draws + refinement per buyer, then the best action per recommendation",
        notes=notes, details=details, tolerance=tol, regrets=gain)
    add_claim_check(mech, spec, cert, None, cert.scope, tol)
    return cert

"""The verifier: is a mechanism strategy-proof, individually rational, obedient and
feasible under the spec's priors, and what revenue and welfare does it reach?

It works on any artifact through ``allocate_and_pay`` and the optional hooks of
``auctionc.mechanism.base.Mechanism``; it never asks which backend made it.  The
certificate's *kind* says how strategy-proofness is known:

* ``exact_by_menu_compatibility``: the artifact's own proof object (GemNet's menu
  compatibility over a grid plus a Lipschitz bound) re-checked by the artifact;
* ``exact_by_construction``: a single-bidder menu with a null element and argmax
  choice, or an affine maximizer over fixed feasible outcomes with weighted Clarke
  payments and nonnegative values (checked structurally, then confirmed by sampled
  misreports);
* ``exact_by_enumeration``: finite type spaces, every (bidder, type, misreport,
  others' profile) enumerated (the artifact's ``exact_check`` or the generic
  enumerator here, which works for formats and menus on finite priors);
* ``estimated``: sampled ex-post regret with others truthful: a grid over the
  bidder's report box, random restarts, then either batched gradient ascent on the
  misreport (differentiable artifacts; torch is imported only then) or a
  coordinate search with shrinking steps.  Mean regret comes with a 95% upper
  confidence bound; max regret is the largest regret found (a lower bound of the
  true supremum).

The regret of bidder i at a profile v is ``max_r u_i(v_i; r, v_-i) - u_i(v_i; v_i, v_-i)``
with quasi-linear utilities ``sum(values * alloc) - pay``.  Where bidders observe
signals rather than values (common values) the truthful report is the signal.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import ir
from . import valuation as V
from .diagnostics import Diagnostic
from .errors import BackendError, UsageError

Z95 = 1.959963984540054
GRID_BUDGET = 256
"""Grid points per bidder and sample in the first stage of the misreport search."""
MAX_ENUM_ROWS = 3_000_000
"""The generic enumerator evaluates at most this many report profiles in all."""
MAX_LOCAL_ROUNDS = 40
_EVAL_ROWS = 200_000  # rows per allocate_and_pay call (memory bound)
_TORCH_ROWS = 50_000  # rows per gradient-ascent batch


# --------------------------------------------------------------------------- certificate


@dataclass
class Certificate:
    """Everything ``auctionc verify`` prints; ``to_json()`` gives the DESIGN.md keys."""

    kind: str
    ok: bool
    max_regret: float
    mean_regret: float
    max_ir_violation: float
    max_obedience_violation: float | None
    feasibility_violation: float | None
    metrics: dict[str, dict[str, Any]]
    regret_ci_upper: float | None = None
    per_bidder: list[dict[str, Any]] = field(default_factory=list)
    worst: dict[str, Any] | None = None
    samples: int | None = None
    steps: int = 0
    restarts: int = 0
    search: str = ""
    checks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    tolerance: float = 1e-6
    seconds: float = 0.0
    seed: int | None = None
    mechanism: str = ""
    interim: dict[str, Any] | None = None
    """Interim (Bayesian) regret: each sampled own type's best single misreport against the
    others' prior (``mean``, ``max``, ``ci95_upper``, ``types``, ``others``); None when not run."""
    regrets: np.ndarray | None = field(default=None, repr=False)
    """``(samples, n)`` sampled regrets (for the histogram; not in the JSON)."""

    @property
    def strategy_proof(self) -> bool:
        return self.max_regret <= self.tolerance

    def to_json(self) -> dict[str, Any]:
        out = {
            "kind": self.kind,
            "ok": self.ok,
            "max_regret": _num(self.max_regret),
            "mean_regret": _num(self.mean_regret),
            "regret_ci_upper": _num(self.regret_ci_upper),
            "max_ir_violation": _num(self.max_ir_violation),
            "max_obedience_violation": _num(self.max_obedience_violation),
            "feasibility_violation": _num(self.feasibility_violation),
            "per_bidder": _jsonable(self.per_bidder),
            "worst": _jsonable(self.worst),
            "samples": self.samples,
            "steps": self.steps,
            "restarts": self.restarts,
            "search": self.search,
            "checks": list(self.checks),
            "notes": list(self.notes),
            "details": _jsonable(self.details),
            "tolerance": self.tolerance,
            "seconds": round(self.seconds, 4),
            "seed": self.seed,
            "mechanism": self.mechanism,
            "interim": _jsonable(self.interim),
            "metrics": _jsonable(self.metrics),
        }
        return out

    def summary_lines(self) -> list[str]:
        """Plain lines for terminals and reports."""
        lines = [f"certificate: {self.kind} ({'passes' if self.ok else 'FAILS'} at tolerance {self.tolerance:g})"]
        reg = f"regret: max {self.max_regret:.6g}, mean {self.mean_regret:.6g}"
        if self.regret_ci_upper is not None:
            reg += f" (95% upper bound {self.regret_ci_upper:.6g})"
        lines.append(reg)
        lines.append(f"IR violation: max {self.max_ir_violation:.6g}")
        if self.max_obedience_violation is not None:
            lines.append(f"obedience violation: max {self.max_obedience_violation:.6g}")
        if self.feasibility_violation is not None:
            lines.append(f"feasibility violation: {self.feasibility_violation:.6g}")
        for name in ("revenue", "welfare"):
            m = self.metrics.get(name)
            if m:
                ci = m.get("ci95")
                ci_s = f" [{ci[0]:.6g}, {ci[1]:.6g}]" if ci else ""
                lines.append(f"{name}: {m['value']:.6g}{ci_s}")
        if self.worst:
            w = self.worst
            lines.append(
                f"worst deviation: {w.get('bidder')} with values {w.get('values', w.get('type'))} "
                f"reports {w.get('misreport')} (gain {_fmt(w.get('regret'))})"
            )
        return lines


def _fmt(x: Any) -> str:
    return f"{x:.6g}" if isinstance(x, (int, float)) else str(x)


def _num(x: Any) -> Any:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _jsonable(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return _jsonable(o.tolist())
    if isinstance(o, (np.floating, float)):
        return _num(o)
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.bool_):
        return bool(o)
    return o


def _metric(x: np.ndarray | float, n: int | None, exact: bool = False) -> dict[str, Any]:
    if exact:
        v = float(x)  # type: ignore[arg-type]
        return {"value": v, "ci95": [v, v], "samples": n, "exact": True}
    arr = np.asarray(x, float)
    m = float(arr.mean())
    h = Z95 * float(arr.std(ddof=1)) / math.sqrt(len(arr)) if len(arr) > 1 else 0.0
    return {"value": m, "ci95": [m - h, m + h], "samples": int(len(arr))}


# --------------------------------------------------------------------------- entry point


def verify(
    mechanism: Any,
    spec: Any,
    *,
    samples: int = 10000,
    steps: int = 200,
    restarts: int = 20,
    seed: int = 0,
    progress: bool = False,
    tolerance: float | None = None,
    device: str = "cpu",
    interim: bool | None = None,
    interim_types: int = 100,
    interim_others: int = 500,
) -> Certificate:
    """Verify ``mechanism`` under ``spec``'s priors and return its Certificate.

    ``samples`` value profiles, ``restarts`` random misreport starts per sample and
    bidder, ``steps`` gradient steps (differentiable artifacts) or at most
    ``MAX_LOCAL_ROUNDS`` coordinate-search rounds (the others).  ``tolerance``
    (default ``1e-6`` times the largest value) decides ``ok``.  Raises ``UsageError``
    (E0903) when the artifact does not fit the spec.

    ``interim`` adds the interim (Bayesian) regret of ``interim_types`` own types against
    ``interim_others`` draws of the others (the gain of the best deviation when the others'
    reports are unknown); by default it runs when the spec asks for ``IC(bayesian)`` or the
    report space has at most two dimensions.  Under ``IC(bayesian)`` it is the headline
    regret; otherwise the headline is the ex-post regret of dominant-strategy IC."""
    t0 = time.perf_counter()
    if samples < 2:
        raise UsageError(Diagnostic("E0905", f"verification needs at least 2 samples, not {samples}",
                                    help="pass --samples 1000 or more"))
    if spec is None:
        raise UsageError(Diagnostic("E0903", "cannot verify without the spec the mechanism was made for",
                                    help="pass the .auction file, or an artifact directory that holds spec.json"))
    _check_fit(mechanism, spec)
    run = _Run(mechanism, spec, samples, steps, restarts, seed, progress, tolerance, device)
    run.interim, run.interim_types, run.interim_others = interim, int(interim_types), int(interim_others)
    cert = run.market() if spec.kind == "market" else run.auction()
    cert.seconds = time.perf_counter() - t0
    cert.seed = seed
    cert.mechanism = _describe(mechanism)
    return cert


def _describe(mechanism: Any) -> str:
    try:
        return str(mechanism.describe())
    except Exception:  # a describe() bug must not hide a certificate
        return getattr(mechanism, "kind", type(mechanism).__name__)


def _check_fit(mech: Any, spec: Any) -> None:
    n = spec.n_bidders
    space = getattr(mech, "outcome_space", None)
    if spec.kind == "market":
        if space != "experiments":
            raise UsageError(Diagnostic("E0903", f"artifact of kind {mech.kind} allocates {space}, but the spec is a data market",
                                        help="verify it against the auction spec it was compiled from"))
    else:
        if space == "experiments":
            raise UsageError(Diagnostic("E0903", "artifact sells experiments, but the spec is an auction",
                                        help="verify it against the market spec it was compiled from"))
    mn = getattr(mech, "n_bidders", n)
    if mn != n:
        raise UsageError(Diagnostic("E0903", f"artifact has {mn} bidder(s), the spec {n}",
                                    help="verify the artifact against the spec it was compiled from"))


def _hook(mech: Any, name: str, *args: Any) -> Any:
    fn = getattr(mech, name, None)
    if fn is None:
        return None
    try:
        return fn(*args)
    except NotImplementedError:
        return None


def _finite_auction(spec: ir.AuctionSpec) -> list[Any] | None:
    """Type spaces of every bidder when all priors are finite and private, else None."""
    from .mechanism.table import UnsupportedPrior, bidder_type_space

    if spec.common:
        return None
    try:
        return [bidder_type_space(spec, i, None) for i in range(spec.n_bidders)]
    except (UnsupportedPrior, TypeError, ValueError):
        return None


def _single_bidder_menu(structure: dict[str, Any], spec: Any, bounds: np.ndarray | None) -> tuple[list[str], str]:
    """A single-bidder menu with a null element and argmax choice is IC and IR."""
    problems = []
    if structure.get("n_bidders") != 1 or spec.n_bidders != 1:
        problems.append("more than one bidder")
    if not structure.get("null_element"):
        problems.append("no null element (zero allocation at zero price)")
    if structure.get("choice") != "argmax":
        problems.append(f"choice rule {structure.get('choice')!r} is not argmax")
    return problems, "menu structure: one bidder, a null element, argmax choice (IC and IR by construction)"


def _affine_maximizer(structure: dict[str, Any], spec: Any, bounds: np.ndarray | None) -> tuple[list[str], str]:
    """An affine maximizer over a fixed outcome list with weighted Clarke payments is
    dominant-strategy IC and feasible when its weights are positive and its outcomes
    feasible; it is ex-post IR when no value is negative."""
    problems = []
    if structure.get("n_bidders") != spec.n_bidders:
        problems.append(f"{structure.get('n_bidders')} bidders in the artifact, {spec.n_bidders} in the spec")
    if not structure.get("weights_positive"):
        problems.append("a bidder weight is not positive")
    if not structure.get("outcomes_feasible"):
        problems.append("an outcome allocates more than all of an item")
    if structure.get("choice") != "argmax" or structure.get("payments") != "weighted_clarke":
        problems.append("the rule is not argmax with weighted Clarke payments")
    if bounds is None or (bounds[..., 0] < 0).any():
        problems.append("values may be negative (IR by construction needs values >= 0)")
    return problems, (f"affine maximizer structure: {structure.get('outcomes')} fixed outcomes, each feasible, "
                      "positive weights, argmax choice, weighted Clarke payments, values >= 0 "
                      "(dominant-strategy IC and ex-post IR by construction)")


# --------------------------------------------------------------------------- the run


class _Run:
    def __init__(self, mech, spec, samples, steps, restarts, seed, progress, tolerance, device):
        self.mech = mech
        self.spec = spec
        self.samples = int(samples)
        self.steps = int(steps)
        self.restarts = int(restarts)
        self.seed = seed
        self.progress = progress
        self.device = device
        self.user_tol = tolerance

    # ---- auctions -------------------------------------------------------------

    def auction(self) -> Certificate:
        mech, spec = self.mech, self.spec
        checks: list[str] = []
        notes: list[str] = []
        details: dict[str, Any] = {}
        try:
            bounds = V.value_bounds(spec)
            scale = max(1.0, float(np.abs(bounds).max()))
        except (TypeError, ValueError):
            bounds, scale = None, 1.0
        tol = self.user_tol if self.user_tol is not None else 1e-6 * scale

        proof = _hook(mech, "recheck_certificate", spec)
        structure = _hook(mech, "menu_structure")
        kind = None
        if proof is not None:
            details["menu_compatibility"] = proof
            if proof.get("ok"):
                kind = "exact_by_menu_compatibility"
                checks.append("the artifact's menu-compatibility certificate was re-checked on its grid and Lipschitz bound")
            else:
                notes.append("the artifact's menu-compatibility certificate FAILED its re-check; regret is estimated instead")
        if kind is None and structure is not None:
            details["menu_structure"] = structure
            check = _affine_maximizer if structure.get("rule") == "affine_maximizer" else _single_bidder_menu
            problems, holds = check(structure, spec, bounds)
            if problems:
                notes.append("not exact by construction: " + "; ".join(problems))
            else:
                kind = "exact_by_construction"
                checks.append(holds)
                checks.append("sampled misreports confirm zero regret and no IR violation")

        finite = _finite_auction(spec)
        if kind is None:
            ex = _hook(mech, "exact_check", spec)
            if ex is not None:
                details["exact_check"] = ex
                if finite is not None and ex.get("types_match_spec", True):
                    checks.append("the artifact enumerated every bidder, type and misreport on the spec's finite type space")
                    # an independent enumeration through allocate_and_pay: the two must agree
                    gen = enumerate_finite(mech, spec, finite)
                    if gen is not None:
                        agree = abs(gen["max_ic_violation"] - ex.get("max_ic_violation", 0.0)) <= tol and abs(
                            gen["revenue"] - ex.get("revenue", gen["revenue"])) <= tol * max(1.0, abs(gen["revenue"]))
                        details["enumeration_crosscheck"] = {
                            "agrees": bool(agree), "max_ic_violation": gen["max_ic_violation"],
                            "revenue": gen["revenue"], "checked_pairs": gen["checked_pairs"]}
                        ex = {**ex, "mean_ic_violation": gen["mean_ic_violation"], "per_bidder": gen["per_bidder"]}
                        if agree:
                            checks.append("an independent enumeration through allocate_and_pay agrees")
                        else:
                            notes.append("the artifact's exact_check and the generic enumeration DISAGREE")
                    return self._from_enumeration(ex, tol, checks, notes, details)
                notes.append(
                    "the artifact's enumeration covers its own grid, not the spec's prior "
                    f"(max IC violation there {ex.get('max_ic_violation', float('nan')):.3g}); regret is estimated"
                )
            elif finite is not None:
                ex = enumerate_finite(mech, spec, finite)
                if ex is not None:
                    details["enumeration"] = {k: v for k, v in ex.items() if k not in ("worst",)}
                    return self._from_enumeration(ex, tol, checks + [
                        "every bidder, type, misreport (on the type space) and others' profile enumerated"],
                        notes, details)
                notes.append("the finite type space is too large to enumerate; regret is estimated")
        return self._sampled(kind or "estimated", tol, checks, notes, details, bounds)

    def _from_enumeration(self, ex, tol, checks, notes, details) -> Certificate:
        feas = ex.get("max_feasibility_violation")
        ic = float(ex.get("max_ic_violation", 0.0))
        irv = float(ex.get("max_ir_violation", 0.0))
        obd = ex.get("max_obedience_violation")
        worst = ex.get("worst")
        if worst is not None:
            worst = dict(worst)
            worst.setdefault("regret", ic)
            if "values" not in worst and "type" in worst:
                worst["values"] = worst["type"]
        ok = ic <= tol and irv <= tol and (feas is None or feas <= tol) and (obd is None or obd <= tol)
        n_prof = ex.get("profiles")
        metrics = {
            "revenue": _metric(ex["revenue"], n_prof, exact=True),
            "welfare": _metric(ex["welfare"], n_prof, exact=True),
        }
        if "buyer_surplus" in ex:
            metrics["buyer_surplus"] = _metric(ex["buyer_surplus"], n_prof, exact=True)
        return Certificate(
            kind="exact_by_enumeration",
            ok=bool(ok),
            max_regret=ic,
            # the mean is known only where an enumeration computed it (or the max is zero)
            mean_regret=float(ex.get("mean_ic_violation", 0.0 if ic == 0 else float("nan"))),
            max_ir_violation=irv,
            max_obedience_violation=obd,
            feasibility_violation=feas,
            metrics=metrics,
            per_bidder=ex.get("per_bidder", []),
            worst=worst if ic > tol else None,
            samples=None,
            search="enumeration",
            checks=checks,
            notes=notes,
            details=details,
            tolerance=tol,
        )

    def _self_evaluated(self, kind, tol, checks, notes, details) -> Certificate:
        """Valuations that are not arrays (CATS XOR bids): the artifact draws them from the
        spec and reports, per valuation, its regret against every alternative report's
        outcome (for a single-bidder menu: every element), utility, payment and value."""
        ev = self.mech.evaluate_sampled(self.spec, self.samples, self.seed)
        regret, util = np.asarray(ev["regret"], float), np.asarray(ev["utility"], float)
        pay, val = np.asarray(ev["payment"], float), np.asarray(ev["value"], float)
        n = len(regret)
        ir_v = np.maximum(-util, 0.0)
        max_r = float(regret.max(initial=0.0))
        mean_r = float(regret.mean()) if n else 0.0
        se = float(regret.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
        ok = max_r <= tol and float(ir_v.max(initial=0.0)) <= tol
        notes.append("valuations drawn from the spec's CATS generator; regret is checked against every menu element")

        def metric(x: np.ndarray) -> dict[str, Any]:
            m = float(x.mean())
            h = 1.96 * float(x.std(ddof=1)) / np.sqrt(n) if n > 1 else 0.0
            return {"value": m, "ci95": [m - h, m + h], "samples": n}

        return Certificate(
            kind=kind if ok else "estimated", ok=ok, max_regret=max_r, mean_regret=mean_r,
            regret_ci_upper=mean_r + 1.96 * se, max_ir_violation=float(ir_v.max(initial=0.0)),
            max_obedience_violation=None, feasibility_violation=0.0,
            metrics={"revenue": metric(pay), "welfare": metric(val)}, samples=n, search="menu enumeration",
            checks=checks, notes=notes, details=details, tolerance=tol,
        )

    def _sampled(self, kind, tol, checks, notes, details, bounds) -> Certificate:
        mech, spec = self.mech, self.spec
        rng = np.random.default_rng(self.seed)
        if hasattr(mech, "evaluate_sampled") and any(b.valuation.kind == "cats" for b in getattr(spec, "bidders", ())):
            return self._self_evaluated(kind, tol, checks, notes, details)
        try:
            vs = V.sample_values(spec, self.samples, rng)
        except (TypeError, ValueError) as e:
            sampler = getattr(mech, "sample_values", None)
            if sampler is None:
                if kind != "estimated":
                    notes.append(f"sampled confirmation skipped: {e}")
                    return Certificate(kind=kind, ok=True, max_regret=0.0, mean_regret=0.0,
                                       max_ir_violation=0.0, max_obedience_violation=None,
                                       feasibility_violation=None, metrics={}, checks=checks,
                                       notes=notes, details=details, tolerance=tol, search="structure")
                raise UsageError(Diagnostic("E0904", f"cannot sample this spec's valuations for verification ({e})",
                                            help="verify artifacts over CATS valuations with their own backend's evaluation")) from None
            vs = sampler(spec, self.samples, rng)
        values = vs.values
        n, dim = values.shape[1], values.shape[2]
        signal_mode = vs.signals is not None
        if signal_mode:
            if dim != 1:
                raise UsageError(Diagnostic("E0904", "signals are supported for single-item auctions only",
                                            help="give each bidder its value, not a signal"))
            reports = vs.signals[:, :, None]
            lo = reports.min(axis=0)[:, 0][:, None] * np.ones((1, dim))
            hi = reports.max(axis=0)[:, 0][:, None] * np.ones((1, dim))
            notes.append("bidders observe signals: the truthful report is the signal; utility uses the common value")
        else:
            reports = values
            if bounds is not None:
                lo, hi = bounds[..., 0].copy(), bounds[..., 1].copy()
            else:
                lo, hi = values.min(axis=0), values.max(axis=0)
        alloc, pay = _evaluate(mech, reports)
        u_true = (values * alloc).sum(axis=2) - pay
        revenue = pay.sum(axis=1)
        welfare = V.welfare(values, alloc)
        feas = V.feasibility_violation(spec, alloc)
        ir_v = np.maximum(-u_true, 0.0)

        differentiable = bool(getattr(mech, "differentiable", False))
        search = "grid + random restarts + " + ("gradient ascent (torch, Adam)" if differentiable else "coordinate search")
        regrets = np.zeros((len(values), n))
        worst = None
        best_gain = -np.inf
        steps_used = 0
        names = _bidder_names(spec)
        bar = _Progress(self.progress, n)
        for i in range(n):
            best_u, best_r = _search_bidder(self, i, reports, values, u_true[:, i], lo[i], hi[i], rng)
            if differentiable and self.steps > 0:
                best_u, best_r = _gradient_bidder(self, i, reports, values, best_u, best_r, lo[i], hi[i])
                steps_used = self.steps
            elif not differentiable:
                best_u, best_r, rounds = _local_bidder(self, i, reports, values, best_u, best_r, lo[i], hi[i])
                steps_used = max(steps_used, rounds)
            gain = best_u - u_true[:, i]
            regrets[:, i] = np.maximum(gain, 0.0)
            k = int(gain.argmax())
            if gain[k] > best_gain:
                best_gain = float(gain[k])
                worst = {
                    "bidder": names[i],
                    "values": values[k, i].tolist() if dim > 1 else float(values[k, i, 0]),
                    "report_truthful": reports[k, i].tolist() if dim > 1 else float(reports[k, i, 0]),
                    "misreport": best_r[k].tolist() if dim > 1 else float(best_r[k, 0]),
                    "others": {names[j]: (reports[k, j].tolist() if dim > 1 else float(reports[k, j, 0]))
                               for j in range(n) if j != i},
                    "regret": max(0.0, float(gain[k])),
                }
            bar.advance()
        bar.close()
        bayes = spec.requires("IC") and spec.requirement("IC").mode == "bayesian"
        interim = None
        want = self.interim if self.interim is not None else (bayes or dim <= 2)
        if want and not signal_mode and kind == "estimated":
            interim = _interim_regret(self, reports, values, lo, hi, names)
            checks.append(f"interim regret: {interim['types']} own types per bidder against "
                          f"{interim['others']} draws of the others")
        if bayes and interim is not None:
            regrets = interim.pop("_regrets")
            ir_v = np.maximum(-interim.pop("_truthful"), 0.0) if spec.requirement("IR") is not None and \
                spec.requirement("IR").mode == "interim" else ir_v
            notes.append("IC(bayesian): the headline regret is the interim regret")
        elif interim is not None:
            interim.pop("_regrets")
            interim.pop("_truthful")
        per_sample = regrets.mean(axis=1)
        mean_r = float(per_sample.mean())
        ci_up = mean_r + Z95 * float(per_sample.std(ddof=1)) / math.sqrt(len(per_sample))
        max_r = float(regrets.max())
        if bayes and interim is not None:
            worst = interim.get("worst")
        per_bidder = [
            {"bidder": names[i], "mean_regret": float(regrets[:, i].mean()), "max_regret": float(regrets[:, i].max()),
             "max_ir_violation": float(ir_v[:, i].max()), "mean_utility": float(u_true[:, i].mean())}
            for i in range(n)
        ]
        ok = max_r <= tol and float(ir_v.max()) <= tol and feas <= tol
        if kind == "estimated":
            checks.append(f"ex-post regret sampled at {len(values)} profiles, others truthful")
        if kind != "estimated" and max_r > tol:
            notes.append(f"sampled regret {max_r:.3g} exceeds the tolerance although the certificate is {kind}: "
                         "the artifact's evaluation disagrees with its structure")
        return Certificate(
            kind=kind,
            ok=bool(ok),
            max_regret=max_r,
            mean_regret=mean_r,
            regret_ci_upper=ci_up,
            max_ir_violation=float(ir_v.max()),
            max_obedience_violation=None,
            feasibility_violation=feas,
            metrics={"revenue": _metric(revenue, None), "welfare": _metric(welfare, None)},
            per_bidder=per_bidder,
            worst=worst if max_r > tol else None,
            samples=len(values),
            steps=steps_used,
            restarts=self.restarts,
            search=search,
            checks=checks,
            notes=notes,
            details=details,
            tolerance=tol,
            interim=interim,
            regrets=regrets,
        )

    # ---- data markets -----------------------------------------------------------

    def market(self) -> Certificate:
        mech, spec = self.mech, self.spec
        from .mechanism.datamarket import market_types
        from .mechanism.table import UnsupportedPrior

        tol = self.user_tol if self.user_tol is not None else 1e-6 * max(1.0, float(np.abs(getattr(mech, "payoffs", 1.0)).max()))
        ex = _hook(mech, "exact_check", spec)
        checks: list[str] = []
        notes: list[str] = []
        details: dict[str, Any] = {}
        try:
            finite = [market_types(spec, None, b) for b in range(spec.n_bidders)]
        except UnsupportedPrior:
            finite = None
        if ex is not None:
            details["exact_check"] = ex
            if finite is not None and ex.get("types_match_spec", True):
                return self._from_enumeration(ex, tol, [
                    "every type against every misreport followed by the best action on each signal",
                    "IR against acting on the prior; obedience of every recommendation"], notes, details)
            notes.append("the artifact's enumeration covers its own type grid, not the spec's continuous prior "
                         f"(max IC violation there {ex.get('max_ic_violation', float('nan')):.3g}); regret is sampled")
        if not all(hasattr(mech, a) for a in ("experiments", "payoffs", "prices")) or spec.n_bidders != 1:
            raise UsageError(Diagnostic("E0904", f"cannot verify a {mech.kind} artifact on this market by sampling",
                                        help="markets are verified for one buyer with a menu of experiments"))
        return self._market_sampled(tol, checks, notes, details)

    def _market_sampled(self, tol, checks, notes, details) -> Certificate:
        from . import distributions as D

        mech, spec = self.mech, self.spec
        buyer = spec.buyers[0]
        rng = np.random.default_rng(self.seed)
        x = D.sample(buyer.type.dist, self.samples, rng)
        S = len(spec.states)
        if isinstance(buyer.type, ir.BeliefType):
            k = spec.states.index(buyer.type.state)
            beliefs = np.zeros((len(x), S))
            beliefs[:, k] = x
            beliefs[:, 1 - k] = 1 - x
            scales = np.ones(len(x))
        else:
            prior = np.asarray(buyer.type.prior, float)
            beliefs = np.tile(prior / prior.sum(), (len(x), 1))
            scales = x
        w = beliefs * scales[:, None]  # (B, S)
        E = np.asarray(mech.experiments, float)  # (T, A, S)
        P = np.asarray(mech.payoffs, float)  # (A, S)
        prices = np.asarray(mech.prices, float)
        # M[b, u, a, c]: payoff of taking c when menu entry u recommends a
        M = np.einsum("bs,uas,cs->buac", w, E, P)
        best_any = M.max(axis=3).sum(axis=2) - prices[None, :]
        exp_t, price_t = mech.allocate_and_pay(x[:, None])
        exp_t, price_t = exp_t[:, 0], price_t[:, 0]
        M_t = np.einsum("bs,bas,cs->bac", w, exp_t, P)
        truthful = np.einsum("baa->b", M_t) - price_t
        outside = (w @ P.T).max(axis=1)
        gain = best_any.max(axis=1) - truthful
        regrets = np.maximum(gain, 0.0)[:, None]
        ir_v = np.maximum(outside - truthful, 0.0)
        obey = np.maximum(M_t.max(axis=2) - np.einsum("baa->ba", M_t), 0.0).max(axis=1)
        kidx = int(gain.argmax())
        worst = {"bidder": buyer.name, "values": float(x[kidx]), "type": float(x[kidx]),
                 "misreport": float(mech.points[int(best_any[kidx].argmax())]) if hasattr(mech, "points") else None,
                 "regret": max(0.0, float(gain[kidx]))}
        max_r = float(regrets.max())
        ok = max_r <= tol and float(ir_v.max()) <= tol and float(obey.max()) <= tol
        checks += [f"{len(x)} types sampled from the prior; each against every menu entry followed by the best action",
                   "IR against acting on the prior; obedience of the bought recommendation"]
        return Certificate(
            kind="estimated",
            ok=bool(ok),
            max_regret=max_r,
            mean_regret=float(regrets.mean()),
            regret_ci_upper=float(regrets.mean() + Z95 * regrets.std(ddof=1) / math.sqrt(len(x))),
            max_ir_violation=float(ir_v.max()),
            max_obedience_violation=float(obey.max()),
            feasibility_violation=None,
            metrics={"revenue": _metric(price_t, None), "welfare": _metric(np.einsum("baa->b", M_t) - outside, None)},
            per_bidder=[{"bidder": buyer.name, "mean_regret": float(regrets.mean()), "max_regret": max_r,
                         "max_ir_violation": float(ir_v.max())}],
            worst=worst if max_r > tol else None,
            samples=len(x),
            search="every menu entry (exact best deviation per sampled type)",
            checks=checks,
            notes=notes,
            details=details,
            tolerance=tol,
            regrets=regrets,
        )


# --------------------------------------------------------------------------- helpers


def _bidder_names(spec: Any) -> list[str]:
    if spec.kind == "market":
        return [b.name for b in spec.buyers]
    return [b.name for b in spec.bidders]


def _evaluate(mech: Any, bids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``allocate_and_pay`` in memory-bounded chunks, with artifact failures as diagnostics."""
    rows = max(1, _EVAL_ROWS // max(1, bids.shape[1] * bids.shape[2] // 4 + 1))
    allocs, pays = [], []
    try:
        for s in range(0, len(bids), rows):
            a, p = mech.allocate_and_pay(bids[s : s + rows])
            allocs.append(np.asarray(a, float))
            pays.append(np.asarray(p, float))
    except (ValueError, IndexError) as e:
        raise BackendError(Diagnostic("E0906", f"the {mech.kind} artifact failed to evaluate reports ({e})",
                                      help="check that the artifact was compiled for this spec")) from None
    return np.concatenate(allocs), np.concatenate(pays)


def _utility_with(mech, i, reports, values, cand) -> np.ndarray:
    """Bidder i's utility ``(B, C)`` when it reports ``cand[b, c]`` (others as in ``reports``)."""
    B, C, dim = cand.shape
    bids = np.repeat(reports[:, None], C, axis=1)  # (B, C, n, dim)
    bids[:, :, i, :] = cand
    a, p = _evaluate(mech, bids.reshape(B * C, *reports.shape[1:]))
    a = a.reshape(B, C, *a.shape[1:])[:, :, i, :]
    p = p.reshape(B, C, -1)[:, :, i]
    return (values[:, None, i, :] * a).sum(axis=2) - p


def _grid_points(lo: np.ndarray, hi: np.ndarray, budget: int = GRID_BUDGET) -> np.ndarray | None:
    dim = len(lo)
    if dim > 4:
        return None
    g = max(2, int(round(budget ** (1.0 / dim))))
    axes = [np.linspace(a, b, g) if b > a else np.array([a]) for a, b in zip(lo, hi, strict=True)]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


def _chunks(B: int, C: int, rows: int = _EVAL_ROWS):
    step = max(1, rows // max(1, C))
    for s in range(0, B, step):
        yield slice(s, min(B, s + step))


def _search_bidder(run: _Run, i, reports, values, u_true, lo, hi, rng):
    """Truthful report, a grid over the report box and ``restarts`` random reports
    (half uniform in the box, half fresh draws of the bidder's own prior)."""
    B, n, dim = reports.shape
    grid = _grid_points(lo, hi)
    R = max(1, run.restarts)
    best_u = u_true.copy()
    best_r = reports[:, i, :].copy()
    pool = reports[:, i, :]
    for sl in _chunks(B, (0 if grid is None else len(grid)) + R):
        b = sl.stop - sl.start
        rand = lo + (hi - lo) * rng.random((b, R, dim))
        half = R // 2
        if half:
            rand[:, :half] = pool[rng.integers(0, B, (b, half))]
        cand = rand if grid is None else np.concatenate([np.broadcast_to(grid, (b, *grid.shape)), rand], axis=1)
        u = _utility_with(run.mech, i, reports[sl], values[sl], cand)
        best_u[sl], best_r[sl], _ = _keep_best(u, cand, best_u[sl], best_r[sl])
    return best_u, best_r


def _keep_best(u, cand, best_u, best_r, eps: float = 0.0):
    """Each row's best candidate (``u (b, c)``, ``cand (b, c, dim)``) replaces the incumbent
    where it beats it by more than ``eps``; returns the new utilities, reports and where
    they improved."""
    rows = np.arange(len(u))
    k = u.argmax(axis=1)
    uk = u[rows, k]
    better = uk > best_u + eps
    return np.where(better, uk, best_u), np.where(better[:, None], cand[rows, k], best_r), better


def _local_bidder(run: _Run, i, reports, values, best_u, best_r, lo, hi):
    """Coordinate search from the best report found: try +-step on each coordinate
    (random directions in high dimension), halve the step where nothing improves."""
    B, n, dim = reports.shape
    rounds = min(run.steps, MAX_LOCAL_ROUNDS)
    if rounds <= 0:
        return best_u, best_r, 0
    grid_step = (hi - lo) / max(1, int(round(GRID_BUDGET ** (1.0 / max(1, dim)))) - 1) if dim <= 4 else (hi - lo) / 4
    step = np.broadcast_to(np.maximum(grid_step, 1e-12), (B, dim)).copy()
    rng = np.random.default_rng(run.seed + 7919 * (i + 1))
    for _ in range(rounds):
        if dim <= 16:
            dirs = np.concatenate([np.eye(dim), -np.eye(dim)])  # (2d, d)
            dirs = np.broadcast_to(dirs, (B, 2 * dim, dim))
        else:
            d = rng.standard_normal((B, 32, dim))
            dirs = d / np.abs(d).max(axis=2, keepdims=True)
        cand = np.clip(best_r[:, None, :] + dirs * step[:, None, :], lo, hi)
        u = np.empty(cand.shape[:2])
        for sl in _chunks(B, cand.shape[1]):
            u[sl] = _utility_with(run.mech, i, reports[sl], values[sl], cand[sl])
        best_u, best_r, better = _keep_best(u, cand, best_u, best_r, 1e-15)
        step = np.where(better[:, None], step, step * 0.5)
    return best_u, best_r, rounds


def _gradient_bidder(run: _Run, i, reports, values, best_u, best_r, lo, hi):
    """Batched gradient ascent on bidder i's misreport: ``restarts`` starts per sample
    (the best report found so far plus random ones), Adam on the report rescaled to
    the unit box, clamped to the box; the final candidates are re-scored with the
    artifact's own ``allocate_and_pay`` so a soft training relaxation cannot overstate
    or hide regret."""
    import torch

    B, n, dim = reports.shape
    R = max(1, run.restarts)
    span = np.where(hi > lo, hi - lo, 1.0)
    gen = torch.Generator().manual_seed(int(run.seed) * 1000 + i)
    lo_t = torch.as_tensor(lo, dtype=torch.float32, device=run.device)
    span_t = torch.as_tensor(span, dtype=torch.float32, device=run.device)
    rows = max(1, _TORCH_ROWS // R)
    for s in range(0, B, rows):
        sl = slice(s, min(B, s + rows))
        b = sl.stop - sl.start
        z0 = torch.rand((b, R, dim), generator=gen).to(run.device)
        z0[:, 0] = torch.as_tensor((best_r[sl] - lo) / span, dtype=torch.float32, device=run.device)
        z = z0.clamp(0, 1).reshape(b * R, dim).requires_grad_(True)
        base = torch.as_tensor(reports[sl], dtype=torch.float32, device=run.device).repeat_interleave(R, 0)
        vals = torch.as_tensor(values[sl, i], dtype=torch.float32, device=run.device).repeat_interleave(R, 0)
        opt = torch.optim.Adam([z], lr=0.02)
        track = z.detach().clone()
        track_u = torch.full((b * R,), -float("inf"), device=run.device)
        for _ in range(run.steps):
            x = lo_t + span_t * z
            bids = torch.cat([base[:, :i], x[:, None], base[:, i + 1 :]], dim=1)
            a, p = run.mech.allocate_and_pay_torch(bids)
            u = (vals * a[:, i]).sum(-1) - p[:, i]
            with torch.no_grad():
                up = u > track_u
                track_u = torch.where(up, u, track_u)
                track = torch.where(up[:, None], z, track)
            opt.zero_grad(set_to_none=True)
            (-u.sum()).backward()
            opt.step()
            with torch.no_grad():
                z.clamp_(0.0, 1.0)
        with torch.no_grad():
            cands = torch.stack([track, z.detach()], dim=1).reshape(b, 2 * R, dim)
            cand = (lo + span * cands.cpu().double().numpy()).clip(lo, hi)
        u = _utility_with(run.mech, i, reports[sl], values[sl], cand)
        best_u[sl], best_r[sl], _ = _keep_best(u, cand, best_u[sl], best_r[sl])
    return best_u, best_r


def _interim_regret(run: _Run, reports, values, lo, hi, names) -> dict[str, Any]:
    """Interim regret with common random numbers: for each of K sampled own types, the
    expected utility of every candidate report over the same M profiles of the others'
    reports (a grid, then a coordinate search with shrinking steps), minus the truthful
    one.  Independent private values: the others' profiles are drawn from the samples."""
    B, n, dim = reports.shape
    K = min(run.interim_types, B)
    M = min(run.interim_others, B)
    rng = np.random.default_rng(run.seed + 104729)
    own = rng.choice(B, K, replace=False)
    oth = rng.choice(B, M, replace=False)
    others = reports[oth]
    regrets = np.zeros((K, n))
    truthful = np.zeros((K, n))
    worst, worst_gain = None, -np.inf
    for i in range(n):
        v = values[own, i]
        truth = reports[own, i][:, None, :]
        grid = _grid_points(lo[i], hi[i], budget=64)
        if grid is None:
            grid = lo[i] + (hi[i] - lo[i]) * rng.random((64, dim))
        cand = np.concatenate([truth, np.broadcast_to(grid, (K, *grid.shape))], axis=1)
        eu = _interim_utility(run.mech, i, v, cand, others)
        u_truth = eu[:, 0].copy()
        k = eu.argmax(axis=1)
        best_u, best_r = eu[np.arange(K), k], cand[np.arange(K), k]
        g = max(2, int(round(64 ** (1.0 / dim)))) if dim <= 4 else 4
        step = np.broadcast_to(np.maximum((hi[i] - lo[i]) / (g - 1), 1e-12), (K, dim)).copy()
        dirs = np.concatenate([np.eye(dim), -np.eye(dim)])
        for _ in range(min(12, max(1, run.steps))):
            c = np.clip(best_r[:, None, :] + dirs[None] * step[:, None, :], lo[i], hi[i])
            u = _interim_utility(run.mech, i, v, c, others)
            best_u, best_r, better = _keep_best(u, c, best_u, best_r, 1e-15)
            step = np.where(better[:, None], step, step * 0.5)
        gain = best_u - u_truth
        regrets[:, i] = np.maximum(gain, 0.0)
        truthful[:, i] = u_truth
        j = int(gain.argmax())
        if gain[j] > worst_gain:
            worst_gain = float(gain[j])
            worst = {"bidder": names[i], "values": _vec(v[j]), "misreport": _vec(best_r[j]),
                     "regret": max(0.0, worst_gain), "against": "the others' prior"}
    per_type = regrets.mean(axis=1)
    mean = float(per_type.mean())
    se = float(per_type.std(ddof=1)) / math.sqrt(K) if K > 1 else 0.0
    return {
        "mean": mean,
        "max": float(regrets.max()),
        "ci95_upper": mean + Z95 * se,
        "se": se,
        "per_bidder": [{"bidder": names[i], "mean_regret": float(regrets[:, i].mean()),
                        "max_regret": float(regrets[:, i].max())} for i in range(n)],
        "types": K,
        "others": M,
        "worst": worst,
        "_regrets": regrets,
        "_truthful": truthful,
    }


def _interim_utility(mech, i, own_v, cand, others) -> np.ndarray:
    """``(K, C)`` expected utility of bidder i (own values ``(K, dim)``) reporting
    ``cand (K, C, dim)`` against the others' reports ``(M, n, dim)``."""
    K, C, dim = cand.shape
    M = len(others)
    out = np.empty((K, C))
    step = max(1, _EVAL_ROWS // max(1, C * M))
    for s in range(0, K, step):
        k = min(K, s + step) - s
        bids = np.broadcast_to(others, (k, C, *others.shape)).copy()  # (k, C, M, n, dim)
        bids[:, :, :, i, :] = cand[s : s + k, :, None, :]
        a, p = _evaluate(mech, bids.reshape(-1, *others.shape[1:]))
        a = a.reshape(k, C, M, *a.shape[1:])[:, :, :, i, :]
        p = p.reshape(k, C, M, -1)[:, :, :, i]
        out[s : s + k] = ((own_v[s : s + k, None, None, :] * a).sum(axis=3) - p).mean(axis=2)
    return out


class _Progress:
    """A rich progress bar on stderr over bidders (or nothing)."""

    def __init__(self, on: bool, total: int) -> None:
        self.p = None
        if on:
            from rich.console import Console
            from rich.progress import Progress

            self.p = Progress(console=Console(stderr=True), transient=True)
            self.p.start()
            self.task = self.p.add_task("verifying (misreport search)", total=total)

    def advance(self) -> None:
        if self.p is not None:
            self.p.advance(self.task)

    def close(self) -> None:
        if self.p is not None:
            self.p.stop()


# --------------------------------------------------------------------------- enumeration


def enumerate_finite(mech: Any, spec: ir.AuctionSpec, spaces: list[Any] | None = None) -> dict[str, Any] | None:
    """Exact check of any auction artifact on the spec's finite priors: every bidder,
    true type, misreport in its type space and (dominant IC, ex-post IR) every profile
    of the others; Bayesian IC / interim IR average over the others' types.  Returns the
    ``exact_check`` dictionary, or None when the priors are not finite or the profile
    count exceeds ``MAX_ENUM_ROWS``."""
    spaces = spaces if spaces is not None else _finite_auction(spec)
    if spaces is None:
        return None
    n = spec.n_bidders
    shape = tuple(s.size for s in spaces)
    P = int(np.prod(shape))
    if P * (1 + sum(shape)) > MAX_ENUM_ROWS:
        return None
    ic_mode = (spec.requirement("IC").mode if spec.requires("IC") else "dominant")  # type: ignore[union-attr]
    ir_mode = (spec.requirement("IR").mode if spec.requires("IR") else "ex_post")  # type: ignore[union-attr]
    idx = np.indices(shape).reshape(n, -1).T  # (P, n), last bidder fastest
    values = np.stack([spaces[i].values[idx[:, i]] for i in range(n)], axis=1)  # (P, n, dim)
    prob = np.prod(np.stack([spaces[i].probs[idx[:, i]] for i in range(n)], axis=1), axis=1)
    alloc, pay = _evaluate(mech, values)
    u0 = (values * alloc).sum(axis=2) - pay  # (P, n)
    names = _bidder_names(spec)
    worst, worst_gain, pairs = None, -np.inf, 0
    per_bidder = []
    mean_regret = 0.0
    ir_viol = 0.0
    for i in range(n):
        T = shape[i]
        # bidder i's utility for every misreport r at every profile
        cand = np.broadcast_to(spaces[i].values[None], (P, T, values.shape[2]))
        U = _utility_with(mech, i, values, values, cand)  # (P, T)
        pairs += U.size
        own = idx[:, i]
        # others' profile weights (the product of their probabilities)
        w_others = prob / spaces[i].probs[own]
        if ic_mode == "bayesian":
            # interim utility of type t reporting r: sum over others' profiles
            interim = np.zeros((T, T))
            np.add.at(interim, own, U * w_others[:, None])
            truth = np.diag(interim).copy()
            gain_tr = interim - truth[:, None]
            reg_t = np.maximum(gain_tr.max(axis=1), 0.0)
            t, r = np.unravel_index(int(gain_tr.argmax()), gain_tr.shape)
            g = float(gain_tr[t, r])
            mean_i = float(spaces[i].probs @ reg_t)
            w_info = {"bidder": names[i], "type": _vec(spaces[i].values[t]), "misreport": _vec(spaces[i].values[r])}
        else:
            gain = U - u0[:, i : i + 1]
            reg = np.maximum(gain.max(axis=1), 0.0)
            p_, r = np.unravel_index(int(gain.argmax()), gain.shape)
            g = float(gain[p_, r])
            mean_i = float(prob @ reg)
            w_info = {"bidder": names[i], "type": _vec(values[p_, i]), "misreport": _vec(spaces[i].values[r]),
                      "others": {names[j]: _vec(values[p_, j]) for j in range(n) if j != i}}
        if ir_mode == "interim":
            interim_u = np.zeros(T)
            np.add.at(interim_u, own, u0[:, i] * w_others)
            irv = float(np.maximum(-interim_u, 0.0).max())
        else:
            irv = float(np.maximum(-u0[:, i], 0.0).max())
        ir_viol = max(ir_viol, irv)
        mean_regret += mean_i / n
        per_bidder.append({"bidder": names[i], "mean_regret": mean_i, "max_regret": max(0.0, g),
                           "max_ir_violation": irv})
        if g > worst_gain:
            worst_gain, worst = g, w_info
    return {
        "max_ic_violation": max(0.0, worst_gain),
        "mean_ic_violation": mean_regret,
        "worst": worst,
        "max_ir_violation": ir_viol,
        "max_obedience_violation": None,
        "max_feasibility_violation": V.feasibility_violation(spec, alloc),
        "revenue": float(prob @ pay.sum(axis=1)),
        "welfare": float(prob @ V.welfare(values, alloc)),
        "checked_pairs": int(pairs),
        "profiles": P,
        "ic_mode": ic_mode,
        "ir_mode": ir_mode,
        "type_counts": list(shape),
        "per_bidder": per_bidder,
    }


def _vec(x: np.ndarray) -> Any:
    x = np.asarray(x, float)
    return float(x[0]) if x.size == 1 else x.tolist()


def settings_from_spec(spec: Any, **overrides: Any) -> dict[str, Any]:
    """Verification settings: the spec's ``verify { }`` section under explicit overrides
    (``None`` overrides are ignored)."""
    out: dict[str, Any] = {}
    sec = getattr(spec, "verify", None)
    if sec is not None:
        for key in ("samples", "steps", "restarts", "seed"):
            if getattr(sec, key) is not None:
                out[key] = getattr(sec, key)
    out.update({k: v for k, v in overrides.items() if v is not None})
    return out

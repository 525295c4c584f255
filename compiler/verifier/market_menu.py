"""Verifying a learned menu of experiments for one data buyer (the ``ExperimentMenu``
structure): IC for every report by construction, once the structure is confirmed.

From the entries the artifact declares and the spec's world alone, the verifier checks:

1. a null entry: an experiment that sends each signal with the same probability in every
   state (it tells nothing), at price at most the tolerance;
2. on 4,000 types drawn from the spec, the artifact's outcome is the recommendation form of a
   favourite entry: its price is that of an entry of highest value net of price (value:
   the best action on each signal, under the spec's belief and payoffs), the truthful
   buyer's payoff obeying it equals that highest net value, and the recommendations are
   that entry's signals relabelled as the type's best actions.

Then a buyer who reports anything gets a relabelled entry of the menu, which it values at
most as the entry itself (a garbling), so it gains nothing over its favourite entry (IC for
every report, exactly); the null entry makes the favourite worth at least acting on the prior
(IR); obeying a best-action relabelling is optimal (obedience).  IR and obedience are also
measured on the sampled types, and a sanity sample of 500 types tries the outcomes bought by
500 other reports.  Revenue and welfare are exact on a finite prior (and on the grid the
backend trained on, if it recorded one), else estimated to the stated precision.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..mechanism.datamarket_menu import best_actions, choose, entry_values, garble
from ..mechanism.market_space import MarketTypes, sample_types, type_weights
from ..mechanism.market_space import point as vec
from .certificate import Certificate, Check, exact_metric
from .claims import add_claim_check
from .estimate import adaptive_metrics
from .settings import CONFIRM_SAMPLES, SANITY_SAMPLES
from .spec_spaces import market_spaces

NULL_TOL = 1e-9
"""How far an entry's signal distribution may move across states and still tell nothing."""


def _reports(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), 1) if x.shape[1] == 1 else x[:, None, :]


def _outcomes(ev: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    E, p = ev(_reports(x))
    return E[:, 0], p[:, 0]


def _obedient(w: np.ndarray, R: np.ndarray, U: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per type: the payoff of obeying ``R (B, A, S)``, of the best action on each
    recommendation, and the largest gain of disobeying one recommendation."""
    M = np.einsum("bs,bas,cs->bac", w, R, U)  # type, recommendation, action taken
    obey = np.einsum("baa->b", M)
    best = M.max(axis=2).sum(axis=1)
    return obey, best, (M.max(axis=2) - np.einsum("baa->ba", M)).max(axis=1)


def _confirm(st: Any, ev: Any, spec: Any, U: np.ndarray, x: np.ndarray, tol: float) -> dict[str, Any]:
    """The structure's prescription against the artifact's outcomes at types ``x``."""
    E, prices = np.asarray(st.experiments, float), np.asarray(st.prices, float)
    beliefs, scales = type_weights(spec, 0, x)
    w = beliefs * scales[:, None]
    net = entry_values(w, E, U) - prices[None, :]
    top = net.max(axis=1)
    R, p = _outcomes(ev, x)
    obey, _, disobey = _obedient(w, R, U)
    k = choose(net, prices, st.tie_tol)
    want = garble(E[k], best_actions(w, E[k], U), U.shape[0])
    same = (np.abs(R - want).max(axis=(1, 2)) <= 1e-9) & (np.abs(p - prices[k]) <= tol)
    for b in np.flatnonzero(~same):  # a tie broken otherwise: any favourite entry will do
        for j in np.flatnonzero((net[b] >= top[b] - tol) & (np.abs(prices - p[b]) <= tol)):
            g = garble(E[j][None], best_actions(w[b : b + 1], E[j][None], U), U.shape[0])[0]
            if np.abs(R[b] - g).max() <= 1e-9:
                same[b] = True
                break
    value_gap = np.abs(obey - p - top)
    outside = (w @ U.T).max(axis=1)
    return {"same": same, "value_gap": value_gap, "disobey": disobey, "ir": outside - (obey - p), "x": x,
            "revenue": p, "welfare": obey - outside, "surplus": obey - p - outside, "R": R, "p": p, "w": w}


def _sanity(ev: Any, spec: Any, U: np.ndarray, x: np.ndarray, c: dict[str, Any]) -> dict[str, Any]:
    """Each of the first 500 sampled types against the outcomes the others' reports buy."""
    m = min(SANITY_SAMPLES, len(x))
    w, R, p = c["w"][:m], c["R"][:m], c["p"][:m]
    truthful = np.einsum("bs,bas,as->b", w, R, U) - p
    # value of outcome r to type b: best action on each recommendation
    Q = np.einsum("bs,ras,cs->brac", w, R, U).max(axis=3).sum(axis=2) - p[None, :]
    gain = np.maximum(Q.max(axis=1) - truthful, 0.0)
    k = int(gain.argmax())
    return {"max": float(gain.max(initial=0.0)), "mean": float(gain.mean()), "regrets": gain[:, None],
            "worst": {"type": vec(x[k]), "values": vec(x[k]), "misreport": vec(x[int(Q[k].argmax())]),
                      "regret": float(gain[k])}, "profiles": m}


def _exact(st: Any, ev: Any, spec: Any, U: np.ndarray, t: MarketTypes, tol: float) -> dict[str, Any]:
    """Revenue, welfare, IR and obedience enumerated over finite types ``t``."""
    c = _confirm(st, ev, spec, U, t.reports, tol)
    return {"revenue": float(t.probs @ c["revenue"]), "welfare": float(t.probs @ c["welfare"]),
            "buyer_surplus": float(t.probs @ c["surplus"]), "max_regret": 0.0,
            "max_ir_violation": float(max(0.0, c["ir"].max())), "max_obedience_violation": float(max(0.0, c["disobey"].max())),
            "profiles": t.size, "confirm": c}


def certify_menu(mech, spec, settings, ev, U, tol, grid, checks, notes, details) -> Certificate:
    st = mech.structure()
    E, prices = np.asarray(st.experiments, float), np.asarray(st.prices, float)
    name = spec.buyers[0].name
    null = (np.ptp(E, axis=2).max(axis=1) <= NULL_TOL) & (prices <= tol)
    checks.append(Check("structure", bool(null.any()),
                        f"a menu of {len(prices)} experiments chosen by argmax; "
                        + (f"entry {int(np.flatnonzero(null)[0])} tells nothing at price "
                           f"{prices[int(np.flatnonzero(null)[0])]:.3g} (the null entry)" if null.any()
                           else "no entry tells nothing at price 0: IR is not implied")))
    rng = np.random.default_rng([settings.seed, 11])
    x = sample_types(spec, 0, CONFIRM_SAMPLES, rng)
    c = _confirm(st, ev, spec, U, x, tol)
    bad = int((~c["same"]).sum() + (c["value_gap"] > tol).sum())
    checks.append(Check("structure_confirmed", bad == 0,
                        f"on {len(x):,} types drawn from the spec, the outcome is a favourite entry relabelled by the "
                        f"type's best actions ({bad} mismatches; largest gap between the payoff obeying it and the "
                        f"favourite entry's net value {c['value_gap'].max(initial=0.0):.3g})"))
    structural = all(ch.ok for ch in checks if ch.name in ("structure", "structure_confirmed"))
    san = _sanity(ev, spec, U, x, c)
    finite = market_spaces(spec)
    disc = market_spaces(spec, grid) if grid and finite is None else None
    ir_v = float(max(0.0, c["ir"].max()))
    ob_v = float(max(0.0, c["disobey"].max()))
    scope = "the spec's continuous type prior"
    metrics: dict[str, Any]
    exact = None
    if finite is not None:
        exact = _exact(st, ev, spec, U, finite[0], tol)
        ir_v, ob_v = max(ir_v, exact["max_ir_violation"]), max(ob_v, exact["max_obedience_violation"])
        scope = f"the spec's finite prior ({finite[0].size} types)"
        metrics = {k: exact_metric(exact[k], exact["profiles"]) for k in ("revenue", "welfare", "buyer_surplus")}
    else:
        if disc is not None:
            exd = _exact(st, ev, spec, U, disc[0], tol)
            details["discretised"] = {"grid": grid, "kind": "exact_by_enumeration", "profiles": exd["profiles"],
                                      **{k: exd[k] for k in ("revenue", "welfare", "buyer_surplus", "max_regret",
                                                             "max_ir_violation", "max_obedience_violation")},
                                      "meaning": "exact on the spec's type prior discretised on the backend's grid "
                                                 "(computed by the verifier from the spec)"}
            exact = exd

        def batch(size: int, r: np.random.Generator) -> dict[str, np.ndarray]:
            b = _confirm(st, ev, spec, U, sample_types(spec, 0, size, r), tol)
            return {"revenue": b["revenue"], "welfare": b["welfare"], "buyer_surplus": b["surplus"],
                    "utility": b["surplus"][:, None]}

        est = adaptive_metrics(batch, settings)
        ir_v = max(ir_v, max(0.0, -min(est["min_utility"])))
        metrics = est["metrics"]
    kind = "exact_by_construction" if structural else "estimated"
    regret = 0.0 if structural else san["max"]
    how = ("by construction: every report buys a relabelled entry of the menu (confirmed above); "
           f"a sanity sample of {san['profiles']} types against the outcomes of {san['profiles']} other reports "
           f"finds a largest gain of {san['max']:.3g}") if structural else (
           f"the structure does not hold: {san['profiles']} sampled types against the outcomes of "
           f"{san['profiles']} other reports (a lower bound)")
    checks += [Check("IC", regret <= tol and san["max"] <= tol, f"{how} (tolerance {tol:.3g})"),
               Check("IR", ir_v <= tol, f"max IR violation {ir_v:.3g} (the null entry gives IR)"),
               Check("obedience", ob_v <= tol, f"max obedience violation {ob_v:.3g} over the sampled types "
                                                "(recommendations are best actions: obedience by construction)")]
    cert = Certificate(
        kind=kind, checks=checks, max_regret=max(regret, san["max"]), mean_regret=san["mean"],
        max_ir_violation=ir_v, max_obedience_violation=ob_v, feasibility_violation=None, scope=scope,
        metrics=metrics, per_bidder=[{"bidder": name, "mean_regret": san["mean"], "max_regret": san["max"],
                                      "max_ir_violation": ir_v}],
        worst={"bidder": name, **san["worst"]} if san["max"] > tol else None, samples=len(x),
        search="menu structure (argmax over the entries, relabelled by best actions), confirmed on sampled types",
        notes=notes, details=details, tolerance=tol, regrets=san["regrets"])
    add_claim_check(mech, spec, cert, exact, scope if finite is not None else
                    f"the spec's type prior discretised on the backend's {grid}-cell grid", tol)
    return cert

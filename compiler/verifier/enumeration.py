"""Exact checks and figures on a finite type space, through the artifact's public
evaluation only.

Every bidder, true type, misreport in its type space and (dominant-strategy IC, ex-post IR)
every profile of the others is evaluated with ``allocate_and_pay``; Bayesian IC and interim
IR average over the others' types with the spec's probabilities.  Revenue, welfare and each
bidder's expected utility are expectations over all profiles: exact, no confidence interval.
On a finite type space the report space is the type space (a direct mechanism).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import valuation as V
from ..mechanism.table import TypeSpace
from .evaluation import Evaluator, utility_with
from .spec_spaces import vec

MAX_ENUM_ROWS = 3_000_000
"""The enumeration evaluates at most this many report profiles in all."""


def enumeration_rows(spaces: list[TypeSpace]) -> int:
    shape = [s.size for s in spaces]
    return int(np.prod(shape)) * (1 + sum(shape))


def enumerate_auction(ev: Evaluator, spec: Any, spaces: list[TypeSpace], names: list[str],
                      misreports: bool = True) -> dict[str, Any] | None:
    """The exact figures, or None when the profiles exceed ``MAX_ENUM_ROWS``.  With
    ``misreports=False`` (a structure already rules every misreport out) only the truthful
    profiles are evaluated and the regret is 0 by construction."""
    if (enumeration_rows(spaces) if misreports else int(np.prod([s.size for s in spaces]))) > MAX_ENUM_ROWS:
        return None
    n = spec.n_bidders
    shape = tuple(s.size for s in spaces)
    P = int(np.prod(shape))
    ic_mode = spec.requirement("IC").mode if spec.requires("IC") else "dominant"
    ir_mode = spec.requirement("IR").mode if spec.requires("IR") else "ex_post"
    idx = np.indices(shape).reshape(n, -1).T  # (P, n), last bidder fastest
    values = np.stack([spaces[i].values[idx[:, i]] for i in range(n)], axis=1)  # (P, n, dim)
    prob = np.prod(np.stack([spaces[i].probs[idx[:, i]] for i in range(n)], axis=1), axis=1)
    alloc, pay = ev(values)
    u0 = (values * alloc).sum(axis=2) - pay  # (P, n)
    worst, worst_gain, pairs = None, -np.inf, 0
    per_bidder, regret_rows = [], np.zeros((P, n))
    mean_regret, ir_viol = 0.0, 0.0
    for i in range(n):
        T = shape[i]
        own = idx[:, i]
        w_others = prob / spaces[i].probs[own]
        if misreports:
            cand = np.broadcast_to(spaces[i].values[None], (P, T, values.shape[2]))
            U = utility_with(ev, i, values, values, cand)  # (P, T): every misreport at every profile
            pairs += U.size
            g, mean_i, w_info, regret_rows[:, i] = _bidder_regret(
                U, u0[:, i], own, w_others, prob, spaces[i], values, i, names, ic_mode)
        else:
            g, mean_i, w_info = 0.0, 0.0, {"bidder": names[i], "type": None, "misreport": None}
        if ir_mode == "interim":
            interim_u = np.zeros(T)
            np.add.at(interim_u, own, u0[:, i] * w_others)
            irv = float(np.maximum(-interim_u, 0.0).max())
        else:
            irv = float(np.maximum(-u0[:, i], 0.0).max())
        ir_viol = max(ir_viol, irv)
        mean_regret += mean_i / n
        per_bidder.append({"bidder": names[i], "mean_regret": mean_i, "max_regret": max(0.0, g),
                           "max_ir_violation": irv, "expected_utility": float(prob @ u0[:, i])})
        if g > worst_gain:
            worst_gain, worst = g, {**w_info, "values": w_info["type"], "regret": max(0.0, g)}
    return {
        "max_regret": max(0.0, worst_gain),
        "mean_regret": mean_regret,
        "worst": worst,
        "max_ir_violation": ir_viol,
        "revenue": float(prob @ pay.sum(axis=1)),
        "welfare": float(prob @ V.welfare(values, alloc)),
        "checked_pairs": int(pairs),
        "profiles": P,
        "ic_mode": ic_mode,
        "ir_mode": ir_mode,
        "type_counts": list(shape),
        "per_bidder": per_bidder,
        "regrets": regret_rows,
    }


def _bidder_regret(U, u0_i, own, w_others, prob, space, values, i, names, ic_mode):
    """Bidder i's largest gain, mean regret, worst deviation and regret per profile, from its
    utility ``U (P, T)`` of every misreport at every profile."""
    n = values.shape[1]
    if ic_mode == "bayesian":
        T = space.size
        interim = np.zeros((T, T))
        np.add.at(interim, own, U * w_others[:, None])
        gain_tr = interim - np.diag(interim)[:, None]
        reg_t = np.maximum(gain_tr.max(axis=1), 0.0)
        t, r = np.unravel_index(int(gain_tr.argmax()), gain_tr.shape)
        info = {"bidder": names[i], "type": vec(space.values[t]), "misreport": vec(space.values[r]),
                "against": "the others' prior"}
        return float(gain_tr[t, r]), float(space.probs @ reg_t), info, reg_t[own]
    gain = U - u0_i[:, None]
    reg = np.maximum(gain.max(axis=1), 0.0)
    p_, r = np.unravel_index(int(gain.argmax()), gain.shape)
    info = {"bidder": names[i], "type": vec(values[p_, i]), "misreport": vec(space.values[r]),
            "others": {names[j]: vec(values[p_, j]) for j in range(n) if j != i}}
    return float(gain[p_, r]), float(prob @ reg), info, reg


def objective_value(spec: Any, figures: dict[str, Any]) -> float | None:
    """The spec's objective (weighted revenue and welfare) at these figures."""
    obj = getattr(spec, "objective", None)
    if obj is None:
        return None
    terms = {"revenue": figures.get("revenue"), "welfare": figures.get("welfare")}
    if any(terms.get(t) is None for t in obj.terms):
        return None
    return float(sum(w * terms[t] for t, w in zip(obj.terms, obj.weights, strict=True)))

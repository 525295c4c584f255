"""Selling experiments (Bergemann-Bonatti-Smolin): the optimal menu as an LP.

Variables: ``pi[t, a, s] = P(recommend a | state s)`` for each type ``t``'s experiment
(recommendation form: the signals are the actions) and a price ``p[t]``.  All the
constraints are linear:

* each experiment's columns are distributions over signals;
* obedience: given a recommendation, the recommended action is a best response;
* IR: the obedient value minus the price is at least the no-information payoff;
* IC against the joint deviation "report u, then act by delta(signal)", for every
  map ``delta`` from signals to actions: acting optimally on each signal is the
  best such map, so these rows are exactly "misreport, then act optimally".

Obedience rows are always present: the buyer's value in IR and IC is the value of
*following* the recommendation, which is only the buyer's value when obeying is optimal.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
from auctionc import ir
from auctionc.backends.exact.generation import run_generation, solve_stats, top_k_new
from auctionc.backends.exact.model import INF, LinearModel, RowBlock, coo_block
from auctionc.mechanism.datamarket import (
    DataMarketMechanism,
    MarketTypes,
    deviation_maps,
    joint_values,
    market_types,
)

if TYPE_CHECKING:
    from auctionc.backends.exact.common import ExactBackend
    from auctionc.plugins import CompileResult, RunContext


class MarketProgram:
    def __init__(self, spec: ir.MarketSpec, types: MarketTypes) -> None:
        b = spec.buyers[0]
        self.spec = spec
        self.types = types
        self.U = np.asarray(b.payoffs, float)  # (A, S)
        self.T, self.A, self.S = types.size, self.U.shape[0], self.U.shape[1]
        self.w = types.beliefs * types.scales[:, None]  # (T, S): belief times payoff scale
        self.NE = self.T * self.A * self.S
        self.n_vars = self.NE + self.T
        self.maps = deviation_maps(self.A)  # (D, A)
        self.outside = (self.w @ self.U.T).max(axis=1)
        self.mask = np.zeros((self.T, self.T, len(self.maps)), bool)

    def ei(self, t: np.ndarray) -> np.ndarray:
        """``(..., A, S)`` variable indices of experiment ``t``."""
        return (np.asarray(t) * self.A * self.S)[..., None, None] + np.arange(self.A * self.S).reshape(self.A, self.S)

    def build(self, objective: ir.Objective, with_ir: bool) -> LinearModel:
        T, A, S = self.T, self.A, self.S
        lb = np.concatenate([np.zeros(self.NE), np.full(T, -INF)])
        ub = np.concatenate([np.ones(self.NE), np.full(T, INF)])
        cost = np.zeros(self.n_vars)
        own = self.w[:, None, :] * self.U[None, :, :]  # (T, A, S): obedient value per variable
        for term, wgt in zip(objective.terms, objective.weights, strict=False):
            if term == "revenue":
                cost[self.NE :] += wgt * self.types.probs
            else:
                cost[: self.NE] += wgt * (self.types.probs[:, None, None] * own).ravel()
        m = LinearModel(self.n_vars, cost, lb, ub)
        m.var_groups = {"experiments": (0, self.NE), "prices": (self.NE, self.n_vars)}
        idx = self.ei(np.arange(T))  # (T, A, S)
        # columns sum to one: row (t, s)
        rows = (np.arange(T)[:, None, None] * S + np.arange(S)[None, None, :]) + np.zeros((1, A, 1), int)
        m.add(coo_block("experiment columns", self.n_vars, rows.ravel(), idx.ravel(), np.ones(self.NE), T * S, 1.0, 1.0))
        # obedience: row (t, a, b) for b != a
        pairs = np.array([(a, b) for a in range(A) for b in range(A) if a != b], dtype=np.int64).reshape(-1, 2)
        if len(pairs):
            K = len(pairs)
            rid = np.arange(T)[:, None] * K + np.arange(K)[None, :]  # (T, K)
            coef = self.w[:, None, :] * (self.U[pairs[:, 0]] - self.U[pairs[:, 1]])[None]  # (T, K, S)
            cols = idx[:, pairs[:, 0], :]  # (T, K, S)
            m.add(coo_block("obedience", self.n_vars, np.repeat(rid.ravel(), S), cols.ravel(), coef.ravel(),
                            T * K, 0.0, INF))
        if with_ir:
            rows = np.concatenate([np.repeat(np.arange(T), A * S), np.arange(T)])
            cols = np.concatenate([idx.ravel(), self.NE + np.arange(T)])
            vals = np.concatenate([own.ravel(), -np.ones(T)])
            m.add(coo_block("IR", self.n_vars, rows, cols, vals, T, self.outside, INF))
        return m

    def ic_rows(self, t: np.ndarray, u: np.ndarray, d: np.ndarray) -> RowBlock:
        K, A, S = len(t), self.A, self.S
        rid = np.repeat(np.arange(K), A * S)
        own = (self.w[t][:, None, :] * self.U[None]).reshape(K, -1)
        dev = (self.w[t][:, None, :] * self.U[self.maps[d]]).reshape(K, -1)  # U[delta(a), s]
        rows = np.concatenate([rid, rid, np.arange(K), np.arange(K)])
        cols = np.concatenate([self.ei(t).reshape(K, -1).ravel(), self.ei(u).reshape(K, -1).ravel(),
                               self.NE + t, self.NE + u])
        vals = np.concatenate([own.ravel(), -dev.ravel(), -np.ones(K), np.ones(K)])
        return coo_block("IC", self.n_vars, rows, cols, vals, K, 0.0, INF)

    def mechanism_arrays(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        E = np.clip(x[: self.NE].reshape(self.T, self.A, self.S), 0.0, 1.0)
        E = E / E.sum(axis=1, keepdims=True)
        return E, x[self.NE :].copy()


class MarketIC:
    def __init__(self, prog: MarketProgram, *, working_set: str, cuts_per_type: int, enabled: bool) -> None:
        self.prog, self.working_set, self.k, self.enabled = prog, working_set, cuts_per_type, enabled

    def initial(self) -> list[RowBlock]:
        p = self.prog
        if not self.enabled or p.T < 2:
            return []
        if self.working_set == "all":
            p.mask[:] = True
            p.mask[np.arange(p.T), np.arange(p.T)] = False
        else:
            t = np.arange(p.T - 1)
            p.mask[t, t + 1] = True
            p.mask[t + 1, t] = True
        tt, uu, dd = np.nonzero(p.mask)
        return [p.ic_rows(tt, uu, dd)]

    def separate(self, x: np.ndarray, tol: float) -> tuple[list[RowBlock], int, float]:
        p = self.prog
        if not self.enabled or p.T < 2:
            return [], 0, 0.0
        E, prices = x[: p.NE].reshape(p.T, p.A, p.S), x[p.NE :]
        M = joint_values(p.w, E, p.U)  # (T, T, A, B)
        best_b = M.argmax(axis=3)  # (T, T, A): the best action on each signal
        code = (best_b * (p.A ** np.arange(p.A - 1, -1, -1))[None, None, :]).sum(axis=2)  # index into maps
        diag = np.arange(p.T)
        truthful = np.einsum("taa->t", M[diag, diag]) - prices
        gain = M.max(axis=3).sum(axis=2) - prices[None, :] - truthful[:, None]
        gain[diag, diag] = -np.inf
        worst = float(gain.max())
        held = np.take_along_axis(p.mask, code[:, :, None], axis=2)[:, :, 0]
        n_viol = int(((gain > tol) & ~held).sum())
        sel_mask = held.copy()
        t, u = top_k_new(gain, sel_mask, tol, self.k, axis=1)
        if not len(t):
            return [], n_viol, max(worst, 0.0)
        d = code[t, u]
        p.mask[t, u, d] = True
        return [p.ic_rows(t, u, d)], n_viol, max(worst, 0.0)


def lower_market(spec: ir.MarketSpec, opts: dict[str, Any], working_set: str) -> tuple[MarketProgram, LinearModel, MarketIC]:
    """The market's program: ``(MarketProgram, LinearModel without IC rows, MarketIC)``; the IC
    family starts from ``working_set`` (``"adjacent"`` or ``"all"``)."""
    prog = MarketProgram(spec, market_types(spec, opts["grid"] or None))
    model = prog.build(spec.objective, with_ir=spec.requires("IR"))
    family = MarketIC(prog, working_set=working_set, cuts_per_type=opts["cuts_per_type"], enabled=spec.requires("IC"))
    return prog, model, family


def market_mechanism(spec: ir.MarketSpec, prog: MarketProgram, x: np.ndarray, opts: dict[str, Any]) -> tuple[DataMarketMechanism, dict[str, Any]]:
    """The artifact of a solution ``x`` of the program and its exact check."""
    E, prices = prog.mechanism_arrays(x)
    types, b = prog.types, spec.buyers[0]
    mech = DataMarketMechanism(list(spec.states), list(b.actions), prog.U, types.kind, types.points, types.beliefs,
                               types.scales, types.probs, E, prices, buyer=b.name)
    cert = mech.exact_check(spec, opts["grid"] or None)
    cert["kind"] = "exact_by_enumeration"
    cert["tolerance"] = opts["tol"]
    return mech, cert


def compile_market(backend: ExactBackend, spec: ir.MarketSpec, opts: dict[str, Any], ctx: RunContext) -> CompileResult:
    from auctionc.backends.exact.common import _backend_error, _section
    from auctionc.mechanism.table import DISCRETISATION_RULE
    from auctionc.plugins import CompileResult

    t0 = time.perf_counter()
    grid = opts["grid"] or None
    prog, model, family = lower_market(spec, opts, opts["working_set"])
    types = prog.types
    build_s = time.perf_counter() - t0
    res, log = run_generation(model, family, tol=opts["tol"], max_rounds=opts["max_rounds"],
                              time_limit=opts["time_limit"], milp_solver=None, progress=ctx.progress, label=backend.name)
    D = len(prog.maps)
    stats: dict[str, Any] = {
        **solve_stats(model, log, res, build_s),
        "types": [prog.T],
        "all_pairs_ic_constraints": prog.T * (prog.T - 1) * D if spec.requires("IC") else 0,
        "deviation_maps": D,
        "grid": grid,
        "discretisation": DISCRETISATION_RULE if types.discretised else "finite priors as given",
        "obedience": "always imposed (recommendation form)",
    }
    backend._raise_on_status(spec, model, res, stats)
    if not log.converged:
        raise _backend_error("E0714", f"constraint generation did not converge in {log.rounds} rounds",
                             "raise `max_rounds` or use `working_set = \"all\"`", stats)
    stats["objective"] = res.objective
    stats["total_seconds"] = round(time.perf_counter() - t0, 4)
    mech, cert = market_mechanism(spec, prog, res.x, opts)
    table = mech.experiments_table()
    lines = ["| price | types | probability | experiment (state x signal) |", "|---|---|---|---|"]
    for g in table:
        lo, hi = g["type_range"]  # numbers for one-number types, per-coordinate lists otherwise
        span = (f"{lo:.4g}..{hi:.4g}" if not isinstance(lo, list) else
                "(" + ", ".join(f"{a:.4g}..{b:.4g}" for a, b in zip(lo, hi, strict=True)) + ")")
        lines.append(f"| {g['price']:.4f} | {span} | {g['probability']:.4f} | {g['state_by_signal']} |")
    return CompileResult(mechanism=mech, stats=stats, claim=cert,
                         report_sections=[("Exact solve", _section(stats, cert)), ("Menu of experiments", "\n".join(lines))])

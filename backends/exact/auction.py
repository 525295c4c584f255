"""Automated mechanism design over finite type spaces (Conitzer-Sandholm) as one LP/MILP.

Variables, for every type profile ``r`` (C order over the bidders' types), bidder
``i`` and outcome coordinate ``d``: the allocation ``x[r, i, d]`` (item or bundle
probability) and the payment ``p[r, i]``.  With Bayesian IC or interim IR and
several bidders, interim variables ``Q_i[s, d] = E_{t_-i} x`` and ``P_i[s] = E p``
are added, tied to the table by equality rows, so that each interim IC row has
``2 (dim + 1)`` non-zeros instead of ``2 R_-i (dim + 1)``.

IC rows grow as ``T^2`` (times the others' profiles for dominant IC), so they are
generated: the working set starts with adjacent types (one grid step in one
coordinate), every pair is checked on each solution, the most violated missing
pairs are added and the model is re-solved warm, until no pair is violated by
more than ``tol``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from auctionc import ir
from auctionc.backends.exact.generation import top_k_new
from auctionc.backends.exact.model import INF, LinearModel, RowBlock, coo_block
from auctionc.mechanism.table import TypeSpace
from auctionc.valuation import bundle_matrix, outcome_space


@dataclass
class BidderView:
    V: np.ndarray  # (T, dim) values
    probs: np.ndarray  # (T,)
    prof: np.ndarray  # (T, R_-i) full profile index of (type t, others r)
    w: np.ndarray  # (R_-i,) probability of the others' profile
    neighbours: np.ndarray  # (K, 2) adjacent type pairs (t, s)
    aux: int  # first interim variable (Q then P per type), -1 when none


def _neighbour_pairs(ts: TypeSpace) -> np.ndarray:
    """Type pairs one grid step apart in one primitive coordinate (both directions)."""
    shape = ts.prim_shape
    T = ts.size
    idx = np.arange(T).reshape(shape)
    pairs = []
    for ax in range(len(shape)):
        if shape[ax] < 2:
            continue
        a = np.take(idx, np.arange(shape[ax] - 1), axis=ax).ravel()
        b = np.take(idx, np.arange(1, shape[ax]), axis=ax).ravel()
        pairs.append(np.stack([a, b], 1))
        pairs.append(np.stack([b, a], 1))
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    return np.concatenate(pairs)


class AuctionProgram:
    """The LP (or MILP with ``deterministic``) of a finite-type auction spec."""

    def __init__(self, spec: ir.AuctionSpec, spaces: list[TypeSpace], *, deterministic: bool = False) -> None:
        self.spec = spec
        self.spaces = spaces
        self.n = n = spec.n_bidders
        self.dim = dim = spaces[0].values.shape[1]
        self.shape = tuple(s.size for s in spaces)
        self.R = R = int(np.prod(self.shape))
        self.bundles = outcome_space(spec) == "bundles"
        ic = spec.requirement("IC")
        irr = spec.requirement("IR")
        self.ic_mode = None if ic is None else ic.mode
        self.ir_mode = None if irr is None else irr.mode
        if n == 1:  # one bidder: interim and ex post coincide
            self.ic_mode = None if ic is None else "dominant"
            self.ir_mode = None if irr is None else "ex_post"
        self.interim = n > 1 and (self.ic_mode == "bayesian" or self.ir_mode == "interim")
        self.NX = R * n * dim
        self.NP = R * n
        # profile -> each bidder's type index
        grids = np.meshgrid(*[np.arange(s) for s in self.shape], indexing="ij")
        self.types_of = np.stack([g.ravel() for g in grids], axis=1)  # (R, n)
        self.prob = np.ones(1)
        for s in spaces:
            self.prob = np.multiply.outer(self.prob, s.probs).ravel()
        self.views: list[BidderView] = []
        nxt = self.NX + self.NP
        ids = np.arange(R).reshape(self.shape)
        for i, s in enumerate(spaces):
            prof = np.moveaxis(ids, i, 0).reshape(s.size, -1)
            w = np.ones(1)
            for j, o in enumerate(spaces):
                if j != i:
                    w = np.multiply.outer(w, o.probs).ravel()
            aux = -1
            if self.interim:
                aux = nxt
                nxt += s.size * (dim + 1)
            self.views.append(BidderView(s.values, s.probs, prof, w, _neighbour_pairs(s), aux))
        self.n_vars = nxt
        self.deterministic = deterministic

    # ---- index helpers ----

    def xi(self, r: np.ndarray, i: int | np.ndarray) -> np.ndarray:
        """``(..., dim)`` variable indices of ``x[r, i, :]``."""
        return ((np.asarray(r) * self.n + i) * self.dim)[..., None] + np.arange(self.dim)

    def pi(self, r: np.ndarray, i: int | np.ndarray) -> np.ndarray:
        return self.NX + np.asarray(r) * self.n + i

    def qi(self, i: int, s: np.ndarray) -> np.ndarray:
        return (self.views[i].aux + np.asarray(s) * (self.dim + 1))[..., None] + np.arange(self.dim)

    def ppi(self, i: int, s: np.ndarray) -> np.ndarray:
        return self.views[i].aux + np.asarray(s) * (self.dim + 1) + self.dim

    # ---- sizes, before building anything ----

    def all_pairs_ic(self) -> int:
        if self.ic_mode is None:
            return 0
        tot = 0
        for s in self.spaces:
            rest = self.R // s.size
            tot += s.size * (s.size - 1) * (rest if self.ic_mode == "dominant" else 1)
        return tot

    # ---- the model ----

    def build(self, objective: ir.Objective) -> LinearModel:
        n, dim = self.n, self.dim
        lb = np.zeros(self.n_vars)
        ub = np.ones(self.n_vars)
        lb[self.NX : self.NX + self.NP] = -INF
        ub[self.NX : self.NX + self.NP] = INF
        if self.bundles:  # the empty bundle is worth nothing: keep it out of the tables
            ub[np.arange(0, self.NX, dim)] = 0.0
        for i, v in enumerate(self.views):
            if v.aux >= 0:
                T = len(v.probs)
                q = self.qi(i, np.arange(T))
                pp = self.ppi(i, np.arange(T))
                lb[q], ub[q] = 0.0, 1.0
                lb[pp], ub[pp] = -INF, INF
        cost = np.zeros(self.n_vars)
        for term, wgt in zip(objective.terms, objective.weights, strict=False):
            if term == "revenue":
                cost[self.NX : self.NX + self.NP] += wgt * np.repeat(self.prob, n)
            else:
                vals = np.stack([self.views[i].V[self.types_of[:, i]] for i in range(n)], axis=1)  # (R, n, dim)
                cost[: self.NX] += wgt * (self.prob[:, None, None] * vals).ravel()
        integer = None
        if self.deterministic:
            integer = np.zeros(self.n_vars, bool)
            integer[: self.NX] = True
        m = LinearModel(self.n_vars, cost, lb, ub, integer)
        m.var_groups = {"allocations": (0, self.NX), "payments": (self.NX, self.NX + self.NP)}
        if self.interim:
            m.var_groups["interim allocations and payments"] = (self.NX + self.NP, self.n_vars)
            m.add(self._interim_block())
        m.add(self._feasibility_block())
        if self.ir_mode is not None:
            m.add(self._ir_block())
        return m

    def _interim_block(self) -> RowBlock:
        """``Q_i[s, d] - sum_r w_r x[(s, r), i, d] = 0`` and the same for payments."""
        rows, cols, vals = [], [], []
        k = 0
        for i, v in enumerate(self.views):
            T, Rm = v.prof.shape
            nr = T * (self.dim + 1)
            base = k + np.arange(T)[:, None] * (self.dim + 1)  # (T, 1)
            # allocation rows
            rq = base + np.arange(self.dim)  # (T, dim)
            rows += [rq.ravel(), np.broadcast_to(rq[:, None, :], (T, Rm, self.dim)).ravel()]
            cols += [self.qi(i, np.arange(T)).ravel(), self.xi(v.prof, i).ravel()]
            vals += [np.ones(T * self.dim), np.broadcast_to(-v.w[None, :, None], (T, Rm, self.dim)).ravel()]
            rp = (base[:, 0] + self.dim)
            rows += [rp, np.broadcast_to(rp[:, None], (T, Rm)).ravel()]
            cols += [self.ppi(i, np.arange(T)), self.pi(v.prof, i).ravel()]
            vals += [np.ones(T), np.broadcast_to(-v.w[None, :], (T, Rm)).ravel()]
            k += nr
        return coo_block("interim definitions", self.n_vars, np.concatenate(rows), np.concatenate(cols),
                         np.concatenate(vals).astype(float), k, 0.0, 0.0)

    def _feasibility_block(self) -> RowBlock:
        n, dim, R = self.n, self.dim, self.R
        rows, cols, vals, k = [], [], [], 0
        r = np.arange(R)
        if self.bundles:
            m = self.spec.n_items
            bm = bundle_matrix(m)  # (2**m, m)
            # per profile and item: total probability of bundles holding it
            kk, jj = np.nonzero(bm)
            for i in range(n):
                rows.append((r[:, None] * m + jj[None, :]).ravel())
                cols.append(self.xi(r, i)[:, kk].ravel())
            vals.append(np.ones(sum(len(c) for c in cols)))
            k = R * m
            # per profile and bidder: at most one bundle
            rr = k + (r[:, None] * n + np.arange(n)[None, :])  # (R, n)
            rows.append(np.broadcast_to(rr[:, :, None], (R, n, dim)).ravel())
            cols.append(self.xi(r[:, None], np.arange(n)[None, :]).ravel())
            vals.append(np.ones(R * n * dim))
            k += R * n
        else:
            if n > 1:
                rr = r[:, None] * dim + np.arange(dim)  # (R, dim)
                rows.append(np.broadcast_to(rr[:, None, :], (R, n, dim)).ravel())
                cols.append(self.xi(r[:, None], np.arange(n)[None, :]).ravel())
                vals.append(np.ones(R * n * dim))
                k = R * dim
            for i, b in enumerate(self.spec.bidders):
                if isinstance(b.valuation, ir.UnitDemand) and dim > 1:
                    rows.append(np.broadcast_to((k + r)[:, None], (R, dim)).ravel())
                    cols.append(self.xi(r, i).ravel())
                    vals.append(np.ones(R * dim))
                    k += R
        if k == 0:
            return coo_block("feasibility", self.n_vars, np.zeros(0, int), np.zeros(0, int), np.zeros(0), 0, -INF, 1.0)
        return coo_block("feasibility", self.n_vars, np.concatenate(rows), np.concatenate(cols),
                         np.concatenate(vals).astype(float), k, -INF, 1.0)

    def _ir_block(self) -> RowBlock:
        n, dim, R = self.n, self.dim, self.R
        if self.ir_mode == "interim":
            rows, cols, vals, k = [], [], [], 0
            for i, v in enumerate(self.views):
                T = len(v.probs)
                rr = k + np.arange(T)
                rows += [np.repeat(rr, dim), rr]
                cols += [self.qi(i, np.arange(T)).ravel(), self.ppi(i, np.arange(T))]
                vals += [v.V.ravel(), -np.ones(T)]
                k += T
            return coo_block("IR", self.n_vars, np.concatenate(rows), np.concatenate(cols),
                             np.concatenate(vals), k, 0.0, INF)
        r = np.arange(R)
        rr = r[:, None] * n + np.arange(n)  # (R, n) row ids
        vals = np.stack([self.views[i].V[self.types_of[:, i]] for i in range(n)], axis=1)  # (R, n, dim)
        rows = np.concatenate([np.repeat(rr.ravel(), dim), rr.ravel()])
        cols = np.concatenate([self.xi(r[:, None], np.arange(n)[None, :]).ravel(), self.pi(r[:, None], np.arange(n)[None, :]).ravel()])
        v = np.concatenate([vals.ravel(), -np.ones(R * n)])
        return coo_block("IR", self.n_vars, rows, cols, v, R * n, 0.0, INF)

    # ---- IC rows, generated ----

    def ic_rows(self, i: int, t: np.ndarray, s: np.ndarray, r: np.ndarray | None) -> RowBlock:
        """Rows "type t of bidder i prefers its own outcome to reporting s" (against the
        others' profile r for dominant IC, in expectation with interim variables)."""
        v = self.views[i]
        K = len(t)
        Vt = v.V[t]  # (K, dim)
        if r is None:  # interim form
            xa, pa = self.qi(i, t), self.ppi(i, t)
            xb, pb = self.qi(i, s), self.ppi(i, s)
        else:
            rt, rs = v.prof[t, r], v.prof[s, r]
            xa, pa = self.xi(rt, i), self.pi(rt, i)
            xb, pb = self.xi(rs, i), self.pi(rs, i)
        rid = np.arange(K)
        rows = np.concatenate([np.repeat(rid, self.dim), rid, np.repeat(rid, self.dim), rid])
        cols = np.concatenate([xa.ravel(), pa, xb.ravel(), pb])
        vals = np.concatenate([Vt.ravel(), -np.ones(K), -Vt.ravel(), np.ones(K)])
        return coo_block("IC", self.n_vars, rows, cols, vals, K, 0.0, INF)

    def tables(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = np.clip(x[: self.NX], 0.0, 1.0).reshape(*self.shape, self.n, self.dim)
        P = x[self.NX : self.NX + self.NP].reshape(*self.shape, self.n)
        return X, P

    def ic_gains(self, x: np.ndarray, i: int, chunk: int = 4_000_000) -> tuple[np.ndarray, bool]:
        """Bidder i's gain from each misreport: ``(T, T)`` in the interim form (Bayesian IC or
        one bidder), else ``(T, T, R_-i)``.  Second value: whether the form is interim."""
        v = self.views[i]
        X = x[: self.NX].reshape(self.R, self.n, self.dim)
        P = x[self.NX : self.NX + self.NP].reshape(self.R, self.n)
        A = X[v.prof, i, :]  # (T, Rm, dim)
        Pi = P[v.prof, i]  # (T, Rm)
        T, Rm = Pi.shape
        if self.ic_mode == "bayesian" or Rm == 1:
            Q = np.einsum("trd,r->td", A, v.w)
            PP = Pi @ v.w
            U = v.V @ Q.T - PP[None, :]
            return U - np.diag(U)[:, None], True
        own = np.einsum("td,trd->tr", v.V, A) - Pi
        out = np.empty((T, T, Rm))
        step = max(1, chunk // max(1, T * Rm))
        for a in range(0, T, step):
            out[a : a + step] = np.einsum("td,srd->tsr", v.V[a : a + step], A) - Pi[None] - own[a : a + step, None, :]
        return out, False


def extra_stats(prog: AuctionProgram) -> dict[str, Any]:
    return {
        "types": list(prog.shape),
        "profiles": prog.R,
        "all_pairs_ic_constraints": prog.all_pairs_ic(),
        "ic_mode": prog.ic_mode,
        "ir_mode": prog.ir_mode,
    }


class AuctionIC:
    """The IC family of an ``AuctionProgram`` for ``run_generation``."""

    def __init__(self, prog: AuctionProgram, *, working_set: str = "adjacent", cuts_per_type: int = 3) -> None:
        self.prog = prog
        self.working_set = working_set
        self.k = cuts_per_type
        self.masks: list[np.ndarray] = []
        for v in prog.views:
            T, Rm = v.prof.shape
            interim = prog.ic_mode == "bayesian" or Rm == 1
            self.masks.append(np.zeros((T, T) if interim else (T, T, Rm), bool))

    def _rows(self, i: int, idx: tuple[np.ndarray, ...]) -> RowBlock:
        t, s = idx[0], idx[1]
        r = idx[2] if len(idx) == 3 else None
        if r is None and not self.prog.interim and self.prog.n > 1:
            raise AssertionError("interim IC rows need interim variables")
        if r is None and self.prog.n == 1:
            r = np.zeros(len(t), np.int64)
        return self.prog.ic_rows(i, t, s, r)

    def initial(self) -> list[RowBlock]:
        if self.prog.ic_mode is None:
            return []
        out = []
        for i, (v, mask) in enumerate(zip(self.prog.views, self.masks, strict=False)):
            T = len(v.probs)
            if self.working_set == "all":
                mask[:] = True
                mask[np.arange(T), np.arange(T)] = False
            else:
                nb = v.neighbours
                mask[nb[:, 0], nb[:, 1]] = True
            idx = np.nonzero(mask)
            if len(idx[0]):
                out.append(self._rows(i, idx))
        return out

    def separate(self, x: np.ndarray, tol: float) -> tuple[list[RowBlock], int, float]:
        if self.prog.ic_mode is None:
            return [], 0, 0.0
        blocks, n_viol, worst = [], 0, 0.0
        for i, mask in enumerate(self.masks):
            gain, _ = self.prog.ic_gains(x, i)
            T = gain.shape[0]
            gain[np.arange(T), np.arange(T)] = -np.inf
            worst = max(worst, float(gain.max(initial=-np.inf)))
            n_viol += int(((gain > tol) & ~mask).sum())
            idx = top_k_new(gain, mask, tol, self.k, axis=1)
            if len(idx[0]):
                blocks.append(self._rows(i, idx))
        return blocks, n_viol, max(worst, 0.0)

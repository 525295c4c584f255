"""The exact backend's program as a cvxpy problem (``auctionc export --to cvxpy``).

``compile`` solves the LP (or MILP) by constraint generation, adding IC rows as they are
violated.  The export writes the whole program out instead, every IC row over all pairs of
types (and every deviation map, for data markets), so that a researcher can add constraints
and solve it with any installed cvxpy solver; ``Exported.decode`` turns the solved values
back into the same artifact ``compile`` builds, which the same verifier checks.

Variables are the model's named groups (``allocations``, ``payments`` and, with Bayesian IC
or interim IR, ``interim``; ``experiments`` and ``prices`` for markets), flat vectors laid
out as ``layout`` says.  Each family of rows (``feasibility``, ``IR``, ``IC``,
``obedience``, ...) becomes at most three vectorised constraints (equalities, lower and upper
bounds); the variables' bounds are the family ``bounds``.
"""

from __future__ import annotations

import functools
import operator
import re
from typing import TYPE_CHECKING, Any

import cvxpy as cp
import numpy as np
import scipy.sparse as sp
from auctionc.diagnostics import Diagnostic
from auctionc.errors import BackendError
from auctionc.plugins import CompileResult, Exported

if TYPE_CHECKING:
    from auctionc.backends.exact.common import ExactBackend
    from auctionc.backends.exact.model import LinearModel

MAX_EXPORT_ROWS = 2_000_000
"""IC rows over all pairs above which the export refuses: cvxpy keeps several copies of the
constraint matrix while it canonicalises, and ``compile``'s constraint generation needs only
the rows that bind."""


_SHORT = {"interim allocations and payments": "interim"}


def _ident(group: str) -> str:
    """A variable group's name as a Python identifier."""
    return _SHORT.get(group, re.sub(r"\W+", "_", group))


def model_to_cvxpy(model: LinearModel) -> tuple[cp.Problem, dict[str, list[Any]], dict[str, cp.Variable]]:
    """``maximize cost @ x`` over the model's rows and bounds, one cvxpy variable per named
    variable group: ``(problem, constraints by family, variables by name)``."""
    groups = sorted(model.var_groups.items(), key=lambda kv: kv[1][0])
    starts = [a for _, (a, _) in groups] + [model.n_vars]
    assert starts[0] == 0 and all(b == starts[k + 1] for k, (_, (_, b)) in enumerate(groups)), "groups must tile x"
    integer = model.integer if model.integer is not None else np.zeros(model.n_vars, bool)
    variables: dict[str, cp.Variable] = {}
    spans: list[tuple[int, int, cp.Variable]] = []
    for name, (a, b) in groups:
        ints = integer[a:b]
        if ints.any() and not ints.all():
            raise ValueError(f"variable group {name} is partly integer")
        var = cp.Variable(b - a, name=_ident(name), integer=bool(ints.all()))
        variables[_ident(name)] = var
        spans.append((a, b, var))

    def times(A: sp.csr_matrix) -> Any:
        parts = [A[:, a:b] @ var for a, b, var in spans if A[:, a:b].nnz]
        return functools.reduce(operator.add, parts)

    families: dict[str, list[Any]] = {}
    by_family: dict[str, list] = {}
    for block in model.blocks:
        by_family.setdefault(block.family, []).append(block)
    for family, blocks in by_family.items():
        A = sp.vstack([b.A for b in blocks]).tocsr()
        lo = np.concatenate([b.lo for b in blocks])
        hi = np.concatenate([b.hi for b in blocks])
        eq = np.isfinite(lo) & (lo == hi)
        cons = []
        if eq.any():
            cons.append(times(A[eq]) == lo[eq])
        low = np.isfinite(lo) & ~eq
        if low.any():
            cons.append(times(A[low]) >= lo[low])
        up = np.isfinite(hi) & ~eq
        if up.any():
            cons.append(times(A[up]) <= hi[up])
        families[family] = cons
    bounds = []
    for a, b, var in spans:
        for vals, side in ((model.lb[a:b], operator.ge), (model.ub[a:b], operator.le)):
            fin = np.isfinite(vals)
            if fin.all():
                bounds.append(side(var, vals))
            elif fin.any():
                idx = np.flatnonzero(fin)
                bounds.append(side(var[idx], vals[idx]))
    families["bounds"] = bounds
    objective = functools.reduce(operator.add, [model.cost[a:b] @ var for a, b, var in spans if model.cost[a:b].any()])
    problem = cp.Problem(cp.Maximize(objective), [c for cons in families.values() for c in cons])
    return problem, families, variables


def _too_big(backend: ExactBackend, rows: int) -> BackendError:
    return BackendError(Diagnostic(
        "E0710",
        f"the exact model is too big to export with every IC row: {rows:,} rows over all pairs (limit {MAX_EXPORT_ROWS:,})",
        help=f"lower the grid (`-o grid=N`), or use `auctionc compile` with {backend.name}, which adds IC rows only as they bind",
    ))


def export_cvxpy(backend: ExactBackend, spec: Any, opts: dict[str, Any]) -> Exported:
    """The program for ``spec`` with every IC row, as an ``Exported`` cvxpy problem."""
    from auctionc.backends.exact.model import stats_of

    if spec.kind == "market":
        from auctionc.backends.exact.market import lower_market, market_mechanism

        prog, model, family = lower_market(spec, opts, "all")
        n_ic = prog.T * (prog.T - 1) * len(prog.maps) if spec.requires("IC") else 0
        layout = {
            "experiments": f"experiments[(t * {prog.A} + a) * {prog.S} + s] = P(recommend action a | state s) "
                           f"offered to type t; actions {list(spec.buyers[0].actions)}, states {list(spec.states)}, "
                           f"type points {np.round(prog.types.points, 6).tolist()}",
            "prices": "prices[t]: the price type t pays",
        }

        def artifact(x: np.ndarray) -> tuple[Any, dict[str, Any]]:
            return market_mechanism(spec, prog, x, opts)
    else:
        prog, model, family = backend.lower_auction(spec, opts, "all")
        n_ic = prog.all_pairs_ic()
        what = "bundle (bitmask)" if prog.bundles else "item"
        layout = {
            "allocations": f"allocations[(r * {prog.n} + i) * {prog.dim} + d]: the probability that bidder i gets "
                           f"{what} d at type profile r (C order over the bidders' type counts {list(prog.shape)})",
            "payments": f"payments[r * {prog.n} + i]: bidder i's payment at type profile r",
        }
        if prog.interim:
            layout["interim"] = (f"per bidder i in turn, per type s: {prog.dim} interim allocations, then the interim "
                                 "payment (expectations over the others' types)")

        def artifact(x: np.ndarray) -> tuple[Any, dict[str, Any]]:
            mech, _table, cert = backend.auction_mechanism(spec, prog, x, opts)
            return mech, cert
    if n_ic > MAX_EXPORT_ROWS:
        raise _too_big(backend, n_ic)
    for block in family.initial():
        model.add(block)
    problem, families, variables = model_to_cvxpy(model)
    grid = opts["grid"] or None

    def decode() -> CompileResult:
        x = np.concatenate([np.asarray(v.value, float).ravel() for v in variables.values()])
        mech, cert = artifact(x)
        stats = {**stats_of(model), "grid": grid, "objective": float(model.cost @ x),
                 "ic_rows": "every pair (exported; no constraint generation)", "deterministic": backend.deterministic}
        return CompileResult(mechanism=mech, stats=stats, claim=cert)

    return Exported(program=problem, families=families, variables=variables, layout=layout, decode=decode)

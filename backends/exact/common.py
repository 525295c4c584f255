"""The shared body of the ``lp`` and ``milp`` backends: acceptance with size estimates,
lowering to a sparse model, constraint generation, artifacts and certificates.

Heavy solver modules (highspy, pulp) are imported only inside ``compile``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from auctionc import ir
from auctionc.diagnostics import Diagnostic
from auctionc.errors import BackendError
from auctionc.mechanism.table import DISCRETISATION_RULE, OFF_GRID_RULE, UnsupportedPrior, bidder_type_count
from auctionc.plugins import Backend, CompileResult, Exported, OptionSpec, RunContext, Verdict

EXACT_OPTIONS: dict[str, OptionSpec] = {
    "grid": OptionSpec(int, 0, "cells per continuous prior (midpoint of N equal-width cells); 0: priors must be finite", min=0),
    "working_set": OptionSpec(str, "adjacent", "IC rows to start from: adjacent types, or all pairs", choices=("adjacent", "all")),
    "cuts_per_type": OptionSpec(int, 3, "violated misreports added per type and round", min=1),
    "max_rounds": OptionSpec(int, 100, "constraint-generation rounds before giving up", min=1),
    "tol": OptionSpec(float, 1e-9, "IC violation above which a pair is added", min=0.0),
    "time_limit": OptionSpec(float, 0.0, "seconds for the whole solve (0: none)", min=0.0),
    "max_variables": OptionSpec(int, 5_000_000, "refuse models with more variables than this", min=1, limit=True),
}


def _fmt(n: int) -> str:
    return f"{n:,}"


class ExactBackend(Backend):
    """Common body; subclasses set ``name``, ``capabilities`` and ``deterministic``."""

    deterministic: ClassVar[bool] = False
    options: ClassVar[dict[str, OptionSpec]] = EXACT_OPTIONS
    codes: ClassVar[dict[str, str]] = {
        "E0610": "the exact backend needs finite priors or a grid, or has nothing to maximise",
        "E0611": "the exact backend does not support this kind of spec",
        "E0710": "the exact model is too big (types, variables, constraints named)",
        "E0711": "the exact model is infeasible (the constraint families at fault named)",
        "E0712": "the exact model is unbounded (the missing constraint family named)",
        "E0713": "the solver stopped with a non-optimal status",
        "E0714": "constraint generation did not converge",
    }
    exports: ClassVar[tuple[str, ...]] = ("cvxpy",)

    # ---------------------------------------------------------------- accepts

    def _grid_hint(self, spec: Any, what: str) -> str:
        return f"add `solve with {self.name}(grid = 20)` or use `menu`"

    def _size(self, spec: Any, grid: int | None) -> tuple[list[int], int, int]:
        """Types per bidder, variables and all-pairs IC constraints, without building."""
        from auctionc.valuation import outcome_dim

        types = [bidder_type_count(spec, i, grid) for i in range(spec.n_bidders)]
        dim = outcome_dim(spec)
        R = int(np.prod(types, dtype=object))
        n = spec.n_bidders
        nv = R * n * (dim + 1)
        ic = spec.requirement("IC")
        pairs = 0
        if ic is not None:
            for t in types:
                rest = R // t
                pairs += t * (t - 1) * (rest if (ic.mode == "dominant" or n == 1) else 1)
        return types, nv, pairs

    def refusal(self, spec: Any, grid: int | None, max_variables: int) -> tuple[str, str, str] | None:
        """(code, reason, hint) when the spec cannot be taken; None when it can."""
        if spec.objective is None:
            return ("E0610", f"backend {self.name} designs mechanisms and this spec has nothing to maximise",
                    "add `maximize revenue` (or welfare)")
        if self.deterministic and not spec.requires("deterministic"):
            return ("E0610", f"backend {self.name} solves deterministic designs and this spec does not require one",
                    "add `require deterministic`, or use `lp` for randomised mechanisms")
        if grid is not None and grid > max_variables:
            # every cell of the grid is a type with at least one variable: refuse before any
            # type space is built (a grid of 10^12 cells would be allocated first)
            return ("E0710",
                    f"a grid of {_fmt(grid)} cells makes at least {_fmt(grid)} variables for backend {self.name} "
                    f"(limit {_fmt(max_variables)})",
                    f"lower the grid (`solve with {self.name}(grid = 20)`) or raise `max_variables`")
        if spec.kind == "market":
            return self._market_refusal(spec, grid)
        kinds = spec.valuation_kinds
        if "xor" in kinds and len(kinds) > 1:
            return ("E0611", f"backend {self.name} cannot mix xor with {', '.join(sorted(kinds - {'xor'}))} valuations",
                    "give every bidder xor bids, or none")
        if "xor" in kinds:
            from auctionc.valuation import MAX_BUNDLE_ITEMS

            if spec.n_items > MAX_BUNDLE_ITEMS:
                return ("E0611", f"backend {self.name} holds xor valuations over at most {MAX_BUNDLE_ITEMS} items, not {spec.n_items}",
                        "use `bundleflow` for large combinatorial auctions")
        for i in range(spec.n_bidders):
            try:
                self._check_bidder(spec, i, grid)
            except UnsupportedPrior as e:
                if e.needs_grid:
                    items = f"{spec.n_items} item" + ("s" if spec.n_items != 1 else "")
                    return ("E0610", f"backend {self.name} cannot take continuous priors for {items}: {e}",
                            self._grid_hint(spec, items))
                return ("E0611", f"backend {self.name} cannot take this spec: {e}", "use `menu` or a simulation")
        types, nv, pairs = self._size(spec, grid)
        if nv > max_variables:
            tx = " x ".join(_fmt(t) for t in types)
            return ("E0710",
                    f"the type space is too big for backend {self.name}: {tx} types make {_fmt(nv)} variables "
                    f"(limit {_fmt(max_variables)}) and {_fmt(pairs)} IC constraints over all pairs",
                    f"lower the grid (`solve with {self.name}(grid = {max(2, (grid or 10) // 2)})`), raise `max_variables`, or use `menu`")
        return None

    def _check_bidder(self, spec: ir.AuctionSpec, i: int, grid: int | None) -> None:
        from auctionc.mechanism.table import _item_exprs, expr_atoms

        b = spec.bidders[i]
        where = f"bidders.{b.name}.valuation"
        if b.signal is not None:
            raise UnsupportedPrior(f"bidder {b.name} observes a signal, not its value; the exact backend takes private values",
                                   bidder=b.name, where=where)
        v = b.valuation
        exprs = [bid.value for bid in v.bids] if isinstance(v, ir.Xor) else _item_exprs(v)
        for e in exprs:
            for t in e.terms:  # cheap: no convolution, only the kind of each term
                if isinstance(t, ir.CommonRef):
                    expr_atoms(e, grid, bidder=b.name, where=where)
                if isinstance(t, ir.Draw) and not grid:
                    from auctionc import distributions as D

                    if D.atoms(t.dist) is None:
                        raise UnsupportedPrior(f"bidder {b.name} has a continuous prior {D.describe(t.dist)}",
                                               bidder=b.name, where=where, needs_grid=True)

    def _market_refusal(self, spec: ir.MarketSpec, grid: int | None) -> tuple[str, str, str] | None:
        from auctionc.mechanism.datamarket import market_types

        if spec.n_bidders != 1:
            return ("E0611", f"backend {self.name} sells experiments to one buyer, not {spec.n_bidders}",
                    "use `solve with menu`: a learned network of experiments for several buyers")
        try:
            market_types(spec, grid)
        except UnsupportedPrior as e:
            if e.needs_grid:
                return ("E0610", f"backend {self.name} cannot take continuous type priors: {e}",
                        self._grid_hint(spec, "types"))
            return ("E0611", f"backend {self.name} cannot take this market: {e}", "")
        return None

    def accepts(self, spec: Any, options: dict[str, Any]) -> Verdict:
        v = self.check_capabilities(spec)
        if v is not None:
            return v
        grid = options["grid"] or None
        ref = self.refusal(spec, grid, options["max_variables"])
        if ref is not None:
            return Verdict.no(ref[1], ref[2], code=ref[0])
        why = "a finite type space" if grid is None else f"priors discretised on a {grid}-cell grid"
        return Verdict.yes(score=10.0, why=f"exact {'MILP' if self.deterministic else 'LP'} over {why}")

    # ---------------------------------------------------------------- compile

    def compile(self, spec: Any, options: dict[str, Any], ctx: RunContext) -> CompileResult:
        if spec.kind == "market":
            from auctionc.backends.exact.market import compile_market

            return compile_market(self, spec, options, ctx)
        return self._compile_auction(spec, options, ctx)

    def lower_auction(self, spec: ir.AuctionSpec, opts: dict[str, Any], working_set: str) -> tuple[Any, Any, Any]:
        """The auction's program: ``(AuctionProgram, LinearModel without IC rows, AuctionIC)``;
        the IC family starts from ``working_set`` (``"adjacent"`` or ``"all"``)."""
        from auctionc.backends.exact.auction import AuctionIC, AuctionProgram
        from auctionc.mechanism.table import type_spaces

        spaces = type_spaces(spec, opts["grid"] or None)
        prog = AuctionProgram(spec, spaces, deterministic=self.deterministic)
        model = prog.build(spec.objective)
        return prog, model, AuctionIC(prog, working_set=working_set, cuts_per_type=opts["cuts_per_type"])

    def auction_mechanism(self, spec: ir.AuctionSpec, prog: Any, x: np.ndarray, opts: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
        """The artifact of a solution ``x`` of the program: ``(mechanism, its table over the
        finite type space, the exact check of that table)``.  One bidder gets a menu (its
        types' outcomes plus the null element), several a table."""
        from auctionc.mechanism.menu import MenuMechanism
        from auctionc.mechanism.table import TableMechanism
        from auctionc.valuation import outcome_space

        spaces = prog.spaces
        grid = opts["grid"] or None
        X, P = prog.tables(x)
        if self.deterministic:
            X = np.round(X)
        names = [b.name for b in spec.bidders]
        space = outcome_space(spec)
        table = TableMechanism([s.values for s in spaces], [s.probs for s in spaces], X, P,
                               outcome_space=space, grids=[s.grids for s in spaces], bidder_names=names)
        if spec.n_bidders == 1:
            null = np.zeros((1, prog.dim))
            labels = [f"type {np.round(v, 6).tolist()}" for v in spaces[0].values] + ["null"]
            mech = MenuMechanism(np.concatenate([X[:, 0, :], null]), np.concatenate([P[:, 0], [0.0]]),
                                 outcome_space=space, labels=labels)
            # the claim is computed on the menu as it will be evaluated: each type takes the
            # element the menu's argmax rule picks
            table = TableMechanism.from_menu(mech, spaces[0], names)
        else:
            mech = table
        cert = table.exact_check(spec, grid)
        cert["kind"] = "exact_by_enumeration"
        cert["tolerance"] = opts["tol"]
        return mech, table, cert

    def export(self, spec: Any, options: dict[str, Any], target: str) -> Exported:
        """The LP (MILP) with every IC row as a cvxpy problem (``backends/exact/cvxpy_export.py``)."""
        from auctionc.backends.exact.cvxpy_export import export_cvxpy

        assert target in self.exports, target
        return export_cvxpy(self, spec, options)

    def _compile_auction(self, spec: ir.AuctionSpec, opts: dict[str, Any], ctx: RunContext) -> CompileResult:
        from auctionc.backends.exact.auction import extra_stats
        from auctionc.backends.exact.generation import run_generation, solve_stats

        t0 = time.perf_counter()
        grid = opts["grid"] or None
        prog, model, family = self.lower_auction(spec, opts, opts["working_set"])
        spaces = prog.spaces
        build_s = time.perf_counter() - t0
        milp_solver = None
        if self.deterministic:
            milp_solver = opts.get("solver", "cbc")
        res, log = run_generation(model, family, tol=opts["tol"], max_rounds=opts["max_rounds"],
                                  time_limit=opts["time_limit"], milp_solver=milp_solver,
                                  progress=ctx.progress, label=self.name)
        stats: dict[str, Any] = {
            **solve_stats(model, log, res, build_s),
            **extra_stats(prog),
            "grid": grid,
            "discretisation": DISCRETISATION_RULE if any(s.discretised for s in spaces) else "finite priors as given",
            "off_grid_rule": OFF_GRID_RULE,
            "deterministic": self.deterministic,
        }
        self._raise_on_status(spec, model, res, stats)
        if not log.converged:
            raise _backend_error(
                "E0714",
                f"constraint generation did not converge in {log.rounds} rounds: {log.per_round[-1]['violated_pairs']} IC pairs "
                f"still violated (max {log.max_violation:.2e})",
                f"raise `max_rounds` or `cuts_per_type`, or use `solve with {self.name}(working_set = \"all\")`",
                stats,
            )
        stats["objective"] = res.objective
        stats["total_seconds"] = round(time.perf_counter() - t0, 4)
        mech, table, cert = self.auction_mechanism(spec, prog, res.x, opts)
        files: dict[str, str] = {}
        if ctx.out_dir is not None and spec.n_bidders == 1:
            path = table.save(Path(ctx.out_dir) / "finite_types")
            files["finite_types"] = str(path)
        sections = [("Exact solve", _section(stats, cert))]
        return CompileResult(mechanism=mech, stats=stats, claim=cert, report_sections=sections, files=files)

    def _raise_on_status(self, spec: Any, model: Any, res: Any, stats: dict[str, Any]) -> None:
        from auctionc.backends.exact.model import blame_infeasible, unbounded_groups

        if res.status == "optimal" and res.x is not None:
            return
        if res.status == "infeasible":
            fams = blame_infeasible(model, candidates=sorted(model.family_counts()))
            culprit = ", ".join(fams) if fams else "the combination of " + ", ".join(sorted(model.family_counts()))
            raise _backend_error("E0711", f"the {self.name} model is infeasible: the {culprit} constraints cannot all hold",
                                 "check the requirements; IC, IR and feasibility together always admit the empty mechanism", stats)
        if res.status == "unbounded":
            groups = unbounded_groups(model)
            what = " and ".join(groups) if groups else "the objective"
            hint = ("add `require IR`: without it nothing bounds payments" if "payments" in groups or "prices" in groups
                    else "check the objective's weights")
            missing = "IR" if not spec.requires("IR") else "IC"
            raise _backend_error("E0712", f"the {self.name} model is unbounded: {what} grow without limit because the "
                                 f"{missing} family is absent", hint, stats)
        raise _backend_error("E0713", f"the solver stopped without an optimum (status: {res.status})",
                             "raise `time_limit` or lower the grid", stats)


def _backend_error(code: str, message: str, hint: str, stats: dict[str, Any]) -> BackendError:
    notes = tuple(f"{k}: {stats[k]}" for k in ("variables", "constraints", "rounds", "solve_seconds", "solver", "solver_status")
                  if k in stats)
    err = BackendError(Diagnostic(code, message, help=hint, notes=notes))
    err.stats = stats  # type: ignore[attr-defined]  # the partial statistics, for the report
    return err


def _section(stats: dict[str, Any], cert: dict[str, Any]) -> str:
    lines = [
        "| quantity | value |",
        "|---|---|",
        f"| types | {' x '.join(str(t) for t in stats.get('types', []))} |",
        f"| variables | {stats['variables']:,} |",
        f"| constraints (final) | {stats['constraints']:,} |",
        f"| IC constraints over all pairs | {stats.get('all_pairs_ic_constraints', 0):,} |",
        f"| constraint-generation rounds | {stats['rounds']} |",
        f"| solve seconds | {stats['solve_seconds']} |",
        f"| solver | {stats['solver']} ({stats['solver_status']}) |",
        f"| max IC violation (enumeration) | {cert['max_ic_violation']:.2e} |",
        f"| revenue (exact) | {cert['revenue']:.6f} |",
    ]
    return "\n".join(lines)

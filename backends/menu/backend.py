"""The ``menu`` backend: RochetNet for one bidder, GemNet for two or more.

This module must stay light: ``auctionc plan`` imports it to ask ``accepts``, so torch,
scipy and matplotlib are imported inside ``compile`` only.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auctionc.diagnostics import Diagnostic
from auctionc.errors import BackendError, PlanError
from auctionc.plugins import Backend, Capabilities, CompileResult, OptionSpec, RunContext, Verdict

if TYPE_CHECKING:
    from auctionc.plugins.interface import Spec

MAX_XOR_ITEMS = 6
"""XOR menus are distributions over all 2**m bundles; past 64 bundles BundleFlow is the tool."""
MAX_GEMNET_ITEMS = 3
CERTIFIABLE_BIDDERS = 3
ARCHITECTURES = ("gemnet", "lottery_ama", "experiments", "experiment_network")
MARKET_ARCHITECTURES = ("experiments", "experiment_network")

E_REFUSED = "E0730"
E_DIVERGED = "E0731"
E_DEVICE = "E0732"


class MenuBackend(Backend):
    name = "menu"
    summary = (
        "menu networks: RochetNet (one bidder, exact IC/IR by construction), GemNet "
        "(several bidders, exact SP by a certified menu-compatibility transform), lottery "
        "affine maximizers (architecture = \"lottery_ama\", exact SP by construction); for data "
        "markets a menu of experiments (one buyer, IC/IR/obedience by construction) and a network "
        "of experiments for several buyers with an externality (regret penalised, estimated)"
    )
    capabilities = Capabilities(
        spec_kinds=frozenset({"auction", "market"}),
        valuations=frozenset({"additive", "unit_demand", "single", "xor"}),
        constraints=frozenset({"IC", "IR", "obedience"}),
        objectives=frozenset({"revenue"}),
        min_bidders=1,
        max_bidders=None,
        method="learned",
    )
    options = {
        "architecture": OptionSpec(str, None, "auctions: 'gemnet' (the default: RochetNet for one bidder; for "
                                   "several, menu networks of the others' bids, certified compatible by a transform "
                                   "after training) or 'lottery_ama' (a learned affine maximizer over lottery outcomes: "
                                   "compatible, hence exactly strategy-proof, by construction); data markets: "
                                   "'experiments' (the default for one buyer: a menu of experiments, IC, IR and "
                                   "obedience by construction) or 'experiment_network' (the default for several "
                                   "buyers: experiments and payments from the reported profile, regret and "
                                   "disobedience penalised by augmented Lagrangian multipliers)",
                                   choices=ARCHITECTURES),
        "size": OptionSpec(int, None, "menu elements per bidder (default 200 for one bidder, "
                           "4 for one item and 8 per item for GemNet; outcomes of a lottery AMA, "
                           "default 64, more for many items: 3x10 reaches 5.28 with 256, 5.17 with 64)", min=1, max=100_000),
        "steps": OptionSpec(int, None, "training steps (default 2000 for RochetNet, 3000 for GemNet, "
                            "8000 for a lottery AMA, 2000 for a menu of experiments, 1500 for a market network)",
                            min=1),
        "batch": OptionSpec(int, 1024, "value profiles per training step", min=1),
        "lr": OptionSpec(float, 1e-2, "Adam learning rate (decays to a tenth over the run)", min=0.0),
        "temperature": OptionSpec(float, None, "initial softmax temperature of the relaxed choice, "
                                  "in units of the largest value (default 0.05; 0.01 for a lottery AMA)",
                                  min=1e-9),
        "temperature_final": OptionSpec(float, None, "final softmax temperature (default 0.002; 0.0003 "
                                        "for a lottery AMA)", min=1e-9),
        "schedule": OptionSpec(str, "geometric", "temperature schedule", choices=("geometric", "linear", "constant")),
        "checkpoint_every": OptionSpec(int, 500, "steps between checkpoints under out_dir (0: none)", min=0),
        "patience": OptionSpec(int, 0, "stop when the smoothed revenue has not improved for this "
                               "many steps after annealing (0: never)", min=0),
        "test_samples": OptionSpec(int, 200_000, "fresh profiles for the argmax test revenue", min=1000),
        "hidden": OptionSpec(int, 32, "GemNet: hidden units per layer", min=1),
        "layers": OptionSpec(int, 2, "GemNet: hidden layers", min=1, max=8),
        "penalty": OptionSpec(float, None, "GemNet: initial weight of the over-allocation penalty (default 0.3); "
                              "experiment_network: initial weight rho of the augmented Lagrangian's quadratic term "
                              "(default 10)", min=1e-9),
        "penalty_final": OptionSpec(float, None, "GemNet: final weight of the over-allocation penalty (default 3); "
                                    "experiment_network: final rho (default 1000, reached geometrically)", min=1e-9),
        "grid": OptionSpec(int, None, "GemNet: certification grid cells per value coordinate "
                           "(default: about 200,000 profile cells; at most 160,000 for surcharge); experiments: "
                           "train and test on the type prior discretised on this many cells per coordinate (the "
                           "lp backend's rule, for a like-for-like comparison; default: the continuous prior)", min=2),
        "certify": OptionSpec(bool, True, "GemNet: run the price transform and certify compatibility"),
        "milp_time_limit": OptionSpec(float, 120.0, "GemNet: seconds for the transform's LP or MILPs", min=1.0),
        "transform": OptionSpec(str, "cells", "GemNet: the compatibility transform: 'cells' (menus constant "
                                "on the cells of the others' grid, every cell checked exactly, conflicts "
                                "repaired by surcharges and trims, the rest scaled by an LP; its cost grows "
                                "with size squared), 'scale' (continuous menus scaled by factors of the others' "
                                "grid cell, an LP after adaptive refinement) or 'surcharge' (continuous menus, "
                                "price surcharges by a MILP on a uniform grid)",
                                choices=("cells", "scale", "surcharge")),
        "cell_depth": OptionSpec(int, 3, "GemNet (cells): times an own cell of a failing profile cell is "
                                 "bisected along every coordinate to enclose the possible choices", min=0, max=8),
        "refine_budget": OptionSpec(int, 1_000_000, "GemNet (scale): boxes the adaptive refinement of the "
                                    "certification grid may check", min=0),
        "tail_mass": OptionSpec(float, 1e-6, "GemNet (scale): probability above the cap where an "
                                "unbounded prior's tail cell begins", min=1e-15, max=0.5),
        "margin": OptionSpec(float, 0.01, "GemNet (scale): per-unit surcharge, as a fraction of the value "
                             "scale, that opens a gap between the bidders' choice boundaries", min=0.0),
        "slack": OptionSpec(float, 0.001, "GemNet (scale): every menu is scaled by at most 1/(1+slack), so "
                            "boxes over-allocating by at most slack need no refinement", min=0.0, max=1.0),
        "misreports": OptionSpec(int, 32, "experiment_network: misreports tried per profile and buyer at each "
                                 "training step (drawn from the prior; the best one is penalised)", min=1, max=4096),
        "multiplier_every": OptionSpec(int, 50, "experiment_network: steps between updates of the Lagrange "
                                       "multipliers (w += rho * violation)", min=1),
        "clipped_head": OptionSpec(bool, True, "GemNet: additive allocations clip((1.02 sigmoid - 0.01), "
                                   "0, 1), which reach exact 0 and 1 (a plain sigmoid cannot be certified)"),
    }
    codes = {
        E_REFUSED: "the menu backend cannot take this spec",
        E_DIVERGED: "menu-network training diverged",
        E_DEVICE: "the requested torch device is not available",
    }

    # ---------------------------------------------------------------- accepts

    def accepts(self, spec: Spec, options: dict[str, Any]) -> Verdict:
        if spec.kind == "market":
            from auctionc.backends.menu.markets.market_accepts import accepts_market

            return accepts_market(spec, options["architecture"], E_REFUSED)
        return self._accepts(spec, options["architecture"])

    def resolve_options(self, spec: Spec, options: dict[str, Any]) -> dict[str, Any]:
        opts = _with_defaults(spec, options)
        if opts["temperature_final"] > opts["temperature"] and opts["schedule"] != "constant":
            raise PlanError(Diagnostic(
                "E0604",
                f"option 'temperature_final' of backend menu ({opts['temperature_final']:g}) must not "
                f"exceed 'temperature' ({opts['temperature']:g})",
                help="the relaxed choice sharpens during training: start warm, end cold",
                where="solve.options.temperature_final",
            ).with_span(spec))
        if (spec.kind == "auction" and spec.n_bidders > 1 and opts["architecture"] == "gemnet"
                and opts["transform"] == "cells" and opts["certify"]):
            _check_cells_work(spec, opts)
        return opts

    def _accepts(self, spec: Spec, architecture: str) -> Verdict:
        if architecture in MARKET_ARCHITECTURES:
            return Verdict.no(
                f"architecture = \"{architecture}\" of backend menu sells experiments in data markets, not auctions",
                "use architecture = \"gemnet\" or \"lottery_ama\" for auctions", code=E_REFUSED)
        kinds = spec.valuation_kinds
        if "cats" in kinds:
            return Verdict.no(
                "backend menu cannot take CATS valuations (menus over every bundle of many items)",
                "use `solve with bundleflow` for CATS valuations", code=E_REFUSED)
        if spec.designs and spec.requires("deterministic"):
            return Verdict.no(
                "backend menu learns lotteries and cannot enforce deterministic",
                "use `solve with milp` for deterministic mechanisms", code=E_REFUSED)
        base = self.check_capabilities(spec)
        if base is not None:
            return base
        if any(b.signal is not None for b in spec.bidders):
            return Verdict.no(
                "backend menu needs bidders who know their values; this spec has signals",
                "interdependent values are simulated (`simulate`) or solved with `lp` on a grid", code=E_REFUSED)
        n, m = spec.n_bidders, spec.n_items
        if architecture == "lottery_ama":
            if "xor" in kinds:
                return Verdict.no(
                    "a lottery AMA of backend menu takes additive and unit-demand bidders, not xor",
                    "use architecture = \"gemnet\" (RochetNet) for one xor bidder, or `lp` on a grid", code=E_REFUSED)
            return Verdict.yes(0.4, "lottery AMA: an affine maximizer over learned lottery outcomes, "
                               "exactly strategy-proof by construction")
        if "xor" in kinds:
            if n > 1:
                return Verdict.no(
                    "backend menu takes xor valuations for one bidder only",
                    "GemNet menus here cover additive and unit-demand bidders; use `lp` on a grid", code=E_REFUSED)
            if m > MAX_XOR_ITEMS:
                return Verdict.no(
                    f"backend menu takes xor valuations over at most {MAX_XOR_ITEMS} items, not {m}",
                    "use `solve with bundleflow` for larger combinatorial valuations", code=E_REFUSED)
        if n == 1:
            return Verdict.yes(0.5, "RochetNet: one bidder, a menu with a null element is IC and IR by construction")
        if m > MAX_GEMNET_ITEMS:
            return Verdict.no(
                f"backend menu (GemNet) takes at most {MAX_GEMNET_ITEMS} items with several bidders, not {m}",
                "use `lp` on a coarse grid, or reduce the items", code=E_REFUSED)
        why = "GemNet: menus from the others' bids, certified compatible by a price transform"
        if n > CERTIFIABLE_BIDDERS:
            why += (f"; with {n} bidders the certification grid is coarse and may fail, in which case "
                    "the result is reported as estimated")
        return Verdict.yes(0.4, why)

    # ---------------------------------------------------------------- compile

    def compile(self, spec: Spec, options: dict[str, Any], ctx: RunContext) -> CompileResult:
        opts = options
        ama = opts["architecture"] == "lottery_ama"
        import torch

        try:
            torch.empty(1, device=ctx.device)
        except (RuntimeError, AssertionError) as e:
            raise BackendError(Diagnostic(
                E_DEVICE, f"device '{ctx.device}' is not available to torch",
                help="run on the CPU (the default) or name a device torch can see", notes=(str(e).splitlines()[0],),
            )) from None
        if ctx.out_dir is not None:
            Path(ctx.out_dir).mkdir(parents=True, exist_ok=True)
        if opts["architecture"] == "experiments":
            from auctionc.backends.menu.markets.experiment_menu import train_experiment_menu

            result = train_experiment_menu(spec, opts, ctx)
        elif opts["architecture"] == "experiment_network":
            from auctionc.backends.menu.markets.externality_net import train_experiment_network

            result = train_experiment_network(spec, opts, ctx)
        elif ama:
            from auctionc.backends.menu.lottery_ama.ama_training import train_ama

            result = train_ama(spec, opts, ctx)
        elif spec.n_bidders == 1:
            from auctionc.backends.menu.rochetnet import train_rochetnet

            result = train_rochetnet(spec, opts, ctx)
        else:
            from auctionc.backends.menu.gemnet.gemnet_training import train_gemnet

            result = train_gemnet(spec, opts, ctx)
        import math

        if not math.isfinite(result.stats.get("test_revenue", float("nan"))):
            raise BackendError(Diagnostic(
                E_DIVERGED, "menu training diverged: the learned menu has non-finite prices",
                help="lower lr or raise temperature_final", where="solve.options.lr",
            ).with_span(spec))
        if ctx.out_dir is not None:
            result.files.update(_write_figures(spec, result, Path(ctx.out_dir)))
        return result


def _with_defaults(spec: Spec, opts: dict[str, Any]) -> dict[str, Any]:
    """Defaults that depend on the architecture and the number of bidders (a lottery AMA
    relaxes an argmax over outcomes whose affine welfares differ by little, so it anneals
    from a colder start; GemNet's menu size depends on the items and is set by its trainer)."""
    if opts["architecture"] is None:
        market = spec.kind == "market"
        opts = {**opts, "architecture": ("experiments" if spec.n_bidders == 1 else "experiment_network") if market
                else "gemnet"}
    if opts["architecture"] in MARKET_ARCHITECTURES:
        from auctionc.backends.menu.markets.market_accepts import MARKET_DEFAULTS

        defaults = MARKET_DEFAULTS[opts["architecture"]]
    elif opts["architecture"] == "lottery_ama":
        defaults = {"temperature": 0.01, "temperature_final": 3e-4, "size": 64, "steps": 8000}
    elif spec.n_bidders == 1:
        defaults = {"temperature": 0.05, "temperature_final": 0.002, "size": 200, "steps": 2000}
    else:
        defaults = {"temperature": 0.05, "temperature_final": 0.002, "steps": 3000}
    if opts["architecture"] not in MARKET_ARCHITECTURES:
        defaults = {**defaults, "penalty": 0.3, "penalty_final": 3.0}
    return {**opts, **{k: v for k, v in defaults.items() if opts.get(k) is None}}


def _write_figures(spec: Spec, result: CompileResult, out: Path) -> dict[str, str]:
    """The menu backend's own figure: two bidders' allocation regions for one item (the
    report draws the training curves and one bidder's allocation for two items)."""
    if spec.kind == "market":
        from auctionc.backends.menu.markets.market_figures import market_figures

        return market_figures(spec, result, out)
    from auctionc.valuation import value_bounds

    if spec.n_bidders == 2 and spec.n_items == 1:
        from auctionc.backends.menu.figures import two_bidder_regions

        path = two_bidder_regions(result.mechanism, value_bounds(spec), out / "allocation_regions.png",
                                  title=f"{spec.name}: GemNet allocation")
        return {"allocation_regions": str(path)}
    return {}


CELLS_WORK_LIMIT = 5e9
"""Element comparisons of the cells check's first pass above which a compile is refused
before training (measured: 2.3e8 take about 20 s on one core, so this is several minutes)."""


def _check_cells_work(spec: Spec, opts: dict[str, Any]) -> None:
    """Refuse, before any training, a cells certification that would run for hours: it compares
    every pair of menu elements on every (menu cell, own cell) pair, (size + 1)^2 per pair."""
    from auctionc.backends.menu.gemnet.edge_grid import default_cells, default_size

    n, m = spec.n_bidders, spec.n_items
    size = opts["size"] or default_size(m)
    grid = opts["grid"] or default_cells(n, m)
    try:
        work = n * float(grid) ** (n * m) * (size + 1) ** 2 * m
    except OverflowError:  # many bidders and items: beyond any float, so beyond the limit
        work = math.inf
    if work > CELLS_WORK_LIMIT:
        raise PlanError(Diagnostic(
            "E0604",
            f"GemNet's cells certification with size = {size} and grid = {grid} would compare about "
            f"{work:.1e} pairs of menu elements, hours of work",
            help=f"lower `size` (default {default_size(m)} here) or `grid` (default {default_cells(n, m)}), "
            "or use transform = \"scale\"",
            where="solve.options",
        ).with_span(spec))

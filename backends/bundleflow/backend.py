"""The ``bundleflow`` backend: single-bidder revenue-optimal menus over bundles for CATS
valuations (Wang, Jiang, Parkes 2025).  Torch is imported only when ``compile`` runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auctionc.diagnostics import Diagnostic
from auctionc.errors import BackendError, SpecError
from auctionc.plugins import Backend, Capabilities, CompileResult, OptionSpec, RunContext, Verdict

if TYPE_CHECKING:
    from auctionc.ir import AuctionSpec

SUPPORTED = ("regions", "arbitrary", "scheduling", "matching")


class BundleFlowBackend(Backend):
    name = "bundleflow"
    summary = "BundleFlow: a flow-based menu of bundle lotteries for one combinatorial (CATS) bidder; IC and IR by construction"
    capabilities = Capabilities(
        valuations=frozenset({"cats"}),
        constraints=frozenset({"IC", "IR"}),
        objectives=frozenset({"revenue"}),
        min_bidders=1,
        max_bidders=1,
        method="learned",
    )
    options = {
        "menu": OptionSpec(int, 512, "number of menu elements (besides the null element)", min=1),
        "support": OptionSpec(int, 4, "support points (bundles) per menu element", min=1),
        "steps": OptionSpec(int, 400, "menu training steps", min=1),
        "batch": OptionSpec(int, 256, "valuations per training step", min=1),
        "lr": OptionSpec(float, 0.02, "Adam learning rate of prices and mixture weights", min=0.0),
        "lr_support": OptionSpec(float, 0.005, "Adam learning rate of the support points' initial positions", min=0.0),
        "schedule": OptionSpec(str, "geometric", "softmax sharpness schedule: geometric (sharpness_start to sharpness_end "
                               "over the run) or paper (the BundleFlow authors': 0.001 per unit of value, x1.05 every 200 steps, "
                               "capped at 0.2)", choices=("geometric", "paper")),
        "sharpness_start": OptionSpec(float, 50.0, "geometric schedule: softmax sharpness at the first step (values scaled to mean 1)",
                                      min=0.0),
        "sharpness_end": OptionSpec(float, 500.0, "geometric schedule: softmax sharpness at the last step", min=0.0),
        "warmup": OptionSpec(int, 200, "price-only warm-up steps on the initial bundles (init = bids)", min=0),
        "init": OptionSpec(str, "bids", "menu start: bids (bid bundles, warm-up prices) or items (the bundles item pricing sells, at item prices)",
                           choices=("items", "bids")),
        "samples": OptionSpec(int, 4000, "valuations drawn (95% train, 5% test)", min=40),
        "train_fraction": OptionSpec(float, 0.95, "share of the valuations used for training", min=0.5, max=0.99),
        "euler_steps": OptionSpec(int, 5, "fixed Euler steps of the flow ODE", min=1),
        "flow_iterations": OptionSpec(int, 2000, "flow pre-training iterations (once per item count; cached)", min=1),
        "flow_hidden": OptionSpec(int, 128, "hidden units of the flow network", min=4),
        "cache_dir": OptionSpec(str, "", "flow cache directory (default $AUCTIONC_CACHE/flows or ~/.cache/auctionc/flows); "
                                "from a spec, a folder inside the output directory (elsewhere: -o cache_dir=PATH)"),
        "max_memory_gb": OptionSpec(float, 8.0, "refuse, before any work, a run whose estimated peak memory "
                                    "(valuations, menu, one training step) passes this", min=0.01, limit=True),
        "eval_every": OptionSpec(int, 100, "steps between test evaluations and checkpoints", min=1),
        "chunk": OptionSpec(int, 4096, "bundles per chunk when computing XOR values (bounds memory)", min=1),
        "baselines": OptionSpec(bool, True, "run item pricing, the fixed-bundle RochetNet and (small m) the LP; grand-bundle pricing always runs"),
        "rochetnet_menu": OptionSpec(int, 512, "menu size of the RochetNet baselines (fixed-bundle and Bundle-RochetNet)", min=1),
        "rochetnet_steps": OptionSpec(int, 1000, "training steps of the fixed-bundle RochetNet baseline", min=1),
        "bundle_rochetnet_steps": OptionSpec(int, 0, "training steps of Bundle-RochetNet (learned per-item allocation "
                                             "probabilities; the paper's baseline), a further candidate; 0: not run", min=0),
        "candidate_check_samples": OptionSpec(int, 200, "fresh CATS reports on which the verifier checks every eligible "
                                              "candidate before the choice (0: only the chosen one is verified, by compile)",
                                              min=0),
        "lp_max_items": OptionSpec(int, 6, "run the exact menu LP baseline up to this many items", min=0, max=10),
        "lp_samples": OptionSpec(int, 80, "training valuations in the exact LP baseline", min=2),
    }
    codes = {
        "E0321": "invalid CATS generator options (or goods that do not match the items)",
        "E0720": "BundleFlow cannot take this spec",
        "E0721": "BundleFlow training failed",
        "E0722": "the BundleFlow flow cache or checkpoint cannot be used",
    }

    def resolve_options(self, spec: Any, options: dict[str, Any]) -> dict[str, Any]:
        """Checks before any work: the CATS options, the memory the run would need (the
        estimate, the limit and the options that change it), and a spec's cache_dir kept to
        the output directory."""
        from auctionc.errors import PlanError

        if spec.kind != "auction" or spec.n_bidders != 1 or spec.bidders[0].valuation.kind != "cats":
            return options  # accepts() says why not
        val = spec.bidders[0].valuation
        where = f"bidders.{spec.bidders[0].name}.valuation"
        sizes = {}
        for key, default in (("goods", spec.n_items), ("bids", 50)):
            v = val.options.get(key, default)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v) or v < 1:
                raise PlanError(Diagnostic("E0321", f"option '{key}' of cats must be a whole number of at least 1, not {v!r}",
                                           where=where).with_span(spec))
            sizes[key] = int(v)
        m, bids = sizes["goods"], sizes["bids"]
        need = estimate_bytes(options, m, bids)
        limit = options["max_memory_gb"] * 2**30
        if need > limit:
            raise PlanError(Diagnostic(
                "E0604",
                f"BundleFlow would need about {need / 2**30:,.1f} GiB (menu {options['menu']:,} x support "
                f"{options['support']} over {m} items, {options['samples']:,} valuations of up to {bids:,} bids), "
                f"more than max_memory_gb = {options['max_memory_gb']:g}",
                help="lower `menu`, `support`, `batch` or `samples`, or the CATS `bids`; or raise `max_memory_gb`",
                where="solve.options",
            ).with_span(spec))
        if options["cache_dir"] and self._cache_dir_from_spec(spec, options):
            from pathlib import PurePath

            p = PurePath(options["cache_dir"])
            if p.is_absolute() or ".." in p.parts or options["cache_dir"].startswith("~"):
                raise PlanError(Diagnostic(
                    "E0604", f"cache_dir {options['cache_dir']!r} of the spec leads outside the output directory",
                    help="a spec's cache_dir is a folder inside --out; pass another path on the command line "
                         "with -o cache_dir=PATH",
                    where="solve.options.cache_dir",
                ).with_span(spec))
        return options

    def _cache_dir_from_spec(self, spec: Any, options: dict[str, Any]) -> bool:
        solve = getattr(spec, "solve", None)
        return (solve is not None and solve.backend == self.name
                and solve.options.get("cache_dir") == options["cache_dir"])

    def accepts(self, spec: Any, options: dict[str, Any]) -> Verdict:
        v = self.check_capabilities(spec)
        if v is not None:
            return v
        val = spec.bidders[0].valuation
        if val.distribution not in SUPPORTED:
            return Verdict.no(
                f"backend bundleflow cannot take cats(\"{val.distribution}\"): its instances do not have a fixed number of goods",
                "use regions, arbitrary, scheduling or matching",
            )
        m = int(val.options.get("goods", spec.n_items))
        if val.distribution == "matching" and (m % 4 or m < 8):
            return Verdict.no(f"cats(\"matching\") needs a multiple of 4 goods (at least 8), not {m}")
        return Verdict.yes(score=1.0, why="one bidder with CATS XOR valuations: a BundleFlow menu is IC and IR by construction")

    def _flow_cache(self, spec: Any, opts: dict[str, Any], ctx: RunContext) -> Path:
        """The flow cache: the default (the user's cache directory), a path from the command
        line as given, or a spec's cache_dir as a folder inside the output directory."""
        from auctionc.backends.bundleflow.flow import default_cache_dir
        from auctionc.confine import OutsideFolder, confined

        if not opts["cache_dir"]:
            return default_cache_dir()
        if not self._cache_dir_from_spec(spec, opts):
            return Path(opts["cache_dir"]).expanduser()
        base = Path(ctx.out_dir) if ctx.out_dir is not None else Path.cwd()
        try:
            return confined(base, opts["cache_dir"], what="cache_dir")
        except OutsideFolder as e:
            raise BackendError(Diagnostic("E0722", f"{e}: a spec's cache_dir must lie in the output directory",
                                          help="pass another path with -o cache_dir=PATH",
                                          where="solve.options.cache_dir").with_span(spec)) from None

    @staticmethod
    def _check_candidates(cands: list[Any], spec: Any, samples: int, seed: int, progress: Any) -> dict[str, dict[str, Any]]:
        """The verifier's certificate of every eligible candidate on ``samples`` fresh CATS
        reports (the same reports for each: one seed); a candidate that fails is no longer
        eligible.  The chosen one is verified again, in full, by ``compile``."""
        if samples <= 0:
            return {}
        from auctionc.verifier import verify

        out: dict[str, dict[str, Any]] = {}
        ok = [c for c in cands if c.eligible]
        with progress.task("checking the candidates", len(ok)) as task:
            for k, c in enumerate(ok):
                cert = verify(c.mechanism, spec, samples=samples, seed=seed + 1, metric_samples=2)
                out[c.key] = {"ok": bool(cert.ok), "max_regret": float(cert.max_regret),
                              "max_ir_violation": float(cert.max_ir_violation), "samples": samples,
                              "seconds": float(cert.seconds)}
                if not cert.ok:
                    c.why_not = (f"the verifier did not confirm it on {samples} fresh reports (regret {cert.max_regret:.3g}, "
                                 f"IR violation {cert.max_ir_violation:.3g})")
                task.update(completed=k + 1)
        return out

    def compile(self, spec: AuctionSpec, options: dict[str, Any], ctx: RunContext) -> CompileResult:
        opts, seed = options, ctx.seed
        import numpy as np
        import torch
        from auctionc.backends.bundleflow import candidates as C
        from auctionc.backends.bundleflow.baselines import (
            fixed_rochetnet,
            grand_bundle,
            item_pricing,
            lp_menu,
        )
        from auctionc.backends.bundleflow.bundle_menu import BundleMenuMechanism
        from auctionc.backends.bundleflow.bundle_rochetnet import RochetConfig, train_bundle_rochetnet
        from auctionc.backends.bundleflow.flow import load_or_train
        from auctionc.backends.bundleflow.relaxation import Schedule
        from auctionc.backends.bundleflow.train import TrainConfig, train_menu
        from auctionc.cats import CatsOptionError, check_options, sample_valuations

        torch.manual_seed(seed)
        bidder = spec.bidders[0]
        val = bidder.valuation
        where = f"bidders.{bidder.name}.valuation"
        try:
            cats_opts = check_options(val.distribution, dict(val.options))
        except CatsOptionError as e:
            raise SpecError(Diagnostic("E0321", str(e), suggestion=e.suggestion,
                                       help="options: " + ", ".join(e.allowed) if e.allowed else None,
                                       where=where).with_span(spec)) from None
        m = int(cats_opts.pop("goods", spec.n_items))
        if m != spec.n_items:
            raise SpecError(Diagnostic("E0321", f"cats(goods = {m}) does not match the {spec.n_items} items of the auction",
                                       help=f"write `items {m}` or drop `goods`", where=where).with_span(spec))
        n_bids = int(cats_opts.pop("bids", 50))
        cats_seed = int(cats_opts.pop("seed", seed))
        t_all = time.perf_counter()
        timings: dict[str, float] = {}
        progress = ctx.progress
        t0 = time.perf_counter()
        with progress.task("sampling CATS valuations", 1) as task:
            try:
                data = sample_valuations(val.distribution, m, opts["samples"], seed=cats_seed, bids=n_bids, **cats_opts)
            except ValueError as e:
                raise BackendError(Diagnostic("E0721", f"CATS generation failed: {e}", where=where).with_span(spec)) from None
            task.update(completed=1)
        timings["data_s"] = time.perf_counter() - t0
        n_train = int(round(opts["train_fraction"] * len(data)))
        train, test = data[:n_train], data[n_train:]

        cache = self._flow_cache(spec, opts, ctx)
        t0 = time.perf_counter()
        with progress.task(f"flow for {m} items", opts["flow_iterations"]) as task:
            flow, flow_info, cached = load_or_train(
                m, cache_dir=cache, hidden=opts["flow_hidden"], iterations=opts["flow_iterations"], seed=0,
                callback=lambda it, loss: task.update(completed=it, loss=loss))
            task.update(completed=opts["flow_iterations"])
        timings["flow_s"] = time.perf_counter() - t0

        cfg = TrainConfig(menu=opts["menu"], support=opts["support"], steps=opts["steps"], batch=opts["batch"],
                          lr=opts["lr"], lr_support=opts["lr_support"],
                          schedule=Schedule(opts["schedule"], opts["sharpness_start"], opts["sharpness_end"]), euler_steps=opts["euler_steps"],
                          eval_every=opts["eval_every"], chunk=opts["chunk"], seed=seed, warmup_steps=opts["warmup"],
                          init=opts["init"])
        # item pricing is both a baseline and the menu's starting point (option init)
        t0 = time.perf_counter()
        ip = item_pricing(train, test) if (opts["baselines"] or opts["init"] == "items") else None
        gb = grand_bundle(train, test)
        timings["item_pricing_s"] = time.perf_counter() - t0
        out = Path(ctx.out_dir) if ctx.out_dir is not None else None
        with progress.task("menu", cfg.steps) as task:
            try:
                res = train_menu(flow, train, test, cfg, out_dir=out, resume=ctx.resume,
                                 item_prices=None if ip is None else np.asarray(ip["prices"]), grand_price=gb["price"],
                                 on_step=lambda s, rec: task.update(completed=s, **(
                                     {"test revenue": rec["test_revenue"]} if rec else {})))
            except FloatingPointError as e:
                raise BackendError(Diagnostic("E0722", f"BundleFlow training diverged: {e}",
                                              help="lower `lr` or `sharpness_end`", where="solve.options").with_span(spec)) from None
        timings["menu_s"] = res.seconds

        baselines: dict[str, Any] = {}
        brn = None
        if opts["baselines"]:
            with progress.task("baselines", 1) as task:
                baselines["grand_bundle"] = gb
                baselines["item_pricing"] = ip
                baselines["fixed_rochetnet"] = fixed_rochetnet(train, test, opts["rochetnet_menu"], opts["rochetnet_steps"],
                                                               seed=seed, schedule=cfg.schedule)
                if m <= opts["lp_max_items"]:
                    baselines["lp"] = lp_menu(train, test, opts["lp_samples"])
                task.update(completed=1)
        if opts["bundle_rochetnet_steps"] > 0:
            with progress.task("Bundle-RochetNet", 1) as task:
                rc = RochetConfig(menu=opts["rochetnet_menu"], steps=opts["bundle_rochetnet_steps"], batch=opts["batch"],
                                  lr=opts["lr"], init="random", eval_every=opts["eval_every"], seed=seed, schedule=cfg.schedule)
                brn = train_bundle_rochetnet(train, test, rc)
                task.update(completed=1)

        mech_bf = BundleMenuMechanism(res.bundles, res.probs, res.prices, side_state=res.state)
        cands = [C.bundleflow_candidate(mech_bf, test, res.seconds, res.cpu_seconds), C.grand_candidate(gb, test)]
        if ip is not None:
            cands.append(C.item_candidate(ip, test))
        if "fixed_rochetnet" in baselines:
            cands.append(C.fixed_candidate(baselines["fixed_rochetnet"], test))
        if brn is not None:
            cands.append(C.rochetnet_candidate(brn, test))
        checks = self._check_candidates(cands, spec, opts["candidate_check_samples"], seed, progress)
        chosen = C.best(cands)
        mech = chosen.mechanism if chosen is not None else mech_bf

        seconds = time.perf_counter() - t_all
        final = res.revenue
        within = next((h for h in res.history if final > 0 and h["test_revenue"] >= 0.98 * final), None)
        stats = {
            "revenue": final, "train_revenue": res.train_revenue, "iterations": res.iterations, "seconds": seconds,
            "menu_seconds": res.seconds, "resumed_from": res.resumed_from,
            "selected_step": res.state.get("selected_step"),
            "seconds_to_2pct": within["seconds"] if within else None, "steps_to_2pct": within["step"] if within else None,
            "baselines": {k: {kk: vv for kk, vv in v.items() if kk not in ("prices", "bundles")} for k, v in baselines.items()},
            "chosen": chosen.key if chosen is not None else "bundleflow",
            "artifact_revenue": chosen.revenue if chosen is not None else final,
            "candidates": {c.key: C.summary(c, checks.get(c.key)) for c in cands},
            "flow": {**flow_info, "cached": cached}, "timings": timings,
            "train_samples": len(train), "test_samples": len(test), "items": m, "distribution": val.distribution,
            "cats": {"distribution": val.distribution, "goods": m, "bids": n_bids, "seed": cats_seed, **cats_opts},
        }
        if brn is not None:
            stats["bundle_rochetnet"] = {"revenue": brn.revenue, "steps": brn.steps, "seconds": brn.seconds,
                                         "selected_step": brn.selected_step,
                                         "history": [{k: h[k] for k in ("step", "test_revenue")} for h in brn.history]}
        best_base = max((b["revenue"] for k, b in baselines.items() if k in ("item_pricing", "grand_bundle")), default=None)
        if best_base:
            stats["ratio_to_best_pricing"] = final / best_base
        claim = {"kind": "exact_by_construction",
                 "reason": "single-bidder menu with a null element and argmax choice"}
        files: dict[str, str] = {}
        if out is not None:
            files["checkpoint"] = str(out / "bundleflow_ckpt.pt")
        choices = mech_bf.choose(test)
        welfare = float(test.grand_values().mean())
        sections = [("Mechanisms compared (same held-out valuations)", C.table(cands, chosen, welfare, checks)),
                    ("BundleFlow menu", _menu_section(mech_bf, choices))]
        history = {k: [h[k] for h in res.history] for k in ("step", "test_revenue", "train_revenue")} if res.history else None
        return CompileResult(mechanism=mech, stats=stats, history=history, claim=claim,
                             report_sections=sections, files=files)


def estimate_bytes(options: dict[str, Any], m: int, bids: int) -> float:
    """Peak bytes of a run, before it starts: the sampled valuations (bundles as bytes and
    values as float64), one training step (``flow_menu.memory_bytes``) and the optimiser's
    copies of the menu's parameters (Adam: parameters, gradients and two moments)."""
    from auctionc.backends.bundleflow.sizes import memory_bytes

    data = float(options["samples"]) * bids * (m + 8)
    a = float(options["menu"]) * options["support"]
    params = 4 * 4 * (a * m + a + options["menu"])
    step = memory_bytes(m, options["menu"], options["support"], options["batch"], bids, options["chunk"],
                        options["flow_hidden"])
    return data + params + step


def _menu_section(mech: Any, choices: Any) -> str:
    lines = ["| element | chosen by | price | support bundles | max prob | expected size | sizes |",
             "|---|---|---|---|---|---|---|"]
    for e in mech.top_elements(choices, 8):
        lines.append(f"| {e['element']} | {e['share']:.1%} | {e['price']:.2f} | {e['support_points']} | "
                     f"{e['max_prob']:.2f} | {e['mean_size']:.1f} | {', '.join(map(str, e['sizes']))} |")
    null_share = float((choices < 0).mean()) if len(choices) else 0.0
    lines.append(f"\nNull element (nothing, price 0) chosen by {null_share:.1%} of test valuations; "
                 f"{mech.menu_size} elements x {mech.bundles.shape[1]} support bundles.")
    return "\n".join(lines)


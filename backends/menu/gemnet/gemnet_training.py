"""GemNet (Wang, Jiang, Parkes): n >= 2 bidders, one menu per bidder computed by a network
of the *other* bidders' reports (self-bid independence), each bidder taking its best
element.  Training maximises soft-choice revenue minus a penalty on over-allocation
(menu incompatibility); afterwards the price-only transform of ``certify`` makes the menus
compatible on the whole value box, with a certificate, or says it could not.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from auctionc import distributions as D
from auctionc import ir
from auctionc import valuation as V
from auctionc.backends.menu.gemnet.cells import certify_cells, snap
from auctionc.backends.menu.gemnet.edge_grid import EdgeGrid, default_cells, default_size, make_grid
from auctionc.backends.menu.gemnet.gemnet_artifact import GemNetMechanism
from auctionc.backends.menu.gemnet.network_bounds import NetWeights, head_width
from auctionc.backends.menu.gemnet.scale import certify_scaling
from auctionc.backends.menu.gemnet.surcharge import Grid, auto_cells, transform
from auctionc.backends.menu.rochetnet import _mean_ci, alloc_from_logits, head_kind, value_scale
from auctionc.backends.menu.training import Schedule, checkpoint_files, run_stats, seeded, train_loop
from auctionc.ir import AuctionSpec
from auctionc.plugins import CompileResult, RunContext


class MenuNet(torch.nn.Module):
    """Others' reports (normalised) -> K allocations and K prices."""

    def __init__(self, in_dim: int, hidden: int, layers: int, K: int, m: int, head: str,
                 gen: torch.Generator) -> None:
        super().__init__()
        self.K, self.m, self.head = K, m, head
        dims = [in_dim] + [hidden] * layers
        self.trunk = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True))
        self.width = head_width(head, m)
        self.alloc = torch.nn.Linear(dims[-1], K * self.width)
        self.price = torch.nn.Linear(dims[-1], K)
        with torch.no_grad():
            for lin in [*self.trunk, self.alloc, self.price]:
                bound = 1.0 / np.sqrt(lin.in_features)
                lin.weight.copy_((torch.rand(lin.weight.shape, generator=gen) * 2 - 1) * bound)
                lin.bias.copy_((torch.rand(lin.bias.shape, generator=gen) * 2 - 1) * bound)
            self.alloc.bias.copy_((torch.rand(self.alloc.bias.shape, generator=gen) * 2 - 1) * 3.0)
            self.price.bias.copy_(torch.rand(K, generator=gen) * 0.8 * m)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = x
        for lin in self.trunk:
            h = torch.tanh(lin(h))
        logits = self.alloc(h).reshape(len(x), self.K, self.width)
        return alloc_from_logits(logits, self.head), self.price(h)

    def export(self) -> NetWeights:
        def np_(t: torch.Tensor) -> np.ndarray:
            return t.detach().double().cpu().numpy()

        return {
            "trunk": [(np_(lin.weight), np_(lin.bias)) for lin in self.trunk],
            "alloc": (np_(self.alloc.weight), np_(self.alloc.bias)),
            "price": (np_(self.price.weight), np_(self.price.bias)),
            "head": self.head,
            "K": self.K,
            "m": self.m,
        }


def over_allocation(spec: AuctionSpec, alloc: np.ndarray) -> dict[str, float]:
    """How often and by how much the chosen elements over-allocate an item."""
    excess = np.maximum(V.item_usage(spec, alloc) - 1.0, 0.0).max(1)
    return {
        "rate": float((excess > 1e-9).mean()),
        "mean": float(excess.mean()),
        "max": float(excess.max(initial=0.0)),
        "samples": int(len(alloc)),
    }


def train_gemnet(spec: AuctionSpec, opts: dict[str, Any], ctx: RunContext) -> CompileResult:
    t_start = time.perf_counter()
    seed, device, log = ctx.seed, ctx.device, ctx.progress.log
    gen, rng = seeded(seed)
    n, m = spec.n_bidders, spec.n_items
    heads = [head_kind(spec, i) for i in range(n)]
    if opts["clipped_head"]:
        heads = ["additive_clipped" if h == "additive" else h for h in heads]
    scale = value_scale(spec)
    box = V.value_bounds(spec)
    unbounded, cap = upper_tails(spec, opts["tail_mass"])
    scaling = opts["transform"] == "scale"
    cells = opts["transform"] == "cells"
    egrid = None
    if scaling or cells:
        egrid = make_grid(box, opts["grid"] or default_cells(n, m), unbounded, cap)
        if unbounded.any():
            egrid = _quantile_edges(spec, egrid, unbounded, seed)
    # the networks see the others' reports clipped where the tails begin, so every menu is
    # constant on a tail cell and the certificate covers the whole value space
    in_cap = egrid.input_cap() if egrid is not None else np.full((n, m), np.inf)
    cap_t = torch.as_tensor(np.minimum(in_cap / scale, 1e30), dtype=torch.float32, device=device)
    K = opts["size"] or default_size(m)
    nets = torch.nn.ModuleList(
        MenuNet((n - 1) * m, opts["hidden"], opts["layers"], K, m, heads[i], gen) for i in range(n)
    ).to(device)
    batch = opts["batch"]
    steps = opts["steps"]
    lam0, lam1 = opts["penalty"], opts["penalty_final"]

    def soft_outcome(v: torch.Tensor, temp: float, vs: torch.Tensor | None = None):
        rev = torch.zeros(len(v), device=v.device)
        usage = torch.zeros(len(v), m, device=v.device)
        for i in range(n):
            others = [j for j in range(n) if j != i]
            # cells: the networks are trained where the mechanism evaluates them
            x = vs[:, others, :] if vs is not None else torch.minimum(v[:, others, :], cap_t[others])
            a, p = nets[i](x.reshape(len(v), -1))
            u = torch.einsum("bm,bkm->bk", v[:, i, :], a) - p
            w = torch.softmax(torch.cat([u, torch.zeros_like(u[:, :1])], 1) / temp, 1)[:, :-1]
            rev = rev + (w * p).sum(1)
            usage = usage + torch.einsum("bk,bkm->bm", w, a)
        return rev, torch.relu(usage - 1.0).sum(1)

    def step_fn(step: int, temp: float) -> tuple[torch.Tensor, float, float]:
        v = V.sample_values(spec, batch, rng).values / scale
        vt = torch.as_tensor(v, dtype=torch.float32, device=device)
        vs = None
        if cells:
            vs = torch.as_tensor(snap(egrid, v * scale) / scale, dtype=torch.float32, device=device)
        rev, pen = soft_outcome(vt, temp, vs)
        lam = lam0 * (lam1 / lam0) ** min(1.0, step / max(1, steps - 1))
        rev_m, pen_m = rev.mean(), pen.mean()
        return -rev_m + lam * pen_m, float(rev_m.detach()) * scale, float(pen_m.detach())

    schedule = Schedule(opts["temperature"], opts["temperature_final"], steps, opts["schedule"])
    state = train_loop(
        step_fn,
        nets.parameters(),
        {"model": nets},
        steps=steps,
        lr=opts["lr"],
        schedule=schedule,
        rng=rng,
        out_dir=ctx.out_dir,
        checkpoint_every=opts["checkpoint_every"],
        patience=opts["patience"],
        resume=ctx.resume,
        progress=ctx.progress,
        label="gemnet",
    )
    weights = [net.export() for net in nets]
    architecture = {"hidden": opts["hidden"], "layers": opts["layers"], "elements": K,
                    "activation": "tanh", "heads": heads}
    test_values = V.sample_values(spec, opts["test_samples"], np.random.default_rng([seed, 1])).values

    raw = GemNetMechanism(weights, scale, list(spec.items), architecture=architecture, edge_grid=egrid,
                          cells=cells)
    raw_alloc, raw_pay = _batched(raw, test_values)
    before = over_allocation(spec, raw_alloc)
    if cells:
        result = _finish_cells(spec, opts, seed, t_start, state, weights, architecture, scale, egrid,
                               test_values, raw_alloc, raw_pay, before, K, log)
    elif scaling:
        result = _finish_scaling(spec, opts, seed, t_start, state, weights, architecture, scale, egrid,
                                 test_values, raw_alloc, raw_pay, before, K, log)
    else:
        result = _finish_surcharge(spec, opts, seed, t_start, state, weights, architecture, scale, box, raw,
                                   test_values, raw_pay, before, K, log)
    result.files.update(checkpoint_files(ctx.out_dir))
    return result


def _finish_surcharge(spec, opts, seed, t_start, state, weights, architecture, scale, box, raw,
                      test_values, raw_pay, before, K, log) -> CompileResult:
    """Certify on a uniform grid with price surcharges chosen by a MILP (``surcharge``)."""
    n, m = spec.n_bidders, spec.n_items
    grid = Grid(box, opts["grid"] or auto_cells(n, m))
    tr = None
    surcharge = None
    if opts["certify"]:
        obj_w = _surcharge_weights(raw, grid, test_values)
        tr = transform(weights, grid, scale, obj_w, time_limit=opts["milp_time_limit"], log=log)
        # a partial repair proves nothing and can cost most of the revenue (surcharges chosen
        # for the cells seen so far): without a certificate keep the trained menus as they are
        surcharge = tr.surcharge if tr.certified else None
    mech = GemNetMechanism(weights, scale, list(spec.items), grid, surcharge, architecture=architecture)
    after, revenue, welfare = _test_metrics(spec, mech, test_values)

    if tr is not None and tr.certified:
        certificate = {
            "kind": "exact_by_menu_compatibility",
            "grid": grid.to_json(),
            "lipschitz_bound": tr.lipschitz_bound,
            "lipschitz_norm": "sup-norm of the others' values to sup-norm of allocations (per unit of value) and prices",
            "milp_status": tr.milp_status,
            "milp_rounds": tr.rounds,
            "milp_sizes": tr.milp_sizes,
            "cells_failing_before_transform": tr.failed_before,
            "checked_cells": grid.full_cells,
            "failed_cells": 0,
            "surcharged_elements": int(sum((s > 0).sum() for s in surcharge or [])),
            "max_surcharge": float(max((s.max(initial=0.0) for s in surcharge or []), default=0.0)),
            "transform_seconds": tr.seconds,
            "covers": "the product of the value supports (grid.box)",
            "reason": "each bidder's menu depends only on the others' reports and the bidder takes its "
            "best element or the null one; interval bounds (with the Lipschitz bound) over every grid "
            "cell show the possible choices never over-allocate an item, so the mechanism is feasible, "
            "dominant-strategy IC and ex-post IR everywhere on the box",
        }
    else:
        why = (
            "certification was switched off (certify = false)"
            if tr is None
            else f"the price transform could not make every grid cell compatible "
            f"({tr.failed_after} of {grid.full_cells} cells still fail; MILP: {tr.milp_status})"
        )
        certificate = _uncertified(
            why, before, after,
            grid=grid.to_json(),
            lipschitz_bound=tr.lipschitz_bound if tr is not None else None,
            milp_status=tr.milp_status if tr is not None else "not run",
        )
    return _package(spec, mech, state, certificate, K, seed, scale, t_start, revenue, welfare,
                    len(test_values), before, after,
                    {"test_revenue_before_transform": float(raw_pay.sum(1).mean())})



def upper_tails(spec: AuctionSpec, tail_mass: float) -> tuple[np.ndarray, np.ndarray]:
    """``(n, m)``: which value coordinates are unbounded above, and for those a cap with at
    most ``tail_mass`` of probability above it (a union bound over the terms of the value
    expression; the cap only decides where the menus stop moving, not what is certified)."""
    n, m = spec.n_bidders, spec.n_items
    unb = np.zeros((n, m), dtype=bool)
    cap = V.value_bounds(spec)[..., 1].copy()
    commons = {c.name: c.dist for c in spec.common}
    for i, b in enumerate(spec.bidders):
        for j, e in enumerate(V.item_exprs(b)):
            dists = [(c, t.dist if isinstance(t, ir.Draw) else commons.get(getattr(t, "name", ""), None))
                     for c, t in zip(e.coefs, e.terms, strict=True) if not isinstance(t, ir.Const)]
            if not any(c > 0 and d is not None and _unbounded_above(d) for c, d in dists):
                continue
            unb[i, j] = True
            q = tail_mass / max(1, len(dists))
            top = sum(t.value * c for c, t in zip(e.coefs, e.terms, strict=True) if isinstance(t, ir.Const))
            for c, d in dists:
                top += c * float(D.ppf(d, 1 - q)) if c > 0 else c * float(D.ppf(d, q))
            cap[i, j] = min(cap[i, j], top)
    return unb, cap


def _quantile_edges(spec: AuctionSpec, grid: EdgeGrid, unbounded: np.ndarray, seed: int) -> EdgeGrid:
    """For unbounded coordinates, half the cells uniform in value and half uniform in
    probability (empirical quantiles): uniform cells alone spend most of the certification
    on the far tail, quantile cells alone are too wide just below the cap."""
    sample = V.sample_values(spec, 200_000, np.random.default_rng([seed, 7])).values
    edges = [list(row) for row in grid.edges]
    for i, j in zip(*np.nonzero(unbounded), strict=True):
        e = edges[i][j]
        lo, cap, g = e[0], e[-2], len(e) - 2
        half = max(1, g // 2)
        q = np.quantile(sample[:, i, j], np.linspace(0, 1, half + 1)[1:-1])
        inner = np.unique(np.concatenate([np.linspace(lo, cap, g - half + 1), q[(q > lo) & (q < cap)]]))
        edges[i][j] = np.append(inner, np.inf)
    return EdgeGrid([[np.asarray(e, dtype=float) for e in row] for row in edges])


def _unbounded_above(d: ir.Distribution) -> bool:
    if D.atoms(d) is not None:
        return False
    if isinstance(d, ir.Mixture):
        return any(_unbounded_above(c) for c in d.components)
    return not np.isfinite(D._frozen(d).support()[1])


def _finish_scaling(spec, opts, seed, t_start, state, weights, architecture, scale, egrid,
                    test_values, raw_alloc, raw_pay, before, K, log) -> CompileResult:
    """Certify by adaptive refinement and the menu-scaling LP (``adaptive``)."""
    n = spec.n_bidders
    sr = None
    factors = None
    before_rev = float(raw_pay.sum(1).mean())
    margin = opts["margin"] * scale
    if margin > 0:
        # the per-unit surcharge moves every choice boundary: re-evaluate before the LP
        shifted = GemNetMechanism(weights, scale, list(spec.items), architecture=architecture, edge_grid=egrid,
                                  margin=margin)
        raw_alloc, raw_pay = _batched(shifted, test_values)
    if opts["certify"]:
        w = _factor_weights(egrid, test_values, raw_pay, n)
        sr = certify_scaling(weights, scale, egrid, w, budget=opts["refine_budget"],
                               time_limit=opts["milp_time_limit"], margin=margin, slack=opts["slack"], log=log)
        factors = sr.factors if sr.certified else None
    mech = GemNetMechanism(weights, scale, list(spec.items), architecture=architecture, edge_grid=egrid,
                           factors=factors, margin=margin if factors is not None else 0.0)
    after, revenue, welfare = _test_metrics(spec, mech, test_values)
    tails = bool(np.isinf(egrid.input_cap()).all()) is False
    if sr is not None and sr.certified:
        f = np.concatenate(factors)
        certificate = {
            "kind": "exact_by_menu_compatibility",
            "transform": "scaling",
            "grid": egrid.to_json(),
            "depth": sr.depth,
            "margin": margin,
            "margin_meaning": "per-unit surcharge: every element costs margin * (items it allocates) more",
            "slack": opts["slack"],
            "lipschitz_bound": sr.lipschitz_bound,
            "lipschitz_norm": "sup-norm of the others' values to sup-norm of allocations (per unit of value) and prices",
            "milp_status": f"LP {sr.lp_status}",
            "lp_size": sr.lp_size,
            "cells_failing_before_transform": sr.failing_before,
            "checked_cells": egrid.full_cells,
            "checked_boxes": sr.boxes_checked,
            "recheck_boxes": sr.recheck["checked_boxes"],
            "failed_cells": 0,
            "scaled_menus": int((f < 1).sum()),
            "menus": int(f.size),
            "min_factor": float(f.min(initial=1.0)),
            "transform_seconds": sr.seconds,
            "covers": ("the whole value space: the last cell of each unbounded coordinate is the tail "
                       "[cap, inf), where the networks' inputs are clipped" if tails
                       else "the product of the value supports (the grid's edges)"),
            "reason": "each bidder's menu depends only on the others' reports, the bidder takes its best "
            "element or the null one, and the menu is scaled (allocations and prices together, which "
            "keeps every choice) by a factor of the others' grid cell only; interval bounds through the "
            "layers, with the Lipschitz bound, over every box of the grid refined to `depth` levels show "
            "that the scaled possible choices never over-allocate an item, so the mechanism is "
            "feasible, dominant-strategy IC and ex-post IR everywhere covered",
        }
    else:
        why = _lp_not_certified(sr)
        certificate = _uncertified(
            why, before, after,
            grid=egrid.to_json(),
            milp_status=f"LP {sr.lp_status}" if sr is not None else "not run",
        )
    return _package(spec, mech, state, certificate, K, seed, scale, t_start, revenue, welfare,
                    len(test_values), before, after,
                    {"transform": "scaling", "test_revenue_before_transform": before_rev,
                     "test_revenue_with_margin": float(raw_pay.sum(1).mean())})


def _factor_weights(egrid: EdgeGrid, values: np.ndarray, pay: np.ndarray, n: int) -> list[np.ndarray]:
    """LP objective of the scaling transforms: the estimated revenue each factor multiplies
    (a floor keeps every factor worth something, so the LP never lowers one for nothing)."""
    own = egrid.own_index(values)
    return [np.bincount(egrid.others_index(own, i), weights=pay[:, i], minlength=egrid.others_count(i)) / len(own)
            + 1e-7 for i in range(n)]


def _test_metrics(spec: AuctionSpec, mech: GemNetMechanism, values: np.ndarray):
    """Over-allocation, revenue and welfare (with 95% intervals) on the test profiles."""
    alloc, pay = _batched(mech, values)
    return (over_allocation(spec, alloc), _mean_ci(pay.sum(1)), _mean_ci((values * alloc).sum((1, 2))))


def _finish_cells(spec, opts, seed, t_start, state, weights, architecture, scale, egrid,
                  test_values, raw_alloc, raw_pay, before, K, log) -> CompileResult:
    """Certify the table of menus (``cells``): exact check of every full cell, the repair
    (surcharges and trims) where the trained menus over-allocate, the scaling LP for the rest."""
    n = spec.n_bidders
    before_rev = float(raw_pay.sum(1).mean())
    cr = None
    factors = None
    if opts["certify"]:
        w = _factor_weights(egrid, test_values, raw_pay, n)
        cr = certify_cells(weights, scale, egrid, w, depth=opts["cell_depth"],
                              time_limit=opts["milp_time_limit"], log=log)
        factors = cr.factors if cr.certified else None
    mech = GemNetMechanism(weights, scale, list(spec.items), architecture=architecture, edge_grid=egrid,
                           surcharge=cr.surcharge if factors is not None else None, factors=factors, cells=True,
                           caps=cr.caps if factors is not None else None)
    after, revenue, welfare = _test_metrics(spec, mech, test_values)
    tails = not bool(np.isinf(egrid.input_cap()).all())
    if cr is not None and cr.certified:
        f = np.concatenate(factors)
        certificate = {
            "kind": "exact_by_menu_compatibility",
            "transform": "cells",
            "grid": egrid.to_json(),
            "depth": cr.depth,
            "milp_status": f"LP {cr.lp_status}",
            "lp_size": cr.lp_size,
            "cells_failing_before_transform": cr.failing_before,
            "cells_failing_after_repair": cr.failing_after_repair,
            "repair_rounds": cr.repair_rounds,
            "surcharged_elements": int(sum((x > 0).sum() for x in cr.surcharge)),
            "trimmed_elements": int(sum((c < 1).any(-1).sum() for c in cr.caps)),
            "checked_cells": egrid.full_cells,
            "failed_cells": 0,
            "scaled_menus": int((f < 1).sum()),
            "menus": int(f.size),
            "min_factor": float(f.min(initial=1.0)),
            "transform_seconds": cr.seconds,
            "covers": ("the whole value space: the last cell of each unbounded coordinate is the tail "
                       "[cap, inf)" if tails else "the product of the value supports (the grid's edges)"),
            "reason": "each bidder's menu is the network at the representative point of the others' grid "
            "cell, so it depends only on the others' reports and the mechanism offers a finite table of "
            "menus; the bidder takes its best element or the null one; on every full-profile cell the "
            "possible choices form a product set, enclosed by pairwise domination over the own cell "
            "(refined `depth` levels where needed), and with the scale factors (which keep every "
            "choice) no combination over-allocates an item, so the mechanism is feasible, "
            "dominant-strategy IC and ex-post IR everywhere covered",
        }
    else:
        why = _lp_not_certified(cr)
        certificate = _uncertified(why, before, after, grid=egrid.to_json(),
                                   milp_status=f"LP {cr.lp_status}" if cr is not None else "not run")
    return _package(spec, mech, state, certificate, K, seed, scale, t_start, revenue, welfare,
                    len(test_values), before, after,
                    {"transform": "cells", "test_revenue_before_transform": before_rev})


def _lp_not_certified(res: Any) -> str:
    """Why the cells or scaling path has no certificate (``res`` None: not run)."""
    if res is None:
        return "certification was switched off (certify = false)"
    return f"the scaling LP did not give a certified transform (LP {res.lp_status})"


def _uncertified(why: str, before: Any, after: Any, **extra: Any) -> dict[str, Any]:
    """The estimated report attached when compatibility could not be certified."""
    return {
        "kind": "estimated",
        "certified": False,
        "reason": why,
        "over_allocation": after,
        "over_allocation_before_transform": before,
        "note": "menus ignore the bidder's own report and the bidder takes its best element, "
        "so misreporting never helps; the failure is feasibility: the chosen elements "
        "over-allocate on the fraction of profiles given in over_allocation",
        **extra,
    }


def _package(spec, mech, state, certificate, K, seed, scale, t_start, revenue, welfare,
             n_test, before, after, extra) -> CompileResult:
    """Stats, provenance and the report section shared by both certification paths."""
    stats = run_stats(
        "gemnet", state, t_start, revenue, welfare, n_test, seed, K, scale, **extra,
        over_allocation_before_transform=before,
        over_allocation=after,
        certified=certificate["kind"] == "exact_by_menu_compatibility",
    )
    section = _report(spec, certificate, stats)
    return CompileResult(mechanism=mech, stats=stats, history=state.history, claim=certificate,
                         report_sections=[("GemNet", section)])


def _batched(mech: GemNetMechanism, values: np.ndarray, chunk: int = 50_000):
    parts = [mech.allocate_and_pay(values[s : s + chunk]) for s in range(0, len(values), chunk)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _surcharge_weights(mech: GemNetMechanism, grid: Grid, values: np.ndarray) -> list[np.ndarray]:
    """Objective weights of the transform: the estimated probability that a profile falls in
    the others-cell and the bidder buys the element there (plus a floor so that no surcharge
    is free)."""
    own = grid.cell_of(values)
    ch = mech.choices(values)
    K = mech.nets[0]["K"]
    out = []
    Gc = grid.own_cells ** (grid.n - 1)
    for i in range(grid.n):
        c = grid.others_index(own, i)
        counts = np.zeros((Gc, K + 1))
        np.add.at(counts, (c, ch[:, i]), 1.0)
        col = counts.sum(1, keepdims=True)
        out.append((counts[:, :K] + 0.01 * col + 1e-3) / len(values))
    return out


def _report(spec: AuctionSpec, cert: dict[str, Any], stats: dict[str, Any]) -> str:
    lines = [
        f"Test revenue {stats['test_revenue']:.4f} on {stats['test_samples']:,} profiles "
        f"(before the transform {stats['test_revenue_before_transform']:.4f}).",
        "",
    ]
    ob, oa = stats["over_allocation_before_transform"], stats["over_allocation"]
    lines.append(
        f"Over-allocation on test profiles: {100 * ob['rate']:.3f}% before the transform, "
        f"{100 * oa['rate']:.3f}% after (max excess {oa['max']:.4f})."
    )
    lines.append("")
    if cert.get("transform") == "cells":
        lines.append(
            f"Certified exact by menu compatibility: menus constant on the cells of the others' grid, "
            f"{cert['checked_cells']:,} full cells checked (own cells refined {cert['depth']} level(s) where "
            f"a cell failed). {cert['cells_failing_before_transform']:,} cells over-allocated before the "
            f"transform; in {cert['repair_rounds']} round(s) the repair priced {cert['surcharged_elements']} "
            f"menu elements out of conflicting cells and trimmed {cert['trimmed_elements']}; "
            f"{cert['cells_failing_after_repair']:,} cells went to the scaling LP ({cert['milp_status']}), "
            f"which scaled {cert['scaled_menus']} of {cert['menus']} menus (smallest factor "
            f"{cert['min_factor']:.4f}). Covers {cert['covers']}."
        )
    elif cert.get("transform") == "scaling":
        lines.append(
            f"Certified exact by menu compatibility: {cert['checked_cells']:,} grid cells refined "
            f"{cert['depth']} level(s) deep ({cert['checked_boxes']:,} boxes), Lipschitz bounds "
            f"{cert['lipschitz_bound']['allocation']:.3g} (allocation per unit value) and "
            f"{cert['lipschitz_bound']['price']:.3g} (price), per-unit surcharge {cert['margin']:.4g}, "
            f"{cert['milp_status']}; "
            f"{cert['cells_failing_before_transform']:,} cells failed before the transform, "
            f"{cert['scaled_menus']} of {cert['menus']} menu cells scaled (smallest factor "
            f"{cert['min_factor']:.4f}). Covers {cert['covers']}."
        )
    elif cert["kind"] == "exact_by_menu_compatibility":
        g = cert["grid"]
        lines.append(
            f"Certified exact by menu compatibility: {g['full_cells']:,} grid cells "
            f"({g['cells_per_coordinate']} per coordinate), Lipschitz bounds "
            f"{cert['lipschitz_bound']['allocation']:.3g} (allocation per unit value) and "
            f"{cert['lipschitz_bound']['price']:.3g} (price), MILP {cert['milp_status']} "
            f"after {cert['milp_rounds']} round(s); {cert['cells_failing_before_transform']} cells "
            f"failed before the transform, {cert['surcharged_elements']} surcharges "
            f"(largest {cert['max_surcharge']:.4f})."
        )
    else:
        lines.append(f"NOT certified: {cert['reason']}. The mechanism is reported as estimated.")
    return "\n".join(lines)

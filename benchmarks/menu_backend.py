"""Benchmarks of the menu backend (RochetNet, GemNet, lottery AMA) against the published figures of
docs/published-figures.md (menus, Myerson, multi-bidder): median test revenue over seeds (argmax choice, fresh test profiles),
seconds, and the certificate.

    .venv/bin/python benchmarks/menu_backend.py            # every setting, 3 seeds
    .venv/bin/python benchmarks/menu_backend.py --quick    # one seed, the one-bidder settings and 2x1
    .venv/bin/python benchmarks/menu_backend.py --only mv,gem2x2 --seeds 1

Torch runs on one thread so that timings on a shared machine mean something; they are still
pessimistic when the machine is loaded.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from auctionc import ir
from auctionc.backends.menu.backend import MenuBackend
from auctionc.backends.menu.rochetnet import train_rochetnet

REV = ir.Objective(terms=("revenue",), weights=(1.0,))
REQ = (ir.IC(), ir.IR())


def E(d) -> ir.ValueExpr:
    return ir.ValueExpr(terms=(ir.Draw(dist=d),), coefs=(1.0,))


def U(a: float, b: float) -> ir.ValueExpr:
    return E(ir.Uniform(low=a, high=b))


def spec(name: str, kind: str, n: int, values: list[ir.ValueExpr]) -> ir.AuctionSpec:
    cls = ir.Additive if kind == "additive" else ir.UnitDemand
    items = tuple(f"I{j + 1}" for j in range(len(values)))
    return ir.AuctionSpec(
        name=name, items=items, requirements=REQ, objective=REV,
        bidders=tuple(ir.Bidder(name=f"b{i + 1}", valuation=cls(values=tuple(values))) for i in range(n)),
    )


def asymmetric(name: str, values: list[ir.ValueExpr]) -> ir.AuctionSpec:
    """One item, bidder i drawing values[i]."""
    return ir.AuctionSpec(
        name=name, items=("I1",), requirements=REQ, objective=REV,
        bidders=tuple(ir.Bidder(name=f"b{i + 1}", valuation=ir.Additive(values=(v,))) for i, v in enumerate(values)),
    )


IRREGULAR = E(ir.Mixture(weights=(0.75, 0.25), components=(ir.Uniform(low=0, high=3), ir.Uniform(low=3, high=8))))


def triangle(size: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform on the triangle (0,0), (0,1), (1,0): reflect the points above the diagonal."""
    u = rng.uniform(size=(size, 2))
    flip = u.sum(1) > 1
    u[flip] = 1 - u[flip]
    return u[:, None, :]


@dataclass
class Setting:
    key: str
    label: str
    spec: ir.AuctionSpec
    published: float
    note: str
    options: dict[str, Any] = field(default_factory=dict)
    sampler: Callable | None = None
    quick: bool = True


SETTINGS = [
    Setting("mv", "1x2 additive U[0,1]", spec("mv", "additive", 1, [U(0, 1)] * 2), 0.549201, "optimum"),
    Setting("ud", "1x2 unit-demand U[0,1]", spec("ud", "unit_demand", 1, [U(0, 1)] * 2), 0.3849, "optimum"),
    Setting("pavlov", "1x2 unit-demand U[2,3]", spec("pav", "unit_demand", 1, [U(2, 3)] * 2), 2.137,
            "optimum (recalled; 2.1332 by MC)"),
    Setting("ddt", "1x2 additive U[4,16]xU[4,7]", spec("ddt", "additive", 1, [U(4, 16), U(4, 7)]), 9.777778,
            "optimum"),
    Setting("triangle", "1x2 additive, uniform triangle", spec("tri", "additive", 1, [U(0, 1)] * 2), 0.3849,
            "optimum (joint prior sampled here)", sampler=triangle),
    Setting("1x10", "1x10 additive U[0,1]", spec("ten", "additive", 1, [U(0, 1)] * 10), 3.4486,
            ">= grand bundle", {"size": 500, "steps": 3000}, quick=False),
    Setting("gem2x1", "2 bidders, 1 item U[0,1] (GemNet)", spec("m2", "additive", 2, [U(0, 1)]), 5 / 12,
            "Myerson"),
    Setting("gem2x2", "2x2 additive U[0,1] (GemNet)", spec("g22", "additive", 2, [U(0, 1)] * 2), 0.865,
            "VVCA 0.860-0.865, AMA 0.862 (exact SP)", {"steps": 8000}, quick=False),
    Setting("gem3exp", "3 bidders, 1 item Exp(mean 3) (GemNet)",
            spec("e3", "additive", 3, [E(ir.Exponential(rate=1 / 3))]), 2.75169, "Myerson",
            {"steps": 3000}, quick=False),
    # the lottery AMA architecture: an affine maximizer, exactly SP by construction
    Setting("ama2x1", "2 bidders, 1 item U[0,1] (lottery AMA)", spec("m2", "additive", 2, [U(0, 1)]), 5 / 12,
            "Myerson", {"architecture": "lottery_ama"}),
    Setting("ama2x2", "2x2 additive U[0,1] (lottery AMA)", spec("g22", "additive", 2, [U(0, 1)] * 2), 0.865,
            "VVCA 0.860-0.865, AMA 0.862, lottery AMA ~0.868 (exact SP)", {"architecture": "lottery_ama"},
            quick=False),
    Setting("ama3exp", "3 bidders, 1 item Exp(mean 3) (lottery AMA)",
            spec("e3", "additive", 3, [E(ir.Exponential(rate=1 / 3))]), 2.75169, "Myerson",
            {"architecture": "lottery_ama"}, quick=False),
    Setting("ama2x5", "2x5 additive U[0,1] (lottery AMA)", spec("g25", "additive", 2, [U(0, 1)] * 5), 2.2354,
            "lottery AMA (published)", {"architecture": "lottery_ama"}, quick=False),
    Setting("ama3x10", "3x10 additive U[0,1] (lottery AMA)", spec("g310", "additive", 3, [U(0, 1)] * 10), 5.345,
            "lottery AMA (published); item-wise Myerson 5.3125", {"architecture": "lottery_ama"}, quick=False),
    Setting("ama5asym", "5 bidders U[0,i], 1 item (lottery AMA)", asymmetric("a5", [U(0, i) for i in range(1, 6)]),
            2.29762, "Myerson", {"architecture": "lottery_ama"}, quick=False),
    Setting("ama3irr", "3 bidders irregular mixture, 1 item (lottery AMA)", asymmetric("irr", [IRREGULAR] * 3),
            2.37487, "Myerson (ironed)", {"architecture": "lottery_ama"}, quick=False),
    # the same two settings with the other transforms (continuous menus)
    Setting("gem2x2m", "2x2 additive U[0,1] (GemNet, surcharge MILP)", spec("g22", "additive", 2, [U(0, 1)] * 2),
            0.865, "VVCA 0.860-0.865, AMA 0.862 (exact SP)",
            {"steps": 4000, "transform": "surcharge", "milp_time_limit": 240}, quick=False),
    Setting("gem3expm", "3 bidders, 1 item Exp(mean 3) (GemNet, surcharge MILP)",
            spec("e3", "additive", 3, [E(ir.Exponential(rate=1 / 3))]), 2.75169, "Myerson",
            {"steps": 3000, "transform": "surcharge", "milp_time_limit": 240}, quick=False),
    Setting("gem2x2s", "2x2 additive U[0,1] (GemNet, scaling)", spec("g22", "additive", 2, [U(0, 1)] * 2),
            0.865, "VVCA 0.860-0.865, AMA 0.862 (exact SP)",
            {"steps": 4000, "transform": "scale", "margin": 0.02, "grid": 12, "milp_time_limit": 240},
            quick=False),
    Setting("gem3exps", "3 bidders, 1 item Exp(mean 3) (GemNet, scaling)",
            spec("e3", "additive", 3, [E(ir.Exponential(rate=1 / 3))]), 2.75169, "Myerson",
            {"steps": 3000, "transform": "scale", "margin": 0.01, "grid": 40, "milp_time_limit": 240},
            quick=False),
]


def run(setting: Setting, seed: int, quick: bool) -> dict[str, Any]:
    opts = dict(setting.options)
    opts.setdefault("test_samples", 200_000)
    if quick:
        opts["test_samples"] = 100_000
    t0 = time.perf_counter()
    if setting.sampler is not None:
        backend = MenuBackend()
        parsed = backend.parse_options(setting.spec, opts)
        parsed = {**parsed, "size": parsed["size"] or 200, "steps": parsed["steps"] or 2000}
        res = train_rochetnet(setting.spec, parsed, seed=seed, out_dir=None, device="cpu", resume=False,
                              progress=False, sampler=setting.sampler)
    else:
        res = MenuBackend().compile(setting.spec, opts, seed=seed, progress=False)
    return {
        "revenue": res.stats["test_revenue"],
        "seconds": time.perf_counter() - t0,
        "certificate": res.certificate["kind"],
        "certified": res.certificate["kind"] != "estimated",
        "milp": res.certificate.get("milp_status"),
        "before": res.stats.get("test_revenue_before_transform"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--only", type=str, default="")
    ap.add_argument("--markdown", type=str, default="", help="also write the table as Markdown to this file")
    args = ap.parse_args()
    torch.set_num_threads(1)
    seeds = args.seeds or (1 if args.quick else 3)
    only = set(filter(None, args.only.split(",")))
    rows = []
    md = ["| setting | ours (median) | published | ratio | sec/run | certificate | before transform | published figure |",
          "|---|---|---|---|---|---|---|---|"]
    print(f"{'setting':42} {'ours (median)':>13} {'published':>10} {'ratio':>7} {'sec/run':>8}  certificate")
    for s in SETTINGS:
        if only and s.key not in only:
            continue
        if not only and args.quick and not s.quick:
            continue
        runs = [run(s, seed, args.quick) for seed in range(seeds)]
        rev = statistics.median(r["revenue"] for r in runs)
        sec = statistics.median(r["seconds"] for r in runs)
        def how(status: str | None) -> str:
            if not status:
                return ""
            return f" ({status})" if status.startswith("LP") else f" (MILP {status})"

        certs = sorted({r["certificate"] + how(r["milp"]) for r in runs})
        extra = ""
        if runs[0]["before"] is not None:
            extra = f"  [before transform {statistics.median(r['before'] for r in runs):.4f}]"
        line = (f"{s.label:42} {rev:13.4f} {s.published:10.4f} {rev / s.published:7.4f} {sec:8.1f}  "
                f"{'; '.join(certs)}{extra}  <- {s.note}")
        print(line, flush=True)
        rows.append(line)
        before = f"{statistics.median(r['before'] for r in runs):.4f}" if runs[0]["before"] is not None else ""
        md.append(f"| {s.label} | {rev:.4f} | {s.published:.4f} | {rev / s.published:.4f} | {sec:.1f} | "
                  f"{'; '.join(certs)} | {before} | {s.note} |")
    if args.markdown:
        from pathlib import Path

        out = Path(args.markdown)
        out.parent.mkdir(parents=True, exist_ok=True)
        head = (f"Command: `benchmarks/menu_backend.py {' '.join(a for a in __import__('sys').argv[1:])}`; "
                f"{seeds} seed(s), torch on one thread, shared 2-core CPU (timings pessimistic).\n\n")
        out.write_text(head + "\n".join(md) + "\n")


if __name__ == "__main__":
    main()

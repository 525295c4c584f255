"""BundleFlow against its baselines on CATS Regions and Arbitrary (single bidder).

    .venv/bin/python benchmarks/bundleflow.py --quick              # 10, 20, 50 items, small budget
    .venv/bin/python benchmarks/bundleflow.py --items 50 100 150   # add the larger settings

Prints one row per (distribution, items): revenue of BundleFlow and of every baseline on the
same test valuations, BundleFlow's ratio to the better of item pricing and grand-bundle
pricing (the paper reports 1.11-2.23x over its baselines), training seconds, iterations and
the seconds until the test revenue first came within 2% of its final value.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from auctionc import ir
from auctionc.backends.bundleflow.backend import BundleFlowBackend

PUBLISHED = "1.11-2.23x (Wang, Jiang, Parkes 2025)"


def spec(dist: str, m: int) -> ir.AuctionSpec:
    b = ir.Bidder(name="buyer", valuation=ir.Cats(distribution=dist, options={"bids": 50, "seed": 7}))
    return ir.AuctionSpec(name=f"{dist}_{m}", items=tuple(f"g{i}" for i in range(m)), bidders=(b,),
                          requirements=(ir.IC(), ir.IR()), objective=ir.Objective(terms=("revenue",), weights=(1.0,)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, nargs="+", default=[10, 20, 50])
    ap.add_argument("--dists", nargs="+", default=["regions", "arbitrary"])
    ap.add_argument("--quick", action="store_true", help="small budget: 2,000 valuations, 256 x 4 menu, 400 steps")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    opts = {"samples": 4000, "menu": 512, "support": 4, "steps": 1000, "flow_iterations": 2000}
    if args.quick:
        opts = {"samples": 2000, "menu": 256, "support": 4, "steps": 400, "warmup": 300, "flow_iterations": 1000,
                "rochetnet_menu": 256, "rochetnet_steps": 300, "eval_every": 50}
    rows = []
    head = (f"{'setting':<16}{'BundleFlow':>11}{'items':>9}{'grand':>9}{'RochetNet':>10}{'LP':>8}{'ratio':>7}"
            f"{'train s':>9}{'iters':>7}{'2% s':>7}  published")
    print(head, flush=True)
    for dist in args.dists:
        for m in args.items:
            t0 = time.perf_counter()
            r = BundleFlowBackend().compile(spec(dist, m), opts, seed=0, progress=False)
            s = r.stats
            b = s["baselines"]
            lp = b.get("lp", {}).get("revenue")
            row = {"setting": f"{dist} {m}", "bundleflow": s["revenue"], "item_pricing": b["item_pricing"]["revenue"],
                   "grand_bundle": b["grand_bundle"]["revenue"], "bundle_rochetnet": b["bundle_rochetnet"]["revenue"],
                   "lp": lp, "ratio": s.get("ratio_to_best_pricing"), "train_s": s["menu_seconds"],
                   "flow_s": s["timings"]["flow_s"], "iterations": s["iterations"], "to_2pct_s": s["seconds_to_2pct"],
                   "total_s": time.perf_counter() - t0}
            rows.append(row)
            print(f"{row['setting']:<16}{row['bundleflow']:>11.1f}{row['item_pricing']:>9.1f}{row['grand_bundle']:>9.1f}"
                  f"{row['bundle_rochetnet']:>10.1f}{(f'{lp:.1f}' if lp else '-'):>8}{row['ratio']:>7.3f}"
                  f"{row['train_s']:>9.1f}{row['iterations']:>7}{(row['to_2pct_s'] or float('nan')):>7.1f}  {PUBLISHED}",
                  flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

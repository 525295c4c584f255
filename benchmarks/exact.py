"""Benchmarks of the exact backend: size, constraint-generation rounds, seconds, revenue
against the known optimum (docs/published-figures.md: menus, Myerson, exact methods, data markets).

    .venv/bin/python benchmarks/exact.py            # the default table
    .venv/bin/python benchmarks/exact.py --quick    # small grids only
    .venv/bin/python benchmarks/exact.py --all-pairs  # add the all-pairs LP at 20x20 for comparison
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from auctionc import ir
from auctionc.plugins import get_backend
from auctionc.winner_determination import vcg_batch

REV = ir.Objective(terms=("revenue",), weights=(1.0,))
U01 = ir.Uniform(low=0.0, high=1.0)


def E(d) -> ir.ValueExpr:
    return ir.ValueExpr(terms=(ir.Draw(dist=d),), coefs=(1.0,))


def one_bidder(kind: str) -> ir.AuctionSpec:
    cls = ir.Additive if kind == "additive" else ir.UnitDemand
    return ir.AuctionSpec(name=f"1x2 {kind}", items=("A", "B"), bidders=(ir.Bidder(name="b", valuation=cls(values=(E(U01), E(U01)))),),
                          requirements=(ir.IC(), ir.IR()), objective=REV)


def grid_bidders(n: int, K: int, ic: str) -> ir.AuctionSpec:
    d = ir.Discrete(values=tuple(k / K for k in range(K)), probs=tuple([1 / K] * K))
    return ir.AuctionSpec(name=f"{n}x1", items=("item",),
                          bidders=tuple(ir.Bidder(name=f"b{i}", valuation=ir.Single(value=E(d))) for i in range(n)),
                          requirements=(ir.IC(mode=ic), ir.IR()), objective=REV)


def market(dist) -> ir.MarketSpec:
    b = ir.Buyer(name="buyer", actions=("a0", "a1"), payoffs=((1.0, 0.0), (0.0, 1.0)), type=ir.BeliefType(state="w1", dist=dist))
    return ir.MarketSpec(name="market", states=("w0", "w1"), buyers=(b,), requirements=(ir.IC(), ir.IR(), ir.Obedience()), objective=REV)


def row(setting: str, spec, opts: dict, known: str, known_value: float | None = None, backend: str = "lp") -> list[str]:
    t0 = time.perf_counter()
    r = get_backend(backend).compile(spec, opts, progress=False)
    dt = time.perf_counter() - t0
    rev = r.certificate["revenue"]
    gap = "" if known_value is None else f"{rev - known_value:+.6f}"
    grid = opts.get("grid") or "finite"
    return [setting, str(grid), f"{r.stats['variables']:,}", f"{r.stats['constraints']:,}",
            f"{r.stats.get('all_pairs_ic_constraints', 0):,}", str(r.stats["rounds"]), f"{dt:.2f}", f"{rev:.6f}", known, gap,
            f"{r.certificate['max_ic_violation']:.1e}"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--all-pairs", action="store_true")
    args = ap.parse_args()
    mv = (12 + 2 * math.sqrt(2)) / 27
    ud = (2 / 3) / math.sqrt(3)
    grids = (10, 20) if args.quick else (10, 20, 40)
    rows = []
    get_backend("lp").compile(grid_bidders(1, 3, "dominant"), {}, progress=False)  # imports and HiGHS start-up, not timed
    for K in grids:
        rows.append(row("1 bidder, 2 additive items, U[0,1]^2", one_bidder("additive"), {"grid": K}, "0.549201 (MV)", mv))
    if args.all_pairs:
        rows.append(row("  same, all pairs from the start", one_bidder("additive"), {"grid": 20, "working_set": "all"}, "0.549201", mv))
    for K in grids:
        rows.append(row("1 bidder, 2 unit-demand items, U[0,1]^2", one_bidder("unit_demand"), {"grid": K}, "0.384900", ud))
    for K in ((40,) if args.quick else (40, 100, 160)):
        rows.append(row("2 bidders, 1 item, BIC, grid k/K", grid_bidders(2, K, "bayesian"), {},
                        f"{5 / 12 - 1 / (6 * K * K):.6f} (5/12-1/6K^2)", 5 / 12 - 1 / (6 * K * K)))
    rows.append(row("2 bidders, 1 item, DSIC, grid k/K", grid_bidders(2, 40, "dominant"), {},
                    f"{5 / 12 - 1 / (6 * 1600):.6f}", 5 / 12 - 1 / (6 * 1600)))
    if not args.quick:
        rows.append(row("3 bidders, 1 item, BIC, grid k/K", grid_bidders(3, 30, "bayesian"), {}, "n=3 Myerson 0.53125 (continuous)", None))
    rows.append(row("data market, 2 belief types (.2,.7,.5)", market(ir.Discrete(values=(0.2, 0.7), probs=(0.5, 0.5))), {}, "0.230000", 0.23))
    rows.append(row("data market, theta ~ U[0,1]", market(U01), {"grid": 800}, "0.125 (+1/4K grid)", 0.125))
    mix = ir.Mixture(weights=(0.5, 0.5), components=(ir.Beta(a=8, b=30), ir.Beta(a=60, b=30)))
    rows.append(row("data market, theta ~ Beta mixture", market(mix), {"grid": 800}, "0.167787 (LP, 800 types)", 0.167787))
    head = ["setting", "grid", "variables", "constraints", "all-pairs IC", "rounds", "seconds", "revenue", "known optimum",
            "gap", "max IC viol."]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=False)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)))

    # VCG over xor bids on sampled valuations: the welfare baseline of other backends
    rng = np.random.default_rng(0)
    for n, m, B in ((3, 4, 10_000), (5, 6, 2_000)):
        bids = np.where(rng.uniform(size=(B, n, 2**m)) < 0.3, rng.uniform(0, 1, (B, n, 2**m)), 0.0)
        bids[:, :, 0] = 0
        # xor closure: v(S) = max over bids on subsets of S
        bv = bids.copy()
        for j in range(m):
            bit = 1 << j
            ks = np.array([k for k in range(2**m) if k & bit])
            bv[:, :, ks] = np.maximum(bv[:, :, ks], bv[:, :, ks ^ bit])
        t0 = time.perf_counter()
        alloc, pay = vcg_batch(bv)
        dt = time.perf_counter() - t0
        wel = (alloc * bv).sum(axis=(1, 2)).mean()
        print(f"VCG over xor bids, {n} bidders, {m} items, {B:,} samples: {dt:.2f} s, welfare {wel:.4f}, revenue {pay.sum(1).mean():.4f}")


if __name__ == "__main__":
    main()

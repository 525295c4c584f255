"""Headroom over item pricing on CATS valuations: does adding learned bundle prices to
optimal item pricing raise revenue?

The menu is item pricing (the bidder may buy any of its bid bundles at the sum of item
prices, started from the baseline's coordinate-search prices and then learned) plus J
deterministic bundles bid on in the training set, each with a learned price, plus the null
element; trained by the softmax relaxation, evaluated with argmax (ties to the dearer
option) on the training and test valuations.  If this menu cannot beat item pricing on its
own training set, a lottery menu of the same size has little to gain either.

    .venv/bin/python benchmarks/bundleflow_headroom.py arbitrary 50 --bundles 256
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from auctionc.backends.bundleflow.baselines import candidate_bundles, grand_bundle, item_pricing
from auctionc.backends.bundleflow.flow_menu import bundle_values
from auctionc.cats import sample_valuations


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("distribution", choices=["arbitrary", "regions"])
    ap.add_argument("items", type=int)
    ap.add_argument("--bundles", type=int, default=256)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = sample_valuations(args.distribution, args.items, args.samples, seed=args.seed, bids=50)
    n_train = int(0.95 * len(data))
    train, test = data[:n_train], data[n_train:]
    t0 = time.perf_counter()
    ip, gb = item_pricing(train, test), grand_bundle(train, test)
    print(f"{args.distribution} {args.items}: item pricing test {ip['revenue']:.1f} (train {ip['train_revenue']:.1f}), "
          f"grand bundle test {gb['revenue']:.1f}, test welfare {test.values.max(1).mean():.1f} "
          f"({time.perf_counter() - t0:.1f} s)", flush=True)
    scale = float(train.grand_values().mean())
    pool = candidate_bundles(train, args.bundles, np.random.default_rng(args.seed)) if args.bundles else np.zeros((0, args.items), np.uint8)
    tensors = {}
    for name, d in (("train", train), ("test", test)):
        b = torch.tensor(d.bundles, dtype=torch.float32)
        v = torch.tensor(d.values / scale, dtype=torch.float32)
        vp = bundle_values(b, v, torch.tensor(pool, dtype=torch.float32)) if len(pool) else torch.zeros(len(b), 0)
        tensors[name] = (b, v, vp)
    q0 = torch.tensor(np.asarray(ip["prices"]) / scale, dtype=torch.float32)
    q = torch.nn.Parameter(q0.clone())
    # bundle prices start 20% above their item prices: they sell only where they beat item pricing
    pp = torch.nn.Parameter(torch.tensor(pool, dtype=torch.float32) @ q0 * 1.2)
    opt = torch.optim.Adam([q, pp], lr=args.lr)

    def revenue(b, v, vp, lam=None):
        cost = b @ q.clamp_min(0)
        u_bids = torch.where((b.sum(-1) > 0) | (v > 0), v - cost, torch.full_like(v, -1e9))
        p2 = pp.clamp_min(0)
        u = torch.cat([u_bids, vp - p2[None], torch.zeros(len(v), 1)], 1)
        price = torch.cat([cost, p2[None].expand(len(v), -1), torch.zeros(len(v), 1)], 1)
        if lam is None:
            best = u.max(1, keepdim=True).values
            k = torch.where(u >= best - 1e-9, price, torch.full_like(price, -1e18)).argmax(1)
            return price[torch.arange(len(v)), k].mean() * scale
        return (torch.softmax(u * lam, 1) * price).sum(1).mean() * scale

    gen = torch.Generator().manual_seed(args.seed)
    print("| step | train revenue | test revenue | test / item pricing |\n|---|---|---|---|")
    for s in range(args.steps + 1):
        if s % 500 == 0:
            with torch.no_grad():
                tr, te = float(revenue(*tensors["train"])), float(revenue(*tensors["test"]))
            print(f"| {s} | {tr:.1f} | {te:.1f} | {te / ip['revenue']:.3f} |", flush=True)
        rows = torch.randint(0, n_train, (256,), generator=gen)
        loss = -revenue(*(x[rows] for x in tensors["train"]), lam=50 * 20 ** (s / args.steps))
        opt.zero_grad()
        loss.backward()
        opt.step()


if __name__ == "__main__":
    main()

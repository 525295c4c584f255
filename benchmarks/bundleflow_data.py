"""The CATS valuations of the BundleFlow benchmark, drawn once per (distribution, goods, seed)
and kept on disk, so every method of a cell and every rerun of it sees the same valuations.

The draw is the one ``examples/regions_50.auction`` makes (``auctionc.cats.sample_valuations``
with ``bids = 50`` per CATS instance, the generator's defaults and uniform private values,
one valuation per bidder of each instance), seeded by the benchmark seed.  Generating 40,000
valuations at 50 goods takes about 10 CPU-minutes on this machine, so the files are cached.

    .venv/bin/python benchmarks/bundleflow_data.py --items 50 100 --seeds 0 1 2   # pre-generate
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from auctionc.cats import XorBatch, sample_valuations

BIDS = 50
"""CATS bids per generated instance: the backend's default and the example's."""


def cache_dir() -> Path:
    root = os.environ.get("AUCTIONC_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "auctionc") / "cats_benchmark"


def load_or_sample(dist: str, m: int, n: int, seed: int, directory: Path | None = None) -> tuple[XorBatch, float]:
    """``n`` valuations and the seconds it took to draw them (0 when read from the cache).
    A file with more valuations than asked serves a smaller request (the first ``n``: the
    draw is sequential, so they are the same valuations)."""
    directory = Path(directory) if directory is not None else cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    for path in sorted(directory.glob(f"{dist}_m{m}_b{BIDS}_s{seed}_n*.npz")):
        have = int(path.stem.rsplit("_n", 1)[1])
        if have >= n:
            with np.load(path) as doc:
                return XorBatch(doc["bundles"][:n], doc["values"][:n]), 0.0
    t0 = time.perf_counter()
    data = sample_valuations(dist, m, n, seed=seed, bids=BIDS)
    seconds = time.perf_counter() - t0
    path = directory / f"{dist}_m{m}_b{BIDS}_s{seed}_n{n}.npz"
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, bundles=data.bundles, values=data.values)
    tmp.replace(path)
    return data, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, nargs="+", default=[50, 100])
    ap.add_argument("--dists", nargs="+", default=["regions", "arbitrary"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--samples", type=int, default=40_000)
    args = ap.parse_args()
    for seed in args.seeds:
        for m in args.items:
            for dist in args.dists:
                t0, c0 = time.perf_counter(), time.process_time()
                data, _ = load_or_sample(dist, m, args.samples, seed)
                print(f"{dist} {m} seed {seed}: {len(data):,} valuations, {time.perf_counter() - t0:.0f} s wall, "
                      f"{time.process_time() - c0:.0f} s CPU", flush=True)


if __name__ == "__main__":
    main()

"""BundleFlow against Bundle-RochetNet and the simple menus on CATS Regions and Arbitrary
(one bidder), on the same valuations for every method.

    .venv/bin/python benchmarks/bundleflow.py --quick                      # one cell, ~10 CPU-min
    nice -n 5 .venv/bin/python benchmarks/bundleflow.py                    # 50, 100 goods x 2 x 3 seeds
    .venv/bin/python benchmarks/bundleflow.py --report                     # tables from the results file

Per (distribution, goods, seed) cell: ``samples`` valuations drawn as the example draws them
(``bundleflow_data.py``: CATS defaults, uniform private values, 50 bids per instance, one
valuation per bidder), the last ``test`` held out; every method trains on the rest and is
scored on the held-out ones.  A cell's results are appended to the results file (JSON lines)
as soon as it finishes, and cells already there are skipped, so a long run resumes.

Methods: BundleFlow (the backend's training, options as in ``CONFIGS``), Bundle-RochetNet
from BundleFlow's start (``brn``) and from RochetNet's random start (``brn_random``), the
fixed-bundle RochetNet, item pricing (searched on the training set) and grand-bundle pricing.
All learned menus use the same softmax schedule; Bundle-RochetNet gets at least BundleFlow's
steps.  Reported per cell: revenue with its 95% interval, share of welfare (revenue over the
mean value of all items), BundleFlow's ratio to each (paired 95% interval), and for the two
learned-allocation menus the steps and seconds until the held-out revenue first came within
2% of its final value.  Seconds are wall-clock beside CPU seconds of this process; the load
average at the start and end of each cell is recorded, because the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from auctionc.backends.bundleflow import candidates as C
from auctionc.backends.bundleflow.baselines import fixed_rochetnet, grand_bundle, item_pricing
from auctionc.backends.bundleflow.bundle_menu import choose
from auctionc.backends.bundleflow.bundle_rochetnet import RochetConfig, hard_revenue, train_bundle_rochetnet
from auctionc.backends.bundleflow.flow import load_or_train
from auctionc.backends.bundleflow.relaxation import Schedule
from auctionc.backends.bundleflow.train import TrainConfig, train_menu

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bundleflow_data import load_or_sample  # noqa: E402

HERE = Path(__file__).resolve().parent
PUBLISHED = {"revenue": "1.11-2.23x over AMD baselines", "steps": "3.6-9.5x fewer iterations than Bundle-RochetNet"}
CONFIGS = {
    "full": {"samples": 40_000, "test": 2_000, "menu": 512, "support": 4, "steps": 3000, "batch": 128, "lr": 0.02,
             "lr_support": 0.005, "brn_lr": 0.02, "warmup": 200, "eval_every": 100, "flow_iterations": 2000,
             "schedule": {"kind": "geometric", "start": 50.0, "end": 500.0}},
    # warm-up 50 (the backend's default is 200): measured on three cells to give the same
    # revenue (results/bundleflow.md); evaluations every 25 steps resolve the steps to 2%
    "quick": {"samples": 6_000, "test": 2_000, "menu": 256, "support": 4, "steps": 800, "batch": 128, "lr": 0.02,
              "lr_support": 0.005, "brn_lr": 0.02, "warmup": 50, "eval_every": 25, "flow_iterations": 2000,
              "schedule": {"kind": "geometric", "start": 50.0, "end": 500.0}},
}
METHODS = ("bundleflow", "brn", "brn_random", "fixed_rochetnet", "item_pricing", "grand_bundle")
LABEL = {"bundleflow": "BundleFlow", "brn": "Bundle-RochetNet (BundleFlow's start)",
         "brn_random": "Bundle-RochetNet (RochetNet's start)", "fixed_rochetnet": "fixed-bundle RochetNet",
         "item_pricing": "item pricing", "grand_bundle": "grand bundle"}


def timed(fn, *a, **k):
    w, c = time.perf_counter(), time.process_time()
    out = fn(*a, **k)
    return out, time.perf_counter() - w, time.process_time() - c


def to_2pct(history: list[dict], final: float, step_key: str) -> dict:
    """The first evaluation whose held-out revenue is within 2% of ``final``."""
    h = next((h for h in history if final > 0 and h["test_revenue"] >= 0.98 * final), None)
    if h is None:
        return {"steps": None, "seconds": None, "cpu_seconds": None}
    return {"steps": int(h[step_key]), "seconds": float(h["seconds"]), "cpu_seconds": float(h["cpu_seconds"])}


def run_cell(dist: str, m: int, seed: int, cfg: dict, methods: tuple[str, ...]) -> dict:
    load0 = os.getloadavg()
    data, gen_s = load_or_sample(dist, m, cfg["samples"], seed)
    train, test = data[: -cfg["test"]], data[-cfg["test"] :]
    sched = Schedule(**cfg["schedule"])
    out: dict = {"distribution": dist, "items": m, "seed": seed, "train": len(train), "test": len(test),
                 "welfare": float(test.grand_values().mean()), "data_seconds": gen_s, "config": cfg, "methods": {},
                 "torch_threads": torch.get_num_threads(), "load_start": load0}

    def put(key: str, pay: np.ndarray, wall: float, cpu: float, **extra) -> None:
        mean, half = C.mean_ci(pay)
        out["methods"][key] = {"revenue": mean, "ci": half, "seconds": wall, "cpu_seconds": cpu,
                               "payments": np.round(pay, 6).tolist(), **extra}
        print(f"  {dist} {m} seed {seed} {LABEL[key]:<38} {mean:8.2f} ± {half:5.2f}  {wall:7.1f} s ({cpu:.1f} CPU s)",
              flush=True)

    if "item_pricing" in methods or "grand_bundle" in methods:
        ip, w, c = timed(item_pricing, train, test)
        put("item_pricing", C.item_payments(np.asarray(ip["prices"]), test), w, c, train_revenue=ip["train_revenue"])
        gb, w, c = timed(grand_bundle, train, test)
        put("grand_bundle", np.where(test.grand_values() >= gb["price"], gb["price"], 0.0), w, c,
            train_revenue=gb["train_revenue"])
    if "fixed_rochetnet" in methods:
        fr, w, c = timed(fixed_rochetnet, train, test, cfg["menu"], cfg["steps"], seed=seed, schedule=sched)
        put("fixed_rochetnet", C.fixed_candidate(fr, test).payments, w, c, train_revenue=fr["train_revenue"],
            steps=cfg["steps"])
    if "bundleflow" in methods:
        flow, info, cached = load_or_train(m, iterations=cfg["flow_iterations"])
        tc = TrainConfig(menu=cfg["menu"], support=cfg["support"], steps=cfg["steps"], batch=cfg["batch"], lr=cfg["lr"],
                         lr_support=cfg["lr_support"], eval_every=cfg["eval_every"], seed=seed,
                         warmup_steps=cfg["warmup"], schedule=sched)
        res = train_menu(flow, train, test, tc)
        pay = np.where((idx := choose(res.bundles, res.probs, res.prices, test.bundles, test.values)) >= 0,
                       res.prices[np.maximum(idx, 0)], 0.0)
        put("bundleflow", pay, res.seconds, res.cpu_seconds, train_revenue=res.train_revenue,
            steps=cfg["steps"] + res.warmup["steps"], selected_step=res.state["selected_step"], history=res.history,
            to_2pct=to_2pct(res.history, res.revenue, "steps_with_warmup"),
            flow={"cached": cached, "seconds": info.get("seconds"), "corner_accuracy": info.get("corner_accuracy")})
    for key, init in (("brn", "bids"), ("brn_random", "random")):
        if key not in methods:
            continue
        # at least BundleFlow's steps: from the random start it has no warm-up, so it gets BundleFlow's warm-up
        # steps as training steps
        steps = cfg["steps"] + (cfg["warmup"] if init == "random" else 0)
        rc = RochetConfig(menu=cfg["menu"], steps=steps, batch=cfg["batch"], lr=cfg["brn_lr"], init=init,
                          warmup_steps=cfg["warmup"], eval_every=cfg["eval_every"], seed=seed, schedule=sched)
        r = train_bundle_rochetnet(train, test, rc)
        _, idx = hard_revenue(r.alpha, r.prices, test)
        pay = np.where(idx >= 0, r.prices[np.maximum(idx, 0)], 0.0)
        frac = ((r.alpha > 0.01) & (r.alpha < 0.99)).sum(1)
        put(key, pay, r.seconds, r.cpu_seconds, train_revenue=r.train_revenue, steps=r.steps,
            selected_step=r.selected_step, history=r.history, to_2pct=to_2pct(r.history, r.revenue, "step"),
            fractional_items={"mean": float(frac.mean()), "max": int(frac.max(initial=0))})
    out["load_end"] = os.getloadavg()
    return out


def cell_key(r: dict) -> tuple:
    return (r["distribution"], r["items"], r["seed"])


def read_results(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _fmt(x, spec: str = ".2f", none: str = "-") -> str:
    return none if x is None else format(x, spec)


def cell_table(rows: list[dict]) -> str:
    lines = ["| setting | seed | method | revenue (95% CI) | share of welfare | BundleFlow / it (95% CI) | steps | "
             "steps to 2% | s to 2% (CPU s) | train s (CPU s) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        bf = r["methods"].get("bundleflow")
        for key in METHODS:
            x = r["methods"].get(key)
            if x is None:
                continue
            ratio = "-"
            if bf is not None and key != "bundleflow":
                ratio = "{:.3f} ± {:.3f}".format(*C.ratio_ci(np.array(bf["payments"]), np.array(x["payments"])))
            t2 = x.get("to_2pct") or {}
            lines.append(
                f"| {r['distribution']} {r['items']} | {r['seed']} | {LABEL[key]} | {x['revenue']:.1f} ± {x['ci']:.1f} | "
                f"{x['revenue'] / r['welfare']:.1%} | {ratio} | {_fmt(x.get('steps'), 'd')} | {_fmt(t2.get('steps'), 'd')} | "
                f"{_fmt(t2.get('seconds'), '.0f')} ({_fmt(t2.get('cpu_seconds'), '.0f')}) | "
                f"{x['seconds']:.0f} ({x['cpu_seconds']:.0f}) |")
    return "\n".join(lines)


def summary_table(rows: list[dict]) -> str:
    """Medians over seeds of the ratios the targets are stated in."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["distribution"], r["items"]), []).append(r)
    lines = ["| setting | seeds | BundleFlow | / B-RN (BF start) | / B-RN (random start) | / fixed-bundle RN | / item pricing | "
             "/ grand bundle | BF share of welfare | B-RN steps to 2% / BF's | BF train s (CPU s) | published |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (dist, m), rs in sorted(groups.items()):
        def med(fn, rs=rs):
            vals = [v for v in (fn(r) for r in rs) if v is not None]
            return statistics.median(vals) if vals else None

        def ratio(key):
            return med(lambda r: r["methods"]["bundleflow"]["revenue"] / r["methods"][key]["revenue"]
                       if key in r["methods"] and r["methods"][key]["revenue"] > 0 else None)

        def steps_ratio(key):
            def one(r):
                a = (r["methods"].get(key) or {}).get("to_2pct", {}).get("steps")
                b = r["methods"]["bundleflow"]["to_2pct"]["steps"]
                return a / b if a is not None and b else None
            return med(one)

        bf = med(lambda r: r["methods"]["bundleflow"]["revenue"])
        lines.append(
            f"| {dist} {m} | {len(rs)} | {_fmt(bf, '.1f')} | {_fmt(ratio('brn'), '.3f')} | {_fmt(ratio('brn_random'), '.3f')} | "
            f"{_fmt(ratio('fixed_rochetnet'), '.3f')} | {_fmt(ratio('item_pricing'), '.3f')} | "
            f"{_fmt(ratio('grand_bundle'), '.3f')} | "
            f"{_fmt(med(lambda r: r['methods']['bundleflow']['revenue'] / r['welfare']), '.1%')} | "
            f"{_fmt(steps_ratio('brn'), '.2f')} (BF start), {_fmt(steps_ratio('brn_random'), '.2f')} (random) | "
            f"{_fmt(med(lambda r: r['methods']['bundleflow']['seconds']), '.0f')} "
            f"({_fmt(med(lambda r: r['methods']['bundleflow']['cpu_seconds']), '.0f')}) | "
            f"{PUBLISHED['revenue']}; {PUBLISHED['steps']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, nargs="+", default=None)
    ap.add_argument("--dists", nargs="+", default=None, help="default: regions arbitrary (--quick: regions)")
    ap.add_argument("--seeds", type=int, nargs="+", default=None)
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--quick", action="store_true", help="one seed of Regions 50 with 6,000 valuations and a small budget")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: the machine is shared)")
    ap.add_argument("--results", type=Path, default=None, help="JSON lines, one per finished cell (resumes from it)")
    ap.add_argument("--report", action="store_true", help="print the tables from the results file and stop")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    name = "quick" if args.quick else "full"
    cfg = CONFIGS[name]
    items = args.items or ([50] if args.quick else [50, 100])
    dists = args.dists or (["regions"] if args.quick else ["regions", "arbitrary"])
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    path = args.results or HERE / "results" / f"bundleflow_{name}.jsonl"
    done = {cell_key(r) for r in read_results(path)}
    if not args.report:
        for seed in seeds:
            for m in items:
                for dist in dists:
                    if (dist, m, seed) in done:
                        print(f"{dist} {m} seed {seed}: in {path}, skipped", flush=True)
                        continue
                    t0, c0 = time.perf_counter(), time.process_time()
                    row = run_cell(dist, m, seed, cfg, tuple(args.methods))
                    row["cell_seconds"], row["cell_cpu_seconds"] = time.perf_counter() - t0, time.process_time() - c0
                    path.parent.mkdir(parents=True, exist_ok=True)
                    with path.open("a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(f"{dist} {m} seed {seed}: {row['cell_seconds']:.0f} s, {row['cell_cpu_seconds']:.0f} CPU s, "
                          f"load {row['load_start'][0]:.1f} -> {row['load_end'][0]:.1f}", flush=True)
    rows = sorted(read_results(path), key=cell_key)
    print(f"\n## Per cell ({name} configuration; {path.name})\n\n" + cell_table(rows))
    print("\n## Medians over seeds\n\n" + summary_table(rows))


if __name__ == "__main__":
    main()

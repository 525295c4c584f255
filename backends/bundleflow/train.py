"""The BundleFlow training loop: data, flow (cached), menu, checkpoints, evaluation."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from auctionc.backends.bundleflow.baselines import candidate_bundles
from auctionc.backends.bundleflow.bundle_menu import choose
from auctionc.backends.bundleflow.flow import FlowField
from auctionc.backends.bundleflow.flow_menu import BundleMenu
from auctionc.backends.bundleflow.relaxation import Schedule
from auctionc.cats.xor import XorBatch
from auctionc.outputs import run_identity

CKPT = "bundleflow_ckpt.pt"
RESUMABLE = frozenset({"steps", "eval_every", "chunk", "baselines", "rochetnet_menu", "rochetnet_steps", "lp_max_items",
                       "lp_samples", "cache_dir", "max_memory_gb"})
"""Options a resumed run may change: how long the menu trains, how often it is evaluated,
and what runs beside it; any other difference makes the checkpoint another run's."""


@dataclass
class TrainConfig:
    menu: int = 512
    support: int = 4
    steps: int = 1000
    batch: int = 256
    lr: float = 0.02
    schedule: Schedule = field(default_factory=Schedule)
    """The softmax relaxation's sharpness (its ``scale`` is set from the training values)."""
    euler_steps: int = 5
    eval_every: int = 100
    chunk: int = 4096
    seed: int = 0
    lr_support: float = 0.005
    warmup_steps: int = 500
    select_samples: int = 4000
    """Training valuations (a fixed subsample) on which the returned menu is selected."""
    init: str = "bids"
    """``items``: start from the bundles item pricing sells on the training set at their item
    prices (needs ``item_prices``); ``bids``: bundles bid on, priced by a warm-up."""


WARMUP = Schedule("geometric", 5.0, 500.0)
"""The price-only warm-up's sharpness: fast, since only prices move."""


def warm_prices(table: np.ndarray, steps: int, seed: int, schedule: Schedule = WARMUP,
                lr: float = 0.05, batch: int = 1024) -> np.ndarray:
    """Prices for a menu of fixed deterministic bundles, by the softmax-relaxed revenue
    (RochetNet with the allocations frozen); ``table`` is (N, J) values, normalised."""
    t = torch.tensor(table, dtype=torch.float32)
    prices = torch.nn.Parameter(t.mean(0) * 0.8)
    opt = torch.optim.Adam([prices], lr=lr)
    gen = torch.Generator().manual_seed(seed)
    b = min(batch, t.shape[0])
    for it in range(steps):
        rows = torch.randint(0, t.shape[0], (b,), generator=gen)
        u = torch.cat([t[rows] - prices.clamp_min(0)[None], torch.zeros(b, 1)], 1)
        w = torch.softmax(u * schedule.at(it, steps), 1)[:, :-1]
        loss = -(w @ prices.clamp_min(0)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return prices.detach().clamp_min(0).numpy()


@dataclass
class TrainResult:
    bundles: np.ndarray
    probs: np.ndarray
    prices: np.ndarray
    revenue: float
    train_revenue: float
    iterations: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    resumed_from: int = 0
    cpu_seconds: float = 0.0
    warmup: dict[str, float] = field(default_factory=dict)
    """The price-only warm-up's steps and seconds (included in ``seconds``)."""


def items_init(train: XorBatch, item_prices: np.ndarray, menu: int, rng: np.random.Generator,
               grand_price: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic elements that reproduce item pricing on the training set: the bundles it
    sells there (most often sold first) at their item prices, the grand bundle, then other bid
    bundles, all priced additively, except the grand bundle at ``grand_price`` (the best single
    price for it): a valuation whose bundles are not on the menu (most of them at 50 items:
    a finite menu cannot list every bundle item pricing sells) then still buys that.  Started
    there, the training revenue begins at item pricing's on the bundles it covers."""
    m = train.n_items
    cost = train.bundles.astype(float) @ item_prices
    u = train.values - cost
    k = np.argmax(u + 1e-9 * cost, axis=1)
    rows = np.arange(len(train))
    sold = u[rows, k] >= -1e-9
    uniq, counts = np.unique(train.bundles[rows[sold], k[sold]], axis=0, return_counts=True)
    uniq = uniq[np.argsort(-counts, kind="stable")]
    pool = np.vstack([np.ones((1, m), dtype=np.uint8), uniq[~uniq.all(axis=1)]])[:menu]
    if len(pool) < menu:
        extra = candidate_bundles(train, menu, rng)
        seen = {r.tobytes() for r in pool}
        extra = np.array([r for r in extra if r.tobytes() not in seen], dtype=np.uint8).reshape(-1, m)
        pool = np.vstack([pool, extra[: menu - len(pool)]])
    if len(pool) < menu:
        pool = pool[np.concatenate([np.arange(len(pool)), rng.choice(len(pool), menu - len(pool))])]
    prices = pool.astype(float) @ item_prices
    if grand_price is not None:
        prices[0] = min(prices[0], grand_price)
    return pool, prices


def _evaluate(menu: BundleMenu, data: XorBatch, scale: float, chunk: int) -> tuple[float, np.ndarray]:
    with torch.no_grad():
        bundles, probs = menu.distributions()
    b = bundles.numpy().astype(np.uint8)
    p = probs.numpy().astype(float)
    price = menu.prices().detach().numpy().astype(float) * scale
    idx = choose(b, p, price, data.bundles, data.values, chunk)
    return float(np.where(idx >= 0, price[np.maximum(idx, 0)], 0.0).mean()), idx


def _load_checkpoint(path: Path, identity: dict | None) -> dict[str, Any]:
    """The checkpoint as plain data (``weights_only=True``: nothing in it is run), refused with
    E0722 when it cannot be read so or was made by another run (spec, options or seed)."""
    from auctionc.diagnostics import Diagnostic
    from auctionc.errors import BackendError
    from auctionc.outputs import identity_mismatch

    try:
        doc = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same refusal
        raise BackendError(Diagnostic(
            "E0722", f"the BundleFlow checkpoint {path} cannot be read as plain data ({type(e).__name__})",
            help="it was not written by this auctionc, or was altered; rerun without --resume")) from None
    if not isinstance(doc, dict) or "menu" not in doc:
        raise BackendError(Diagnostic("E0722", f"{path} is not a BundleFlow checkpoint", help="rerun without --resume"))
    why = identity_mismatch(doc.get("identity"), identity, RESUMABLE)
    if why is not None:
        raise BackendError(Diagnostic(
            "E0722", f"the BundleFlow checkpoint in {path.parent} belongs to another run: {why}",
            help="rerun without --resume to start over, or resume with the spec and options that made it"))
    return doc


def train_menu(
    flow: FlowField,
    train: XorBatch,
    test: XorBatch,
    cfg: TrainConfig,
    *,
    out_dir: Path | None = None,
    resume: bool = False,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
    item_prices: np.ndarray | None = None,
    grand_price: float | None = None,
) -> TrainResult:
    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    w0, c0 = time.perf_counter(), time.process_time()
    scale = float(train.grand_values().mean()) or 1.0
    schedule = Schedule(**{**cfg.schedule.__dict__, "scale": scale})
    m = train.n_items
    # every element starts as one bundle bid on in the training data (all its support points
    # at that corner), priced by a short price-only warm-up on the fixed bundles; the flow
    # stage then moves support points and mixes them into lotteries
    if cfg.init == "items" and item_prices is not None:
        pool, price0 = items_init(train, np.asarray(item_prices, dtype=float), cfg.menu, rng, grand_price)
        init_p = torch.tensor(price0 / scale, dtype=torch.float32)
    else:
        pool = candidate_bundles(train, cfg.menu, rng)
        pick = np.concatenate([np.arange(len(pool)), rng.choice(len(pool), max(cfg.menu - len(pool), 0))])[: cfg.menu]
        pool = pool[pick]
        init_p = torch.tensor(warm_prices(train.values_of(pool) / scale, cfg.warmup_steps, cfg.seed), dtype=torch.float32)
    init_b = torch.tensor(np.repeat(pool, cfg.support, axis=0), dtype=torch.float32)
    menu = BundleMenu(flow, cfg.menu, cfg.support, cfg.euler_steps, init_b, init_p, gen)
    opt = torch.optim.Adam([{"params": [menu.mu], "lr": cfg.lr_support}, {"params": [menu.w], "lr": cfg.lr},
                            {"params": [menu.raw_price], "lr": cfg.lr}])
    bids = torch.tensor(train.bundles, dtype=torch.float32)
    vals = torch.tensor(train.values / scale, dtype=torch.float32)
    warm = {"seconds": time.perf_counter() - w0, "cpu_seconds": time.process_time() - c0,
            "steps": cfg.warmup_steps if cfg.init != "items" or item_prices is None else 0}
    start, history, elapsed0, cpu0 = 0, [], warm["seconds"], warm["cpu_seconds"]
    ckpt = Path(out_dir) / CKPT if out_dir is not None else None
    identity = run_identity(out_dir)
    if resume and ckpt is not None and ckpt.exists():
        doc = _load_checkpoint(ckpt, identity)
        if doc.get("shape") == [cfg.menu, cfg.support, m]:
            menu.load_state_dict(doc["menu"])
            opt.load_state_dict(doc["opt"])
            gen.set_state(doc["gen"])
            start, history, elapsed0 = doc["step"], doc["history"], doc["seconds"]
            cpu0 = doc.get("cpu_seconds", 0.0)
    resumed_from = start
    # model selection on a fixed subsample of the training set (argmax revenue), so a
    # relaxation step that hurts the real revenue is never the one returned; the test set
    # stays untouched
    best: dict[str, Any] = {"train_revenue": -1.0}
    select = train[rng.choice(len(train), min(cfg.select_samples, len(train)), replace=False)]

    def snapshot(step: int) -> float:
        rev, _ = _evaluate(menu, select, scale, cfg.chunk)
        if rev > best["train_revenue"]:
            best.update(train_revenue=rev, step=step, menu={k: v.detach().clone() for k, v in menu.state_dict().items()
                                                             if not k.startswith("flow.")})
        return rev

    tr0 = snapshot(start)
    if start == 0:  # the starting menu is the first point of the learning curve
        history.append({"step": 0, "steps_with_warmup": warm["steps"], "seconds": elapsed0, "cpu_seconds": cpu0,
                        "test_revenue": _evaluate(menu, test, scale, cfg.chunk)[0], "train_revenue": tr0,
                        "soft_revenue": float("nan"), "sharpness": schedule.at(0, cfg.steps)})
    # the clocks count training only (the warm-up included), not the evaluations
    clock = {"wall": time.perf_counter() - elapsed0, "cpu": time.process_time() - cpu0}
    n = len(train)
    for step in range(start + 1, cfg.steps + 1):
        rows = torch.randint(0, n, (min(cfg.batch, n),), generator=gen)
        lam = schedule.at(step, cfg.steps)
        loss = -menu.soft_revenue(bids[rows], vals[rows], lam)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the soft revenue became {float(loss)} at step {step}")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            seconds, cpu = time.perf_counter() - clock["wall"], time.process_time() - clock["cpu"]
            tr_now = snapshot(step)
            rev, _ = _evaluate(menu, test, scale, cfg.chunk)
            rec = {"step": step, "steps_with_warmup": step + warm["steps"], "seconds": seconds, "cpu_seconds": cpu,
                   "test_revenue": rev, "train_revenue": tr_now, "soft_revenue": -float(loss.detach()) * scale,
                   "sharpness": lam}
            history.append(rec)
            if on_step is not None:
                on_step(step, rec)
            clock["wall"], clock["cpu"] = time.perf_counter() - seconds, time.process_time() - cpu
            if ckpt is not None:
                ckpt.parent.mkdir(parents=True, exist_ok=True)
                tmp = ckpt.with_suffix(".tmp")
                torch.save({"menu": menu.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(), "step": step,
                            "history": history, "seconds": seconds, "cpu_seconds": cpu,
                            "shape": [cfg.menu, cfg.support, m], "identity": identity}, tmp)
                tmp.replace(ckpt)
        elif on_step is not None:
            on_step(step, {})
    seconds, cpu = time.perf_counter() - clock["wall"], time.process_time() - clock["cpu"]
    if best.get("menu") is not None:
        menu.load_state_dict(best["menu"], strict=False)
    with torch.no_grad():
        bundles, probs = menu.distributions()
    prices = menu.prices().detach().numpy().astype(float) * scale
    b = bundles.numpy().astype(np.uint8)
    p = probs.numpy().astype(float)
    idx = choose(b, p, prices, test.bundles, test.values, cfg.chunk)
    rev = float(np.where(idx >= 0, prices[np.maximum(idx, 0)], 0.0).mean())
    idx_tr = choose(b, p, prices, train.bundles, train.values, cfg.chunk)
    tr_rev = float(np.where(idx_tr >= 0, prices[np.maximum(idx_tr, 0)], 0.0).mean())
    state = {"menu": {k: v.detach().clone() for k, v in menu.state_dict().items() if not k.startswith("flow.")},
             "flow": {k: v.detach().clone() for k, v in flow.state_dict().items()}, "scale": scale,
             "flow_shape": [flow.m, flow.hidden]}
    state["selected_step"] = best.get("step", cfg.steps)
    return TrainResult(b, p, prices, rev, tr_rev, cfg.steps, seconds, history, state, resumed_from, cpu, warm)

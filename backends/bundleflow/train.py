"""The BundleFlow training loop: data, flow (cached), menu, checkpoints, evaluation."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...cats.xor import XorBatch
from .artifact import choose
from .baselines import candidate_bundles
from .flow import FlowField
from .menu import BundleMenu, sharpness

CKPT = "bundleflow_ckpt.pt"


@dataclass
class TrainConfig:
    menu: int = 512
    support: int = 4
    steps: int = 1000
    batch: int = 256
    lr: float = 0.02
    sharpness_start: float = 50.0
    sharpness_end: float = 500.0
    euler_steps: int = 5
    eval_every: int = 100
    chunk: int = 4096
    seed: int = 0
    lr_support: float = 0.005
    warmup_steps: int = 500


def warm_prices(table: np.ndarray, steps: int, seed: int, lam: tuple[float, float] = (5.0, 500.0),
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
        w = torch.softmax(u * sharpness(it, steps, *lam), 1)[:, :-1]
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


def _evaluate(menu: BundleMenu, data: XorBatch, scale: float, chunk: int) -> tuple[float, np.ndarray]:
    with torch.no_grad():
        bundles, probs = menu.distributions()
    b = bundles.numpy().astype(np.uint8)
    p = probs.numpy().astype(float)
    price = menu.prices().detach().numpy().astype(float) * scale
    idx = choose(b, p, price, data.bundles, data.values, chunk)
    return float(np.where(idx >= 0, price[np.maximum(idx, 0)], 0.0).mean()), idx


def train_menu(
    flow: FlowField,
    train: XorBatch,
    test: XorBatch,
    cfg: TrainConfig,
    *,
    out_dir: Path | None = None,
    resume: bool = False,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainResult:
    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    scale = float(train.grand_values().mean()) or 1.0
    m = train.n_items
    cfg.menu * cfg.support
    # every element starts as one bundle bid on in the training data (all its support points
    # at that corner), priced by a short price-only warm-up on the fixed bundles; the flow
    # stage then moves support points and mixes them into lotteries
    pool = candidate_bundles(train, cfg.menu, rng)
    pick = np.concatenate([np.arange(len(pool)), rng.choice(len(pool), max(cfg.menu - len(pool), 0))])[: cfg.menu]
    init_b = torch.tensor(np.repeat(pool[pick], cfg.support, axis=0), dtype=torch.float32)
    init_p = torch.tensor(warm_prices(train.values_of(pool[pick]) / scale, cfg.warmup_steps, cfg.seed), dtype=torch.float32)
    menu = BundleMenu(flow, cfg.menu, cfg.support, cfg.euler_steps, init_b, init_p, gen)
    opt = torch.optim.Adam([{"params": [menu.mu], "lr": cfg.lr_support}, {"params": [menu.w], "lr": cfg.lr},
                            {"params": [menu.raw_price], "lr": cfg.lr}])
    bids = torch.tensor(train.bundles, dtype=torch.float32)
    vals = torch.tensor(train.values / scale, dtype=torch.float32)
    start, history, elapsed0 = 0, [], 0.0
    ckpt = Path(out_dir) / CKPT if out_dir is not None else None
    if resume and ckpt is not None and ckpt.exists():
        doc = torch.load(ckpt, map_location="cpu", weights_only=False)
        if doc.get("shape") == [cfg.menu, cfg.support, m]:
            menu.load_state_dict(doc["menu"])
            opt.load_state_dict(doc["opt"])
            gen.set_state(doc["gen"])
            start, history, elapsed0 = doc["step"], doc["history"], doc["seconds"]
    resumed_from = start
    t0 = time.perf_counter() - elapsed0
    n = len(train)
    for step in range(start + 1, cfg.steps + 1):
        rows = torch.randint(0, n, (min(cfg.batch, n),), generator=gen)
        lam = sharpness(step, cfg.steps, cfg.sharpness_start, cfg.sharpness_end)
        loss = -menu.soft_revenue(bids[rows], vals[rows], lam)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the soft revenue became {float(loss)} at step {step}")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            rev, _ = _evaluate(menu, test, scale, cfg.chunk)
            rec = {"step": step, "seconds": time.perf_counter() - t0, "test_revenue": rev,
                   "soft_revenue": -float(loss.detach()) * scale, "sharpness": lam}
            history.append(rec)
            if on_step is not None:
                on_step(step, rec)
            if ckpt is not None:
                ckpt.parent.mkdir(parents=True, exist_ok=True)
                tmp = ckpt.with_suffix(".tmp")
                torch.save({"menu": menu.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(), "step": step,
                            "history": history, "seconds": time.perf_counter() - t0,
                            "shape": [cfg.menu, cfg.support, m]}, tmp)
                tmp.replace(ckpt)
        elif on_step is not None:
            on_step(step, {})
    seconds = time.perf_counter() - t0
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
    return TrainResult(b, p, prices, rev, tr_rev, cfg.steps, seconds, history, state, resumed_from)

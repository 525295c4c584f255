"""Bundle-RochetNet: the menu baseline that learns allocations, which BundleFlow's paper
compares its training iterations with (Wang, Jiang, Parkes 2025: "a baseline that also
learns allocations in menu elements").

No code or exact definition of it could be read (neither the paper's body nor its authors'
repository, TonghanWang/BundleFlow @ 7e02468e, has it), so this is our reconstruction of the
RochetNet menu (Duetting et al., reference code saisrivatsan/deep-opt-auctions
``rochetNet/nets/additive_net.py``) for XOR valuations:

* J elements; element j allocates each item i independently with probability
  alpha_ji = sigmoid(theta_ji) (RochetNet's allocation parametrisation), so its lottery over
  bundles is the product distribution; a learned price p_j; the null element (nothing,
  price 0) is always there (RochetNet pads it in; it gives IR).
* The expected XOR value of a product lottery is computed **exactly** rather than by sampling
  bundles: for bids (T_l, b_l) with b_l >= 0, max{b_l : T_l in S} equals
  sum over non-empty subsets I of the bids of (-1)^(|I|+1) min_{l in I} b_l * 1[union T_I in S]
  (the max-min inclusion-exclusion identity), and under item-wise draws
  P(union T_I in S) = prod_{i in union T_I} alpha_ji.  So
  E v(S) = sum_I (-1)^(|I|+1) min_I b * exp(sum_{i in union T_I} log alpha_ji):
  deterministic, differentiable in theta, 2^K - 1 terms for K bids (at most 63 at the CATS
  defaults, K <= 6).  Sampling bundles (a Gumbel or straight-through estimator) would add
  noise to both the training signal and the test-time choice, and the test-time choice must
  be the exact argmax for the menu to be IC.
* Training: the same softmax relaxation of revenue as BundleFlow (``relaxation.Schedule``),
  Adam, minibatches of training valuations; test: argmax of exact expected utility, ties to
  the higher price (as ``bundle_menu``), the null element when every utility is negative.
* Start: ``random`` is RochetNet's (theta ~ N(0, 0.05^2): every item with probability about
  1/2; prices uniform on [0, mean grand-bundle value]); ``bids`` is BundleFlow's start
  (each element at a bundle bid on in the training set, theta = +-``init_logit``, prices from
  the same price-only warm-up), which separates what the menu's form does from what the
  start does.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from auctionc.backends.bundleflow.relaxation import Schedule
from auctionc.cats.xor import XorBatch
from torch import nn
from torch.nn import functional as fnn

MAX_EXACT_BIDS = 12
"""The exact expectation has 2^K - 1 terms; beyond this many bids per valuation it is refused."""


def subsets(k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every non-empty subset of ``k`` bids as a 0/1 row ``(2^k - 1, k)``, and its sign (-1)^(|I|+1)."""
    if k > MAX_EXACT_BIDS:
        raise ValueError(f"valuations of {k} bids: the exact expected value needs 2^{k} - 1 terms "
                         f"(at most {MAX_EXACT_BIDS} bids)")
    rows = [r for r in itertools.product((0, 1), repeat=k) if any(r)]
    masks = torch.tensor(rows, dtype=torch.float64)
    sign = torch.where(masks.sum(1) % 2 == 1, 1.0, -1.0).to(torch.float64)
    return masks, sign


def xor_terms(bids: torch.Tensor, values: torch.Tensor, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """The inclusion-exclusion terms of a batch of XOR valuations: coefficients ``(B, P)``
    (sign times the smallest value in the subset; 0 for subsets holding a padding bid) and
    the union bundles ``(B, P, m)`` as 0/1."""
    masks, sign = subsets(bids.shape[1])
    b = bids.to(torch.float64)
    unions = (torch.einsum("pk,bkm->bpm", masks, b) > 0.5).to(dtype)
    v = values.to(torch.float64).clamp_min(0.0)
    vmin = torch.where(masks[None] > 0.5, v[:, None, :], torch.full_like(v[:, None, :], float("inf"))).amin(-1)
    return (sign[None] * vmin).to(dtype), unions


def expected_values(coef: torch.Tensor, unions: torch.Tensor, log_alpha: torch.Tensor) -> torch.Tensor:
    """``(B, J)``: E v(S) for S drawn item by item with log-probabilities ``log_alpha (J, m)``."""
    return torch.einsum("bp,bpj->bj", coef, torch.exp(unions @ log_alpha.T))


def exact_values(data: XorBatch, alpha: np.ndarray, batch: int = 256) -> np.ndarray:
    """``(N, J)`` expected values in float64 (the test-time choice), in chunks of valuations."""
    log_a = torch.log(torch.as_tensor(alpha, dtype=torch.float64))
    out = np.empty((len(data), alpha.shape[0]))
    for s in range(0, len(data), batch):
        coef, unions = xor_terms(torch.as_tensor(data.bundles[s : s + batch]), torch.as_tensor(data.values[s : s + batch]),
                                 torch.float64)
        out[s : s + batch] = expected_values(coef, unions, log_a).numpy()
    return out


class ItemwiseMenu(nn.Module):
    def __init__(self, m: int, menu: int, init_alloc: torch.Tensor | None = None, init_prices: torch.Tensor | None = None,
                 init_logit: float = 6.0, gen: torch.Generator | None = None) -> None:
        super().__init__()
        if init_alloc is None:
            theta = 0.05 * torch.randn(menu, m, generator=gen)
        else:
            theta = (2 * init_alloc.float() - 1) * init_logit
        self.theta = nn.Parameter(theta)
        p = init_prices if init_prices is not None else torch.rand(menu, generator=gen)
        self.raw_price = nn.Parameter(p.clone().float())

    def prices(self) -> torch.Tensor:
        return self.raw_price.clamp_min(0.0)

    def alpha(self) -> torch.Tensor:
        return torch.sigmoid(self.theta)

    def soft_revenue(self, coef: torch.Tensor, unions: torch.Tensor, lam: float) -> torch.Tensor:
        u = expected_values(coef, unions, fnn.logsigmoid(self.theta)) - self.prices()[None]
        u = torch.cat([u, torch.zeros(u.shape[0], 1)], dim=1)
        return (torch.softmax(u * lam, dim=1)[:, :-1] @ self.prices()).mean()


@dataclass
class RochetConfig:
    menu: int = 512
    steps: int = 1000
    batch: int = 128
    lr: float = 0.02
    """Adam step of the prices (scaled units) and of the allocation logits."""
    init: str = "bids"
    init_logit: float = 6.0
    warmup_steps: int = 200
    eval_every: int = 100
    select_samples: int = 4000
    seed: int = 0
    schedule: Schedule = field(default_factory=Schedule)


@dataclass
class RochetResult:
    alpha: np.ndarray
    prices: np.ndarray
    revenue: float
    train_revenue: float
    steps: int
    seconds: float
    cpu_seconds: float
    history: list[dict[str, float]]
    selected_step: int


def hard_revenue(alpha: np.ndarray, prices: np.ndarray, data: XorBatch) -> tuple[float, np.ndarray]:
    from auctionc.backends.bundleflow.bundle_menu import _argmax

    idx = _argmax(exact_values(data, alpha), prices)
    return float(np.where(idx >= 0, prices[np.maximum(idx, 0)], 0.0).mean()), idx


def train_bundle_rochetnet(train: XorBatch, test: XorBatch, cfg: RochetConfig,
                           on_eval: Callable[[dict[str, float]], None] | None = None) -> RochetResult:
    """Train on ``train``, evaluate the argmax menu on ``test`` every ``eval_every`` steps
    (the learning curve); the menu returned is the one with the best revenue on a fixed
    subsample of the training set (the test set is never used to choose)."""
    from auctionc.backends.bundleflow.baselines import candidate_bundles
    from auctionc.backends.bundleflow.train import warm_prices

    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    m = train.n_items
    scale = float(train.grand_values().mean()) or 1.0
    schedule = Schedule(**{**cfg.schedule.__dict__, "scale": scale})
    t0, c0 = time.perf_counter(), time.process_time()
    warm = 0
    if cfg.init == "bids":
        pool = candidate_bundles(train, cfg.menu, rng)
        pick = np.concatenate([np.arange(len(pool)), rng.choice(len(pool), max(cfg.menu - len(pool), 0))])[: cfg.menu]
        pool = pool[pick]
        price0 = warm_prices(train.values_of(pool) / scale, cfg.warmup_steps, cfg.seed)
        net = ItemwiseMenu(m, cfg.menu, torch.tensor(pool), torch.tensor(price0), cfg.init_logit, gen)
        warm = cfg.warmup_steps
    else:
        net = ItemwiseMenu(m, cfg.menu, gen=gen)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    bids = torch.tensor(train.bundles)
    vals = torch.tensor(train.values / scale, dtype=torch.float32)
    select = train[rng.choice(len(train), min(cfg.select_samples, len(train)), replace=False)]
    history: list[dict[str, float]] = []
    best: dict[str, Any] = {"train_revenue": -1.0}
    spent = {"wall": 0.0, "cpu": 0.0}  # evaluation time, left out of the training seconds

    def evaluate(step: int, soft: float, lam: float) -> None:
        w0, e0 = time.perf_counter(), time.process_time()
        alpha = net.alpha().detach().double().numpy()
        price = net.prices().detach().double().numpy() * scale
        tr, _ = hard_revenue(alpha, price, select)
        te, _ = hard_revenue(alpha, price, test)
        if tr > best["train_revenue"]:
            best.update(train_revenue=tr, step=step, alpha=alpha, price=price, test=te)
        spent["wall"] += time.perf_counter() - w0
        spent["cpu"] += time.process_time() - e0
        rec = {"step": step + warm, "seconds": time.perf_counter() - t0 - spent["wall"],
               "cpu_seconds": time.process_time() - c0 - spent["cpu"],
               "test_revenue": te, "train_revenue": tr, "soft_revenue": soft, "sharpness": lam}
        history.append(rec)
        if on_eval is not None:
            on_eval(rec)

    evaluate(0, float("nan"), schedule.at(0, cfg.steps))
    n = len(train)
    for step in range(1, cfg.steps + 1):
        rows = torch.randint(0, n, (min(cfg.batch, n),), generator=gen)
        coef, unions = xor_terms(bids[rows], vals[rows])
        lam = schedule.at(step, cfg.steps)
        loss = -net.soft_revenue(coef, unions, lam)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the soft revenue of Bundle-RochetNet became {float(loss)} at step {step}")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            evaluate(step, -float(loss.detach()) * scale, lam)
    return RochetResult(alpha=best["alpha"], prices=best["price"], revenue=best["test"], train_revenue=best["train_revenue"],
                        steps=cfg.steps + warm, seconds=time.perf_counter() - t0 - spent["wall"],
                        cpu_seconds=time.process_time() - c0 - spent["cpu"],
                        history=history, selected_step=best["step"] + warm)

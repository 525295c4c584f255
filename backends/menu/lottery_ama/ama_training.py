"""Lottery affine maximizer auctions (Curry, Sandholm, Dickerson): a learned list of K
lottery outcomes, outcome boosts and bidder weights (any number of bidders; with one it is a
menu with prices).  Each bidder's menu is a
function of the others' reports only (the Clarke prices of the outcomes) and every bidder's
best element is the same outcome, so the mechanism is exactly strategy-proof by
construction: there is no compatibility to repair after training.

Training relaxes the argmax over outcomes (and the max inside the payments) to a softmax
with an annealed temperature; the artifact (``affine.AffineMaximizerMechanism``) uses the
exact argmax and max.  Imported only from ``compile`` (it imports torch).
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
import torch
from auctionc import valuation as V
from auctionc.backends.menu.lottery_ama.affine_maximizer import AffineMaximizerMechanism
from auctionc.backends.menu.rochetnet import _mean_ci, head_kind, value_scale
from auctionc.backends.menu.training import Schedule, checkpoint_files, run_stats, seeded, train_loop
from auctionc.ir import AuctionSpec
from auctionc.plugins import CompileResult, RunContext

MIN_WEIGHT = 0.25
"""Bidder weights live in [MIN_WEIGHT, 1] (the largest is 1): payments divide by the
weight, and a weight near 0 would make a bidder's payments, and their gradients, explode."""


class LotteryAMA(torch.nn.Module):
    """K outcomes, each feasible by construction: per item a softmax over the bidders and
    'nobody'; a unit-demand bidder's row is also capped by a softmax over its items and
    'nothing'.  Outcome 0 allocates nothing (its boost is learned)."""

    def __init__(self, K: int, n: int, m: int, heads: list[str], gen: torch.Generator) -> None:
        super().__init__()
        self.n, self.m = n, m
        self.unit = torch.tensor([h == "unit_demand" for h in heads])
        self.item_logits = torch.nn.Parameter(_initial_logits(K, m, n, gen))
        self.row_logits = torch.nn.Parameter(torch.randn(K, n, m + 1, generator=gen))
        self.boosts = torch.nn.Parameter(torch.zeros(K))
        # plus a boost per unit of each (bidder, item) allocated (VVCA's form): a reserve
        # price lowers the boost of every outcome that sells, one coordinate here instead
        # of a move of all K boosts together that gradient steps rarely find
        self.unit_boosts = torch.nn.Parameter(torch.zeros(n, m))
        # outcome 0 sells nothing: without it a reserve price must be found by shrinking a
        # random lottery to zero, and training often settles on no reserve at all
        self.register_buffer("live", (torch.arange(K) > 0).float())
        # sigmoid(3) ~ 0.95: every bidder starts at (nearly) the same weight
        self.weight_logits = torch.nn.Parameter(torch.full((n,), 3.0))

    def outcomes(self) -> torch.Tensor:
        """``(K, n, m)`` allocations."""
        x = torch.softmax(self.item_logits, -1)[..., : self.n].transpose(1, 2)
        if bool(self.unit.any()):
            row = torch.softmax(self.row_logits, -1)[..., : self.m]
            x = torch.where(self.unit.to(x.device)[None, :, None], torch.minimum(x, row), x)
        return x * self.live[:, None, None]

    def outcome_boosts(self, x: torch.Tensor) -> torch.Tensor:
        return self.boosts + torch.einsum("kim,im->k", x, self.unit_boosts)

    def weights(self) -> torch.Tensor:
        """In [MIN_WEIGHT, 1], the largest exactly 1: scaling every weight down together
        changes nothing in the exact mechanism (boosts scale with them) but softens the
        relaxation, which training would otherwise exploit."""
        w = MIN_WEIGHT + (1.0 - MIN_WEIGHT) * torch.sigmoid(self.weight_logits)
        return w / w.max()

    def soft_revenue(self, v: torch.Tensor, temp: float) -> torch.Tensor:
        """Relaxed revenue per profile: softmax choice of the outcome, soft max in the
        Clarke term (both tend to the exact mechanism as ``temp`` -> 0)."""
        x, w = self.outcomes(), self.weights()
        wv = torch.einsum("bim,kim->bki", v, x) * w
        total = wv.sum(-1) + self.outcome_boosts(x)
        choice = torch.softmax(total / temp, 1)
        rev = torch.zeros(len(v), device=v.device)
        for i in range(self.n):
            others = total - wv[..., i]
            # the soft max overshoots the max by up to t * log K, and the payment divides by
            # w_i: at t = temp * w_i the overshoot costs the same for every weight, so
            # training gains nothing from lowering a weight
            t = temp * w[i]
            soft_max = t * torch.logsumexp(others / t, 1)
            rev = rev + (soft_max - (choice * others).sum(1)) / w[i]
        return rev

    def export(self, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Outcomes, weights and boosts (value units) in float64, recomputed from the
        parameters in double precision so that every item's shares sum to at most 1."""
        with torch.no_grad():
            double = copy.deepcopy(self).cpu().double()
            x = double.outcomes()
            lam = double.outcome_boosts(x).numpy() * scale
            x, w = x.numpy(), double.weights().numpy()
        return np.clip(x, 0.0, 1.0), w, lam


DETERMINISTIC_LOGIT = 4.0

def _initial_logits(K: int, m: int, n: int, gen: torch.Generator) -> torch.Tensor:
    """Random lotteries, half of them near-deterministic: every assignment of the items to
    the bidders or nobody when there are few enough (Myerson-like optima use exactly
    these), else random assignments.  Lotteries alone train slowly towards the pure
    outcomes an asymmetric or single-item optimum needs; pure outcomes alone lose the
    lotteries of multi-item optima."""
    logits = torch.randn(K, m, n + 1, generator=gen)
    slots = K // 2
    if (n + 1) ** m <= slots:
        grids = torch.meshgrid(*[torch.arange(n + 1)] * m, indexing="ij")
        assign = torch.stack([g.reshape(-1) for g in grids], 1)
    else:
        assign = torch.randint(0, n + 1, (slots, m), generator=gen)
    logits[1 : 1 + len(assign)] += DETERMINISTIC_LOGIT * torch.nn.functional.one_hot(assign, n + 1)[: K - 1]
    return logits


def train_ama(spec: AuctionSpec, opts: dict[str, Any], ctx: RunContext) -> CompileResult:
    t_start = time.perf_counter()
    seed, device = ctx.seed, ctx.device
    gen, rng = seeded(seed)
    n, m = spec.n_bidders, spec.n_items
    heads = [head_kind(spec, i) for i in range(n)]
    scale = value_scale(spec)
    K = opts["size"]
    model = LotteryAMA(K, n, m, heads, gen)
    # start from a reserve at each value's mean (the monopoly price of uniform and
    # exponential values): with two or more bidders revenue is flat in a reserve near 0
    # (it binds with probability F(r)^n), so training from no reserve can stay there
    mean = V.sample_values(spec, 20_000, np.random.default_rng([seed, 2])).values.mean(0) / scale
    with torch.no_grad():
        model.unit_boosts.copy_(-model.weights()[:, None].detach() * torch.as_tensor(mean, dtype=torch.float32))
    model = model.to(device)
    batch = opts["batch"]

    def step_fn(step: int, temp: float) -> tuple[torch.Tensor, float, float]:
        v = V.sample_values(spec, batch, rng).values / scale
        rev = model.soft_revenue(torch.as_tensor(v, dtype=torch.float32, device=device), temp).mean()
        return -rev, float(rev.detach()) * scale, 0.0

    schedule = Schedule(opts["temperature"], opts["temperature_final"], opts["steps"], opts["schedule"])
    state = train_loop(
        step_fn, model.parameters(), {"model": model},
        steps=opts["steps"], lr=opts["lr"], schedule=schedule, rng=rng, out_dir=ctx.out_dir,
        checkpoint_every=opts["checkpoint_every"], patience=opts["patience"], resume=ctx.resume,
        progress=ctx.progress, label="lottery AMA",
    )
    outcomes, weights, boosts = model.export(scale)
    architecture = {"outcomes": K, "min_weight": MIN_WEIGHT, "null_outcome": 0,
                    "outcome_heads": heads, "relaxation": "softmax choice and soft max in the payments"}
    mech = AffineMaximizerMechanism(outcomes, weights, boosts, list(spec.items), architecture=architecture)

    test = V.sample_values(spec, opts["test_samples"], np.random.default_rng([seed, 1])).values
    pays, wel, counts = [], [], np.zeros(K, dtype=np.int64)
    for s in range(0, len(test), 50_000):
        v = test[s : s + 50_000]
        k, pay = mech.choose_and_pay(v)
        counts += np.bincount(k, minlength=K)
        pays.append(pay.sum(1))
        wel.append(V.welfare(v, outcomes[k]))
    revenue, welfare = _mean_ci(np.concatenate(pays)), _mean_ci(np.concatenate(wel))
    nonneg = bool((V.value_bounds(spec)[..., 0] >= 0).all())
    claim = {
        "kind": "exact_by_construction",
        "rule": "affine maximizer over a fixed list of lottery outcomes with weighted Clarke payments",
        "outcomes": K,
        "reason": "each bidder faces a menu that depends only on the others' reports (the outcomes at "
        "their Clarke prices) and its best element is the mechanism's outcome, so the mechanism is "
        "dominant-strategy IC and feasible for every report; with nonnegative values it is ex-post IR",
        "ir_by_construction": nonneg,
    }
    stats = run_stats("lottery_ama", state, t_start, revenue, welfare, len(test), seed, K, scale,
                      outcomes_used=int((counts > 0).sum()), certified=True)
    section = _report(spec, mech, counts, stats)
    return CompileResult(mechanism=mech, stats=stats, history=state.history, claim=claim,
                         report_sections=[("Lottery AMA", section)], files=checkpoint_files(ctx.out_dir))


def _report(spec: AuctionSpec, mech: AffineMaximizerMechanism, counts: np.ndarray, stats: dict[str, Any],
            top: int = 12) -> str:
    """Test revenue, the weights and the outcomes chosen most often."""
    total = max(1, int(counts.sum()))
    names = [b.name for b in spec.bidders]
    lines = [
        f"Test revenue {stats['test_revenue']:.4f} on {stats['test_samples']:,} profiles; "
        f"{stats['outcomes_used']} of {len(counts)} outcomes chosen. Exact by construction: an affine "
        "maximizer (weights and boosts fixed before the reports) with weighted Clarke payments.",
        "",
        "Bidder weights: " + ", ".join(f"{b} {w:.3f}" for b, w in zip(names, mech.weights, strict=True)) + ".",
        "",
        "| outcome | " + " | ".join(f"{b}: {it}" for b in names for it in spec.items) + " | boost | chosen |",
        "|---:|" + "---:|" * (len(names) * len(spec.items) + 2),
    ]
    for k in np.argsort(-counts, kind="stable")[:top]:
        if counts[k] == 0:
            break
        cells = " | ".join(f"{a:.3f}" for a in mech.outcomes[k].ravel())
        lines.append(f"| {k} | {cells} | {mech.boosts[k]:.4f} | {100 * counts[k] / total:.1f}% |")
    return "\n".join(lines)

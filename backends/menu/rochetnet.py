"""RochetNet (Dütting et al.): one bidder, a learned menu of lotteries with prices plus a
null element.  Training relaxes the bidder's choice to a softmax over utilities with an
annealed temperature; the artifact chooses by argmax (tie rule: highest price, then lowest
index), so IC and IR hold by construction for the menu the artifact holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from auctionc import valuation as V
from auctionc.backends.menu.gemnet.network_bounds import CLIP_STRETCH
from auctionc.backends.menu.training import Schedule, checkpoint_files, run_stats, seeded, train_loop
from auctionc.ir import AuctionSpec
from auctionc.mechanism.menu import MenuMechanism
from auctionc.plugins import CompileResult, RunContext


def head_kind(spec: AuctionSpec, bidder: int = 0) -> str:
    """How a menu element's allocation is parameterised for this bidder's valuation."""
    kind = spec.bidders[bidder].valuation.kind
    if kind == "xor":
        return "bundles"
    if kind == "unit_demand":
        return "unit_demand"
    return "additive"


def value_scale(spec: AuctionSpec) -> float:
    """Training works on values divided by this, so temperatures and learning rates mean
    the same thing for U[0,1] and U[4,16]."""
    hi = float(V.value_bounds(spec)[..., 1].max())
    # unbounded priors (Exponential) have a support cut far in the tail: normalise by a
    # high quantile of the sampled values instead, or typical values shrink towards 0
    sample = V.sample_values(spec, 20_000, np.random.default_rng(12345)).values
    q = float(np.quantile(sample.max(axis=(1, 2)), 0.999))
    hi = min(hi, q) if q > 0 else hi
    return hi if hi > 0 else 1.0


def alloc_from_logits(logits: torch.Tensor, head: str) -> torch.Tensor:
    """Allocations in the feasible set of one bidder: [0,1] per item (additive), rows
    summing to at most 1 (unit demand: a softmax with a 'nothing' column), or a
    distribution over bundles (bundle 0 is the empty bundle)."""
    if head == "additive":
        return torch.sigmoid(logits)
    if head == "additive_clipped":
        # GemNet: a sigmoid never reaches 0 or 1, so two bidders who both buy something would
        # always over-allocate some item by a hair; the stretched, clipped one has exact 0 and 1
        return torch.clamp((1 + 2 * CLIP_STRETCH) * torch.sigmoid(logits) - CLIP_STRETCH, 0.0, 1.0)
    if head == "unit_demand":
        return torch.softmax(logits, dim=-1)[..., :-1]
    return torch.softmax(logits, dim=-1)


class RochetNet(torch.nn.Module):
    def __init__(self, size: int, dim: int, head: str, gen: torch.Generator) -> None:
        super().__init__()
        self.head = head
        width = dim + 1 if head == "unit_demand" else dim
        self.logits = torch.nn.Parameter((torch.rand(size, width, generator=gen) * 2 - 1) * 3.0)
        with torch.no_grad():
            a = alloc_from_logits(self.logits, head)
        # start each price below the element's value for the highest type so that every
        # element is bought somewhere and receives gradient
        self.prices = torch.nn.Parameter(torch.rand(size, generator=gen) * a.sum(-1) * 0.8)

    def menu(self) -> tuple[torch.Tensor, torch.Tensor]:
        return alloc_from_logits(self.logits, self.head), self.prices

    def soft_revenue(self, v: torch.Tensor, temperature: float) -> torch.Tensor:
        """Expected payment under softmax(utility / T) choice, null element included."""
        a, p = self.menu()
        u = v @ a.T - p
        u = torch.cat([u, torch.zeros_like(u[:, :1])], dim=1)
        w = torch.softmax(u / temperature, dim=1)[:, :-1]
        return (w * p).sum(1).mean()


def menu_mechanism(model: RochetNet, scale: float, space: str, labels: list[str] | None) -> MenuMechanism:
    """The argmax menu in value units, with the null element as the last row."""
    with torch.no_grad():
        a, p = model.menu()
    a, p = a.detach(), p.detach()
    alloc = np.vstack([a.double().cpu().numpy(), np.zeros((1, a.shape[1]))])
    prices = np.append(p.double().cpu().numpy() * scale, 0.0)
    return MenuMechanism(alloc, prices, outcome_space=space, labels=labels)


def evaluate_menu(mech: MenuMechanism, values: np.ndarray, chunk: int = 20_000) -> dict[str, Any]:
    """Revenue and welfare with argmax choice on ``values (B, 1, dim)``, with 95% CIs, and
    how often each element is chosen."""
    pays, wel, counts = [], [], np.zeros(len(mech.prices), dtype=np.int64)
    for s in range(0, len(values), chunk):
        v = values[s : s + chunk, 0, :]
        idx = mech.choose(v)
        counts += np.bincount(idx, minlength=len(mech.prices))
        pays.append(mech.prices[idx])
        wel.append((v * mech.allocations[idx]).sum(1))
    pay = np.concatenate(pays)
    w = np.concatenate(wel)
    return {
        "revenue": _mean_ci(pay),
        "welfare": _mean_ci(w),
        "choice_counts": counts,
        "samples": len(values),
    }


def _mean_ci(x: np.ndarray) -> dict[str, Any]:
    m = float(x.mean())
    h = 1.96 * float(x.std(ddof=1)) / float(np.sqrt(len(x))) if len(x) > 1 else 0.0
    return {"value": m, "ci95": [float(m - h), float(m + h)], "samples": int(len(x))}


def menu_table(mech: MenuMechanism, counts: np.ndarray, spec: AuctionSpec) -> str:
    """Markdown listing of the elements bought on the test sample (deduplicated, by price)."""
    total = max(1, int(counts.sum()))
    space = mech.outcome_space
    if space == "bundles":
        cols = [V.bundle_label(k, spec.items) for k in range(mech.allocations.shape[1])]
    else:
        cols = list(spec.items)
    rows: dict[tuple, list] = {}
    for k in np.flatnonzero(counts):
        a = np.round(mech.allocations[k], 3)
        p = round(float(mech.prices[k]), 4)
        key = (tuple(a), p)
        if key in rows:
            rows[key][2] += counts[k]
        else:
            rows[key] = [a, p, int(counts[k])]
    lines = [
        "| price | " + " | ".join(cols) + " | chosen |",
        "|---:|" + "---:|" * len(cols) + "---:|",
    ]
    for a, p, c in sorted(rows.values(), key=lambda r: r[1]):
        lines.append(f"| {p:.4f} | " + " | ".join(f"{x:.3f}" for x in a) + f" | {100 * c / total:.1f}% |")
    unused = int((counts == 0).sum())
    lines.append("")
    lines.append(
        f"{len(rows)} distinct elements chosen on {total:,} test samples "
        f"({unused} of {len(counts)} elements never chosen; the null element is the last row "
        "of the artifact). Choice by argmax; ties go to the highest price, then the lowest index."
    )
    return "\n".join(lines)


def train_rochetnet(
    spec: AuctionSpec,
    opts: dict[str, Any],
    ctx: RunContext,
    sampler: Callable[[int, np.random.Generator], np.ndarray] | None = None,
) -> CompileResult:
    """Train and evaluate.  ``sampler(size, rng) -> (size, 1, dim)`` replaces the spec's
    priors (benchmarks use it for joint priors the IR cannot state, such as the triangle)."""
    t_start = time.perf_counter()
    if sampler is None:
        def sampler(size: int, r: np.random.Generator) -> np.ndarray:
            return V.sample_values(spec, size, r).values

    seed, device = ctx.seed, ctx.device
    gen, rng = seeded(seed)
    head = head_kind(spec)
    space = V.outcome_space(spec)
    dim = V.outcome_dim(spec)
    scale = value_scale(spec)
    model = RochetNet(opts["size"], dim, head, gen).to(device)
    batch = opts["batch"]

    def step_fn(step: int, temp: float) -> tuple[torch.Tensor, float, float]:
        v = sampler(batch, rng)[:, 0, :] / scale
        vt = torch.as_tensor(v, dtype=torch.float32, device=device)
        rev = model.soft_revenue(vt, temp)
        return -rev, float(rev.detach()) * scale, 0.0

    schedule = Schedule(opts["temperature"], opts["temperature_final"], opts["steps"], opts["schedule"])
    state = train_loop(
        step_fn,
        model.parameters(),
        {"model": model},
        steps=opts["steps"],
        lr=opts["lr"],
        schedule=schedule,
        rng=rng,
        out_dir=ctx.out_dir,
        checkpoint_every=opts["checkpoint_every"],
        patience=opts["patience"],
        resume=ctx.resume,
        progress=ctx.progress,
        label="rochetnet",
    )

    labels = None
    if space == "bundles":
        labels = [V.bundle_label(k, spec.items) for k in range(dim)]
    claim = {
        "kind": "exact_by_construction",
        "reason": "one bidder choosing by argmax from a fixed menu that contains a null element "
        "(zero allocation, zero price): truthful reporting picks the utility-maximising element "
        "(IC) and never does worse than the null element (IR)",
        "null_element": True,
        "choice": "argmax",
        "tie_rule": "highest price, then lowest index",
    }
    mech = menu_mechanism(model, scale, space, labels)
    test_rng = np.random.default_rng([seed, 1])
    test_values = sampler(opts["test_samples"], test_rng)
    ev = evaluate_menu(mech, test_values)
    stats = run_stats("rochetnet", state, t_start, ev["revenue"], ev["welfare"], ev["samples"], seed,
                      opts["size"], scale, elements_used=int((ev["choice_counts"][:-1] > 0).sum()))
    return CompileResult(
        mechanism=mech,
        stats=stats,
        history=state.history,
        claim=claim,
        report_sections=[("Menu (RochetNet)", menu_table(mech, ev["choice_counts"], spec))],
        files=checkpoint_files(ctx.out_dir),
    )

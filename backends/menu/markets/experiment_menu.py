"""A learned menu of experiments for one data buyer (Ravindranath, Jiang and Parkes 2023,
the single-buyer "RochetNet" of experiments), for belief types over any number of states,
payoff-scale types, and both at once.

The menu holds ``K`` experiments, each a row of logits per state with a softmax over the
``G = A`` signals (so every row is a distribution over signals), and ``K`` prices, plus a
fixed null entry (every signal equally likely in every state, price 0).  A type values an
entry by acting optimally on each signal under its posterior (``sum_g max_a sum_s w_s
E[g, s] U[a, s]``, ``w`` = belief times payoff scale), so the menu is IC and IR by
construction whatever the parameters.  Training maximises the revenue of a softmax-relaxed
choice (temperature annealed by the shared loop); the artifact chooses by argmax and writes
the chosen entry in recommendation form (``auctionc.mechanism.datamarket_menu``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from auctionc import ir
from auctionc.backends.menu.markets.type_source import TypeSource, one_thread, type_source, value_scale
from auctionc.backends.menu.rochetnet import _mean_ci
from auctionc.backends.menu.training import Schedule, checkpoint_files, run_stats, seeded, train_loop
from auctionc.mechanism.datamarket_menu import ExperimentMenuMechanism
from auctionc.mechanism.market_space import type_labels
from auctionc.plugins import CompileResult, RunContext


class ExperimentMenuNet(torch.nn.Module):
    """``K`` experiments (logits ``(K, S, G)``, softmax over signals) and prices, plus the null entry."""

    def __init__(self, K: int, S: int, G: int, gen: torch.Generator) -> None:
        super().__init__()
        self.logits = torch.nn.Parameter((torch.rand(K, S, G, generator=gen) * 2 - 1) * 3.0)
        # prices start spread below the largest value an experiment can have (normalised
        # units), so that every entry is bought by some type and gets gradient
        self.prices = torch.nn.Parameter(torch.rand(K, generator=gen) * 0.5)
        self.G = G

    def menu(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Experiments ``(K + 1, G, S)`` (``P(signal | state)``) and prices, null entry last."""
        E = torch.softmax(self.logits, dim=-1).transpose(1, 2)
        null = torch.full_like(E[:1], 1.0 / self.G)
        return torch.cat([E, null]), torch.cat([self.prices, torch.zeros_like(self.prices[:1])])

    def utilities(self, w: torch.Tensor, U: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Net values ``(B, K + 1)`` of weights ``w (B, S)`` and the prices."""
        E, p = self.menu()
        K, G, S = E.shape
        # one matrix product (an einsum over four indices is several times slower here)
        left = (w[:, None, :] * U[None, :, :]).reshape(-1, S)  # (B * A, S)
        q = (left @ E.reshape(K * G, S).T).reshape(len(w), U.shape[0], K, G)
        return q.max(dim=1).values.sum(dim=2) - p[None, :], p

    def soft_revenue(self, w: torch.Tensor, U: torch.Tensor, temperature: float,
                     probs: torch.Tensor | None = None) -> torch.Tensor:
        """The revenue of the softmax-relaxed choice: the mean over the types ``w``, or the
        expectation under ``probs`` when ``w`` is a whole finite type space."""
        u, p = self.utilities(w, U)
        per_type = (torch.softmax(u / temperature, dim=1) * p[None, :]).sum(1)
        return per_type.mean() if probs is None else per_type @ probs


def menu_artifact(spec: ir.MarketSpec, model: ExperimentMenuNet, scale: float) -> ExperimentMenuMechanism:
    """The argmax menu in payoff units (prices times ``scale``), null entry last."""
    b = spec.buyers[0]
    with torch.no_grad():
        E, p = model.menu()
    E = E.double().numpy()
    E = E / E.sum(axis=1, keepdims=True)  # exact columns after float32
    prices = p.double().numpy() * scale
    prices[-1] = 0.0
    return ExperimentMenuMechanism(list(spec.states), list(b.actions), np.asarray(b.payoffs, float), b.type, E,
                                   prices, buyer=b.name)


def pruned(mech: ExperimentMenuMechanism, shares: np.ndarray, spec: ir.MarketSpec) -> ExperimentMenuMechanism:
    """The entries some test type bought, and the null entry (an entry nobody buys changes
    nobody's choice on the test types; removing it keeps the menu IC and IR)."""
    keep = shares > 0
    keep[-1] = True
    shares = shares[keep]
    b = spec.buyers[0]
    return ExperimentMenuMechanism(mech.states, mech.actions, mech.payoffs, b.type, mech.experiments[keep],
                                   mech.prices[keep], buyer=b.name, shares=shares)


def evaluate(mech: ExperimentMenuMechanism, src: TypeSource, n: int, rng: np.random.Generator) -> dict[str, Any]:
    """Argmax revenue and welfare: exact on finite types, else on ``n`` fresh types (95% CIs);
    ``shares``: the probability (or test share) of each entry."""
    if src.finite is not None:
        x, probs = src.finite.reports, src.finite.probs
    else:
        x = src.draw(n, rng)
        probs = np.full(len(x), 1.0 / len(x))
    w = src.weights(x)
    ks, pays, wel = [], [], []
    for s in range(0, len(x), 20_000):
        k = mech.choose(x[s : s + 20_000])
        R, _ = mech.allocate_and_pay(x[s : s + 20_000])
        ws = w[s : s + 20_000]
        obey = np.einsum("bs,bas,as->b", ws, R[:, 0], mech.payoffs)
        ks.append(k)
        pays.append(mech.prices[k])
        wel.append(obey - (ws @ mech.payoffs.T).max(axis=1))
    k, pay, welfare = np.concatenate(ks), np.concatenate(pays), np.concatenate(wel)
    shares = np.bincount(k, weights=probs, minlength=len(mech.prices))
    if src.finite is not None:
        rev = {"value": float(probs @ pay), "ci95": None, "samples": int(len(x)), "exact": True}
        wf = {"value": float(probs @ welfare), "ci95": None}
    else:
        rev, wf = _mean_ci(pay), _mean_ci(welfare)
    return {"revenue": rev, "welfare": wf, "shares": shares, "samples": len(x)}


def menu_table(mech: ExperimentMenuMechanism, labels: list[str]) -> str:
    """The entries bought, by price, as state-by-signal matrices."""
    lines = ["| price | share | experiment (rows: states; columns: signals) |", "|---:|---:|---|"]
    for g in mech.experiments_table():
        rows = "; ".join(f"{s}: [" + ", ".join(f"{v:.3f}" for v in row) + "]"
                         for s, row in zip(g["states"], g["state_by_signal"], strict=True))
        share = "" if g["probability"] is None else f"{100 * g['probability']:.1f}%"
        lines.append(f"| {g['price']:.4f} | {share} | {rows}{'' if g['informative'] else ' (no information)'} |")
    lines.append("")
    lines.append(f"Types: {', '.join(labels)}. Choice by argmax of value (best action per signal) minus price; the "
                 "outcome is the chosen experiment relabelled by the buyer's best actions (recommendation form).")
    return "\n".join(lines)


def train_experiment_menu(spec: ir.MarketSpec, opts: dict[str, Any], ctx: RunContext) -> CompileResult:
    t_start = time.perf_counter()
    seed = ctx.seed
    gen, rng = seeded(seed)
    b = spec.buyers[0]
    U_np = np.asarray(b.payoffs, float)
    A, S = U_np.shape
    scale = value_scale(spec)
    src = type_source(spec, 0, opts["grid"])
    model = ExperimentMenuNet(opts["size"], S, A, gen)
    U = torch.as_tensor(U_np / float(np.abs(U_np).max(initial=1.0) or 1.0), dtype=torch.float32)
    unit = scale / float(np.abs(U_np).max(initial=1.0) or 1.0)  # weights scale: values / scale = w / unit . U_n

    # a finite type space no larger than a batch is taken whole, weighted by its probabilities:
    # the exact expected relaxed revenue, with no sampling noise in the gradient
    whole = src.finite is not None and src.finite.size <= opts["batch"]
    if whole:
        w_all = torch.as_tensor(src.weights(src.finite.reports) / unit, dtype=torch.float32)
        p_all = torch.as_tensor(src.finite.probs, dtype=torch.float32)

    def step_fn(step: int, temp: float) -> tuple[torch.Tensor, float, float]:
        if whole:
            rev = model.soft_revenue(w_all, U, temp, p_all)
        else:
            x = src.draw(opts["batch"], rng)
            rev = model.soft_revenue(torch.as_tensor(src.weights(x) / unit, dtype=torch.float32), U, temp)
        return -rev, float(rev.detach()) * scale, 0.0

    schedule = Schedule(opts["temperature"], opts["temperature_final"], opts["steps"], opts["schedule"])
    with one_thread():
        state = train_loop(step_fn, model.parameters(), {"model": model}, steps=opts["steps"], lr=opts["lr"],
                           schedule=schedule, rng=rng, out_dir=ctx.out_dir, checkpoint_every=opts["checkpoint_every"],
                           patience=opts["patience"], resume=ctx.resume, progress=ctx.progress,
                           label="menu of experiments")
    full = menu_artifact(spec, model, scale)
    test_rng = np.random.default_rng([seed, 1])
    ev = evaluate(full, src, opts["test_samples"], test_rng)
    mech = pruned(full, ev["shares"], spec)
    ev = evaluate(mech, src, opts["test_samples"], np.random.default_rng([seed, 1]))
    stats = run_stats("experiment menu", state, t_start, ev["revenue"], ev["welfare"], ev["samples"], seed,
                      opts["size"], scale, entries_used=int(len(mech.prices) - 1),
                      test_revenue_exact=bool(ev["revenue"].get("exact", False)), whole_type_space_per_step=whole,
                      trained_on=("the spec's finite prior" if src.finite is not None and not src.finite.discretised
                                  else f"the prior discretised on a {opts['grid']}-cell grid" if src.finite is not None
                                  else "the spec's continuous prior"))
    claim = {"kind": "exact_by_construction",
             "reason": "one buyer choosing by argmax from a fixed menu of experiments with a null entry; each entry "
                       "is valued with the best action per signal and the outcome is relabelled by those actions, so "
                       "a misreport buys a garbling of some entry (IC), the null entry gives IR, and recommendations "
                       "are best actions (obedience)",
             "null_element": True, "choice": "argmax", "tie_rule": "highest price, then lowest index"}
    return CompileResult(mechanism=mech, stats=stats, history=state.history, claim=claim,
                         report_sections=[("Menu of experiments (learned)", menu_table(mech, type_labels(spec)))],
                         files=checkpoint_files(ctx.out_dir))

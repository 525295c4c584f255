"""Several data buyers with a negative externality: a network of experiments and payments
trained with augmented Lagrangian penalties on regret and disobedience (Ravindranath, Jiang
and Parkes 2023, the ex post design; the artifact is ``auctionc.mechanism.datamarket_network``).

Each step draws a batch of value profiles and, for every buyer, ``misreports`` candidate
reports from its prior; the candidate worth most to the buyer ("misreport, then act
optimally on each recommendation", the others truthful and obedient) is the one penalised,
with the gradient flowing through it (the released code's training search, without gradient
steps on the misreport).  The loss is

    - revenue + sum_i w_i regret_i + rho * sum_i regret_i^2 + sum_i m_i disobey_i + rho * sum_i disobey_i^2

with ``regret_i`` the mean gain of the best candidate divided by the buyer's value (as the
paper reports it) and ``disobey_i`` the mean gain, in accuracy, of the best action over the
recommended one.  Every ``multiplier_every`` steps ``w_i += rho * regret_i`` and ``m_i += rho *
disobey_i``; ``rho`` grows geometrically from ``penalty`` to ``penalty_final``.  The multipliers
are part of the checkpoint.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
from auctionc import ir
from auctionc.backends.menu.markets.type_source import one_thread, value_scale
from auctionc.backends.menu.rochetnet import _mean_ci
from auctionc.backends.menu.training import Schedule, checkpoint_files, run_stats, seeded, train_loop
from auctionc.mechanism.datamarket_network import LEAKY_SLOPE, ExperimentNetworkMechanism, outside_options
from auctionc.mechanism.market_space import sample_types
from auctionc.plugins import CompileResult, RunContext


class ExperimentNet(torch.nn.Module):
    """Reports (normalised) -> experiments ``(B, n, A, S)`` and payment fractions ``(B, n)``."""

    def __init__(self, n: int, A: int, S: int, hidden: int, layers: int, gen: torch.Generator) -> None:
        super().__init__()
        self.n, self.A, self.S = n, A, S
        dims = [n] + [hidden] * layers + [n * S * A + n]
        self.lins = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True))
        with torch.no_grad():
            for lin in self.lins:  # Xavier-uniform, bias 0 (as in the released code)
                bound = math.sqrt(6.0 / (lin.in_features + lin.out_features))
                lin.weight.copy_((torch.rand(lin.weight.shape, generator=gen) * 2 - 1) * bound)
                lin.bias.zero_()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = x
        for k, lin in enumerate(self.lins):
            h = lin(h)
            if k < len(self.lins) - 1:
                h = torch.nn.functional.leaky_relu(h, LEAKY_SLOPE)
        n, A, S = self.n, self.A, self.S
        logits = h[:, : n * S * A].reshape(len(x), n, S, A)
        return torch.softmax(logits, dim=3).transpose(2, 3), torch.sigmoid(h[:, n * S * A :])

    def export(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(lin.weight.detach().double().numpy(), lin.bias.detach().double().numpy()) for lin in self.lins]


class Multipliers(torch.nn.Module):
    """Lagrange multipliers of regret and disobedience, per buyer (checkpointed)."""

    def __init__(self, n: int, init: float) -> None:
        super().__init__()
        self.register_buffer("regret", torch.full((n,), init))
        self.register_buffer("disobey", torch.full((n,), init))


class MarketModel:
    """The buyers' payoffs in normalised units: values are divided by ``scale``."""

    def __init__(self, spec: ir.MarketSpec, scale: float) -> None:
        self.n = spec.n_bidders
        self.U = torch.as_tensor(np.asarray([b.payoffs for b in spec.buyers], float), dtype=torch.float32)
        prior = np.asarray(spec.buyers[0].type.prior, float)  # type: ignore[union-attr]
        self.prior = torch.as_tensor(prior / prior.sum(), dtype=torch.float32)
        self.alpha = float(spec.externality)
        self.outside = torch.as_tensor(outside_options(prior / prior.sum(), np.asarray([b.payoffs for b in spec.buyers],
                                                                                        float), self.alpha),
                                       dtype=torch.float32)
        self.scale = scale

    def accuracies(self, E: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Obedient and best-response expected payoffs at scale one, ``(B, n)`` each."""
        M = torch.einsum("s,bias,ics->biac", self.prior, E, self.U)
        return torch.diagonal(M, dim1=2, dim2=3).sum(-1), M.max(dim=3).values.sum(dim=2)

    def outcome(self, net: ExperimentNet, v: torch.Tensor) -> dict[str, torch.Tensor]:
        """Everything at reports ``v (B, n)`` (normalised values): experiments, accuracies, payments."""
        E, frac = net(v)
        x, x_br = self.accuracies(E)
        others = x.sum(dim=1, keepdim=True) - x
        gain = x - self.alpha * others - self.outside[None, :]
        pay = v.clamp(min=0.0) * frac * torch.relu(gain)
        return {"E": E, "x": x, "x_br": x_br, "others": others, "pay": pay}


def _deviation(mm: MarketModel, net: ExperimentNet, v: torch.Tensor, i: int, cand: torch.Tensor,
               grad: bool) -> torch.Tensor:
    """Buyer ``i``'s utility ``(B, C)`` from reporting ``cand (B, C)`` then acting optimally."""
    B, C = cand.shape
    bids = v[:, None, :].expand(B, C, mm.n).clone()
    bids[:, :, i] = cand
    with torch.set_grad_enabled(grad):
        out = mm.outcome(net, bids.reshape(B * C, mm.n))
    dev = out["x_br"][:, i] - mm.alpha * out["others"][:, i]
    return (v[:, None, i] * dev.reshape(B, C)) - out["pay"][:, i].reshape(B, C)


def regrets(mm: MarketModel, net: ExperimentNet, v: torch.Tensor, cand: list[torch.Tensor],
            truthful: dict[str, torch.Tensor]) -> torch.Tensor:
    """``(B, n)`` gains of each buyer's best candidate misreport (differentiable at that candidate)."""
    u_true = v * (truthful["x"] - mm.alpha * truthful["others"]) - truthful["pay"]
    cols = []
    for i in range(mm.n):
        with torch.no_grad():
            best = _deviation(mm, net, v, i, cand[i], grad=False).argmax(dim=1)
        chosen = cand[i].gather(1, best[:, None])
        cols.append(torch.relu(_deviation(mm, net, v, i, chosen, grad=True)[:, 0] - u_true[:, i]))
    return torch.stack(cols, dim=1)


def artifact(spec: ir.MarketSpec, net: ExperimentNet, scale: float) -> ExperimentNetworkMechanism:
    return ExperimentNetworkMechanism([b.name for b in spec.buyers], list(spec.states),
                                      [list(b.actions) for b in spec.buyers],
                                      np.asarray([b.payoffs for b in spec.buyers], float),
                                      [b.type for b in spec.buyers], spec.externality, net.export(), scale)


def _draw(spec: ir.MarketSpec, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.concatenate([sample_types(spec, i, size, rng) for i in range(spec.n_bidders)], axis=1)


def test_figures(spec: ir.MarketSpec, mech: ExperimentNetworkMechanism, n_test: int, n_regret: int,
                 rng: np.random.Generator, grid: int = 128) -> dict[str, Any]:
    """The backend's own test: revenue on ``n_test`` fresh profiles, and the regret of the
    first ``n_regret`` against a grid of ``grid`` reports per buyer spanning its prior's support."""
    from auctionc.mechanism.datamarket_network import accuracies, others
    from auctionc.mechanism.market_space import report_box

    v = _draw(spec, n_test, rng)
    E, p = mech.allocate_and_pay(v)
    rev = _mean_ci(p.sum(axis=1))
    x, _ = accuracies(mech.prior, E, mech.payoffs)
    u = v * (x - mech.externality * others(x)) - p
    m = min(n_regret, n_test)
    reg = np.zeros((m, spec.n_bidders))
    for i in range(spec.n_bidders):
        lo, hi = report_box(spec, i)[0]
        cand = np.linspace(lo, hi, grid)
        bids = np.repeat(v[:m, None, :], grid, axis=1)
        bids[:, :, i] = cand[None, :]
        Ed, pd = mech.allocate_and_pay(bids.reshape(m * grid, -1))
        xd, xb = accuracies(mech.prior, Ed, mech.payoffs)
        dev = (v[:m, None, i] * (xb[:, i] - mech.externality * others(xd)[:, i]).reshape(m, grid)
               - pd[:, i].reshape(m, grid))
        reg[:, i] = np.maximum(dev.max(axis=1) - u[:m, i], 0.0)
    norm = reg / np.maximum(v[:m], 1e-8)
    return {"revenue": rev, "welfare": _mean_ci((v * (x - mech.externality * others(x))).sum(axis=1)),
            "regret_mean": float(reg.mean()), "regret_max": float(reg.max()),
            "regret_over_value_mean": float(norm.mean()), "regret_profiles": m, "regret_grid": grid}


def train_experiment_network(spec: ir.MarketSpec, opts: dict[str, Any], ctx: RunContext) -> CompileResult:
    t_start = time.perf_counter()
    seed = ctx.seed
    gen, rng = seeded(seed)
    n = spec.n_bidders
    A, S = len(spec.buyers[0].actions), len(spec.states)
    scale = max(value_scale(spec, i) / float(np.abs(np.asarray(spec.buyers[i].payoffs)).max(initial=1.0) or 1.0)
                for i in range(n))
    mm = MarketModel(spec, scale)
    net = ExperimentNet(n, A, S, opts["hidden"], opts["layers"], gen)
    lag = Multipliers(n, 1.0)
    steps, M, every = opts["steps"], opts["misreports"], opts["multiplier_every"]
    rho0, rho1 = opts["penalty"], opts["penalty_final"]

    def rho_at(step: int) -> float:
        return rho0 * (rho1 / rho0) ** min(1.0, step / max(1, steps))

    def step_fn(step: int, temp: float) -> tuple[torch.Tensor, float, float]:
        v = torch.as_tensor(_draw(spec, opts["batch"], rng) / scale, dtype=torch.float32)
        cand = [torch.as_tensor(sample_types(spec, i, opts["batch"] * M, rng).reshape(opts["batch"], M) / scale,
                                dtype=torch.float32) for i in range(n)]
        out = mm.outcome(net, v)
        rev = out["pay"].sum(dim=1).mean()
        rg = (regrets(mm, net, v, cand, out) / (v + 1e-8)).mean(dim=0)
        ob = (out["x_br"] - out["x"]).mean(dim=0)
        rho = rho_at(step)
        # the multipliers as they stand now (the update below must not touch the graph)
        w_rg, w_ob = lag.regret.clone(), lag.disobey.clone()
        loss = -rev + (w_rg * rg).sum() + rho * (rg**2).sum() + (w_ob * ob).sum() + rho * (ob**2).sum()
        if (step + 1) % every == 0:
            with torch.no_grad():
                lag.regret += rho * rg.detach()
                lag.disobey += rho * ob.detach()
        return loss, float(rev.detach()) * scale, float(rg.detach().sum() + ob.detach().sum())

    schedule = Schedule(opts["temperature"], opts["temperature_final"], steps, "constant")
    with one_thread():
        state = train_loop(step_fn, net.parameters(), {"model": net, "multipliers": lag}, steps=steps, lr=opts["lr"],
                           schedule=schedule, rng=rng, out_dir=ctx.out_dir, checkpoint_every=opts["checkpoint_every"],
                           patience=opts["patience"], resume=ctx.resume, progress=ctx.progress,
                           label="market network")
    mech = artifact(spec, net, scale)
    test = test_figures(spec, mech, opts["test_samples"], 2000, np.random.default_rng([seed, 1]))
    stats = run_stats("experiment network", state, t_start, test["revenue"], test["welfare"], opts["test_samples"],
                      seed, opts["hidden"], scale, test_regret_mean=test["regret_mean"],
                      test_regret_max=test["regret_max"], test_regret_over_value_mean=test["regret_over_value_mean"],
                      test_regret_profiles=test["regret_profiles"],
                      multipliers={"regret": lag.regret.tolist(), "disobey": lag.disobey.tolist()},
                      rho_final=rho_at(state.step))
    claim = {"kind": "estimated",
             "reason": "IC and obedience are penalised in training, not built in: the regret is measured",
             "outside_option": "abstain: act on the prior, the other buyers fully informed"}
    lines = ["| figure | value |", "|---|---:|",
             f"| test revenue ({opts['test_samples']:,} profiles) | {test['revenue']['value']:.5f} |",
             f"| mean regret ({test['regret_profiles']:,} profiles, {test['regret_grid']}-point grid per buyer) | "
             f"{test['regret_mean']:.2e} |",
             f"| mean regret / value (the paper's measure) | {test['regret_over_value_mean']:.2e} |",
             f"| max regret | {test['regret_max']:.2e} |",
             "", "The backend's own figures; the verifier measures regret, IR and obedience itself."]
    return CompileResult(mechanism=mech, stats=stats, history=state.history, claim=claim,
                         report_sections=[("Market network (learned)", "\n".join(lines))],
                         files=checkpoint_files(ctx.out_dir))

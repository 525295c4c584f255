"""The training loop shared by RochetNet, GemNet and the lottery AMA: temperature schedule,
progress, checkpoints under ``out_dir``, resume, early stop on a plateau, history.

Imported only from ``compile`` (it imports torch).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from auctionc.diagnostics import Diagnostic
from auctionc.errors import BackendError
from auctionc.outputs import identity_mismatch, run_identity
from auctionc.progress import Progress

CKPT_NAME = "checkpoint.pt"
RESUMABLE = frozenset({"steps", "checkpoint_every", "test_samples"})
"""Options a resumed run may change: how long it trains, how often it saves, how many
profiles test the result.  Any other difference (spec, backend, seed, other options) makes
the checkpoint another run's."""


@dataclass
class Schedule:
    """Softmax temperature (in normalised value units), geometric from ``start`` to ``end``
    over the first ``frac`` of the steps, then held; "constant" keeps ``start``."""

    start: float
    end: float
    steps: int
    kind: str = "geometric"
    frac: float = 0.8

    def __call__(self, step: int) -> float:
        if self.kind == "constant" or self.steps <= 1:
            return self.start
        t = min(1.0, step / max(1.0, self.frac * self.steps))
        if self.kind == "linear":
            return self.start + t * (self.end - self.start)
        return math.exp(math.log(self.start) + t * (math.log(self.end) - math.log(self.start)))


def seeded(seed: int) -> tuple[torch.Generator, np.random.Generator]:
    """Seed torch's global generator and return the generators a menu trainer draws from:
    torch's for initial weights, numpy's for training profiles (checkpointed)."""
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed), np.random.default_rng(seed)


@dataclass
class TrainState:
    step: int = 0
    history: dict[str, list[float]] = field(
        default_factory=lambda: {"step": [], "revenue": [], "penalty": [], "temperature": []}
    )
    best: float = -math.inf
    since_best: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    resumed_from: int | None = None


StepFn = Callable[[int, float], tuple[torch.Tensor, float, float]]
"""``step_fn(step, temperature) -> (loss, revenue, penalty)``; revenue in value units."""


def train_loop(
    step_fn: StepFn,
    params: list[torch.nn.Parameter] | Any,
    modules: dict[str, Any],
    *,
    steps: int,
    lr: float,
    schedule: Schedule,
    rng: np.random.Generator,
    out_dir: Path | None,
    checkpoint_every: int,
    patience: int,
    resume: bool,
    progress: Progress,
    label: str,
    log_every: int = 10,
    lr_decay: float = 0.1,
) -> TrainState:
    """Adam on ``params`` for ``steps`` steps.  ``modules`` maps names to objects with
    ``state_dict``/``load_state_dict`` that a checkpoint must hold (the model).  The
    learning rate decays geometrically to ``lr * lr_decay`` at the end, which is what
    lets short runs settle on a sharp menu instead of jittering around it."""
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_decay ** min(1.0, s / max(1, steps))
    )
    state = TrainState()
    ckpt = out_dir / "checkpoints" / CKPT_NAME if out_dir is not None else None
    identity = run_identity(out_dir)
    if resume and ckpt is not None and ckpt.exists():
        blob = load_checkpoint(ckpt, identity)
        for name, mod in modules.items():
            mod.load_state_dict(blob["modules"][name])
        opt.load_state_dict(blob["optimizer"])
        sched.load_state_dict(blob["scheduler"])
        rng.bit_generator.state = blob["rng"]
        torch.set_rng_state(blob["torch_rng"])
        state = TrainState(**blob["state"])
        state.resumed_from = state.step

    ema: float | None = None
    t0 = time.perf_counter() - state.seconds
    bar = progress.task(label, steps, state.step)
    try:
        while state.step < steps:
            temp = schedule(state.step)
            loss, rev, pen = step_fn(state.step, temp)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            state.step += 1
            ema = rev if ema is None else 0.98 * ema + 0.02 * rev
            if state.step % log_every == 0 or state.step == steps:
                h = state.history
                h["step"].append(state.step)
                h["revenue"].append(rev)
                h["penalty"].append(pen)
                h["temperature"].append(temp)
            bar.update(completed=state.step, revenue=rev, penalty=pen, temperature=temp)
            # plateau: the smoothed revenue has not improved by 0.01% for `patience` steps,
            # checked only once the temperature schedule is done (annealing moves it)
            if ema > state.best + max(1e-4 * abs(state.best), 1e-12):
                state.best = ema
                state.since_best = 0
            else:
                state.since_best += 1
            if (
                patience > 0
                and state.step >= schedule.frac * steps
                and state.since_best >= patience
            ):
                state.stopped_early = True
                break
            if ckpt is not None and checkpoint_every > 0 and state.step % checkpoint_every == 0:
                state.seconds = time.perf_counter() - t0
                _save_checkpoint(ckpt, modules, opt, sched, rng, state, identity)
    finally:
        bar.close()
    state.seconds = time.perf_counter() - t0
    if ckpt is not None and checkpoint_every > 0:
        _save_checkpoint(ckpt, modules, opt, sched, rng, state, identity)
    return state


def checkpoint_files(out_dir: Path | None) -> dict[str, str]:
    """The checkpoint a trainer left under ``out_dir``, for the list of side files."""
    ckpt = Path(out_dir) / "checkpoints" / CKPT_NAME if out_dir is not None else None
    return {"checkpoint": str(ckpt)} if ckpt is not None and ckpt.exists() else {}


def run_stats(method: str, state: TrainState, t_start: float, revenue: dict[str, Any], welfare: dict[str, Any],
              n_test: int, seed: int, size: int, scale: float, **extra: Any) -> dict[str, Any]:
    """The stats every menu trainer reports (``extra`` adds its own, after the test
    figures); ``revenue`` and ``welfare`` are ``{"value", "ci95"}``."""
    h = state.history["revenue"]
    return {
        "method": method,
        "steps": state.step,
        "seconds": time.perf_counter() - t_start,
        "train_seconds": state.seconds,
        "train_revenue": float(np.mean(h[-20:])) if h else None,
        "test_revenue": revenue["value"],
        "test_revenue_ci95": revenue["ci95"],
        "test_welfare": welfare["value"],
        "test_samples": int(n_test),
        **extra,
        "seed": seed,
        "menu_size": int(size),
        "stopped_early": state.stopped_early,
        "resumed_from": state.resumed_from,
        "value_scale": scale,
    }


def _save_checkpoint(path: Path, modules, opt, sched, rng, state: TrainState, identity: dict | None) -> None:
    """Plain data only (tensors, numbers, strings, lists, dicts), so that ``load_checkpoint``
    reads it with ``weights_only=True``; the run's identity rides along."""
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {
        "modules": {k: m.state_dict() for k, m in modules.items()},
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "rng": rng.bit_generator.state,
        "torch_rng": torch.get_rng_state(),
        "state": asdict(state),
        "identity": identity,
    }
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path, identity: dict | None) -> dict[str, Any]:
    """A checkpoint read as plain data (``torch.load(weights_only=True)``: a pickle that would
    build any other object is refused, never run) and checked against the run resuming it:
    another spec, backend, options or seed is refused with E0702."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same refusal
        raise BackendError(Diagnostic(
            "E0702", f"the checkpoint {path} cannot be read as plain data ({type(e).__name__})",
            help="it was not written by this auctionc, or was altered; rerun without --resume to start over")) from None
    if not isinstance(blob, dict) or not {"modules", "optimizer", "state"} <= set(blob):
        raise BackendError(Diagnostic("E0702", f"the checkpoint {path} is not a training checkpoint",
                                      help="rerun without --resume to start over"))
    why = identity_mismatch(blob.get("identity"), identity, RESUMABLE)
    if why is not None:
        raise BackendError(Diagnostic(
            "E0702", f"the checkpoint in {path.parent.parent} belongs to another run: {why}",
            help="rerun without --resume to start over, or resume with the spec and options that made it"))
    return blob

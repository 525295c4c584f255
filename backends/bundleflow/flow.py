"""Stage 1 of BundleFlow: a flow from a simple initial distribution to the corners of {0,1}^m.

The velocity field is the reference code's: ds/dt = eta(t) * Q(s_0) * s_t with Q(s_0) a
diagonal matrix given by an MLP of the starting point and eta(t) a scalar MLP of time, so
along a trajectory the ODE is linear and the log-density of the pushed-forward point is
log p_0(s_0) - Tr Q(s_0) * int_0^1 eta(t) dt (Liouville).  Training is rectified flow:
s_0 from a mixture of three narrow Gaussians around 1/2 (and, half the time, uniform on
[0.05, 0.95]), s_1 = a Gaussian (sd 0.1) around
the corner round(s_0), loss ||(s_1 - s_0) - v(s_0, s_t, t)||^2 at s_t = t s_1 + (1-t) s_0.

Integrator: fixed-step explicit Euler with ``n_steps`` steps (5, as the reference uses at
menu time); no adaptive solver is installed and none is needed for a linear field.
The trained weights are cached on disk per (items, hidden size, iterations, seed), and read
back as plain data only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

FLOW_VERSION = 2


class FlowField(nn.Module):
    def __init__(self, m: int, hidden: int = 128) -> None:
        super().__init__()
        wide = hidden * (2 if m > 100 else 1)
        self.q = nn.Sequential(nn.Linear(m, hidden), nn.Tanh(), nn.Linear(hidden, wide), nn.Tanh(), nn.Linear(wide, m))
        self.eta = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        self.m = m
        self.hidden = hidden

    def velocity(self, s0: torch.Tensor, s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.q(s0) * s * self.eta(t)

    def integrate(self, s0: torch.Tensor, n_steps: int = 5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Euler-integrate from ``s0`` (N, m): final state, Q(s0) (N, m), int eta dt (scalar)."""
        q = self.q(s0)
        ts = torch.arange(n_steps, dtype=s0.dtype, device=s0.device)[:, None] / n_steps
        eta = self.eta(ts)[:, 0]
        s = s0
        for k in range(n_steps):
            s = s + q * s * eta[k] / n_steps
        return s, q, eta.mean()

    def bundles(self, s0: torch.Tensor, n_steps: int = 5) -> torch.Tensor:
        """The corner each start point flows to (0/1, rounded at 1/2)."""
        with torch.no_grad():
            s, _, _ = self.integrate(s0, n_steps)
        return (s >= 0.5).to(s0.dtype)


def initial_samples(n: int, m: int, gen: torch.Generator, means: torch.Tensor) -> torch.Tensor:
    """Half from the reference's narrow mixture around 1/2, half uniform on [0.05, 0.95]:
    the menu puts its support points anywhere in that box, so the flow must round there too
    (trained on the narrow mixture alone it mis-rounds far points at small m)."""
    comp = torch.randint(0, means.shape[0], (n,), generator=gen)
    narrow = means[comp] + torch.exp(torch.tensor(-3.0)) * torch.randn(n, m, generator=gen)
    wide = 0.05 + 0.9 * torch.rand(n, m, generator=gen)
    return torch.where(torch.rand(n, 1, generator=gen) < 0.5, narrow, wide)


def train_flow(
    m: int,
    *,
    hidden: int = 128,
    iterations: int = 2000,
    batch: int = 1024,
    lr: float = 5e-3,
    seed: int = 0,
    callback: Callable[[int, float], None] | None = None,
) -> tuple[FlowField, dict]:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    field = FlowField(m, hidden)
    means = torch.sigmoid(torch.rand(3, m, generator=gen)) * 0.1 + 0.45
    opt = torch.optim.Adam(field.parameters(), lr=lr)
    t0 = time.perf_counter()
    loss_v = float("nan")
    for it in range(1, iterations + 1):
        s0 = initial_samples(batch, m, gen, means)
        s1 = (s0 >= 0.5).float() + 0.1 * torch.randn(batch, m, generator=gen)
        t = torch.rand(batch, 1, generator=gen)
        st = t * s1 + (1 - t) * s0
        loss = ((s1 - s0) - field.velocity(s0, st, t)).pow(2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss_v = float(loss.detach())
        if callback is not None:
            callback(it, loss_v)
    for p in field.parameters():
        p.requires_grad_(False)
    # how often a start point lands on the corner it was paired with
    with torch.no_grad():
        s0 = initial_samples(4096, m, gen, means)
        hit = float((field.bundles(s0) == (s0 >= 0.5).float()).all(1).float().mean())
    info = {"items": m, "hidden": hidden, "iterations": iterations, "batch": batch, "lr": lr, "seed": seed,
            "final_loss": loss_v, "corner_accuracy": hit, "seconds": time.perf_counter() - t0, "version": FLOW_VERSION}
    return field, info


def default_cache_dir() -> Path:
    root = os.environ.get("AUCTIONC_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "auctionc") / "flows"


def cache_path(cache_dir: Path, m: int, hidden: int, iterations: int, seed: int) -> Path:
    return cache_dir / f"flow_v{FLOW_VERSION}_m{m}_h{hidden}_it{iterations}_s{seed}.pt"


def _load_cached(path: Path, m: int, hidden: int) -> tuple[FlowField, dict] | None:
    """A cached flow read as plain data (``weights_only=True``: a file that would build any
    other object is refused, never run); None, and the flow is trained again, when the file
    cannot be read so or does not hold weights of this shape."""
    try:
        doc = torch.load(path, map_location="cpu", weights_only=True)
        field = FlowField(m, hidden)
        field.load_state_dict(doc["state"])
        info = {k: v for k, v in dict(doc["info"]).items() if isinstance(v, (int, float, str, bool))}
    except Exception:  # noqa: BLE001 - a damaged or foreign cache file is retrained over
        return None
    for p in field.parameters():
        p.requires_grad_(False)
    info["path"] = str(path)
    return field, info


def load_or_train(
    m: int,
    *,
    cache_dir: Path | None = None,
    hidden: int = 128,
    iterations: int = 2000,
    seed: int = 0,
    callback: Callable[[int, float], None] | None = None,
) -> tuple[FlowField, dict, bool]:
    """The cached flow for m items, trained and written once; returns (field, info, from_cache)."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache_path(cache_dir, m, hidden, iterations, seed)
    if path.is_file():
        cached = _load_cached(path, m, hidden)
        if cached is not None:
            return *cached, True
    field, info = train_flow(m, hidden=hidden, iterations=iterations, seed=seed, callback=callback)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"state": field.state_dict(), "info": info}, tmp)
    tmp.replace(path)
    info = dict(info)
    info["path"] = str(path)
    return field, info, False

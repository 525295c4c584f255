"""The misreport search behind estimated regret (and the sanity sample of exact certificates).

For sampled profiles (the others truthful) each bidder's report box is searched: a grid and
random restarts (half uniform in the box, half other sampled reports), then batched
gradient ascent on the report (differentiable artifacts; torch is imported only then) or a
coordinate search with shrinking steps.  Every candidate is scored with the artifact's own
``allocate_and_pay``, in batches.  Regret is a lower bound of the true supremum: the largest
gain found.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .certificate import Z95
from .evaluation import Evaluator, utility_with
from .settings import Settings
from .spec_spaces import Draws, vec

GRID_BUDGET = 256
"""Grid points per bidder and profile in the first stage of the search."""
SANITY_GRID = 64
"""Grid points per bidder and profile in the sanity sample."""
MAX_LOCAL_ROUNDS = 40
_TORCH_ROWS = 50_000  # rows per gradient-ascent batch


@dataclass
class SearchResult:
    regrets: np.ndarray
    """``(B, n)`` the gain of the best misreport found (0 when none gains)."""
    u_true: np.ndarray
    worst: dict[str, Any] | None
    per_bidder: list[dict[str, Any]]
    samples: int
    steps: int
    search: str
    evaluations: int
    notes: list[str] = field(default_factory=list)

    @property
    def max_regret(self) -> float:
        return float(self.regrets.max(initial=0.0))

    @property
    def mean_regret(self) -> float:
        return float(self.regrets.mean()) if self.regrets.size else 0.0

    @property
    def ci_upper(self) -> float:
        per = self.regrets.mean(axis=1)
        se = float(per.std(ddof=1)) / math.sqrt(len(per)) if len(per) > 1 else 0.0
        return float(per.mean()) + Z95 * se if len(per) else 0.0


def grid_points(lo: np.ndarray, hi: np.ndarray, budget: int = GRID_BUDGET) -> np.ndarray | None:
    dim = len(lo)
    if dim > 4:
        return None
    g = max(2, int(round(budget ** (1.0 / dim))))
    axes = [np.linspace(a, b, g) if b > a else np.array([a]) for a, b in zip(lo, hi, strict=True)]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


def reports_tried(restarts: int, steps: int, dim: int) -> int:
    """Reports the estimated search (without gradients) evaluates per bidder and profile: the
    grid over a report box of at most 4 dimensions, the random restarts, and the coordinate
    search's candidates in each of its rounds.  Planners use it to bound verification work
    before it starts."""
    grid = GRID_BUDGET if dim <= 4 else 0
    per_round = 2 * dim if dim <= 16 else 32
    return grid + max(1, restarts) + min(steps, MAX_LOCAL_ROUNDS) * per_round


def keep_best(u, cand, best_u, best_r, eps: float = 0.0):
    """Each row's best candidate (``u (b, c)``, ``cand (b, c, dim)``) replaces the incumbent
    where it beats it by more than ``eps``; returns utilities, reports and where they improved."""
    rows = np.arange(len(u))
    k = u.argmax(axis=1)
    uk = u[rows, k]
    better = uk > best_u + eps
    return np.where(better, uk, best_u), np.where(better[:, None], cand[rows, k], best_r), better


def planned_samples(settings: Settings, B: int, n: int, dim: int, differentiable: bool, local: bool) -> int:
    """Profiles the search can afford under ``settings.budget`` evaluations."""
    if settings.budget is None:
        return B
    grid = 0 if dim > 4 else max(2, int(round(GRID_BUDGET ** (1.0 / dim)))) ** dim
    per = grid + max(1, settings.restarts)
    if local:
        per += (settings.steps * max(1, settings.restarts) if differentiable
                else min(settings.steps, MAX_LOCAL_ROUNDS) * (2 * dim if dim <= 16 else 32))
    return max(2, min(B, int(settings.budget // max(1, n * per))))


def search_regret(ev: Evaluator, mech: Any, draws: Draws, settings: Settings, names: list[str],
                  *, local: bool, label: str = "verify: misreport search") -> SearchResult:
    """Search every bidder's misreports at the sampled profiles ``draws``; ``local=False`` is
    the sanity sample (a coarser grid and the restarts only)."""
    reports, values, box = draws.reports, draws.values, draws.box
    B, n, dim = reports.shape
    rng = np.random.default_rng([settings.seed, 31])
    differentiable = bool(getattr(mech, "differentiable", False)) and local and settings.steps > 0
    lo, hi = box[..., 0], box[..., 1]
    start = ev.rows
    a, p = ev(reports)
    u_true = (values * a).sum(axis=2) - p
    regrets = np.zeros((B, n))
    worst, best_gain, steps_used = None, -np.inf, 0
    task = settings.reporter.task(label, total=n)
    for i in range(n):
        best_u, best_r = _grid_and_restarts(ev, settings, i, reports, values, u_true[:, i], lo[i], hi[i], rng,
                                            GRID_BUDGET if local else SANITY_GRID)
        if differentiable:
            best_u, best_r = _gradient(ev, mech, settings, i, reports, values, best_u, best_r, lo[i], hi[i])
            steps_used = settings.steps
        elif local:
            best_u, best_r, rounds = _coordinate(ev, settings, i, reports, values, best_u, best_r, lo[i], hi[i])
            steps_used = max(steps_used, rounds)
        gain = best_u - u_true[:, i]
        regrets[:, i] = np.maximum(gain, 0.0)
        k = int(gain.argmax())
        if gain[k] > best_gain:
            best_gain = float(gain[k])
            worst = {"bidder": names[i], "values": vec(values[k, i]), "report_truthful": vec(reports[k, i]),
                     "misreport": vec(best_r[k]), "regret": max(0.0, best_gain),
                     "others": {names[j]: vec(reports[k, j]) for j in range(n) if j != i}}
        task.update(advance=1, regret=float(regrets[:, : i + 1].max()))
    task.close()
    how = "grid + random restarts"
    if local:
        how += " + " + ("gradient ascent (torch, Adam)" if differentiable else "coordinate search")
    per_bidder = [{"bidder": names[i], "mean_regret": float(regrets[:, i].mean()),
                   "max_regret": float(regrets[:, i].max()), "max_ir_violation": float(np.maximum(-u_true[:, i], 0).max()),
                   "mean_utility": float(u_true[:, i].mean())} for i in range(n)]
    return SearchResult(regrets, u_true, worst, per_bidder, B, steps_used, how, ev.rows - start)


def _grid_and_restarts(ev, settings, i, reports, values, u_true, lo, hi, rng, budget):
    B, n, dim = reports.shape
    grid = grid_points(lo, hi, budget)
    R = max(1, settings.restarts)
    rand = lo + (hi - lo) * rng.random((B, R, dim))
    half = R // 2
    if half:
        rand[:, :half] = reports[rng.integers(0, B, (B, half)), i, :]
    cand = rand if grid is None else np.concatenate([np.broadcast_to(grid, (B, *grid.shape)), rand], axis=1)
    u = utility_with(ev, i, reports, values, cand)
    best_u, best_r, _ = keep_best(u, cand, u_true.copy(), reports[:, i, :].copy())
    return best_u, best_r


def _coordinate(ev, settings, i, reports, values, best_u, best_r, lo, hi):
    """From the best report found, try +-step on each coordinate (random directions in high
    dimension) and halve the step where nothing improves."""
    B, n, dim = reports.shape
    rounds = min(settings.steps, MAX_LOCAL_ROUNDS)
    if rounds <= 0:
        return best_u, best_r, 0
    g = max(1, int(round(GRID_BUDGET ** (1.0 / max(1, dim)))) - 1) if dim <= 4 else 4
    step = np.broadcast_to(np.maximum((hi - lo) / g, 1e-12), (B, dim)).copy()
    rng = np.random.default_rng([settings.seed, 7919, i])
    for _ in range(rounds):
        if dim <= 16:
            dirs = np.broadcast_to(np.concatenate([np.eye(dim), -np.eye(dim)]), (B, 2 * dim, dim))
        else:
            d = rng.standard_normal((B, 32, dim))
            dirs = d / np.abs(d).max(axis=2, keepdims=True)
        cand = np.clip(best_r[:, None, :] + dirs * step[:, None, :], lo, hi)
        u = utility_with(ev, i, reports, values, cand)
        best_u, best_r, better = keep_best(u, cand, best_u, best_r, 1e-15)
        step = np.where(better[:, None], step, step * 0.5)
    return best_u, best_r, rounds


def _gradient(ev, mech, settings, i, reports, values, best_u, best_r, lo, hi):
    """Batched gradient ascent on bidder i's report: ``restarts`` starts per profile (the best
    report so far plus random ones), Adam on the report rescaled to the unit box; the final
    candidates are re-scored with ``allocate_and_pay`` so that a soft relaxation can neither
    overstate nor hide regret."""
    import torch

    B, n, dim = reports.shape
    R = max(1, settings.restarts)
    dev = settings.device
    span = np.where(hi > lo, hi - lo, 1.0)
    gen = torch.Generator().manual_seed(int(settings.seed) * 1000 + i)
    lo_t = torch.as_tensor(lo, dtype=torch.float32, device=dev)
    span_t = torch.as_tensor(span, dtype=torch.float32, device=dev)
    rows = max(1, _TORCH_ROWS // R)
    for s in range(0, B, rows):
        sl = slice(s, min(B, s + rows))
        b = sl.stop - sl.start
        z0 = torch.rand((b, R, dim), generator=gen).to(dev)
        z0[:, 0] = torch.as_tensor((best_r[sl] - lo) / span, dtype=torch.float32, device=dev)
        z = z0.clamp(0, 1).reshape(b * R, dim).requires_grad_(True)
        base = torch.as_tensor(reports[sl], dtype=torch.float32, device=dev).repeat_interleave(R, 0)
        vals = torch.as_tensor(values[sl, i], dtype=torch.float32, device=dev).repeat_interleave(R, 0)
        opt = torch.optim.Adam([z], lr=0.02)
        track = z.detach().clone()
        track_u = torch.full((b * R,), -float("inf"), device=dev)
        for _ in range(settings.steps):
            x = lo_t + span_t * z
            bids = torch.cat([base[:, :i], x[:, None], base[:, i + 1 :]], dim=1)
            a, p = mech.allocate_and_pay_torch(bids)
            u = (vals * a[:, i]).sum(-1) - p[:, i]
            with torch.no_grad():
                up = u > track_u
                track_u = torch.where(up, u, track_u)
                track = torch.where(up[:, None], z, track)
            opt.zero_grad(set_to_none=True)
            (-u.sum()).backward()
            opt.step()
            with torch.no_grad():
                z.clamp_(0.0, 1.0)
        with torch.no_grad():
            cands = torch.stack([track, z.detach()], dim=1).reshape(b, 2 * R, dim)
            cand = (lo + span * cands.cpu().double().numpy()).clip(lo, hi)
        u = utility_with(ev, i, reports[sl], values[sl], cand)
        best_u[sl], best_r[sl], _ = keep_best(u, cand, best_u[sl], best_r[sl])
    return best_u, best_r

"""The figures of a simulation report: bids against values with the equilibrium line and the
fitted regression (``bids.png``), and per-round means with their 95% intervals
(``rounds.png``, the learning curve)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from auctionc import ir
from auctionc.backends.simulate import rules as format_rules
from auctionc.backends.simulate.theory import InfoModel, NoClosedForm, bne_threshold, crra_threshold

if TYPE_CHECKING:
    from auctionc.backends.simulate.records import SimulationResult


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bids_figure(result: SimulationResult, spec: ir.AuctionSpec, model: InfoModel, out_dir: Path,
                risk_aversion: float = 0.0) -> Path | None:
    fmt = spec.mechanism
    assert fmt is not None
    from auctionc.backends.simulate.behaviour import actions

    _, xs, ys = actions(fmt, result.records)
    if not len(xs):
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    label = {"ascending_clock": "drop-outs", "ebay": "final maximum bids"}.get(fmt.name, "bids")
    ax.scatter(xs, ys, s=10, alpha=0.6, label=label)
    grid = np.linspace(float(xs.min()), float(xs.max()), 200)
    ax.plot(grid, grid, color="grey", lw=1, ls=":", label="bid = value")
    try:
        ax.plot(grid, bne_threshold(fmt, model, grid), color="C3", lw=1.5, label="risk-neutral equilibrium")
    except NoClosedForm:
        pass
    if risk_aversion > 0:
        try:
            ax.plot(grid, crra_threshold(fmt, model, grid, risk_aversion), color="C2", lw=1.2, ls="--",
                    label=f"CRRA r = {risk_aversion:g}")
        except NoClosedForm:
            pass
    reg = result.behaviour.get("regression")
    if reg:
        ax.plot(grid, reg["intercept"] + reg["slope"] * grid, color="C1", lw=1, ls="-.",
                label=f"fit: {reg['intercept']:.2f} + {reg['slope']:.2f} v")
    ax.set_xlabel("signal" if model.kind == "common" else "value")
    ax.set_ylabel("bid" if fmt.name in format_rules.SEALED_NAMES else "price")
    ax.set_title(f"{spec.name}: {fmt.name}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = out_dir / "bids.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def rounds_figure(result: SimulationResult, spec: ir.AuctionSpec, out_dir: Path) -> Path | None:
    """Per round: bids over values (ratio of sums) and the mean deviation from the equilibrium
    bid, each with its 95% interval; only when there are at least two rounds."""
    rows = result.behaviour.get("per_round") or []
    if len(rows) < 2:
        return None
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5, 5), dpi=100, sharex=True)
    x = np.array([r["round"] + 1 for r in rows])

    def band(ax, key_of, color: str, label: str) -> None:
        vals = [key_of(r) for r in rows]
        ok = [v is not None and v.get("value") is not None for v in vals]
        xs = x[ok]
        mid = np.array([v["value"] for v, k in zip(vals, ok) if k])
        lo = np.array([(v.get("ci95") or [v["value"]])[0] for v, k in zip(vals, ok) if k])
        hi = np.array([(v.get("ci95") or [None, v["value"]])[1] for v, k in zip(vals, ok) if k])
        if len(xs):
            ax.plot(xs, mid, color=color, marker="o", ms=3, label=label)
            ax.fill_between(xs, lo, hi, color=color, alpha=0.2)

    band(top, lambda r: r["ratio_of_sums"], "C0", "sum of bids / sum of values")
    top.axhline(1.0, color="grey", lw=1, ls=":")
    top.set_ylabel("bid / value")
    top.legend(fontsize=7)
    band(bottom, lambda r: r.get("mean_deviation_from_equilibrium"), "C3", "bid − equilibrium bid")
    band(bottom, lambda r: r["mean_bid_minus_value"], "C0", "bid − value")
    bottom.axhline(0.0, color="grey", lw=1, ls=":")
    bottom.set_xlabel("round")
    bottom.set_ylabel("mean")
    bottom.legend(fontsize=7)
    top.set_title(f"{spec.name}: per-round means")
    fig.tight_layout()
    path = out_dir / "rounds.png"
    fig.savefig(path)
    plt.close(fig)
    return path

"""Figures of learned data markets (matplotlib, Agg): the menu's experiments as heat maps,
and what each type pays and which entry it buys, against the type.

* One buyer: ``menu_experiments.png`` (one heat map per entry bought: states by signals,
  ``P(signal | state)``, price in the title); ``menu_prices.png`` (price paid and value of
  the information bought against the type: a line for one-number types, maps over
  ``(P(state), value)`` for a belief and a scale, a scatter over the simplex for three-state
  Dirichlet beliefs).
* Several buyers: ``network_information.png`` (for two buyers, over the value square: how
  informative each buyer's experiment is, and what it pays).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from auctionc import ir
from auctionc.mechanism.market_space import report_box, sample_types, type_labels, type_weights


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def market_figures(spec: ir.MarketSpec, result: Any, out: Path) -> dict[str, str]:
    mech = result.mechanism
    if spec.n_bidders == 1:
        return {"menu_experiments": str(experiment_maps(spec, mech, out / "menu_experiments.png")),
                "menu_prices": str(prices_against_types(spec, mech, out / "menu_prices.png"))}
    if spec.n_bidders == 2:
        return {"network_information": str(network_maps(spec, mech, out / "network_information.png"))}
    return {}


def experiment_maps(spec: ir.MarketSpec, mech: Any, path: Path) -> Path:
    plt = _plt()
    table = [g for g in mech.experiments_table()]
    n = len(table)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n + 0.8, 2.8), constrained_layout=True, squeeze=False)
    im = None
    for ax, g in zip(axes[0], table, strict=True):
        M = np.asarray(g["state_by_signal"], float)
        im = ax.imshow(M, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        ax.set_xticks(range(M.shape[1]), [f"s{j + 1}" for j in range(M.shape[1])])
        ax.set_yticks(range(M.shape[0]), g["states"])
        share = "" if g["probability"] is None else f", {100 * g['probability']:.0f}% buy"
        ax.set_title(f"price {g['price']:.4f}{share}", fontsize=9)
        for (r, c), v in np.ndenumerate(M):
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", color="w" if v < 0.6 else "k", fontsize=8)
    if im is not None:
        fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="P(signal | state)")
    fig.suptitle(f"{spec.name}: the menu's experiments", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _value_of_purchase(spec: ir.MarketSpec, mech: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Price paid and value created (obedient payoff minus acting on the prior) per type."""
    R, p = mech.allocate_and_pay(x if x.shape[1] > 1 else x[:, :1])
    beliefs, scales = type_weights(spec, 0, x)
    w = beliefs * scales[:, None]
    U = np.asarray(spec.buyers[0].payoffs, float)
    obey = np.einsum("bs,bas,as->b", w, R[:, 0], U)
    return p[:, 0], obey - (w @ U.T).max(axis=1)


def prices_against_types(spec: ir.MarketSpec, mech: Any, path: Path) -> Path:
    plt = _plt()
    labels = type_labels(spec)
    box = report_box(spec)
    t = spec.buyers[0].type
    if len(labels) == 1:
        x = np.linspace(box[0, 0], box[0, 1], 801)[:, None]
        price, value = _value_of_purchase(spec, mech, x)
        fig, ax = plt.subplots(figsize=(6, 3.6), constrained_layout=True)
        ax.plot(x[:, 0], price, label="price paid")
        ax.plot(x[:, 0], value, "--", label="value of the information bought")
        ax.set_xlabel(labels[0])
        ax.legend()
    elif isinstance(t, ir.BeliefScaleType) and isinstance(t.belief, ir.BeliefType):
        g = np.linspace(0, 1, 161)
        v = np.linspace(box[1, 0], box[1, 1], 161)
        B, Vv = np.meshgrid(g, v)
        x = np.stack([B.ravel(), Vv.ravel()], axis=1)
        price, _ = _value_of_purchase(spec, mech, x)
        k = mech.choose(x)
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
        im = axes[0].imshow(price.reshape(B.shape), origin="lower", aspect="auto", cmap="magma",
                            extent=(g[0], g[-1], v[0], v[-1]))
        fig.colorbar(im, ax=axes[0], label="price paid")
        im2 = axes[1].imshow(k.reshape(B.shape), origin="lower", aspect="auto", cmap="tab10",
                             extent=(g[0], g[-1], v[0], v[-1]), interpolation="nearest")
        fig.colorbar(im2, ax=axes[1], label="entry bought (last: null)")
        for ax in axes:
            ax.set_xlabel(labels[0])
            ax.set_ylabel(labels[1])
    else:
        x = sample_types(spec, 0, 4000, np.random.default_rng(5))
        price, _ = _value_of_purchase(spec, mech, x)
        fig, ax = plt.subplots(figsize=(5.5, 4.6), constrained_layout=True)
        S = len(spec.states)
        if S == 3 and x.shape[1] >= 3:
            # barycentric coordinates of the simplex (the third state at the apex)
            px, py = x[:, 1] + 0.5 * x[:, 2], (np.sqrt(3) / 2) * x[:, 2]
            sc = ax.scatter(px, py, c=price, s=4, cmap="magma")
            for (cx, cy), s in zip([(0, 0), (1, 0), (0.5, np.sqrt(3) / 2)], spec.states, strict=True):
                ax.annotate(s, (cx, cy), ha="center", va="top" if cy == 0 else "bottom")
            ax.set_axis_off()
        else:
            sc = ax.scatter(x[:, 0], x[:, -1], c=price, s=4, cmap="magma")
            ax.set_xlabel(labels[0])
            ax.set_ylabel(labels[-1])
        fig.colorbar(sc, ax=ax, label="price paid")
    fig.suptitle(f"{spec.name}: what each type pays", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def network_maps(spec: ir.MarketSpec, mech: Any, path: Path, resolution: int = 121) -> Path:
    """Two buyers: informativeness (accuracy gain over the prior) and payment of each buyer."""
    plt = _plt()
    lo = [report_box(spec, i)[0] for i in range(2)]
    a = np.linspace(lo[0][0], lo[0][1], resolution)
    b = np.linspace(lo[1][0], lo[1][1], resolution)
    X, Y = np.meshgrid(a, b)
    bids = np.stack([X.ravel(), Y.ravel()], axis=1)
    E, p = mech.allocate_and_pay(bids)
    prior = np.asarray(spec.buyers[0].type.prior, float)
    prior = prior / prior.sum()
    fig, axes = plt.subplots(2, 2, figsize=(9, 7.5), constrained_layout=True)
    for i in range(2):
        U = np.asarray(spec.buyers[i].payoffs, float)
        x_obey = np.einsum("s,bas,as->b", prior, E[:, i], U)
        gain = x_obey - (prior @ U.T).max()
        top = float(np.einsum("s,s->", prior, U.max(axis=0)) - (prior @ U.T).max()) or 1.0
        im = axes[0, i].imshow((gain / top).reshape(X.shape), origin="lower", vmin=0, vmax=1, cmap="viridis",
                               extent=(a[0], a[-1], b[0], b[-1]), aspect="auto")
        axes[0, i].set_title(f"{spec.buyers[i].name}: information (0 none, 1 full)", fontsize=9)
        fig.colorbar(im, ax=axes[0, i])
        im = axes[1, i].imshow(p[:, i].reshape(X.shape), origin="lower", cmap="magma",
                               extent=(a[0], a[-1], b[0], b[-1]), aspect="auto")
        axes[1, i].set_title(f"{spec.buyers[i].name}: payment", fontsize=9)
        fig.colorbar(im, ax=axes[1, i])
        for r in range(2):
            axes[r, i].set_xlabel(f"value of {spec.buyers[0].name}")
            axes[r, i].set_ylabel(f"value of {spec.buyers[1].name}")
    fig.suptitle(f"{spec.name}: the learned experiments and payments", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

"""Figures: who gets the item over the value square of two bidders, and training curves
(the one-bidder, two-item allocation regions are the report's ``plot_allocation_regions``).
matplotlib with the Agg backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def two_bidder_regions(mech: Any, box: np.ndarray, path: Path, title: str = "", resolution: int = 201) -> Path:
    """One item, two bidders: who gets the item over the (v1, v2) square."""
    plt = _plt()
    x = np.linspace(box[0, 0, 0], box[0, 0, 1], resolution)
    y = np.linspace(box[1, 0, 0], box[1, 0, 1], resolution)
    X, Y = np.meshgrid(x, y)
    bids = np.stack([X.ravel(), Y.ravel()], axis=1)[:, :, None]
    alloc, _ = mech.allocate_and_pay(bids)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4), constrained_layout=True)
    for i, ax in enumerate(axes):
        im = ax.imshow(alloc[:, i, 0].reshape(X.shape), origin="lower", vmin=0, vmax=1, cmap="YlOrRd",
                       extent=(x[0], x[-1], y[0], y[-1]), aspect="auto")
        ax.set_xlabel("value of bidder 1")
        ax.set_ylabel("value of bidder 2")
        ax.set_title(f"P(bidder {i + 1} gets the item)")
    fig.colorbar(im, ax=axes, shrink=0.9)
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

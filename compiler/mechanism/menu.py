"""Single-bidder menus: a list of (lottery, price) pairs the bidder chooses from.

Used by RochetNet, BundleFlow (bundle lotteries) and the one-bidder LP.  The
bidder takes the element of highest utility; ties go to the higher price (the
seller-favourable tie rule of the RochetNet literature), then to the lower
index.  A menu that contains a null element (zero allocation, zero price) and
chooses by argmax is IC and IR by construction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .base import ArtifactMeta, Mechanism, register_artifact

TIE_TOL = 1e-9


@register_artifact
class MenuMechanism(Mechanism):
    kind = "menu"
    n_bidders = 1

    def __init__(
        self,
        allocations: np.ndarray,
        prices: np.ndarray,
        outcome_space: str = "items",
        meta: ArtifactMeta | None = None,
        labels: list[str] | None = None,
    ) -> None:
        alloc = np.asarray(allocations, dtype=float)
        prices = np.asarray(prices, dtype=float)
        if alloc.ndim != 2 or prices.shape != (alloc.shape[0],):
            raise ValueError("allocations must be (K, dim) and prices (K,)")
        self.allocations = alloc
        self.prices = prices
        self.outcome_space = outcome_space
        self.meta = meta or ArtifactMeta()
        self.labels = labels

    @property
    def has_null_element(self) -> bool:
        null = (np.abs(self.allocations).max(axis=1) <= TIE_TOL) & (np.abs(self.prices) <= TIE_TOL)
        return bool(null.any())

    def menu_structure(self) -> dict[str, Any]:
        return {"n_bidders": 1, "null_element": self.has_null_element, "choice": "argmax"}

    def choose(self, values: np.ndarray) -> np.ndarray:
        """Index of the chosen element for values ``(B, dim)``."""
        u = values @ self.allocations.T - self.prices[None, :]
        best = u.max(axis=1, keepdims=True)
        tied = u >= best - TIE_TOL
        # among tied elements prefer the highest price, then the lowest index
        score = np.where(tied, self.prices[None, :], -np.inf)
        return score.argmax(axis=1)

    def allocate_and_pay(self, bids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bids = np.asarray(bids, dtype=float)
        if bids.ndim == 2:
            bids = bids[:, None, :]
        idx = self.choose(bids[:, 0, :])
        return self.allocations[idx][:, None, :], self.prices[idx][:, None]

    def data(self) -> dict[str, Any]:
        return {
            "allocations": self.allocations.tolist(),
            "prices": self.prices.tolist(),
            "labels": self.labels,
            "tie_rule": "highest price, then lowest index",
        }

    @classmethod
    def from_data(cls, data: dict[str, Any], meta: ArtifactMeta, directory: Path) -> MenuMechanism:
        return cls(
            np.asarray(data["allocations"], dtype=float),
            np.asarray(data["prices"], dtype=float),
            outcome_space=data.get("outcome_space", "items"),
            meta=meta,
            labels=data.get("labels"),
        )

    def to_json(self) -> dict[str, Any]:
        doc = super().to_json()
        doc["data"]["outcome_space"] = self.outcome_space
        return doc

    def deduplicated(self, decimals: int = 3) -> list[tuple[np.ndarray, float]]:
        """Distinct (allocation, price) pairs, sorted by price, for listing in reports."""
        seen: dict[tuple, tuple[np.ndarray, float]] = {}
        for a, p in zip(self.allocations, self.prices):
            key = (tuple(np.round(a, decimals)), round(float(p), decimals))
            seen.setdefault(key, (np.round(a, decimals), round(float(p), decimals)))
        return sorted(seen.values(), key=lambda t: t[1])

    def describe(self) -> str:
        return f"menu of {len(self.prices)} elements over {self.outcome_space}"

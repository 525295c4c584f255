"""Single-bidder menus: a list of (lottery, price) pairs the bidder chooses from.

Used by RochetNet, BundleFlow (bundle lotteries) and the one-bidder LP.  The
bidder takes the element of highest utility; ties go to the higher price (the
seller-favourable tie rule of the RochetNet literature), then to the lower
index.  A menu that contains a null element (zero allocation, zero price) and
chooses by argmax is IC and IR by construction; the verifier checks both from the
elements (``structure``) and confirms the choice rule on sampled reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from .base import ArtifactMeta, Mechanism, register_artifact, validated
from .structures import OfferedOutcomes, OneBidderMenu, WorldFacts

TIE_TOL = 1e-9
_CHOICE_ENTRIES = 1_000_000  # utilities per temporary array in ``choose``


class _MenuData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    allocations: list[list[float]]
    prices: list[float]
    labels: list[str] | None = None
    outcome_space: Literal["items", "bundles"] = "items"


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

    def structure(self) -> OneBidderMenu:
        return OneBidderMenu(self.allocations, self.prices, null_by_rule=False, tie_tol=TIE_TOL)

    def offered_outcomes(self) -> OfferedOutcomes:
        return OfferedOutcomes(allocations=self.allocations[:, None, :], payments=self.prices[:, None])

    def world(self) -> WorldFacts:
        return WorldFacts(n_bidders=1, outcome_space=self.outcome_space, dim=int(self.allocations.shape[1]))

    def choose(self, values: np.ndarray) -> np.ndarray:
        """Index of the chosen element for values ``(B, dim)``: the highest utility; among
        elements within ``TIE_TOL`` of it, the highest price, then the lowest index."""
        values = np.asarray(values, dtype=float)
        # elements by price, highest first (stable: lower index first among equal prices), so
        # the first element within the tie tolerance is the one the rule picks
        order = np.argsort(-self.prices, kind="stable")
        A, p = self.allocations[order], self.prices[order]
        out = np.empty(len(values), dtype=np.int64)
        step = max(1, _CHOICE_ENTRIES // max(1, len(p)))
        for s in range(0, len(values), step):
            u = values[s : s + step] @ A.T - p[None, :]
            first = (u >= u.max(axis=1, keepdims=True) - TIE_TOL).argmax(axis=1)
            out[s : s + step] = order[first]
        return out

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
        d = validated(_MenuData, data, "menu data")
        return cls(np.asarray(d.allocations, dtype=float), np.asarray(d.prices, dtype=float),
                   outcome_space=d.outcome_space, meta=meta, labels=d.labels)

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

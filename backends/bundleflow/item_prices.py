"""The ``item_prices`` artifact: posted item prices for one combinatorial bidder.

One price per item; the bidder buys the bundle it likes best at the sum of its items'
prices, or nothing.  This is the menu of every bundle at additive prices, so it is IC and
IR by construction for any m, but at 50 items its 2^50 elements cannot be listed the way a
``bundle_menu`` lists its lotteries: the verifier knows the rule itself
(``auctionc.mechanism.structures.PostedItemPrices``) and computes every report's favourite
bundle from the prices.

XOR reports: only a bid bundle, plus every item of negative price (a subsidy is always
worth taking), can be a favourite, because a value is the largest bid contained in the
bundle.  Ties within ``TIE_TOL`` go to the dearer bundle.  Reports as bundle values
``(B, 1, 2**m)`` (m <= 12 items) are argmax-ed over the 2^m - 1 non-empty bundles and
nothing; the allocation is the chosen bundle's one-hot row (nothing: the zero row), as in the
array convention of ``auctionc.mechanism``.
Loading needs numpy and pydantic only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from auctionc.cats.xor import XorBatch
from auctionc.mechanism.base import ArtifactError, ArtifactMeta, Mechanism, register_artifact, validated
from auctionc.mechanism.structures import OfferedOutcomes, PostedItemPrices, WorldFacts
from auctionc.valuation import MAX_BUNDLE_ITEMS
from pydantic import BaseModel, ConfigDict

TIE_TOL = 1e-9


class _ItemPriceData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    items: int
    prices: list[float]


def xor_choice(prices: np.ndarray, data: XorBatch) -> tuple[np.ndarray, np.ndarray]:
    """``(bundles (B, m) uint8, payments (B,))``: each XOR valuation's favourite bundle at
    additive ``prices`` and what it pays (the empty bundle and 0 when nothing is worth it)."""
    neg = (prices < 0).astype(np.uint8)
    cand = data.bundles | neg[None, None, :]  # (B, K, m)
    cost = cand.astype(float) @ prices
    u = data.values - cost
    k = pick(u, cost)
    rows = np.arange(len(data))
    # the alternative to every bid: no bid bundle, only the subsidised items (nothing when no
    # price is negative); it is never dearer than a bid bundle, so a tie goes to the bid
    sub = float(prices[neg == 1].sum())
    take = u[rows, k] >= -sub - TIE_TOL
    bundles = np.where(take[:, None], cand[rows, k], neg[None, :]).astype(np.uint8)
    return bundles, np.where(take, cost[rows, k], sub)


def pick(u: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Per row the column of highest utility ``u (B, K)``; ties within ``TIE_TOL`` to the
    dearer column (seller-favourable, as in the menus), then the lower index."""
    best = u.max(axis=1, keepdims=True)
    return np.where(u >= best - TIE_TOL, np.broadcast_to(cost, u.shape), -np.inf).argmax(axis=1)


@register_artifact
class ItemPriceMechanism(Mechanism):
    kind = "item_prices"
    n_bidders = 1
    outcome_space = "bundles"

    def __init__(self, prices: np.ndarray, meta: ArtifactMeta | None = None) -> None:
        prices = np.asarray(prices, dtype=float)
        if prices.ndim != 1 or len(prices) < 1:
            raise ValueError("item prices need one price per item")
        self.prices = prices
        self.meta = meta or ArtifactMeta()

    @property
    def n_items(self) -> int:
        return int(len(self.prices))

    def structure(self) -> PostedItemPrices:
        return PostedItemPrices(self.prices, tie_tol=TIE_TOL)

    def offered_outcomes(self) -> OfferedOutcomes:
        # the outcomes are every bundle at its additive price: only the prices are listed
        return OfferedOutcomes(prices=self.prices)

    def world(self) -> WorldFacts:
        m = self.n_items
        return WorldFacts(n_bidders=1, outcome_space="bundles", n_items=m, dim=2**m if m <= MAX_BUNDLE_ITEMS else None)

    def allocate_and_pay(self, bids: Any) -> tuple[np.ndarray, np.ndarray]:
        batch = XorBatch.of(bids, self.n_items)
        if batch is not None:
            if batch.n_items != self.n_items:
                raise ValueError(f"reports over {batch.n_items} items, prices for {self.n_items}")
            bundles, pay = xor_choice(self.prices, batch)
            return bundles[:, None, :].astype(float), pay[:, None]
        arr = np.asarray(bids, dtype=float)
        if arr.ndim == 2:
            arr = arr[:, None, :]
        m = self.n_items
        if m > MAX_BUNDLE_ITEMS or arr.shape[-1] != 2**m:
            raise ValueError(f"bundle-value reports need 2**{m} columns (up to {MAX_BUNDLE_ITEMS} items), "
                             f"not {arr.shape[-1]}")
        # every non-empty bundle at its additive price, and nothing (the zero row) at 0
        cost = np.concatenate([bundle_costs(self.prices)[1:], [0.0]])
        u = np.concatenate([arr[:, 0, 1:], np.zeros((len(arr), 1))], axis=1) - cost[None, :]
        k = pick(u, cost[None, :])
        alloc = np.zeros((len(arr), 1, 2**m))
        rows = np.flatnonzero(k < 2**m - 1)
        alloc[rows, 0, k[rows] + 1] = 1.0
        return alloc, cost[k][:, None]

    def data(self) -> dict[str, Any]:
        return {"items": self.n_items, "prices": self.prices.tolist(),
                "rule": "the bundle of highest value minus the sum of its items' prices, or nothing; "
                        "ties to the dearer bundle"}

    @classmethod
    def from_data(cls, data: dict[str, Any], meta: ArtifactMeta, directory: Path) -> ItemPriceMechanism:
        d = validated(_ItemPriceData, data, "item price data")
        if d.items < 1 or len(d.prices) != d.items:
            raise ArtifactError(f"item prices: {len(d.prices)} prices for {d.items} items")
        return cls(np.array(d.prices, dtype=float), meta)

    def describe(self) -> str:
        return f"posted prices for {self.n_items} items (mean {self.prices.mean():.2f})"


def bundle_costs(prices: np.ndarray) -> np.ndarray:
    """``(2**m,)``: the additive price of every bundle, indexed by bitmask."""
    m = len(prices)
    masks = (np.arange(2**m)[:, None] >> np.arange(m)) & 1
    return masks @ np.asarray(prices, float)

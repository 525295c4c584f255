"""The ``bundle_menu`` artifact: a single-bidder menu of lotteries over bundles of m items.

Each element is a distribution over bundles (support bundles as 0/1 rows, probabilities) and
a price; a null element (nothing, price 0) is always available.  The bidder reports an XOR
valuation and gets the element of highest expected utility, ties to the higher price, then
the lower index (the rule of ``MenuMechanism``); so the mechanism is IC and IR by
construction.  Loading needs numpy only: the flow weights that produced the supports are
kept in a side file for provenance, not needed to evaluate.

Reports accepted by ``allocate_and_pay``: an ``XorValuation``, a list of them, an
``XorBatch``, or, for m <= 12 items, the array convention of ``auctionc.mechanism``: bundle
values ``(B, 1, 2**m)`` indexed by bitmask.  The allocation is the element's item marginals
``(B, 1, m)`` for XOR reports and its bundle probabilities ``(B, 1, 2**m)`` for arrays.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from auctionc.cats.xor import XorBatch
from auctionc.mechanism.base import ArtifactError, ArtifactMeta, Mechanism, register_artifact, validated
from auctionc.mechanism.structures import OfferedOutcomes, OneBidderMenu, WorldFacts
from auctionc.valuation import MAX_BUNDLE_ITEMS
from pydantic import BaseModel, ConfigDict

TIE_TOL = 1e-9
SIDE_FILE = "bundleflow_state.pt"


def _values_table(bids: np.ndarray, values: np.ndarray, uniq: np.ndarray, chunk: int) -> np.ndarray:
    return XorBatch(bids, values).values_of(uniq, chunk)


def choose(bundles: np.ndarray, probs: np.ndarray, prices: np.ndarray, bids: np.ndarray, values: np.ndarray,
           chunk: int = 4096, batch: int = 2048) -> np.ndarray:
    """Chosen element per valuation (-1 for the null element)."""
    j, s, m = bundles.shape
    uniq, inv = np.unique(bundles.reshape(-1, m).astype(np.uint8), axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    out = np.empty(bids.shape[0], dtype=int)
    for b0 in range(0, bids.shape[0], batch):
        table = _values_table(bids[b0 : b0 + batch], values[b0 : b0 + batch], uniq, chunk)
        out[b0 : b0 + batch] = _argmax(_expected(table, inv, probs), prices)
    return out


def _expected(table: np.ndarray, inv: np.ndarray, probs: np.ndarray) -> np.ndarray:
    j, s = probs.shape
    return np.einsum("bjs,js->bj", table[:, inv].reshape(-1, j, s), probs)


def _argmax(exp_val: np.ndarray, prices: np.ndarray) -> np.ndarray:
    u = exp_val - prices[None, :]
    u = np.concatenate([u, np.zeros((u.shape[0], 1))], axis=1)
    p = np.concatenate([prices, [0.0]])
    best = u.max(axis=1, keepdims=True)
    score = np.where(u >= best - TIE_TOL, p[None, :], -np.inf)
    idx = score.argmax(axis=1)
    return np.where(idx == len(prices), -1, idx)


class _Element(BaseModel):
    model_config = ConfigDict(extra="ignore")
    support: list[list[int]]
    probs: list[float]
    price: float


class _BundleMenuData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    items: int
    elements: list[_Element]


@register_artifact
class BundleMenuMechanism(Mechanism):
    kind = "bundle_menu"
    n_bidders = 1
    outcome_space = "bundles"

    def __init__(self, bundles: np.ndarray, probs: np.ndarray, prices: np.ndarray, meta: ArtifactMeta | None = None,
                 side_state: dict[str, Any] | None = None, normalise: bool = True) -> None:
        bundles = np.asarray(bundles, dtype=np.uint8)
        probs = np.asarray(probs, dtype=float)
        prices = np.asarray(prices, dtype=float)
        if bundles.ndim != 3 or probs.shape != bundles.shape[:2] or prices.shape != (bundles.shape[0],):
            raise ValueError("a bundle menu needs bundles (J, S, m), probabilities (J, S) and prices (J,)")
        # a trained menu's lotteries are normalised here; a loaded one is kept as written, so
        # that the verifier sees (and refuses) probabilities that do not sum to one
        self.bundles, self.probs, self.prices = bundles, probs / probs.sum(axis=1, keepdims=True) if normalise else probs, prices
        self.meta = meta or ArtifactMeta()
        self.side_state = side_state

    @property
    def n_items(self) -> int:
        return int(self.bundles.shape[2])

    @property
    def menu_size(self) -> int:
        return int(self.prices.shape[0])

    def bundle_table(self) -> np.ndarray | None:
        """``(J, 2**m)``: each element's probability of every bundle (bitmask index), for
        m <= 12 items; None beyond."""
        m = self.n_items
        if m > MAX_BUNDLE_ITEMS:
            return None
        table = np.zeros((self.menu_size, 2**m))
        masks = (self.bundles.astype(np.int64) * (1 << np.arange(m))).sum(-1)
        for j in range(self.menu_size):
            np.add.at(table[j], masks[j], self.probs[j])
        return table

    def structure(self) -> OneBidderMenu:
        return OneBidderMenu(self.bundle_table(), self.prices, null_by_rule=True, tie_tol=TIE_TOL,
                             supports=self.bundles, probs=self.probs)

    def offered_outcomes(self) -> OfferedOutcomes:
        table = self.bundle_table()
        return OfferedOutcomes(allocations=None if table is None else table[:, None, :],
                               payments=self.prices[:, None], lotteries=self.probs)

    def world(self) -> WorldFacts:
        m = self.n_items
        return WorldFacts(n_bidders=1, outcome_space="bundles", n_items=m,
                          dim=2**m if m <= MAX_BUNDLE_ITEMS else None)

    def item_marginals(self) -> np.ndarray:
        """``(J, m)``: each element's probability of allocating each item."""
        return np.einsum("js,jsm->jm", self.probs, self.bundles.astype(float))

    def choose(self, bids: Any) -> np.ndarray:
        """Chosen element per report (-1: null)."""
        batch = XorBatch.of(bids, self.n_items)
        if batch is not None:
            return choose(self.bundles, self.probs, self.prices, batch.bundles, batch.values)
        arr = np.asarray(bids, dtype=float)
        if arr.ndim == 2:
            arr = arr[:, None, :]
        m = self.n_items
        if arr.shape[-1] != 2**m:
            raise ValueError(f"bundle-value reports need 2**{m} columns, not {arr.shape[-1]}")
        weights = 1 << np.arange(m)
        idx = (self.bundles.astype(np.int64) * weights).sum(-1)  # (J, S) bitmasks
        exp_val = np.einsum("bjs,js->bj", arr[:, 0, :][:, idx], self.probs)
        return _argmax(exp_val, self.prices)

    def allocate_and_pay(self, bids: Any) -> tuple[np.ndarray, np.ndarray]:
        batch = XorBatch.of(bids, self.n_items)
        idx = self.choose(bids if batch is None else batch)
        pay = np.where(idx >= 0, self.prices[np.maximum(idx, 0)], 0.0)[:, None]
        if batch is not None:
            marg = np.vstack([self.item_marginals(), np.zeros((1, self.n_items))])
            return marg[idx][:, None, :], pay
        table = np.vstack([self.bundle_table(), np.zeros((1, 2**self.n_items))])
        return table[idx][:, None, :], pay

    def expected_utility(self, bids: Any) -> np.ndarray:
        batch = XorBatch.of(bids, self.n_items)
        if batch is None:
            raise TypeError("expected_utility takes XOR reports")
        idx = self.choose(batch)
        uniq, inv = np.unique(self.bundles.reshape(-1, self.n_items), axis=0, return_inverse=True)
        ev = _expected(batch.values_of(uniq), inv.reshape(-1), self.probs) - self.prices[None, :]
        return np.where(idx >= 0, ev[np.arange(len(idx)), np.maximum(idx, 0)], 0.0)

    def data(self) -> dict[str, Any]:
        elements = []
        for j in range(self.menu_size):
            keep = self.probs[j] > 0
            elements.append({
                "support": [np.flatnonzero(b).tolist() for b in self.bundles[j][keep]],
                "probs": self.probs[j][keep].tolist(),
                "price": float(self.prices[j]),
            })
        return {"items": self.n_items, "elements": elements, "null_element": {"support": [[]], "probs": [1.0], "price": 0.0},
                "tie_rule": "highest expected utility; ties to the higher price, then the lower index",
                "side_file": SIDE_FILE if self.side_state is not None else None}

    @classmethod
    def from_data(cls, data: dict[str, Any], meta: ArtifactMeta, directory: Path) -> BundleMenuMechanism:
        d = validated(_BundleMenuData, data, "bundle menu data")
        m = d.items
        s = max((len(e.probs) for e in d.elements), default=1)
        bundles = np.zeros((len(d.elements), s, m), dtype=np.uint8)
        probs = np.zeros((len(d.elements), s))
        for j, e in enumerate(d.elements):
            if len(e.support) != len(e.probs):
                raise ArtifactError(f"bundle menu element {j}: {len(e.support)} support bundles, {len(e.probs)} probabilities")
            for k, (items, p) in enumerate(zip(e.support, e.probs, strict=True)):
                if any(not 0 <= i < m for i in items):
                    raise ArtifactError(f"bundle menu element {j}: an item index outside 0..{m - 1}")
                bundles[j, k, items] = 1
                probs[j, k] = p
        prices = np.array([e.price for e in d.elements], dtype=float)
        return cls(bundles, probs, prices, meta, normalise=False)

    def save_side_files(self, directory: Path) -> None:
        if self.side_state is not None:
            import torch

            torch.save(self.side_state, Path(directory) / SIDE_FILE)

    def top_elements(self, choices: np.ndarray, k: int = 5) -> list[dict[str, Any]]:
        """The k most chosen elements: share of choices, price, support summary."""
        n = len(choices)
        counts = np.bincount(choices[choices >= 0], minlength=self.menu_size)
        out = []
        for j in np.argsort(-counts, kind="stable")[:k]:
            if counts[j] == 0:
                break
            sizes = self.bundles[j].sum(-1)
            keep = self.probs[j] > 1e-3
            out.append({"element": int(j), "share": counts[j] / n, "price": float(self.prices[j]),
                        "support_points": int(keep.sum()), "max_prob": float(self.probs[j].max()),
                        "mean_size": float((self.probs[j] * sizes).sum()),
                        "sizes": sorted({int(x) for x in sizes[keep]})})
        return out

    def describe(self) -> str:
        return f"bundle menu of {self.menu_size} elements x {self.bundles.shape[1]} support bundles over {self.n_items} items"

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(super().to_json(), default=float))

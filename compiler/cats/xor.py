"""XOR valuations as reports: v(S) = max over bids whose bundle is a subset of S (0 if none).

``XorValuation`` is one bidder; ``XorBatch`` is a batch padded to the largest bid count
(padding bids have the empty bundle and value 0, which never changes a max that is floored
at 0).  Bundle values for many bundles at once are computed in chunks so memory stays at
``B * K * chunk`` booleans whatever the number of bundles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .bidset import CatsInstance

DEFAULT_CHUNK = 4096


@dataclass(frozen=True)
class XorValuation:
    bundles: np.ndarray
    """``(k, m)`` 0/1 rows, one per bid."""
    values: np.ndarray
    """``(k,)`` bid values."""

    def __post_init__(self) -> None:
        b = np.asarray(self.bundles, dtype=np.uint8)
        v = np.asarray(self.values, dtype=float)
        if b.ndim != 2 or v.shape != (b.shape[0],):
            raise ValueError("an XOR valuation needs bundles (k, m) and values (k,)")
        object.__setattr__(self, "bundles", b)
        object.__setattr__(self, "values", v)

    @property
    def n_items(self) -> int:
        return int(self.bundles.shape[1])

    def value(self, bundle: np.ndarray | Sequence[int]) -> float:
        """v(S) for one bundle ``S`` given as an (m,) 0/1 vector."""
        s = np.asarray(bundle, dtype=np.uint8)
        inside = (self.bundles & (1 - s)[None, :]).sum(axis=1) == 0
        return float(np.max(np.where(inside, self.values, 0.0), initial=0.0))

    def values_of(self, bundles: np.ndarray) -> np.ndarray:
        """v(S) for each row of ``bundles`` ``(A, m)``."""
        return XorBatch.from_valuations([self]).values_of(bundles)[0]

    def to_json(self) -> dict:
        return {"bids": [[np.flatnonzero(b).tolist(), float(v)] for b, v in zip(self.bundles, self.values, strict=False)]}


@dataclass(frozen=True)
class XorBatch:
    bundles: np.ndarray
    """``(B, K, m)`` uint8."""
    values: np.ndarray
    """``(B, K)``."""

    @classmethod
    def from_valuations(cls, vals: Sequence[XorValuation], m: int | None = None) -> XorBatch:
        if m is None:
            m = vals[0].n_items if vals else 0
        k = max((len(v.values) for v in vals), default=1) or 1
        bundles = np.zeros((len(vals), k, m), dtype=np.uint8)
        values = np.zeros((len(vals), k))
        for i, v in enumerate(vals):
            if v.n_items != m:
                raise ValueError(f"valuation {i} is over {v.n_items} items, not {m}")
            bundles[i, : len(v.values)] = v.bundles
            values[i, : len(v.values)] = v.values
        return cls(bundles, values)

    @classmethod
    def of(cls, bids: Any, m: int) -> XorBatch | None:
        """``bids`` as a batch when it is XOR reports over ``m`` items (a batch, one
        valuation or a list of them); None for anything else (array reports)."""
        if isinstance(bids, XorBatch):
            return bids
        if isinstance(bids, XorValuation):
            return cls.from_valuations([bids], m)
        if isinstance(bids, Sequence) and bids and isinstance(bids[0], XorValuation):
            return cls.from_valuations(list(bids), m)
        return None

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __getitem__(self, idx) -> XorBatch:
        return XorBatch(self.bundles[idx], self.values[idx])

    @property
    def n_items(self) -> int:
        return int(self.bundles.shape[2])

    def valuation(self, i: int) -> XorValuation:
        keep = self.bundles[i].any(axis=1) | (self.values[i] != 0)
        return XorValuation(self.bundles[i][keep], self.values[i][keep])

    def values_of(self, bundles: np.ndarray, chunk: int = DEFAULT_CHUNK) -> np.ndarray:
        """``(B, A)``: each valuation's value for each bundle row of ``bundles`` ``(A, m)``."""
        s = np.asarray(bundles, dtype=np.float32)
        if s.ndim == 1:
            s = s[None, :]
        bsz, k, m = self.bundles.shape
        bids = self.bundles.reshape(bsz * k, m).astype(np.float32)
        out = np.zeros((bsz, s.shape[0]))
        for a in range(0, s.shape[0], chunk):
            # a bid fits inside S when it uses no item outside S
            outside = bids @ (1.0 - s[a : a + chunk]).T
            inside = (outside < 0.5).reshape(bsz, k, -1)
            out[:, a : a + chunk] = np.where(inside, self.values[:, :, None], 0.0).max(axis=1)
        return np.maximum(out, 0.0)

    def grand_values(self) -> np.ndarray:
        """v(all items) ``(B,)``: the largest bid."""
        return np.maximum(self.values.max(axis=1), 0.0)


def extract_bidders(inst: CatsInstance, include_single_bids: bool = True) -> list[XorValuation]:
    """One valuation per bidder of a CATS instance: the bids sharing a dummy good (BundleFlow's
    single-bidder extraction); a bid with no dummy good is a one-bid bidder when
    ``include_single_bids``.  Dummy goods are dropped from the bundles."""
    m = inst.goods
    groups: dict[int, list[int]] = {}
    singles: list[int] = []
    for i, b in enumerate(inst.bids):
        dummies = [g for g in b.goods if g >= m]
        if dummies:
            groups.setdefault(dummies[0], []).append(i)
        else:
            singles.append(i)
    out: list[tuple[int, XorValuation]] = []
    for _, idx in groups.items():
        out.append((min(idx), _make(inst, idx)))
    if include_single_bids:
        out += [(i, _make(inst, [i])) for i in singles]
    out.sort(key=lambda t: t[0])
    return [v for _, v in out]


def _make(inst: CatsInstance, idx: list[int]) -> XorValuation:
    m = inst.goods
    bundles = np.zeros((len(idx), m), dtype=np.uint8)
    values = np.zeros(len(idx))
    for r, i in enumerate(idx):
        goods = [g for g in inst.bids[i].goods if g < m]
        bundles[r, goods] = 1
        values[r] = inst.bids[i].amount
    return XorValuation(bundles, values)

"""A CATS bid set: bids over goods plus dummy goods, with CATS's dominated-bid removal.

CATS (Leyton-Brown, Pearson, Shoham 2000) encodes one bidder's XOR bids by giving each of
them the same *dummy good* (index >= the number of real goods).  A bid is *dominated* when
another bid asks for a subset of its goods (dummies included) at an equal or higher price:
no winner-determination solver would ever need it, so CATS drops it.  A dummy good left in a
single bid no longer expresses an XOR and is removed from that bid, which can make new
dominations appear; both steps repeat until nothing changes (``BidSet::refine``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Bid:
    amount: float
    goods: tuple[int, ...]
    """Sorted good indices; indices >= ``CatsInstance.goods`` are dummy goods."""


@dataclass
class CatsInstance:
    """One CATS output file: ``goods`` real goods, ``dummy`` dummy goods, the bids."""

    distribution: str
    goods: int
    bids: list[Bid]
    dummy: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None

    @property
    def n_bids(self) -> int:
        return len(self.bids)


def _check_progress(bids: BidSet, num_bids: int, attempts: int) -> None:
    """Dominated-bid removal can keep a small instance from ever reaching ``num_bids`` bids
    (CATS then loops forever); give up with a clear message instead."""
    if attempts > 100 * num_bids + 1000:
        raise ValueError(
            f"{attempts} bidders gave only {len(bids)} non-dominated bids over {bids.num_goods} goods, "
            f"not {num_bids}; ask for fewer bids or more goods"
        )


class BidSet:
    """Bids as they are generated; ``refine`` is CATS's dominated-bid removal."""

    def __init__(self, num_goods: int, remove_dominated: bool = True) -> None:
        self.num_goods = num_goods
        self.num_dummy = 0
        self.remove_dominated = remove_dominated
        self._bids: list[tuple[frozenset[int], float]] = []
        self._pending: list[int] = []

    def __len__(self) -> int:
        return len(self._bids)

    def add(self, goods: list[int] | tuple[int, ...], amount: float, refine: bool = True) -> None:
        self._bids.append((frozenset(goods), float(amount)))
        self._pending.append(len(self._bids) - 1)
        if refine and self.remove_dominated:
            self.refine()

    def add_xor(self, goods: list[int] | tuple[int, ...], amount: float) -> None:
        """Add one bid of the bidder being built; ``done_xor`` closes the bidder."""
        self.add([*goods, self.num_goods + self.num_dummy], amount, refine=False)

    def done_xor(self) -> None:
        self.num_dummy += 1
        if self.remove_dominated:
            self.refine()

    def refine(self) -> None:
        """Delete dominated bids; clear dummies held by one bid; repeat until stable."""
        check = set(self._pending)
        while check:
            alive = self._remove_dominated(check)
            check = self._clear_singleton_dummies(alive)
        self._pending = []

    def _remove_dominated(self, check: set[int]) -> list[bool]:
        bids = self._bids
        alive = [True] * len(bids)
        for t in sorted(check):
            if not alive[t]:
                continue
            gt, at = bids[t]
            for u, (gu, au) in enumerate(bids):
                if u == t or not alive[u]:
                    continue
                if au >= at and gu <= gt:
                    alive[t] = False
                    break
                if at >= au and gt <= gu:
                    alive[u] = False
        self._bids = [b for b, ok in zip(bids, alive, strict=False) if ok]
        return alive

    def _clear_singleton_dummies(self, _alive: list[bool]) -> set[int]:
        holders: dict[int, list[int]] = {}
        for i, (g, _) in enumerate(self._bids):
            for d in g:
                if d >= self.num_goods:
                    holders.setdefault(d, []).append(i)
        changed: set[int] = set()
        for d, idx in holders.items():
            if len(idx) == 1:
                i = idx[0]
                g, a = self._bids[i]
                self._bids[i] = (g - {d}, a)
                changed.add(i)
        return changed

    def bids(self) -> list[Bid]:
        return [Bid(a, tuple(sorted(g))) for g, a in self._bids]

    def instance(self, distribution: str, params: dict[str, Any], seed: int | None) -> CatsInstance:
        return CatsInstance(distribution, self.num_goods, self.bids(), self.num_dummy, dict(params), seed)

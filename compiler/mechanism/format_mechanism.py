"""Standard auction formats as mechanism artifacts (kind ``"format"``).

``format_mechanism(fmt, spec)`` turns a named format of the spec into a mechanism
that evaluates sealed reports like every other artifact, so the verifier, the
simulator and the reports treat formats and designed mechanisms alike.

Conventions (the rules a reader of a result needs):

* **Reports** are ``(B, n, dim)`` in the outcome space (``auctionc.valuation``).
  For the single-item formats a report is a bid per item.
* **Participation.** A bidder *enters* when it bids a positive amount of at least
  the reserve on some item; only entrants can win, and each entrant pays the entry
  fee once (win or lose).  With an entry fee, truthful bidding is therefore not
  individually rational for low values, and the verifier says so.
* **Ties** split the item evenly among the tied bidders: the allocation array holds
  the *expected* outcome of a uniform random tie-break, and payments are expected
  payments (a tied winner pays its price times its share).  All-pay bids are paid
  in full by every entrant.
* **Several items with a single-item format** run as simultaneous separate
  auctions, item by item (``notes`` says so).
* ``ascending_clock`` is evaluated at its dominant-strategy outcome under private
  values: a bidder stays in while the clock is at most its report.  With an
  increment the clock visits ``p0, p0 + inc, ...`` (``p0`` = start or reserve); the
  last bidder standing pays the first level at which it is alone, and bidders who
  drop out at the same level split the item at the last level they accepted.
* ``dutch`` is strategically a first-price auction: a report claims the item at
  the first clock level at or below it (bids are rounded down to the increment,
  from ``start`` when given, never below the reserve); equal rounded bids tie.
* ``posted_price`` is a sequential posted-price mechanism: bidders in spec order
  take the utility-maximising set of the remaining items at the posted prices
  (additive: every item whose report is at least its price; unit demand: the best
  single item; XOR: the best bundle).  It is strategy-proof.
* ``vcg`` is VCG with the Clarke pivot.  The reserve acts as the seller's value
  for each item it keeps.  Additive bidders: item by item second price.  Unit
  demand and XOR bids over few items: exact enumeration of the assignments
  (ties between optimal assignments split evenly); larger XOR instances use the
  winner-determination MILP (``auctionc.winner_determination``) per profile.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from .. import ir
from .. import valuation as V
from .base import ArtifactMeta, Mechanism, package_versions, register_artifact, validated
from .structures import WorldFacts

SINGLE_ITEM_FORMATS = ("first_price", "second_price", "third_price", "all_pay", "ascending_clock", "dutch")
TIE_TOL = 1e-12
_ROUND_EPS = 1e-9  # keeps a report that sits on a clock level from rounding one level down
MAX_ENUM_ASSIGNMENTS = 4096
"""VCG enumerates item-to-bidder assignments up to this many; beyond, WD per profile."""
_ENUM_CHUNK = 2_000_000


class FormatError(ValueError):
    """A format that cannot run on this spec; ``code``/``help``/``where`` feed a Diagnostic."""

    def __init__(self, code: str, message: str, help: str | None = None, where: str = "mechanism"):
        super().__init__(message)
        self.code = code
        self.message = message
        self.help = help
        self.where = where

    def diagnostic(self, spec: Any = None):
        from ..diagnostics import Diagnostic

        return Diagnostic(self.code, self.message, help=self.help, where=self.where).with_span(spec)


def valuation_class(b: ir.Bidder) -> str:
    return "xor" if b.valuation.kind in ("xor", "cats") else b.valuation.kind


class _FormatData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    format: ir.Format
    items: list[str]
    valuations: list[str]


@register_artifact
class FormatMechanism(Mechanism):
    kind = "format"

    def __init__(
        self,
        fmt: ir.Format,
        items: tuple[str, ...],
        valuations: tuple[str, ...],
        meta: ArtifactMeta | None = None,
    ) -> None:
        self.format = fmt
        self.items = tuple(items)
        self.valuations = tuple(valuations)
        self.n_bidders = len(valuations)
        self.n_items = len(items)
        self.outcome_space = "bundles" if "xor" in self.valuations else "items"
        self.meta = meta or ArtifactMeta(backend="format", versions=package_versions("scipy"))
        self._validate()

    # ------------------------------------------------------------------ checks

    @property
    def name(self) -> str:
        return self.format.name

    @property
    def dim(self) -> int:
        return 2**self.n_items if self.outcome_space == "bundles" else self.n_items

    def _validate(self) -> None:
        f = self.format
        if self.outcome_space == "bundles" and f.name in SINGLE_ITEM_FORMATS:
            raise FormatError(
                "E0420",
                f"format {f.name} takes a bid per item, but this spec has XOR bundle valuations",
                help="use `mechanism vcg` or `mechanism posted_price(...)` for bundle bids",
            )
        if self.outcome_space == "bundles" and self.n_items > V.MAX_BUNDLE_ITEMS:
            raise FormatError(
                "E0421",
                f"{self.n_items} items are too many for bundle-valued bids (at most {V.MAX_BUNDLE_ITEMS})",
                help="use fewer items, or an additive/unit-demand valuation",
            )
        if f.increment is not None and f.increment <= 0:
            raise FormatError("E0422", f"increment must be positive, not {f.increment:g}",
                              help="write e.g. `increment = 1`", where="mechanism.increment")
        if f.reserve < 0 or f.entry_fee < 0:
            raise FormatError("E0422", "reserve and entry fee must be non-negative",
                              help="a reserve of 0 means no reserve", where="mechanism")
        if f.name == "posted_price":
            p = self.posted_prices()
            if p is None:
                raise FormatError(
                    "E0423",
                    "posted_price needs a price",
                    help="write `mechanism posted_price(price = 0.5)` or `prices = (...)` per item",
                )
            if len(p) != self.n_items:
                raise FormatError(
                    "E0423",
                    f"posted_price has {len(p)} prices for {self.n_items} items",
                    help="give one price per item, in the order of `items`",
                    where="mechanism.prices",
                )

    def posted_prices(self) -> np.ndarray | None:
        f = self.format
        if f.prices is not None:
            return np.asarray(f.prices, float)
        if f.price is not None:
            return np.full(self.n_items, float(f.price))
        if f.reserve > 0:
            return np.full(self.n_items, float(f.reserve))
        return None

    @property
    def notes(self) -> list[str]:
        out = []
        if self.name in SINGLE_ITEM_FORMATS and self.n_items > 1:
            out.append(f"{self.n_items} items: simultaneous separate {self.name} auctions, item by item")
            if "unit_demand" in self.valuations:
                out.append("unit-demand bidders may win several items in separate auctions; "
                           "the allocation then exceeds their demand (a feasibility violation)")
        if self.name in ("ascending_clock", "dutch"):
            out.append(f"{self.name} evaluated at its sealed-report outcome "
                       + ("(second price at the clock level)" if self.name == "ascending_clock"
                          else "(first price rounded down to the clock)"))
        out.append("ties split the item evenly (expected outcome of a uniform tie-break)")
        if self.format.entry_fee > 0:
            out.append(f"entry fee {self.format.entry_fee:g} paid by every bidder who enters")
        return out

    def describe(self) -> str:
        f = self.format
        opts = []
        if f.reserve:
            opts.append(f"reserve {f.reserve:g}")
        if f.increment is not None:
            opts.append(f"increment {f.increment:g}")
        if f.entry_fee:
            opts.append(f"entry fee {f.entry_fee:g}")
        if f.name == "posted_price":
            opts.append("prices " + ", ".join(f"{p:g}" for p in self.posted_prices()))  # type: ignore[union-attr]
        head = f"{f.name} ({', '.join(opts)})" if opts else f.name
        return f"{head} for {self.n_bidders} bidders, {self.n_items} item(s)"

    # ------------------------------------------------------------------ evaluation

    def allocate_and_pay(self, bids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bids = np.asarray(bids, dtype=float)
        if bids.ndim == 2:  # (B, n) single-item shorthand
            bids = bids[:, :, None]
        if bids.ndim != 3 or bids.shape[1:] != (self.n_bidders, self.dim):
            raise ValueError(f"bids must be (B, {self.n_bidders}, {self.dim}), got {bids.shape}")
        f = self.format
        entrants = ((bids > 0) & (bids >= f.reserve)).any(axis=2)
        if f.name == "posted_price":
            alloc, pay = self._posted_price(bids)
        elif f.name == "vcg":
            alloc, pay = self._vcg(bids, entrants)
        else:
            alloc = np.zeros_like(bids)
            pay = np.zeros(bids.shape[:2])
            for j in range(self.n_items):
                a, p = self._single_item(bids[:, :, j], entrants)
                alloc[:, :, j] = a
                pay += p
        if f.entry_fee > 0:
            pay = pay + f.entry_fee * entrants
        return alloc, pay

    def _single_item(self, b: np.ndarray, entrants: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One sealed-bid auction: ``b`` is ``(B, n)``; returns shares and expected payments."""
        f = self.format
        name = f.name
        eligible = entrants & (b >= f.reserve) & (b > 0)
        if name == "dutch" and f.increment is not None:
            b = self._dutch_levels(b)
        if name == "ascending_clock" and f.increment is not None:
            return self._clock(b, eligible)
        eb = np.where(eligible, b, -np.inf)
        top = eb.max(axis=1, keepdims=True)
        winners = eligible & (eb >= top - TIE_TOL)
        k = winners.sum(axis=1, keepdims=True)
        share = np.where(winners, 1.0 / np.maximum(k, 1), 0.0)
        srt = -np.sort(-eb, axis=1)  # descending, -inf for ineligible
        if name in ("first_price", "dutch"):
            price = b
        elif name == "all_pay":
            return share, np.where(eligible, b, 0.0)
        else:
            rank = {"second_price": 1, "ascending_clock": 1, "third_price": 2}[name]
            other = srt[:, rank : rank + 1] if srt.shape[1] > rank else np.full_like(top, -np.inf)
            price = np.broadcast_to(np.maximum(other, f.reserve), b.shape)
        return share, share * price

    def _dutch_levels(self, b: np.ndarray) -> np.ndarray:
        f = self.format
        inc = float(f.increment)  # type: ignore[arg-type]
        if f.start is not None:
            steps = np.ceil((f.start - b) / inc - _ROUND_EPS)
            level = np.where(b >= f.start, f.start, f.start - np.maximum(steps, 0) * inc)
            return np.maximum(level, f.reserve)
        return f.reserve + np.floor((b - f.reserve) / inc + _ROUND_EPS) * inc

    def _clock(self, b: np.ndarray, eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f = self.format
        inc = float(f.increment)  # type: ignore[arg-type]
        p0 = max(f.reserve, f.start if f.start is not None else f.reserve)
        # the last level each bidder accepts; -1 for those who never enter the clock
        last = np.where(eligible & (b >= p0), np.floor((b - p0) / inc + _ROUND_EPS), -1.0)
        srt = -np.sort(-last, axis=1)
        top = srt[:, :1]
        second = srt[:, 1:2] if last.shape[1] > 1 else np.full_like(top, -1.0)
        sold = top >= 0
        alone = top > second
        holders = (last >= top) & sold
        k = holders.sum(axis=1, keepdims=True)
        share = np.where(holders, 1.0 / np.maximum(k, 1), 0.0)
        level = np.where(alone, second + 1, top)
        price = p0 + level * inc
        return share, share * price

    def _posted_price(self, bids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        prices = self.posted_prices()
        assert prices is not None
        B, n, dim = bids.shape
        alloc = np.zeros_like(bids)
        pay = np.zeros((B, n))
        if self.outcome_space == "bundles":
            bm = V.bundle_matrix(self.n_items)  # (K, m)
            bprice = bm @ prices
            taken = np.zeros((B, self.n_items), bool)
            for i in range(n):
                avail = ~(taken.astype(float) @ bm.T > 0)  # (B, K) bundles disjoint from taken
                u = np.where(avail, bids[:, i, :] - bprice[None, :], -np.inf)
                u[:, 0] = np.maximum(u[:, 0], 0.0)  # the empty bundle: stay out
                # prefer buying when indifferent: the empty bundle loses ties
                u[:, 0] -= TIE_TOL
                k = u.argmax(axis=1)
                buy = k > 0
                alloc[np.arange(B)[buy], i, k[buy]] = 1.0
                pay[:, i] = np.where(buy, bprice[k], 0.0)
                taken |= bm[k].astype(bool) & buy[:, None]
            return alloc, pay
        left = np.ones((B, self.n_items), bool)
        for i in range(n):
            v = bids[:, i, :]
            if self.valuations[i] == "unit_demand":
                u = np.where(left, v - prices[None, :], -np.inf)
                j = u.argmax(axis=1)
                buy = u[np.arange(B), j] >= 0
                take = np.zeros_like(left)
                take[np.arange(B)[buy], j[buy]] = True
            else:
                take = left & (v >= prices[None, :])
            alloc[:, i, :] = take
            pay[:, i] = take @ prices
            left &= ~take
        return alloc, pay

    # ------------------------------------------------------------------ VCG

    def _vcg(self, bids: np.ndarray, entrants: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = self.format.reserve
        if self.outcome_space == "items" and all(v in ("additive", "single") for v in self.valuations):
            alloc = np.zeros_like(bids)
            pay = np.zeros(bids.shape[:2])
            for j in range(self.n_items):
                b = np.where(entrants, bids[:, :, j], -np.inf)
                top = b.max(axis=1, keepdims=True)
                winners = entrants & (b >= top - TIE_TOL) & (b >= r) & (b > 0)
                k = winners.sum(axis=1, keepdims=True)
                share = np.where(winners, 1.0 / np.maximum(k, 1), 0.0)
                srt = -np.sort(-b, axis=1)
                other = srt[:, 1:2] if b.shape[1] > 1 else np.full_like(top, -np.inf)
                alloc[:, :, j] = share
                pay += share * np.maximum(other, r)
            return alloc, pay
        n, m = self.n_bidders, self.n_items
        if (n + 1) ** m <= MAX_ENUM_ASSIGNMENTS:
            return self._vcg_enumerate(bids, entrants)
        if self.outcome_space == "bundles":
            return self._vcg_wd(bids, entrants)
        return self._vcg_assignment(bids, entrants)

    def _assignments(self) -> np.ndarray:
        """``(K, m)`` owner of each item (-1 = the seller keeps it), unit demand respected."""
        n, m = self.n_bidders, self.n_items
        rows = []
        for a in itertools.product(range(-1, n), repeat=m):
            counts = np.bincount([x for x in a if x >= 0], minlength=n)
            if any(self.valuations[i] == "unit_demand" and counts[i] > 1 for i in range(n)):
                continue
            rows.append(a)
        return np.asarray(rows, dtype=int).reshape(-1, m)

    def _vcg_enumerate(self, bids: np.ndarray, entrants: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        A = self._assignments()  # (K, m)
        K = len(A)
        n, m = self.n_bidders, self.n_items
        r = self.format.reserve
        owns = (A[None, :, :] == np.arange(n)[:, None, None]).astype(float)  # (n, K, m)
        count = owns.sum(axis=2)  # (n, K)
        masks = (owns * (1 << np.arange(m))[None, None, :]).sum(axis=2).astype(int)  # (n, K)
        alloc = np.zeros_like(bids)
        pay = np.zeros(bids.shape[:2])
        chunk = max(1, _ENUM_CHUNK // max(1, K * n))
        for s in range(0, len(bids), chunk):
            b = bids[s : s + chunk]
            ent = entrants[s : s + chunk]
            Bc = len(b)
            if self.outcome_space == "bundles":
                val = np.stack([b[:, i, masks[i]] for i in range(n)], axis=1)  # (Bc, n, K)
            else:
                    # unit-demand bidders own at most one item, so the sum is that item's value
                val = np.einsum("bim,ikm->bik", b, owns)
            net = val - r * count[None]
            # a bidder who does not enter can only be assigned nothing
            blocked = (~ent)[:, :, None] & (count[None] > 0)
            net = np.where(blocked, -np.inf, net)
            with np.errstate(invalid="ignore"):
                W = net.sum(axis=1)  # (Bc, K)
            best = W.max(axis=1, keepdims=True)
            tied = W >= best - 1e-9 * np.maximum(1.0, np.abs(best))
            w = tied / tied.sum(axis=1, keepdims=True)  # uniform over optimal assignments
            for i in range(n):
                with np.errstate(invalid="ignore"):
                    rest = W - net[:, i]
                without = np.where((count[i] == 0)[None, :], rest, -np.inf).max(axis=1)
                others = np.where(tied, rest, 0.0)
                p_k = without[:, None] - others + r * count[i][None, :]
                pay[s : s + chunk, i] = (w * np.where(tied, p_k, 0.0)).sum(axis=1)
                if self.outcome_space == "bundles":
                    mass = np.zeros((Bc, self.dim))
                    np.add.at(mass, (slice(None), masks[i]), w)
                    mass[:, 0] = 0.0  # the empty bundle is "nothing", not an outcome
                    alloc[s : s + chunk, i] = mass
                else:
                    alloc[s : s + chunk, i] = w @ owns[i]
        return alloc, pay

    def _vcg_assignment(self, bids: np.ndarray, entrants: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit-demand (and single-item) bidders over many items: the assignment problem."""
        from scipy.optimize import linear_sum_assignment

        r = self.format.reserve
        B, n, m = bids.shape
        alloc = np.zeros_like(bids)
        pay = np.zeros((B, n))

        def solve(w: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
            # a column per item plus a "keep" column per bidder so nobody is forced to buy
            full = np.concatenate([w, np.zeros((w.shape[0], w.shape[0]))], axis=1)
            rows, cols = linear_sum_assignment(full, maximize=True)
            keep = cols < m
            return float(full[rows, cols].sum()), rows[keep], cols[keep]

        if "additive" in self.valuations:
            raise FormatError("E0424", "VCG over many items cannot mix additive and unit-demand bidders",
                              help=f"use at most {MAX_ENUM_ASSIGNMENTS} item assignments ((n+1)^m)")
        for t in range(B):
            w = np.where(entrants[t][:, None], bids[t] - r, -1e18)
            W, rows, cols = solve(w)
            for i, j in zip(rows, cols, strict=True):
                alloc[t, i, j] = 1.0
            for i in range(n):
                gets = rows == i
                vi = float(w[i, cols[gets]].sum()) if gets.any() else 0.0
                w_minus = w.copy()
                w_minus[i] = -1e18
                W_i, _, _ = solve(w_minus)
                pay[t, i] = W_i - (W - vi) + r * gets.sum()
        return alloc, pay

    def _vcg_wd(self, bids: np.ndarray, entrants: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from ..winner_determination import winner_determination

        r = self.format.reserve
        B, n, dim = bids.shape
        size = V.bundle_matrix(self.n_items).sum(axis=1)
        alloc = np.zeros_like(bids)
        pay = np.zeros((B, n))
        for t in range(B):
            net = np.maximum(bids[t] - r * size[None, :], 0.0)
            net[~entrants[t]] = 0.0
            a, W = winner_determination(net)
            a = np.asarray(a, float)
            a[:, 0] = 0.0
            alloc[t] = a
            for i in range(n):
                vi = float(net[i] @ a[i])
                minus = net.copy()
                minus[i] = 0.0
                _, W_i = winner_determination(minus)
                pay[t, i] = W_i - (W - vi) + r * float(size @ a[i])
        return alloc, pay

    # ------------------------------------------------------------------ artifact I/O

    def data(self) -> dict[str, Any]:
        return {
            "format": self.format.model_dump(mode="json"),
            "items": list(self.items),
            "valuations": list(self.valuations),
            "outcome_space": self.outcome_space,
            "notes": self.notes,
        }

    def world(self) -> WorldFacts:
        return WorldFacts(n_bidders=self.n_bidders, outcome_space=self.outcome_space, dim=self.dim,
                          items=list(self.items), valuations=list(self.valuations),
                          format=self.format.model_dump(mode="json"))

    @classmethod
    def from_data(cls, data: dict[str, Any], meta: ArtifactMeta, directory: Path) -> FormatMechanism:
        d = validated(_FormatData, data, "format data")
        return cls(d.format, tuple(d.items), tuple(d.valuations), meta)


def format_mechanism(fmt: ir.Format, spec: ir.AuctionSpec) -> FormatMechanism:
    """The artifact for the format ``fmt`` run on ``spec``'s items and bidders.

    Raises ``SpecError`` (with a diagnostic pointing at the ``mechanism`` line) when the
    format cannot run on this spec."""
    from ..errors import SpecError

    if spec.kind != "auction":
        from ..diagnostics import Diagnostic

        raise SpecError(Diagnostic("E0420", f"format {fmt.name} runs auctions, not data markets",
                                   help="design a menu of experiments with `require` and `maximize`",
                                   where="mechanism").with_span(spec))
    try:
        return FormatMechanism(fmt, spec.items, tuple(valuation_class(b) for b in spec.bidders))
    except FormatError as e:
        raise SpecError(e.diagnostic(spec)) from None

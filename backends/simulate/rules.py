"""The rules of the single-item formats as the engine plays them.

Sealed bids go through ``auctionc.mechanism.formats.format_mechanism`` (the same
semantics the verifier uses; no bid counts as a bid of 0, i.e. not entering).
Its allocation splits ties, so the realised winner is drawn among the tied
bidders with the engine's seeded rng and the realised payments of that row follow
the explicit rules below (also the fallback when that module is absent):

* entrants: bidders with a positive bid of at least the reserve (as in
  ``auctionc.mechanism.formats``); each pays the entry fee;
* the highest bid wins (ties: uniform draw); first price: the winner pays its bid;
  second (and vcg) / third price: the winner pays the 2nd / 3rd highest
  participating bid, at least the reserve; all-pay: every participant pays its bid.

Clocks are played tick by tick (``ClockRules``): the price rises from ``start``
(default: the reserve) by ``increment``; at each tick the active bidders say
whether they stay at this price.  One stayer wins at this price; nobody staying
ends the auction with a uniform draw among the bidders who stayed at the previous
tick, at the previous price (no sale at the first tick).  A rule bidder stays while
the price is below its threshold, so a value-bidder quits exactly at its value on
an integer grid and the clock's revenue equals second price's up to one increment
(``format_mechanism`` evaluates the clock with "stay while price <= report").  Dutch: the price falls
from ``start`` (default: the top of the value support) and the first bidders to
claim win (uniform draw among simultaneous claims); below the reserve: no sale.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np
from auctionc import ir

SEALED_NAMES = ("first_price", "second_price", "third_price", "all_pay", "vcg")
DYNAMIC_NAMES = ("ascending_clock", "dutch")


@dataclass
class Outcome:
    winner: int | None
    price: float
    payments: list[float]


_MECHS: dict[tuple[str, str], object] = {}


def _format_mechanism(fmt: ir.Format, spec: ir.AuctionSpec):
    """The shared format artifact, built once per (spec, format): building one records
    package versions, which costs milliseconds, and rounds come by the thousand."""
    key = (spec.spec_hash(), fmt.model_dump_json())
    if key not in _MECHS:
        try:
            from auctionc.mechanism.format_mechanism import format_mechanism
        except ImportError:
            return None
        _MECHS[key] = format_mechanism(fmt, spec)
    return _MECHS[key]


def _entrants(fmt: ir.Format, bids: np.ndarray) -> list[int]:
    # As in auctionc.mechanism.formats: a bidder enters with a positive bid of at least the reserve.
    return [i for i in range(len(bids)) if not math.isnan(bids[i]) and bids[i] > 0 and bids[i] >= fmt.reserve]


def sealed_rule(fmt: ir.Format, bids: np.ndarray, winner: int | None) -> Outcome:
    """Realised payments for a given winner under the explicit rules."""
    n = len(bids)
    part = _entrants(fmt, bids)
    pay = [0.0] * n
    for i in part:
        pay[i] += fmt.entry_fee
    if fmt.name == "all_pay":
        for i in part:
            pay[i] += float(bids[i])
    if winner is None:
        return Outcome(None, 0.0, pay)
    ranked = sorted((bids[i] for i in part), reverse=True)
    name = fmt.name
    if name == "first_price":
        price = float(bids[winner])
    elif name in ("second_price", "vcg"):
        price = max(fmt.reserve, ranked[1]) if len(ranked) > 1 else fmt.reserve
    elif name == "third_price":
        price = max(fmt.reserve, ranked[2]) if len(ranked) > 2 else fmt.reserve
    elif name == "all_pay":
        return Outcome(winner, float(bids[winner]), pay)
    else:
        raise ValueError(f"{name} is not a sealed-bid format")
    pay[winner] += price
    return Outcome(winner, float(price), pay)


def sealed_winner(fmt: ir.Format, bids: np.ndarray, rng: np.random.Generator) -> int | None:
    part = _entrants(fmt, bids)
    if not part:
        return None
    top = max(bids[i] for i in part)
    tied = [i for i in part if bids[i] == top]
    return tied[int(rng.integers(len(tied)))] if len(tied) > 1 else tied[0]


def sealed_outcomes(
    fmt: ir.Format, spec: ir.AuctionSpec, bids: np.ndarray, rng_for: Callable[[int], np.random.Generator]
) -> list[Outcome]:
    """Realised outcomes for a batch of bid profiles ``(R, n)`` (NaN = no bid);
    ``rng_for(row)`` gives the tie-break stream of a row."""
    R, n = bids.shape
    mech = _format_mechanism(fmt, spec)
    clean = np.nan_to_num(bids, nan=0.0)
    if mech is None:
        return [sealed_rule(fmt, bids[r], sealed_winner(fmt, bids[r], rng_for(r))) for r in range(R)]
    alloc, pay = mech.allocate_and_pay(clean[:, :, None])  # type: ignore[attr-defined]
    alloc = np.asarray(alloc, float)[:, :, 0]
    pay = np.asarray(pay, float)
    out = []
    for r in range(R):
        holders = np.flatnonzero(alloc[r] > 1e-12)
        if len(holders) == 0:
            out.append(Outcome(None, 0.0, [float(p) for p in pay[r]]))
        elif len(holders) == 1:
            w = int(holders[0])
            price = pay[r, w] - fmt.entry_fee
            out.append(Outcome(w, float(price), [float(p) for p in pay[r]]))
        else:
            p = alloc[r, holders] / alloc[r, holders].sum()
            w = int(holders[rng_for(r).choice(len(holders), p=p)])
            out.append(sealed_rule(fmt, clean[r], w))
    return out


@dataclass(frozen=True)
class ClockRules:
    start: float
    increment: float
    max_ticks: int
    descending: bool

    def price(self, tick: int) -> float:
        p = self.start - tick * self.increment if self.descending else self.start + tick * self.increment
        return round(p, 9)


def clock_rules(fmt: ir.Format, value_hi: float, value_lo: float = 0.0) -> ClockRules:
    """Tick grid for the clock formats.  Default increment: 1 (as in the seed
    experiments) for value ranges of 20 or more, else 1/100 of the range."""
    span = max(value_hi - value_lo, 1e-9)
    inc = fmt.increment if fmt.increment else (1.0 if span >= 20 else span / 100)
    if fmt.name == "dutch":
        start = fmt.start if fmt.start is not None else value_hi
        ticks = int(math.floor((start - fmt.reserve) / inc + 1e-9)) + 1
        return ClockRules(start, inc, max(ticks, 1), True)
    start = fmt.start if fmt.start is not None else fmt.reserve
    # Nobody rational stays above the top value; the cap stops a bidder who never drops.
    ticks = int(math.ceil((max(value_hi, start) - start) / inc + 1e-9)) + 2
    return ClockRules(start, inc, ticks, False)


@dataclass
class ClockResult:
    winner: int | None
    price: float
    drops: list[float | None]
    """The price at which each bidder quit (ascending) or claimed (Dutch); None if it never did."""
    ticks: int
    entered: list[int] | None = None
    """Ascending clock: the bidders who stayed in at the opening price (they pay an entry fee)."""


Decide = Callable[[int, float, list[int], list[tuple[int, float, list[int]]]], Awaitable[dict[int, bool]]]
"""``decide(tick, price, active, drop_log) -> {bidder: stays (ascending) / claims (Dutch)}``;
``drop_log`` lists (tick, price, bidders who quit) so far, for formats that announce them."""


async def play_ascending(rules: ClockRules, n: int, decide: Decide, rng: np.random.Generator) -> ClockResult:
    active = list(range(n))
    drops: list[float | None] = [None] * n
    log: list[tuple[int, float, list[int]]] = []
    prev_price = rules.price(0)
    entered: list[int] = []
    for tick in range(rules.max_ticks):
        price = rules.price(tick)
        answers = await decide(tick, price, active, log)
        stay = [i for i in active if answers.get(i, False)]
        quit_ = [i for i in active if i not in stay]
        for i in quit_:
            drops[i] = price
        if tick == 0:
            entered = list(stay)
        if len(stay) == 1:
            return ClockResult(stay[0], price, drops, tick + 1, entered)
        if not stay:
            if tick == 0:
                return ClockResult(None, 0.0, drops, 1, entered)
            w = active[int(rng.integers(len(active)))] if len(active) > 1 else active[0]
            drops[w] = None
            return ClockResult(w, prev_price, drops, tick + 1, entered)
        if quit_:
            log.append((tick, price, quit_))
        active, prev_price = stay, price
    # The cap: several bidders never quit; a uniform draw among them at the last price.
    w = active[int(rng.integers(len(active)))]
    return ClockResult(w, prev_price, drops, rules.max_ticks, entered)


async def play_dutch(rules: ClockRules, n: int, decide: Decide, rng: np.random.Generator) -> ClockResult:
    drops: list[float | None] = [None] * n
    everyone = list(range(n))
    for tick in range(rules.max_ticks):
        price = rules.price(tick)
        answers = await decide(tick, price, everyone, [])
        claim = [i for i in everyone if answers.get(i, False)]
        if claim:
            w = claim[int(rng.integers(len(claim)))] if len(claim) > 1 else claim[0]
            for i in claim:
                drops[i] = price
            return ClockResult(w, price, drops, tick + 1)
    return ClockResult(None, 0.0, drops, rules.max_ticks)


def clock_payments(fmt: ir.Format, res: ClockResult, n: int) -> list[float]:
    # Ascending: those who stayed in at the opening price entered; Dutch: only the buyer acts.
    entered = res.entered if res.entered is not None else ([res.winner] if res.winner is not None else [])
    pay = [fmt.entry_fee if i in entered else 0.0 for i in range(n)]
    if res.winner is not None:
        pay[res.winner] += res.price
    return pay

"""The eBay-style proxy auction, as Shah et al. (2025) ran it, day by day.

One item; each bidder has a *maximum bid* (0: none yet).  Every day each bidder has one turn,
in a random order drawn each day, and either raises its maximum bid or holds.  After every
turn the price is recomputed from the maximum bids alone (``EbayRules.price``):

* ``increments = "flat"`` (the study's variant, ``src/util_ebay.py``): with the
  second-highest maximum bid m2 > 0, the price is min(m1, m2 + increment); otherwise it stays
  at the opening price.  The item sells iff someone bid and the final price reaches the
  reserve: the price is never raised to the reserve, so a lone bidder above a reserve pays
  the opening price and the item goes unsold.
* ``increments = "ebay"`` (eBay's published rules): the increment grows with the price (eBay's
  table, ``EBAY_INCREMENTS``), and a maximum bid that meets the reserve raises the price to
  the reserve; the item sells iff the highest maximum bid meets the reserve.

The leader is the highest maximum bid; between equal ones, the bidder listed first (the
study's stable sort).  An item nobody bid on is not sold.

Closing (the study's code, L146-152): after day t ends, if the next day would be the last,
the auction is extended by one day when any bidder raised a maximum bid since the previous
extension (``closing = "soft"``), up to ``MAX_DAYS`` days.  So a bid placed on the day
announced as the last never extends the auction (sniping works), and neither does an
auction in which nobody bid since the last extension.  ``closing = "hard"``: never extended.

Because the price is a function of the final maximum bids, bidders who each place their
value as their maximum bid once (truthful proxies, or snipers on the last day) reach the same
outcome whatever the days and orders: the highest value wins at min(v1, v2 + increment)
(``truthful_outcome``).  With private values, placing one's value is a weakly dominant
strategy of the hard-close proxy auction up to the increment (the second-price logic), and
sniping is a best response to bidders who bid incrementally (Roth and Ockenfels 2002);
against truthful proxies, sniping changes nothing.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np
from auctionc import ir

MAX_DAYS = 20
"""A soft close stops extending at this many days (the study's cap)."""

EBAY_INCREMENTS: tuple[tuple[float, float], ...] = (
    (0.0, 0.05), (1.0, 0.25), (5.0, 0.50), (25.0, 1.00), (100.0, 2.50), (250.0, 5.00),
    (500.0, 10.00), (1000.0, 25.00), (2500.0, 50.00), (5000.0, 100.00),
)
"""eBay's bid increments in US dollars, (price from, increment): $0.05 below $1, $0.25 to
$4.99, $0.50 to $24.99, $1 to $99.99, $2.50 to $249.99, $5 to $499.99, $10 to $999.99, $25
to $2,499.99, $50 to $4,999.99, $100 from $5,000 (eBay help, "Bid increments";
docs/published-figures.md)."""
_STARTS = [s for s, _ in EBAY_INCREMENTS]


@dataclass(frozen=True)
class EbayRules:
    days: int
    closing: str
    reserve: float
    hidden_reserve: bool
    increments: str
    increment: float
    start: float

    @classmethod
    def of(cls, fmt: ir.Format) -> EbayRules:
        return cls(days=int(fmt.days or 10), closing=fmt.closing or "hard", reserve=float(fmt.reserve),
                   hidden_reserve=bool(fmt.hidden_reserve), increments=fmt.increments or "flat",
                   increment=float(fmt.increment if fmt.increment is not None else 1.0),
                   start=float(fmt.start if fmt.start is not None else 0.0))

    def step(self, price: float) -> float:
        """The bid increment at ``price``."""
        if self.increments == "flat":
            return self.increment
        return EBAY_INCREMENTS[max(bisect.bisect_right(_STARTS, price) - 1, 0)][1]

    def price(self, maxes: list[float]) -> tuple[float, int | None]:
        """(current price, leader) for the maximum bids (0: none)."""
        order = sorted(range(len(maxes)), key=lambda i: -maxes[i])  # stable: ties to the first listed
        top = order[0]
        m1 = maxes[top]
        m2 = maxes[order[1]] if len(order) > 1 else 0.0
        if m1 <= 0:
            return self.start, None
        p = min(m1, m2 + self.step(m2)) if m2 > 0 else self.start
        if self.increments == "ebay" and self.reserve > 0 and m1 >= self.reserve:
            p = max(p, self.reserve)
        return round(max(p, self.start) if m2 > 0 else p, 9), top

    def sold(self, maxes: list[float], price: float, leader: int | None) -> bool:
        if leader is None:
            return False
        if self.increments == "ebay":
            return maxes[leader] >= self.reserve
        return price >= self.reserve


@dataclass
class EbayState:
    """One auction in progress: the maximum bids, price, leader, days and the action log."""

    rules: EbayRules
    n: int
    maxes: list[float] = field(default_factory=list)
    price: float = 0.0
    leader: int | None = None
    days: int = 0
    day: int = 0
    bid_since_extension: bool = False
    events: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.maxes = [0.0] * self.n
        self.price = self.rules.start
        self.days = self.rules.days

    @property
    def last_day(self) -> bool:
        return self.day == self.days - 1

    def act(self, bidder: int, turn: int, action: str, amount: float | None) -> bool:
        """Record one turn; a bid counts only when it raises the bidder's maximum.  Returns
        whether the maximum changed."""
        raised = action == "bid" and amount is not None and amount > self.maxes[bidder]
        if raised:
            self.maxes[bidder] = float(amount)  # type: ignore[arg-type]
            self.bid_since_extension = True
        self.price, self.leader = self.rules.price(self.maxes)
        self.events.append({"day": self.day, "turn": turn, "bidder": bidder, "action": "bid" if raised else "hold",
                            "amount": float(amount) if raised else 0.0, "price": self.price, "leader": self.leader})
        return raised

    def end_day(self) -> bool:
        """Close the day (and extend a soft close); whether another day follows."""
        self.day += 1
        if (self.rules.closing == "soft" and self.day == self.days - 1 and self.bid_since_extension
                and self.days < MAX_DAYS):
            self.days += 1
            self.bid_since_extension = False
        return self.day < self.days

    def outcome(self) -> tuple[int | None, float]:
        """(winner or None, price paid: 0 when unsold)."""
        if self.rules.sold(self.maxes, self.price, self.leader):
            return self.leader, self.price
        return None, 0.0


@dataclass(frozen=True)
class DayView:
    """What a bidder sees on its turn."""

    day: int
    days: int
    order: tuple[int, ...]
    turn: int
    own_max: float
    price: float
    price_log: tuple[tuple[int, float], ...]
    """(day, price) each time the price changed."""
    last_day: bool


Act = Callable[[int, DayView], Awaitable[tuple[str, float | None, bool]]]
"""``act(bidder, view) -> (action "bid"/"hold", amount, reply unreadable)``."""
Order = Callable[[int], list[int]]
"""``order(day) -> the day's order of turns``."""


async def play_ebay(rules: EbayRules, n: int, act: Act, order: Order) -> EbayState:
    """Play one auction: each day, each bidder in the day's order acts once."""
    state = EbayState(rules, n)
    log: list[tuple[int, float]] = []
    failed = [False] * n
    while True:
        today = tuple(order(state.day))
        for turn, i in enumerate(today):
            view = DayView(state.day, state.days, today, turn, state.maxes[i], state.price, tuple(log), state.last_day)
            action, amount, bad = await act(i, view)
            failed[i] = failed[i] or bad
            before = state.price
            state.act(i, turn, action, amount)
            if state.price != before:
                log.append((state.day, state.price))
        if not state.end_day():
            break
    state.failed = failed  # type: ignore[attr-defined]
    return state


def truthful_outcome(rules: EbayRules, values: np.ndarray) -> tuple[int | None, float]:
    """The outcome when every bidder's maximum bid is its value (positive values only)."""
    maxes = [float(v) if v > 0 else 0.0 for v in values]
    price, leader = rules.price(maxes)
    if rules.sold(maxes, price, leader):
        return leader, price
    return None, 0.0


def expected_truthful_revenue_discrete(rules: EbayRules, lo: int, hi: int, n: int) -> float:
    """Expected revenue (0 when unsold) of truthful proxies with values i.i.d. uniform on the
    integers lo..hi, exactly, from the joint law of the two highest values:
    P(top = y, second = x) = n p F(x)^(n-1) - n p F(x-1)^(n-1) for x < y, and
    F(y)^n - F(y-1)^n - n p F(y-1)^(n-1) for x = y (F the cdf, p = 1/(hi - lo + 1))."""
    k = hi - lo + 1
    p = 1.0 / k

    def cdf(v: int) -> float:
        return min(max((v - lo + 1) / k, 0.0), 1.0)

    total = 0.0
    for y in range(lo, hi + 1):
        for x in range(lo, y + 1):
            if x < y:
                pr = n * p * (cdf(x) ** (n - 1) - cdf(x - 1) ** (n - 1))
            else:
                pr = cdf(y) ** n - cdf(y - 1) ** n - n * p * cdf(y - 1) ** (n - 1)
            if pr <= 0:
                continue
            maxes = [float(y), float(x)] + [0.0] * (n - 2)
            if y <= 0:
                continue
            if x <= 0:
                maxes[1] = 0.0
            price, leader = rules.price(maxes)
            if rules.sold(maxes, price, leader):
                total += pr * price
    return total


THEORY_GRID = 20_001
"""Grid points over the prior's support in ``expected_truthful_revenue`` (midpoint rule)."""


def _steps(rules: EbayRules, price: np.ndarray) -> np.ndarray:
    """``EbayRules.step`` at every entry of ``price``."""
    if rules.increments == "flat":
        return np.full_like(price, rules.increment)
    idx = np.maximum(np.searchsorted(np.asarray(_STARTS), price, side="right") - 1, 0)
    return np.asarray([s for _, s in EBAY_INCREMENTS])[idx]


def _price_sold(rules: EbayRules, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``EbayRules.price`` and ``sold`` for the top maximum bid ``y`` >= the second ``x``
    (a value <= 0 places no bid), entry by entry."""
    m1, m2 = np.maximum(y, 0.0), np.maximum(x, 0.0)
    p = np.where(m2 > 0, np.minimum(m1, m2 + _steps(rules, m2)), rules.start)
    if rules.increments == "ebay" and rules.reserve > 0:
        p = np.where(m1 >= rules.reserve, np.maximum(p, rules.reserve), p)
    p = np.where(m2 > 0, np.maximum(p, rules.start), p)
    sold = (m1 > 0) & ((m1 >= rules.reserve) if rules.increments == "ebay" else (p >= rules.reserve))
    return p, sold


def expected_truthful_revenue(rules: EbayRules, dist: ir.Distribution, n: int) -> float | None:
    """Expected revenue of truthful proxies for values i.i.d. from a continuous ``dist``:
    E[price(v(1), v(2))] over the two highest values, whose joint density is
    n(n-1) F(x)^(n-2) f(x) f(y) on x < y.  For a second-highest value x the price in the top
    value y is y up to x + increment and constant beyond (the reserve and the start add
    breakpoints), so the inner integral over y is exact from the cdf F and the partial
    expectation M(t) = int y f(y) dy between breakpoints; M and the outer integral over x use
    the midpoint rule on ``THEORY_GRID`` points.  Agrees with nested adaptive quadrature to
    1e-9 relative for smooth densities and the flat increment, to about 5e-7 with eBay's
    table (its steps jump inside grid cells).  None for priors without a density here."""
    from auctionc import distributions as D

    if D.is_finite(dist) or n < 2:
        return None
    lo, hi = D.support(dist)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    g = np.linspace(lo, hi, THEORY_GRID)
    h = np.diff(g)
    x = (g[1:] + g[:-1]) / 2  # the density is never read at the support's ends
    f = np.asarray(D.pdf(dist, x), float)
    cdf = np.asarray(D.cdf(dist, g), float)
    partial = np.concatenate([[0.0], np.cumsum(x * f * h)])
    cuts = np.stack([x, x + _steps(rules, np.maximum(x, 0.0)), np.full_like(x, rules.reserve),
                     np.full_like(x, rules.start), np.zeros_like(x), np.full_like(x, hi)], axis=1)
    cuts = np.sort(np.clip(cuts, x[:, None], hi), axis=1)
    a, b = cuts[:, :-1], cuts[:, 1:]
    mid = (a + b) / 2
    p, sold = _price_sold(rules, mid, np.broadcast_to(x[:, None], mid.shape))
    linear = np.abs(p - mid) <= 1e-12 * (1 + np.abs(mid))  # the price is the top value itself here
    seg = np.where(linear, np.interp(b, g, partial) - np.interp(a, g, partial),
                   p * (np.interp(b, g, cdf) - np.interp(a, g, cdf)))
    inner = (seg * sold * (b > a)).sum(axis=1)
    weight = n * (n - 1) * np.asarray(D.cdf(dist, x), float) ** (n - 2) * f
    return float(np.sum(weight * inner * h))


def theory_lines(rules: EbayRules, model_kind: str, n: int) -> list[str]:
    inc = "eBay's increment table" if rules.increments == "ebay" else f"an increment of {rules.increment:g}"
    out = [f"proxy auction, {rules.days} days ({rules.closing} close), {inc}: the price is a function of the final "
           "maximum bids, so the day a bidder places its maximum does not change the outcome"]
    if model_kind != "common":
        out.append("private values: placing one's value as maximum bid is weakly dominant (up to the increment); "
                   "truthful proxies and last-day snipers reach the same outcome: the highest value wins at "
                   "min(v1, v2 + increment)")
        out.append("sniping is a best response to bidders who raise their bids step by step (Roth and Ockenfels 2002)")
    if rules.reserve > 0:
        rule = ("the price is raised to a reserve the highest maximum bid meets" if rules.increments == "ebay"
                else "the price is never raised to the reserve: the item sells only when the price itself reaches it")
        out.append(f"reserve {rules.reserve:g} ({'hidden' if rules.hidden_reserve else 'announced'}): {rule}")
    return out

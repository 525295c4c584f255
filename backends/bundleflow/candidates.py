"""The mechanisms a BundleFlow compile compares on the same held-out valuations, and the
choice of the artifact among them.

Every candidate is a one-bidder menu with a null element (the bidder takes the element of
highest expected utility, or nothing), so each is IC and IR by construction.  The verifier
certifies a listed menu from its elements (``bundle_menu``: every element's support
bundles, probabilities and price) and posted item prices from the prices (``item_prices``:
the menu of all 2^m bundles at additive prices, which at many items cannot be listed).  A
candidate is *eligible* as the artifact only when the verifier can take it so:

* BundleFlow, the fixed-bundle RochetNet and grand-bundle pricing are listed menus;
* item pricing is an ``item_prices`` artifact at any number of items;
* Bundle-RochetNet's elements are product lotteries (each item with its own probability):
  one is listed exactly when its probabilities are 0 or 1 outside at most ``max_fractional``
  items (coordinates within ``snap`` of 0 or 1 are rounded there first; the listed menu's
  own revenue is what is reported and compared).

The artifact is the eligible candidate of highest mean revenue on the held-out valuations.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from auctionc.backends.bundleflow.bundle_menu import BundleMenuMechanism
from auctionc.backends.bundleflow.item_prices import ItemPriceMechanism, xor_choice
from auctionc.cats.xor import XorBatch

Z95 = 1.959963984540054
NAMES = {"bundleflow": "BundleFlow", "bundle_rochetnet": "Bundle-RochetNet", "fixed_rochetnet": "fixed-bundle RochetNet",
         "item_pricing": "item pricing", "grand_bundle": "grand bundle", "lp": "exact LP on the training sample"}


@dataclass
class Candidate:
    key: str
    payments: np.ndarray
    """Payment of every held-out valuation (0 for the null element)."""
    mechanism: BundleMenuMechanism | ItemPriceMechanism | None
    why_not: str | None = None
    """Why it cannot be the artifact (None: eligible)."""
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return NAMES.get(self.key, self.key)

    @property
    def revenue(self) -> float:
        return float(self.payments.mean()) if len(self.payments) else 0.0

    @property
    def eligible(self) -> bool:
        return self.mechanism is not None and self.why_not is None


def mean_ci(x: np.ndarray) -> tuple[float, float]:
    """Mean and the half-width of its normal 95% interval."""
    x = np.asarray(x, float)
    if len(x) < 2:
        return float(x.mean()) if len(x) else 0.0, float("nan")
    return float(x.mean()), float(Z95 * x.std(ddof=1) / np.sqrt(len(x)))


def ratio_ci(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """mean(a) / mean(b) over the same valuations and the half-width of its 95% interval
    (delta method on the paired payments)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    mb = b.mean()
    if mb <= 0:
        return float("nan"), float("nan")
    r = a.mean() / mb
    return float(r), float(Z95 * (a - r * b).std(ddof=1) / (np.sqrt(len(a)) * mb))


def menu_payments(mech: BundleMenuMechanism, data: XorBatch) -> np.ndarray:
    idx = mech.choose(data)
    return np.where(idx >= 0, mech.prices[np.maximum(idx, 0)], 0.0)


def grand_candidate(gb: dict[str, Any], test: XorBatch) -> Candidate:
    m = test.n_items
    mech = BundleMenuMechanism(np.ones((1, 1, m), dtype=np.uint8), np.ones((1, 1)), np.array([gb["price"]]))
    return Candidate("grand_bundle", menu_payments(mech, test), mech, seconds=gb["seconds"],
                     cpu_seconds=gb.get("cpu_seconds", gb["seconds"]), extra={"price": gb["price"]})


def item_payments(prices: np.ndarray, data: XorBatch) -> np.ndarray:
    """What the bidder pays under posted item prices (``item_prices``' rule)."""
    return xor_choice(np.asarray(prices, float), data)[1]


def item_candidate(ip: dict[str, Any], test: XorBatch) -> Candidate:
    prices = np.asarray(ip["prices"], float)
    mech = ItemPriceMechanism(prices)
    return Candidate("item_pricing", item_payments(prices, test), mech, seconds=ip["seconds"],
                     cpu_seconds=ip.get("cpu_seconds", ip["seconds"]), extra={"prices": prices.tolist()})


def fixed_candidate(res: dict[str, Any], test: XorBatch) -> Candidate:
    b = np.asarray(res["bundles"], dtype=np.uint8)
    mech = BundleMenuMechanism(b[:, None, :], np.ones((len(b), 1)), np.asarray(res["prices"], float))
    return Candidate("fixed_rochetnet", menu_payments(mech, test), mech, seconds=res["seconds"],
                     cpu_seconds=res.get("cpu_seconds", res["seconds"]), extra={"menu": len(b), "steps": res["steps"]})


def bundleflow_candidate(mech: BundleMenuMechanism, test: XorBatch, seconds: float, cpu: float) -> Candidate:
    return Candidate("bundleflow", menu_payments(mech, test), mech, seconds=seconds, cpu_seconds=cpu)


def product_menu(alpha: np.ndarray, prices: np.ndarray, snap: float, max_fractional: int) -> tuple[BundleMenuMechanism | None, int]:
    """A Bundle-RochetNet menu listed as bundle lotteries (probabilities within ``snap`` of 0
    or 1 rounded there), or None when an element keeps more than ``max_fractional``
    fractional items; also the largest fractional count found."""
    a = np.where(alpha <= snap, 0.0, np.where(alpha >= 1 - snap, 1.0, alpha))
    frac = (a > 0) & (a < 1)
    most = int(frac.sum(1).max(initial=0))
    if most > max_fractional:
        return None, most
    j, m = a.shape
    size = 2**most
    bundles = np.zeros((j, size, m), dtype=np.uint8)
    probs = np.zeros((j, size))
    for e in range(j):
        f = np.flatnonzero(frac[e])
        base = (a[e] >= 1).astype(np.uint8)
        for k, bits in enumerate(itertools.product((0, 1), repeat=len(f))):
            row = base.copy()
            row[f] = bits
            bundles[e, k] = row
            probs[e, k] = float(np.prod(np.where(np.array(bits) == 1, a[e, f], 1 - a[e, f])))
    return BundleMenuMechanism(bundles, probs, np.asarray(prices, float)), most


def rochetnet_candidate(res: Any, test: XorBatch, snap: float = 0.01, max_fractional: int = 6) -> Candidate:
    mech, most = product_menu(res.alpha, res.prices, snap, max_fractional)
    if mech is None:
        from auctionc.backends.bundleflow.bundle_rochetnet import hard_revenue

        _, idx = hard_revenue(res.alpha, res.prices, test)
        pay = np.where(idx >= 0, res.prices[np.maximum(idx, 0)], 0.0)
        why = (f"an element allocates {most} items with probabilities strictly between {snap:g} and {1 - snap:g}: "
               f"its lottery has 2^{most} bundles, more than the 2^{max_fractional} listed")
        return Candidate("bundle_rochetnet", pay, None, why, seconds=res.seconds, cpu_seconds=res.cpu_seconds,
                         extra={"fractional_items": most})
    return Candidate("bundle_rochetnet", menu_payments(mech, test), mech, seconds=res.seconds, cpu_seconds=res.cpu_seconds,
                     extra={"fractional_items": most, "snap": snap, "unlisted_revenue": res.revenue})


def best(cands: list[Candidate]) -> Candidate | None:
    """The eligible candidate of highest held-out revenue (ties: the earlier in the list)."""
    ok = [c for c in cands if c.eligible]
    return max(ok, key=lambda c: c.revenue) if ok else None


def summary(c: Candidate, check: dict[str, Any] | None) -> dict[str, Any]:
    """What the compile's stats record of a candidate (no arrays)."""
    mean, half = mean_ci(c.payments)
    return {"revenue": mean, "ci": half, "eligible": c.eligible, "why_not": c.why_not, "seconds": c.seconds,
            "cpu_seconds": c.cpu_seconds, "check": check,
            **{k: v for k, v in c.extra.items() if k not in ("prices",)}}


def table(cands: list[Candidate], chosen: Candidate | None, welfare: float,
          checks: dict[str, dict[str, Any]] | None = None) -> str:
    n = len(cands[0].payments) if cands else 0
    ref = next((c for c in cands if c.key == "bundleflow"), None)
    checks = checks or {}
    lines = [f"Revenue on the same {n:,} held-out valuations (mean and 95% interval); share of the optimal welfare "
             f"(the bidder's value for all items, {welfare:.2f} on average); ratio of BundleFlow to each (paired "
             f"95% interval); the verifier's check of each eligible candidate on fresh reports.", "",
             "| mechanism | revenue | 95% CI | share of welfare | BundleFlow / it | seconds (CPU) | eligible | verified | chosen |",
             "|---|---|---|---|---|---|---|---|---|"]
    for c in cands:
        mean, half = mean_ci(c.payments)
        r = "-" if ref is None or c is ref else "{:.3f} ± {:.3f}".format(*ratio_ci(ref.payments, c.payments))
        ck = checks.get(c.key)
        verified = "-" if ck is None else ("PASS" if ck["ok"] else "FAIL") + f" ({ck['samples']} reports)"
        lines.append(f"| {c.name} | {mean:.2f} | ± {half:.2f} | {mean / welfare:.1%} | {r} | "
                     f"{c.seconds:.1f} ({c.cpu_seconds:.1f}) | {'yes' if c.eligible else 'no'} | {verified} | "
                     f"{'**chosen**' if c is chosen else ''} |")
    lines.append("")
    if chosen is not None:
        rest = [c for c in cands if c.eligible and c is not chosen]
        lines.append(f"Chosen: **{chosen.name}**, the eligible mechanism of highest held-out revenue ({chosen.revenue:.2f}"
                     + (f"; next: {max(rest, key=lambda c: c.revenue).name} {max(c.revenue for c in rest):.2f}" if rest else "")
                     + "). The verifier then measures it again on fresh valuations.")
    for c in cands:
        if c.why_not:
            better = " It earns more than the chosen mechanism." if chosen is not None and c.revenue > chosen.revenue else ""
            lines.append(f"{c.name} is not eligible: {c.why_not}.{better}")
    return "\n".join(lines)

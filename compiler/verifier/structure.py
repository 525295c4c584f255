"""Structural certificates, recomputed from the artifact's parameters and confirmed on
sampled reports.

* ``OneBidderMenu``: one bidder, a fixed list of elements, argmax choice.  IC holds for every
  report when each outcome is an element of the list and is the bidder's favourite one; IR
  when a null element (nothing at price <= 0) is offered.  The verifier looks for the null
  element in the list itself and checks, on sampled reports, that every outcome is a listed
  element (or the null one) of highest utility, utilities computed from the listed numbers.
* ``PostedItemPrices``: one bidder, every bundle at the sum of its items' prices, argmax
  choice: the menu of all 2^m bundles, given by its m prices.  The verifier computes each
  sampled report's favourite bundle from the prices itself (for XOR bids the best bundle
  is a bid bundle plus every subsidised item, which it proves below; for bundle-value
  arrays it tries all 2^m bundles) and confirms that the artifact sells a bundle of that
  utility at its additive price.  IC and IR hold for every report: a misreport only picks
  another bundle of the same list, and the empty bundle costs 0.
* ``AffineMaximizer``: the verifier checks positive finite weights and finite boosts (the
  outcomes' feasibility is a validity check), recomputes the choice and the weighted Clarke
  payments from the parameters on sampled reports and compares them with the artifact's.
  Dominant-strategy IC follows; ex-post IR when no value can be negative.
* ``MenusOfOthers`` (GemNet): the artifact family re-runs its compatibility proof from the
  parameters its evaluation uses (the verifier cannot bound a network itself), and the
  verifier confirms on sampled reports that each bidder's menu does not move with its own
  report and that each outcome is the bidder's favourite element of that menu, or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..mechanism.structures import AffineMaximizer, MenusOfOthers, OneBidderMenu, PostedItemPrices
from .certificate import Check
from .evaluation import Evaluator
from .settings import CONFIRM_SAMPLES, Settings
from .spec_spaces import draw, draw_cats, is_cats, value_box

MATCH_TOL = 1e-9
"""An outcome equals a listed element when no entry differs by more than this."""


@dataclass
class StructureResult:
    kind: str | None = None
    """The certificate kind the structure gives (None: it gives none)."""
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def check_structure(ev: Evaluator, mech: Any, spec: Any, st: Any, settings: Settings, tol: float) -> StructureResult:
    if isinstance(st, OneBidderMenu):
        return _one_bidder_menu(ev, spec, st, settings, tol)
    if isinstance(st, PostedItemPrices):
        return _posted_item_prices(ev, spec, st, settings, tol)
    if isinstance(st, AffineMaximizer):
        return _affine_maximizer(ev, spec, st, settings, tol)
    if isinstance(st, MenusOfOthers):
        return _menus_of_others(ev, mech, spec, st, settings, tol)
    return StructureResult(notes=[f"unknown structure {type(st).__name__}: not used"])


def _confirm_draws(spec: Any, settings: Settings):
    return draw(spec, min(settings.samples, CONFIRM_SAMPLES), np.random.default_rng([settings.seed, 17]))


def row_index(table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each row of ``rows (B, d)`` the index of an equal row of ``table (K, d)`` (no entry
    more than ``MATCH_TOL`` apart), or -1."""
    out = np.full(len(rows), -1, dtype=np.int64)
    exact = {r.tobytes(): k for k, r in enumerate(np.ascontiguousarray(table))}
    pending = []
    for b, r in enumerate(np.ascontiguousarray(rows)):
        k = exact.get(r.tobytes())
        if k is None:
            pending.append(b)
        else:
            out[b] = k
    step = max(1, 2_000_000 // max(1, table.size))
    for s in range(0, len(pending), step):
        idx = np.asarray(pending[s : s + step])
        d = np.abs(rows[idx][:, None, :] - table[None]).max(axis=2)  # (b, K)
        k = d.argmin(axis=1)
        out[idx] = np.where(d[np.arange(len(idx)), k] <= MATCH_TOL, k, -1)
    return out


def _menu_confirmation(alloc: np.ndarray, pay: np.ndarray, u_art: np.ndarray, table: np.ndarray,
                       u_el: np.ndarray, null: bool, utol: float) -> tuple[int, int, float]:
    """(outcomes that are no element, outcomes that are not a favourite, largest shortfall)."""
    if null:
        table = np.vstack([table, np.zeros((1, table.shape[1]))])
        u_el = np.concatenate([u_el, np.zeros((len(u_el), 1))], axis=1)
    k = row_index(table, np.concatenate([alloc, pay[:, None]], axis=1))
    shortfall = u_el.max(axis=1) - u_art
    return int((k < 0).sum()), int((shortfall > utol).sum()), float(max(0.0, shortfall.max(initial=0.0)))


def cats_utilities(st: OneBidderMenu, batch: Any) -> np.ndarray:
    """``(B, K)``: each CATS valuation's expected utility for each element's lottery, from the
    listed supports, probabilities and prices (the null element excluded)."""
    uniq, inv = np.unique(st.supports.reshape(-1, st.supports.shape[2]), axis=0, return_inverse=True)
    vals = batch.values_of(uniq)[:, inv.reshape(-1)].reshape(len(batch), *st.probs.shape)
    return np.einsum("bks,ks->bk", vals, st.probs) - np.asarray(st.prices, float)[None, :]


def _one_bidder_menu(ev: Evaluator, spec: Any, st: OneBidderMenu, settings: Settings, tol: float) -> StructureResult:
    res = StructureResult()
    prices = np.asarray(st.prices, float)
    cats = is_cats(spec)
    if spec.n_bidders != 1:
        res.checks.append(Check("structure", False, f"a one-bidder menu, but the spec has {spec.n_bidders} bidders"))
        return res
    if cats:
        batch = draw_cats(spec, min(settings.samples, CONFIRM_SAMPLES), settings.seed)
        u_el = cats_utilities(st, batch)
        alloc, pay = ev(batch)
        table = np.einsum("ks,ksm->km", st.probs, st.supports.astype(float))  # item marginals
        k = row_index(np.vstack([np.concatenate([table, prices[:, None]], axis=1), np.zeros((1, table.shape[1] + 1))]),
                      np.concatenate([alloc[:, 0], pay], axis=1))
        u_all = np.concatenate([u_el, np.zeros((len(batch), 1))], axis=1)
        u_art = np.where(k >= 0, u_all[np.arange(len(k)), np.maximum(k, 0)], -np.inf)
        stray, short = int((k < 0).sum()), int((u_all.max(axis=1) - u_art > 2 * st.tie_tol).sum())
        gap = float(np.nan_to_num(u_all.max(axis=1) - u_art, posinf=np.inf).max(initial=0.0))
        n_conf = len(batch)
    else:
        d = _confirm_draws(spec, settings)
        r = d.reports[:, 0, :]
        A = np.asarray(st.allocations, float)
        u_el = r @ A.T - prices[None, :]
        alloc, pay = ev(d.reports)
        u_art = (r * alloc[:, 0]).sum(axis=1) - pay[:, 0]
        stray, short, gap = _menu_confirmation(alloc[:, 0], pay[:, 0], u_art, np.concatenate([A, prices[:, None]], axis=1),
                                               u_el, st.null_by_rule, 2 * st.tie_tol + 1e-12 * float(np.abs(r).max(initial=1.0)))
        n_conf = len(r)
    res.details["menu"] = {"elements": int(len(prices)), "null_by_rule": st.null_by_rule, "confirmed_on": n_conf}
    ok = stray == 0 and short == 0
    res.checks.append(Check("structure_confirmed", ok,
                            f"on {n_conf:,} sampled reports every outcome is a listed element (or the null one) of highest "
                            f"utility" if ok else
                            f"on {n_conf:,} sampled reports, {stray} outcomes are not menu elements and {short} are not the "
                            f"bidder's favourite (largest shortfall {gap:.3g})"))
    if not ok:
        return res
    A = np.asarray(st.allocations, float) if st.allocations is not None else None
    has_null = st.null_by_rule or bool(A is not None and (
        (np.abs(A).max(axis=1) <= st.tie_tol) & (prices <= st.tie_tol)).any())
    if not has_null:
        res.notes.append("not exact by construction: no null element (nothing at price 0), so IR is checked, not implied")
        return res
    res.kind = "exact_by_construction"
    res.checks.append(Check("structure", True, f"one bidder, {len(prices)} fixed elements"
                            + (" and the null element the rule always offers" if st.null_by_rule else " including a null element")
                            + ", argmax choice: IC and IR for every report by construction"))
    return res


def posted_best_utility(prices: np.ndarray, batch: Any) -> np.ndarray:
    """``(B,)``: each XOR valuation's utility for its favourite bundle at additive ``prices``.

    Why the bid bundles suffice: for any bundle S let c be the largest bid inside it (so
    v(S) = v_c) and N the items of negative price.  Then p(S) >= p(c | N), because S holds
    c, and c | N adds to S only items of negative price while S may hold more of the rest;
    so u(S) <= v_c - p(c | N).  A bundle holding no bid is worth 0 and costs at least p(N).
    The best utility is therefore max(-p(N), max over bids c of v_c - p(c | N))."""
    p = np.asarray(prices, float)
    neg = (p < 0).astype(np.uint8)
    cost = (batch.bundles | neg[None, None, :]).astype(float) @ p
    return np.maximum((batch.values - cost).max(axis=1, initial=-np.inf), -float(p[neg == 1].sum()))


def favourite_utility(st: Any, batch: Any) -> np.ndarray:
    """``(B,)``: each CATS valuation's utility for its favourite outcome of a one-bidder
    structure (0 for nothing), from the structure's own numbers."""
    if isinstance(st, PostedItemPrices):
        return posted_best_utility(st.prices, batch)
    return cats_utilities(st, batch).max(axis=1, initial=0.0)


def _bundle_values(batch: Any, bundles: np.ndarray) -> np.ndarray:
    """``(B,)``: valuation b's value for its own bundle ``bundles[b]`` (the largest bid inside)."""
    missing = (1 - bundles.astype(np.uint8))[:, None, :]
    fits = ~(batch.bundles.astype(np.uint8) & missing).any(axis=2)  # (B, K): no bid item outside the bundle
    return np.maximum(np.where(fits, batch.values, 0.0).max(axis=1), 0.0)


def _posted_item_prices(ev: Evaluator, spec: Any, st: PostedItemPrices, settings: Settings, tol: float) -> StructureResult:
    res = StructureResult()
    p = np.asarray(st.prices, float)
    problems = []
    if spec.n_bidders != 1:
        problems.append(f"posted prices for one bidder, but the spec has {spec.n_bidders} bidders")
    if p.ndim != 1 or len(p) != spec.n_items:
        problems.append(f"{p.size} item prices, but the spec has {spec.n_items} items")
    elif not np.isfinite(p).all():
        problems.append("an item price is not finite")
    if problems:
        res.checks.append(Check("structure", False, "; ".join(problems)))
        return res
    if not is_cats(spec):
        # bundle-value reports (m <= 12): the same rule as the listed menu of every non-empty
        # bundle at its additive price, with the null element by rule
        m = len(p)
        masks = ((np.arange(1, 2**m)[:, None] >> np.arange(m)) & 1).astype(float)
        listed = OneBidderMenu(np.eye(2**m)[1:], masks @ p, null_by_rule=True, tie_tol=st.tie_tol)
        sub = _one_bidder_menu(ev, spec, listed, settings, tol)
        if sub.kind is not None:
            sub.checks[-1] = Check("structure", True, f"posted prices for {m} items: every bundle at the sum of its "
                                   "items' prices and nothing at 0, argmax choice: IC and IR for every report by construction")
        return sub
    batch = draw_cats(spec, min(settings.samples, CONFIRM_SAMPLES), settings.seed)
    alloc, pay = ev(batch)
    a, pay = alloc[:, 0], pay[:, 0]
    bundles = np.clip(np.round(a), 0, 1)
    scale = 1.0 + float(np.abs(p).sum())
    stray = int(((np.abs(a - bundles).max(axis=1) > MATCH_TOL) | (np.abs(pay - bundles @ p) > 1e-9 * scale)).sum())
    gap_all = posted_best_utility(p, batch) - (_bundle_values(batch, bundles) - pay)
    short = int((gap_all > 2 * st.tie_tol + 1e-12 * scale).sum())
    gap = float(gap_all.max(initial=0.0))
    res.details["item_prices"] = {"items": int(len(p)), "confirmed_on": len(batch),
                                  "negative_prices": int((p < 0).sum())}
    ok = stray == 0 and short == 0
    res.checks.append(Check("structure_confirmed", ok,
                            f"on {len(batch):,} sampled reports every outcome is a whole bundle at the sum of its items' "
                            "prices, of the highest utility any bundle gives" if ok else
                            f"on {len(batch):,} sampled reports, {stray} outcomes are not a bundle at its additive price "
                            f"and {short} are not the bidder's favourite bundle (largest shortfall {gap:.3g})"))
    if not ok:
        return res
    res.kind = "exact_by_construction"
    res.checks.append(Check("structure", True, f"posted prices for {len(p)} items: every bundle at the sum of its items' "
                            "prices and nothing at 0, argmax choice: IC and IR for every report by construction"))
    return res


def _affine_maximizer(ev: Evaluator, spec: Any, st: AffineMaximizer, settings: Settings, tol: float) -> StructureResult:
    res = StructureResult()
    x, w, lam = (np.asarray(a, float) for a in (st.outcomes, st.weights, st.boosts))
    problems = []
    if x.shape[1] != spec.n_bidders:
        problems.append(f"{x.shape[1]} bidders in the outcomes, {spec.n_bidders} in the spec")
    if not (np.isfinite(w).all() and (w > 0).all()):
        problems.append(f"a bidder weight is not positive and finite ({np.round(w, 6).tolist()})")
    if not np.isfinite(lam).all():
        problems.append("an outcome boost is not finite")
    if problems:
        res.checks.append(Check("structure", False, "not an affine maximizer: " + "; ".join(problems)))
        return res
    d = _confirm_draws(spec, settings)
    r = d.reports
    wv = np.einsum("bim,kim->bki", r, x) * w
    total = wv.sum(-1) + lam
    k = total.argmax(1)
    rows = np.arange(len(r))
    pay = np.stack([((total - wv[..., i]).max(1) - (total - wv[..., i])[rows, k]) / w[i] for i in range(x.shape[1])], 1)
    alloc_a, pay_a = ev(r)
    scale = 1.0 + float(np.abs(total).max(initial=0.0))
    same = (np.abs(alloc_a - x[k]).max(axis=(1, 2)) <= MATCH_TOL) & (np.abs(pay_a - pay).max(axis=1) <= 1e-9 * scale)
    # near-ties of the affine welfare may be broken differently by rounding: accept an outcome
    # of (nearly) maximal affine welfare there
    kk = row_index(x.reshape(len(x), -1), alloc_a.reshape(len(r), -1))
    tie_ok = (kk >= 0) & (total[rows, np.maximum(kk, 0)] >= total.max(1) - 1e-9 * scale)
    bad = int((~same & ~tie_ok).sum())
    res.checks.append(Check("structure_confirmed", bad == 0,
                            f"on {len(r):,} sampled profiles the outcome and the weighted Clarke payments recomputed "
                            f"from the outcomes, weights and boosts equal the artifact's"
                            + ("" if bad == 0 else f", except at {bad} profiles")))
    if bad:
        return res
    res.details["affine_maximizer"] = {"outcomes": int(len(x)), "weights": w.tolist(), "confirmed_on": len(r)}
    box = value_box(spec)
    if box is None or (box[..., 0] < 0).any():
        res.notes.append("not exact by construction: values may be negative (IR by construction needs values >= 0)")
        return res
    res.kind = "exact_by_construction"
    res.checks.append(Check("structure", True, f"affine maximizer: {len(x)} fixed outcomes, positive weights, argmax "
                            "choice, weighted Clarke payments, values >= 0 (dominant-strategy IC and ex-post IR by construction)"))
    return res


def _menus_of_others(ev: Evaluator, mech: Any, spec: Any, st: MenusOfOthers, settings: Settings, tol: float) -> StructureResult:
    res = StructureResult()
    box = value_box(spec)
    proof = mech.compatibility_proof(box) if box is not None else None
    if proof is None:
        res.notes.append("the artifact carries no compatibility proof (no transform parameters): regret is estimated")
        return res
    res.details["menu_compatibility"] = proof
    if not proof.get("ok"):
        res.checks.append(Check("menu_compatibility", False, "the compatibility proof, re-run from the artifact's "
                                f"parameters, fails: {proof.get('reason', 'some cells over-allocate')}"))
        return res
    res.checks.append(Check("menu_compatibility", True, f"the {proof.get('transform')} compatibility proof re-run from the "
                            "artifact's parameters holds and covers the spec's value space"))
    d = _confirm_draws(spec, settings)
    r = d.reports
    B, n, dim = r.shape
    menus = mech.bidder_menus(r)
    alloc, pay = ev(r)
    moved, stray, short, gap = 0, 0, 0, 0.0
    for i, (A, P) in enumerate(menus):
        other = r.copy()
        other[:, i] = r[np.roll(np.arange(B), 1), i]
        A2, P2 = mech.bidder_menus(other)[i]
        moved += int((~(np.isclose(A, A2, atol=1e-12).all(axis=(1, 2)) & np.isclose(P, P2, atol=1e-12).all(axis=1))).sum())
        u_el = np.einsum("bm,bkm->bk", r[:, i], A) - P
        u_art = (r[:, i] * alloc[:, i]).sum(axis=1) - pay[:, i]
        u_all = np.concatenate([u_el, np.zeros((B, 1))], axis=1)
        rows = np.concatenate([np.concatenate([A, P[..., None]], axis=2), np.zeros((B, 1, dim + 1))], axis=1)
        got = np.concatenate([alloc[:, i], pay[:, i : i + 1]], axis=1)
        member = (np.abs(rows - got[:, None, :]).max(axis=2) <= MATCH_TOL).any(axis=1)
        s = u_all.max(axis=1) - u_art
        stray += int((~member).sum())
        short += int((s > 2 * st.tie_tol + 1e-12 * float(np.abs(r).max(initial=1.0))).sum())
        gap = max(gap, float(s.max(initial=0.0)))
    ok = moved == 0 and stray == 0 and short == 0
    res.checks.append(Check("structure_confirmed", ok,
                            f"on {B:,} sampled profiles each bidder's menu ignores its own report and each outcome is "
                            "its favourite element or nothing" if ok else
                            f"on {B:,} sampled profiles: {moved} menus move with the bidder's own report, {stray} outcomes "
                            f"are not menu elements, {short} are not the favourite (largest shortfall {gap:.3g})"))
    if ok:
        res.kind = "exact_by_menu_compatibility"
    return res

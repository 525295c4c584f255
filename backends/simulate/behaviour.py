"""Behavioural metrics of a simulation (``metrics``), side by side with theory and with the
human and LLM figures of docs/published-figures.md; a markdown report with the figures of
``figures``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from auctionc import ir
from auctionc.backends.simulate import metrics as M
from auctionc.backends.simulate import rules as format_rules
from auctionc.backends.simulate.theory import (
    InfoModel,
    NoClosedForm,
    bne_threshold,
    crra_threshold,
    naive_cv_profit,
    theory_lines,
)

if TYPE_CHECKING:
    from auctionc.backends.simulate.records import RoundRecord, SimulationResult

# docs/published-figures.md (LLM bidders and human experiments): figures recomputed from the seed
# experiments' released logs (GPT-4 unless noted), and human experiments.
PUBLISHED: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("first_price", "ipv"): [
        {"source": "GPT-4 (Shah et al. 2025)", "bid_value_ratio": 0.722, "share_at_value": 0.178, "share_over": 0.031,
         "share_under": 0.791, "efficiency": 0.827, "revenue": 58.6},
        {"source": "GPT-4o (Shah et al. 2025)", "bid_value_ratio": 0.948, "share_at_value": 0.451, "share_over": 0.138,
         "share_under": 0.411, "efficiency": 0.927, "revenue": 70.9},
        {"source": "humans (n=5): bid = 1.14 + 0.92 v, RNNE slope 0.80"},
    ],
    ("second_price", "ipv"): [
        {"source": "GPT-4 (Shah et al. 2025)", "bid_value_ratio": 0.797, "share_at_value": 0.258, "share_over": 0.116,
         "share_under": 0.627, "efficiency": 0.693, "revenue": 40.1},
        {"source": "GPT-4o (Shah et al. 2025)", "bid_value_ratio": 1.042, "share_at_value": 0.556, "share_over": 0.216,
         "share_under": 0.229, "efficiency": 0.920, "revenue": 48.2},
        {"source": "humans, inexperienced (Kagel & Levin 1993)", "share_at_value": 0.27, "share_over": 0.67},
        {"source": "humans (Li 2017): mean |bid - value|", "mean_abs_deviation": 6.52},
    ],
    ("ascending_clock", "affiliated"): [
        {"source": "GPT-4, announced clock, APV", "share_at_value": 0.719, "efficiency": 0.969, "revenue": 21.2},
        {"source": "GPT-4, blind clock, APV", "share_at_value": 0.767, "efficiency": 0.967, "revenue": 20.9},
        {"source": "paper Table 1: mean |drop - value| clock 2.03, blind 1.63", "mean_abs_deviation": 2.03},
    ],
    ("ascending_clock", "ipv"): [
        {"source": "humans (Li 2017): mean |bid - value|", "mean_abs_deviation": 2.48},
    ],
    ("second_price", "affiliated"): [
        {"source": "GPT-4, sealed second price, APV", "share_at_value": 0.300, "efficiency": 0.440, "revenue": 21.6},
    ],
    ("second_price", "common"): [
        {"source": "GPT-4, winner's profit by n: +12.8 (2), +4.6 (3), +1.1 (4), -1.3 (5), -3.3 (6)"},
        {"source": "GPT-4, P(winner loses) by n: 12%, 24%, 44%, 59%, 63%"},
    ],
}


def tolerance_for(obs: np.ndarray) -> float:
    # The seed experiments count a bid within $1 of the value as "at value"; on small
    # value scales 1% of the range plays that role.
    span = float(obs.max() - obs.min()) if obs.size else 0.0
    return 1.0 if span >= 20 else max(span / 100, 1e-9)


def equilibrium_bids(fmt: ir.Format, model: InfoModel, obs: np.ndarray, risk_aversion: float = 0.0) -> tuple[np.ndarray, str]:
    """The equilibrium bid of each observation under the spec's risk model (CRRA
    ``risk_aversion`` where its bids are known, else risk neutral), and its name; NaN where
    none is known."""
    if risk_aversion > 0:
        try:
            return crra_threshold(fmt, model, obs, risk_aversion), f"CRRA(r = {risk_aversion:g}) equilibrium"
        except NoClosedForm:
            pass
    try:
        return bne_threshold(fmt, model, obs), "risk-neutral equilibrium"
    except NoClosedForm:
        return np.full(len(obs), np.nan), "no closed-form equilibrium"


def predicted_revenue(spec: ir.AuctionSpec, model: InfoModel, fmt: ir.Format, records: list[RoundRecord],
                      rules: format_rules.ClockRules | None, seed: int) -> float | None:
    """Mean revenue of risk-neutral equilibrium bidders on the same value draws."""
    from auctionc.backends.simulate.engine import _play_round
    from auctionc.backends.simulate.strategies import RuleAgent

    try:
        agents = [RuleAgent(ir.BNE(), fmt, model, seed) for _ in spec.bidders]
    except NoClosedForm:
        return None
    if fmt.name in format_rules.SEALED_NAMES:
        obs = np.array([r.obs for r in records])
        bids = np.stack([bne_threshold(fmt, model, obs[:, i]) for i in range(obs.shape[1])], axis=1)
        outs = format_rules.sealed_outcomes(fmt, spec, bids, lambda k: np.random.default_rng(
            [seed, 3, records[k].experiment, records[k].round]))
        revs = [sum(o.payments) for o in outs]
    else:
        obs_all = np.array([r.obs for r in records])
        for e in {r.experiment for r in records}:
            rows = [k for k, r in enumerate(records) if r.experiment == e]
            if rows == list(range(rows[0], rows[0] + len(rows))) and records[rows[0]].round == 0:
                for i, a in enumerate(agents):
                    a.prime(e, i, obs_all[rows, i])

        async def play_all() -> list[float]:
            out = []
            for r in records:
                rec = await _play_round(spec, agents, r.experiment, r.round, np.array(r.values), np.array(r.obs),
                                        r.common, [], seed, rules)
                out.append(sum(rec.payments))
            return out

        revs = asyncio.run(play_all())
    return float(np.mean(revs)) if revs else None


def actions(fmt: ir.Format, records: list[RoundRecord]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(round index, observation, bid) of every action that is a bid: sealed bids, clock
    drop-outs of the losers (the winner's 'bid' is only the price), Dutch calls, eBay final
    maximum bids."""
    rows, obs, bids = [], [], []
    for r in records:
        for i, b in enumerate(r.bids):
            if b is None or (fmt.name == "ascending_clock" and r.winner == i):
                continue
            rows.append(r.round)
            obs.append(r.obs[i])
            bids.append(b)
    return np.array(rows, int), np.array(obs, float), np.array(bids, float)


def ebay_behaviour(records: list[RoundRecord]) -> dict[str, Any]:
    """When bids come: the share of raises on the final day (Shah et al.'s sniping measure)
    and on the last two days, and the days auctions ran."""
    raises = [(ev["day"], r.ticks) for r in records for ev in r.events if ev["action"] == "bid"]
    final = np.array([d == days - 1 for d, days in raises], bool)
    last_two = np.array([d >= days - 2 for d, days in raises], bool)
    return {"raises": len(raises), "share_on_final_day": M.share_ci(final), "share_on_last_two_days": M.share_ci(last_two),
            "days": M.mean_ci(np.array([r.ticks for r in records], float))}


def ebay_expected_revenue(spec: ir.AuctionSpec, fmt: ir.Format, model: InfoModel) -> float | None:
    """Expected revenue of truthful proxies (``ebay``): exact over whole-number uniform values
    (the study's draws), by quadrature over a continuous prior; None otherwise."""
    from auctionc.backends.simulate.ebay import (
        EbayRules,
        expected_truthful_revenue,
        expected_truthful_revenue_discrete,
    )

    if model.kind != "ipv" or not model.symmetric or model.value_dist is None:
        return None
    rules, d = EbayRules.of(fmt), model.value_dist
    sim = spec.simulate
    whole = sim is not None and (sim.integer_values or sim.draws == "python_random")
    if whole and sim.draws == "python_random" and isinstance(d, ir.Uniform):
        return expected_truthful_revenue_discrete(rules, int(d.low), int(d.high), model.n)
    if whole:
        return None  # numpy draws rounded: the end points are half as likely (no closed form here)
    return expected_truthful_revenue(rules, d, model.n)


def summarise(spec: ir.AuctionSpec, model: InfoModel, fmt: ir.Format, records: list[RoundRecord],
              rules: format_rules.ClockRules | None, seed: int,
              risk_aversion: float = 0.0) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    if not records:
        return {}, {}, {"lines": theory_lines(fmt, model)}
    values = np.array([r.values for r in records])
    obs_all = np.array([r.obs for r in records])
    revenue = np.array([sum(r.payments) for r in records])
    won = [r.winner for r in records]
    welfare = np.array([values[k, w] if w is not None else 0.0 for k, w in enumerate(won)])
    best = values.max(axis=1)
    efficient = np.array([w is not None and values[k, w] >= best[k] - 1e-9 for k, w in enumerate(won)])
    sold = np.array([w is not None for w in won])
    metrics: dict[str, Any] = {
        "revenue": M.mean_ci(revenue),
        "welfare": M.mean_ci(welfare),
        "efficiency": M.share_ci(efficient),
        "efficiency_when_sold": M.share_ci(efficient[sold]) if sold.any() else None,
        "welfare_ratio": round(float(welfare.sum() / best.sum()), 6) if best.sum() > 0 else None,
        "rounds": len(records),
        "sold_share": M.share_ci(sold),
    }
    tol = tolerance_for(obs_all)
    rounds_ix, ob, bids = actions(fmt, records)
    span = float(obs_all.max() - obs_all.min()) if obs_all.size else 0.0
    bench, bench_name = equilibrium_bids(fmt, model, ob, risk_aversion)
    beh: dict[str, Any] = {**M.bid_metrics(ob, bids, tol, span, bench),
                           "failed_actions": int(sum(sum(r.failed) for r in records)), "benchmark": bench_name}
    if len(bids):
        beh["share_exactly_at_value"] = M.share_ci(bids == ob)
        beh["per_round"] = M.per_round(rounds_ix, ob, bids, bench)
        if fmt.name == "ascending_clock":
            beh["dropout_distance"] = {"mean": M.headline(beh["mean_abs_deviation"]),
                                       "within_tolerance": M.headline(beh["share_at_value"])}
    if fmt.name == "ebay":
        beh["timing"] = ebay_behaviour(records)
    if model.kind == "common":
        profits = np.array([r.profits[r.winner] for r in records if r.winner is not None])
        beh.update(M.winners_curse(profits))
        beh["winners_curse_by_bidders"] = {str(spec.n_bidders): M.winners_curse(profits)}
    theory: dict[str, Any] = {"lines": theory_lines(fmt, model), "benchmark": bench_name}
    theory["bne_revenue_same_draws"] = predicted_revenue(spec, model, fmt, records, rules, seed)
    theory["bne_efficiency"] = 1.0 if model.symmetric and fmt.entry_fee == 0 and fmt.reserve == 0 else None
    if fmt.name == "ebay":
        theory["truthful_proxy_revenue"] = ebay_expected_revenue(spec, fmt, model)
    theory["naive_winner_profit"] = naive_cv_profit(fmt, model)
    theory["anchors"] = PUBLISHED.get((fmt.name if fmt.name != "vcg" else "second_price", model.kind), [])
    return metrics, beh, theory


def _fmt(x: Any, pct: bool = False) -> str:
    x = M.headline(x)
    if x is None:
        return "—"
    return f"{100 * x:.1f}%" if pct else f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def _with_ci(m: Any, pct: bool = False) -> str:
    head = _fmt(m, pct)
    ci = m.get("ci95") if isinstance(m, dict) else None
    if not ci or ci[0] is None:
        return head
    return f"{head} [{_fmt(ci[0], pct)}, {_fmt(ci[1], pct)}]"


def write_report(result: SimulationResult, spec: ir.AuctionSpec, model: InfoModel, rules: format_rules.ClockRules | None,
                 out_dir: Path, risk_aversion: float = 0.0) -> tuple[Path, Path | None, Path | None]:
    from auctionc.backends.simulate.figures import bids_figure, rounds_figure

    m, b, t = result.metrics, result.behaviour, result.theory
    fmt = spec.mechanism
    assert fmt is not None
    anchors = [a for a in t["anchors"] if len(a) > 1]
    lines = [
        f"# Simulation: {spec.name} ({fmt.name})",
        "",
        f"{result.experiments} experiment(s) x {result.rounds} rounds, {spec.n_bidders} bidders, seed {result.seed}; "
        f"agents: {', '.join(result.agents)}; information: {model.kind}. Intervals are 95% (bids treated as "
        "independent; a session-clustered interval is wider).",
        "",
        "| metric | this run [95% CI] | theory |" + "".join(f" {_cell(a['source'])} |" for a in anchors),
        "|---|---|---|" + "".join("---|" for _ in anchors),
    ]
    ratio = b.get("bid_value_ratio") or {}
    reg = b.get("regression") or {}
    dev = b.get("deviation_from_equilibrium") or {}
    rows = [
        ("bid / value (sum of bids / sum of values)", _with_ci(ratio.get("ratio_of_sums")), "—", "bid_value_ratio", False),
        ("mean bid / value (values > 0, unstable near 0)", _fmt(ratio.get("mean")), "—", "bid_value_ratio", False),
        (f"at value (±{b.get('at_value_tolerance', 1):g})", _with_ci(b.get("share_at_value"), True), "—", "share_at_value", True),
        ("over value", _with_ci(b.get("share_over"), True), "—", "share_over", True),
        ("under value", _with_ci(b.get("share_under"), True), "—", "share_under", True),
        ("mean |bid − value|", _with_ci(b.get("mean_abs_deviation")), "—", "mean_abs_deviation", False),
        ("bid = a + b·value: slope", f"{_fmt(reg.get('slope'))} [{_fmt((reg.get('slope_ci95') or [None])[0])}, "
         f"{_fmt((reg.get('slope_ci95') or [None, None])[1])}]" if reg else "—", "—", None, False),
        ("intercept", f"{_fmt(reg.get('intercept'))}" if reg else "—", "—", None, False),
        ("R² of bid on value", _fmt(reg.get("r2")) if reg else "—", "—", None, False),
        (f"bid − equilibrium bid ({t.get('benchmark', '')})", _with_ci(dev.get("mean")), "0", None, False),
        ("efficiency", _with_ci(m["efficiency"], True), _fmt(t.get("bne_efficiency"), True), "efficiency", True),
        ("mean revenue", _with_ci(m["revenue"]), _fmt(t.get("bne_revenue_same_draws")), "revenue", False),
        *([("expected revenue of truthful proxies", "—", _fmt(t.get("truthful_proxy_revenue")), None, False)]
          if t.get("truthful_proxy_revenue") is not None else []),
    ]
    if "winner_profit" in b:
        rows.append(("winner's profit", _with_ci(b["winner_profit"]), _fmt(t.get("naive_winner_profit")), None, False))
        rows.append(("P(winner loses)", _with_ci(b.get("p_winner_loses"), True), "—", None, True))
    if "timing" in b:
        rows.append(("sold", _with_ci(m["sold_share"], True), "—", None, True))
        rows.append(("raises on the final day", _with_ci(b["timing"]["share_on_final_day"], True), "—", None, True))
    for label, ours, th, key, pct in rows:
        cells = [f"| {_cell(label)} | {ours} | {th} |"]
        for a in anchors:
            cells.append(f" {_fmt(a.get(key), pct) if key else '—'} |")
        lines.append("".join(cells))
    lines += ["", "Theory:", *[f"- {x}" for x in t["lines"]]]
    if t.get("naive_winner_profit") is not None:
        lines.append(f"- (theory column for winner's profit: every bidder bids its signal: {t['naive_winner_profit']:.2f})")
    notes = [a["source"] for a in t["anchors"] if len(a) == 1]
    if notes:
        lines += ["", "Published figures (docs/published-figures.md):", *[f"- {x}" for x in notes]]
    c = result.calls
    lines += ["", f"Model calls: {c.get('model_calls', 0)}, cache hits: {c.get('cache_hits', 0)}, "
                  f"failed parses: {c.get('failed_parses', 0)}, cost: ${c.get('cost_usd', 0.0):.4f}."]
    plot = bids_figure(result, spec, model, out_dir, risk_aversion)
    curve = rounds_figure(result, spec, out_dir)
    if plot is not None:
        lines += ["", f"![bids against values]({plot.name})"]
    if curve is not None:
        lines += ["", f"![per-round means]({curve.name})"]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path, plot, curve


def _cell(text: str) -> str:
    """Text for one markdown table cell: a bare '|' (as in |bid - value|) would split it."""
    return text.replace("|", "\\|")

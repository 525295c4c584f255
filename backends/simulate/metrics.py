"""Behaviour metrics of bids against values, as Shah et al. (2025) report them and with the
uncertainty they leave out: shares at, over and under value, bid/value ratios (with a robust
form near zero), the bid-on-value regression, the deviation from the format's equilibrium
bid, winner's-curse measures, and per-round curves, each with a 95% confidence interval.

Intervals treat bids as independent draws; bids of one session are not (the same bidders
learn across rounds), so the intervals are narrower than a session-clustered one would be.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

RATIO_FLOOR = 0.1
"""Bid/value ratios are unstable for values near zero (a bid of 1 on a value of 0.3 is a
ratio of 3.3): the robust ratios leave out values below this share of the value range, or
weigh bids by value (the ratio of sums)."""


def _r(x: float | None, k: int = 6) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), k)


def mean_ci(x: np.ndarray) -> dict[str, Any]:
    """Mean with a 95% t interval."""
    x = np.asarray(x, float)
    if len(x) == 0:
        return {"value": None, "ci95": None, "samples": 0}
    m = float(x.mean())
    if len(x) < 2:
        return {"value": _r(m), "ci95": None, "samples": int(len(x))}
    from scipy import stats

    h = float(stats.t.ppf(0.975, len(x) - 1)) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return {"value": _r(m), "ci95": [_r(m - h), _r(m + h)], "samples": int(len(x))}


def share_ci(hits: np.ndarray) -> dict[str, Any]:
    """A share with its 95% Wilson interval."""
    hits = np.asarray(hits, bool)
    n = int(len(hits))
    if n == 0:
        return {"value": None, "ci95": None, "samples": 0}
    from scipy import stats

    k = int(hits.sum())
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return {"value": _r(k / n), "ci95": [_r(ci.low), _r(ci.high)], "samples": n}


def ratio_of_sums(bids: np.ndarray, values: np.ndarray) -> dict[str, Any]:
    """sum(bid) / sum(value), with a 95% interval by the delta method: a bid/value ratio
    weighted by value, so values near zero carry no weight."""
    b, v = np.asarray(bids, float), np.asarray(values, float)
    if len(v) == 0 or v.sum() <= 0:
        return {"value": None, "ci95": None, "samples": int(len(v))}
    r = b.sum() / v.sum()
    if len(v) < 2:
        return {"value": _r(r), "ci95": None, "samples": int(len(v))}
    resid = b - r * v
    se = math.sqrt(resid.var(ddof=1) / len(v)) / v.mean()
    return {"value": _r(r), "ci95": [_r(r - 1.96 * se), _r(r + 1.96 * se)], "samples": int(len(v))}


def regression(values: np.ndarray, bids: np.ndarray) -> dict[str, Any] | None:
    """bid = intercept + slope * value by least squares, with 95% t intervals and R^2."""
    x, y = np.asarray(values, float), np.asarray(bids, float)
    if len(x) < 3 or np.ptp(x) == 0:
        return None
    from scipy import stats

    fit = stats.linregress(x, y)
    t = float(stats.t.ppf(0.975, len(x) - 2))
    return {
        "slope": _r(fit.slope), "slope_ci95": [_r(fit.slope - t * fit.stderr), _r(fit.slope + t * fit.stderr)],
        "intercept": _r(fit.intercept),
        "intercept_ci95": [_r(fit.intercept - t * fit.intercept_stderr), _r(fit.intercept + t * fit.intercept_stderr)],
        "r2": _r(fit.rvalue**2), "samples": int(len(x)),
    }


def bid_metrics(values: np.ndarray, bids: np.ndarray, tolerance: float, value_span: float,
                benchmark: np.ndarray | None = None) -> dict[str, Any]:
    """Every per-bid metric of (value, bid) pairs; ``benchmark``: the equilibrium bid of each
    pair's value (NaN where none), for the deviation from it."""
    v, b = np.asarray(values, float), np.asarray(bids, float)
    out: dict[str, Any] = {"actions": int(len(b)), "at_value_tolerance": tolerance}
    if len(b) == 0:
        return out
    dev = b - v
    pos = v > 0
    ratio = b[pos] / v[pos]
    floor = RATIO_FLOOR * value_span
    above = v >= max(floor, 1e-12)
    out["bid_value_ratio"] = {
        "mean": _r(float(ratio.mean())) if len(ratio) else None,
        "median": _r(float(np.median(ratio))) if len(ratio) else None,
        "ratio_of_sums": ratio_of_sums(b, v),
        "mean_above_floor": {**mean_ci(b[above] / v[above]), "floor": _r(floor)},
    }
    out["share_at_value"] = share_ci(np.abs(dev) <= tolerance)
    out["share_over"] = share_ci(dev > tolerance)
    out["share_under"] = share_ci(dev < -tolerance)
    out["mean_abs_deviation"] = mean_ci(np.abs(dev))
    reg = regression(v, b)
    if reg is not None:
        out["regression"] = reg
    if benchmark is not None:
        bm = np.asarray(benchmark, float)
        ok = np.isfinite(bm)
        if ok.any():
            d = b[ok] - bm[ok]
            out["deviation_from_equilibrium"] = {
                "mean": mean_ci(d), "mean_abs": mean_ci(np.abs(d)), "share_within_tolerance": share_ci(np.abs(d) <= tolerance),
            }
    return out


def per_round(rounds: np.ndarray, values: np.ndarray, bids: np.ndarray,
              benchmark: np.ndarray | None = None) -> list[dict[str, Any]]:
    """For each round index: bids, the ratio of sums with its interval, and the mean deviation
    from the equilibrium bid (learning curves)."""
    rounds = np.asarray(rounds, int)
    out = []
    for k in sorted(set(rounds.tolist())):
        m = rounds == k
        row: dict[str, Any] = {"round": k, "bids": int(m.sum()), "ratio_of_sums": ratio_of_sums(bids[m], values[m]),
                               "mean_bid_minus_value": mean_ci(bids[m] - values[m])}
        if benchmark is not None:
            bm = np.asarray(benchmark, float)[m]
            ok = np.isfinite(bm)
            row["mean_deviation_from_equilibrium"] = mean_ci(bids[m][ok] - bm[ok]) if ok.any() else None
        out.append(row)
    return out


def winners_curse(winner_profits: np.ndarray) -> dict[str, Any]:
    """The winner's profit (against the true common value) and the share of winners who lose."""
    p = np.asarray(winner_profits, float)
    return {"winner_profit": mean_ci(p), "p_winner_loses": share_ci(p < 0)}


def headline(m: Any) -> float | None:
    """The point value of a metric that may carry an interval."""
    if isinstance(m, dict):
        if "value" in m:
            return m["value"]
        if "mean" in m:
            return headline(m["mean"])
        return None
    return m

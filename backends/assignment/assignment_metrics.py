"""The figures of an assignment run, per instance and over instances.

For an allocation A and the full-information benchmark F (both scored with true values):

- efficiency: mean utility under A / mean utility under F (the average utility as a share
  of the benchmark's);
- minimum utility share: min utility under A / min utility under F.  F maximises the sum of
  utilities, not the worst-off student's, so this share can exceed 1;
- gain over the interface: mean (min) utility under A / mean (min) utility under Course Match
  on the interface reports, minus 1 (the papers' "improvement over Course Match").

Over instances each figure is the mean with a 95% Student-t interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from .experiment import InstanceResult


def mean_ci(values: list[float]) -> dict[str, Any]:
    arr = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    if len(arr) == 0:
        return {"value": None, "samples": 0}
    out: dict[str, Any] = {"value": float(arr.mean()), "samples": int(len(arr))}
    if len(arr) > 1:
        half = float(stats.t.ppf(0.975, len(arr) - 1) * arr.std(ddof=1) / np.sqrt(len(arr)))
        out["ci95"] = [out["value"] - half, out["value"] + half]
    return out


def _share(u: np.ndarray, ref: np.ndarray, how: str) -> float:
    if how == "mean":
        return float(u.mean() / ref.mean())
    return float(u.min() / ref.min()) if ref.min() > 0 else float("nan")


def final_label(result: InstanceResult) -> str:
    """The allocation the spec's mechanism ends with: on the elicited models after every query,
    else on the interface reports, else the benchmark itself."""
    elicited = sorted((int(k.split("_")[1]), k) for k in result.utilities if k.startswith("elicited_"))
    if elicited:
        return elicited[-1][1]
    return "interface" if "interface" in result.utilities else "full_information"


def summarize(results: list[InstanceResult], n_students: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(headline metrics, efficiency curve over queries per student)."""
    metrics: dict[str, Any] = {}
    finals = [final_label(r) for r in results]

    def over(fn) -> dict[str, Any]:
        return mean_ci([fn(r, f) for r, f in zip(results, finals, strict=True)])

    fi = "full_information"
    metrics["efficiency"] = over(lambda r, f: _share(r.utilities[f], r.utilities[fi], "mean"))
    metrics["min_utility_share"] = over(lambda r, f: _share(r.utilities[f], r.utilities[fi], "min"))
    if "interface" in results[0].utilities:
        metrics["interface_efficiency"] = over(lambda r, f: _share(r.utilities["interface"], r.utilities[fi], "mean"))
        metrics["interface_min_utility_share"] = over(
            lambda r, f: _share(r.utilities["interface"], r.utilities[fi], "min"))
    if finals[0].startswith("elicited_"):
        metrics["gain_over_interface"] = over(lambda r, f: _share(r.utilities[f], r.utilities["interface"], "mean") - 1)
        metrics["min_gain_over_interface"] = over(
            lambda r, f: _share(r.utilities[f], r.utilities["interface"], "min") - 1)
    if results[0].proxy:
        metrics["proxy_consistency"] = over(lambda r, f: r.proxy.get("consistency"))
        metrics["proxy_agreement"] = over(lambda r, f: r.proxy.get("agreement"))
        metrics["proxy_answered_share"] = over(lambda r, f: r.proxy["answered"] / r.proxy["answers"]
                                               if r.proxy.get("answers") else None)
        metrics["proxy_shown_first_share"] = over(lambda r, f: r.proxy.get("shown_first_share"))
        if results[0].proxy.get("confidence") is not None:
            metrics["proxy_confidence"] = over(lambda r, f: r.proxy.get("confidence"))
        for key, name in (("calls", "calls_per_student"), ("cache_hits", "cache_hits_per_student"),
                          ("tokens", "tokens_per_student"),
                          ("cost_usd", "cost_per_student_usd"), ("seconds", "proxy_seconds_per_student")):
            metrics[name] = over(lambda r, f, key=key: r.proxy.get(key, 0.0) / n_students)
    if finals[0] != fi:
        metrics["clearing_error"] = over(lambda r, f: r.search_errors.get(f))
        metrics["clearing_error_bound"] = results[0].error_bound
    metrics["benchmark_proven"] = float(np.mean([bool(r.benchmark.get("proven")) for r in results]))
    metrics["seconds_per_instance"] = over(lambda r, f: sum(r.timings.values()))

    curve = []
    ks = sorted({int(k.split("_")[1]) for r in results for k in r.utilities if k.startswith("elicited_")})
    for k in ks:
        label = f"elicited_{k}"
        rs = [r for r in results if label in r.utilities]
        curve.append({
            "queries": k,
            "efficiency": mean_ci([_share(r.utilities[label], r.utilities[fi], "mean") for r in rs]),
            "min_utility_share": mean_ci([_share(r.utilities[label], r.utilities[fi], "min") for r in rs]),
            "gain_over_interface": mean_ci([_share(r.utilities[label], r.utilities["interface"], "mean") - 1
                                            for r in rs]),
        })
    return metrics, curve

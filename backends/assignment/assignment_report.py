"""The report of an assignment run: ``report.md`` and the plot of efficiency against queries
per student (``efficiency_vs_queries.png``; matplotlib with the Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .experiment import InstanceResult

LABELS = {
    "efficiency": "mean utility / full information",
    "min_utility_share": "min utility / full information's min",
    "interface_efficiency": "Course Match on interface reports: mean utility / full information",
    "interface_min_utility_share": "Course Match on interface reports: min / full information's min",
    "gain_over_interface": "mean utility gain over interface reports",
    "min_gain_over_interface": "min utility gain over interface reports",
    "proxy_consistency": "proxy answers that agree with true preferences",
    "proxy_agreement": "agreement among a query's votes",
    "proxy_answered_share": "queries with a readable vote",
    "proxy_shown_first_share": "votes for the schedule shown first (position bias: 0.5 is none)",
    "proxy_confidence": "confidence the votes stated",
    "calls_per_student": "model calls per student",
    "cache_hits_per_student": "cached replies per student (no model call)",
    "tokens_per_student": "tokens per student",
    "cost_per_student_usd": "cost per student (USD)",
    "proxy_seconds_per_student": "proxy seconds per student",
    "clearing_error": "clearing error of the price search",
    "clearing_error_bound": "clearing-error bound sqrt(min(2k, M) M) / 2",
    "benchmark_proven": "share of instances whose benchmark is proven optimal",
    "seconds_per_instance": "seconds per instance",
}


def _fmt(x: Any) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _cell(m: Any) -> str:
    if isinstance(m, dict):
        text = _fmt(m.get("value"))
        if m.get("ci95"):
            text += f" [{_fmt(m['ci95'][0])}, {_fmt(m['ci95'][1])}]"
        return text
    return _fmt(m)


def plot_curve(curve: list[dict[str, Any]], interface: dict[str, Any] | None, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ks = [c["queries"] for c in curve]
    ys = [c["efficiency"]["value"] for c in curve]
    lo = [c["efficiency"].get("ci95", [y, y])[0] for c, y in zip(curve, ys, strict=True)]
    hi = [c["efficiency"].get("ci95", [y, y])[1] for c, y in zip(curve, ys, strict=True)]
    ax.plot(ks, ys, marker="o", label="Course Match on elicited models")
    ax.fill_between(ks, lo, hi, alpha=0.2)
    if interface and interface.get("value") is not None:
        ax.axhline(interface["value"], color="tab:red", linestyle="--", label="Course Match on interface reports")
    ax.axhline(1.0, color="grey", linestyle=":", label="full information")
    ax.set_xlabel("comparison queries per student")
    ax.set_ylabel("mean utility / full information")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(out_dir: Path, spec: Any, metrics: dict[str, Any], curve: list[dict[str, Any]],
                 results: list[InstanceResult], run: dict[str, Any]) -> tuple[Path, Path | None]:
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"# Assignment `{spec.name}`", ""]
    st = spec.students
    lines += [
        f"{st.count} students (demand {st.demand}), {len(spec.courses.names)} courses, mechanism "
        f"`{spec.mechanism.name}`, proxy `{st.proxy.kind if st.proxy else 'none'}`, "
        f"{spec.simulate.queries} queries per student, {len(results)} instance(s) from seed {run['seed']}.",
        "",
        "## Results",
        "",
        "| figure | value [95% CI] |",
        "|---|---|",
    ]
    lines += [f"| {LABELS.get(k, k)} | {_cell(v)} |" for k, v in metrics.items()]
    lines.append("")
    plot = None
    if curve:
        lines += ["## Efficiency against queries per student", "",
                  "| queries | efficiency | min utility share | gain over interface |", "|---|---|---|---|"]
        lines += [f"| {c['queries']} | {_cell(c['efficiency'])} | {_cell(c['min_utility_share'])} | "
                  f"{_cell(c['gain_over_interface'])} |" for c in curve]
        lines.append("")
        if len(curve) > 1:
            plot = plot_curve(curve, metrics.get("interface_efficiency"), out_dir / "efficiency_vs_queries.png")
            lines += [f"![efficiency against queries]({plot.name})", ""]
    lines += ["## Instances", "", "| seed | schedules | allocation | welfare | min utility | clearing error |",
              "|---|---|---|---|---|---|"]
    for r in results:
        for label, u in r.utilities.items():
            err = r.search_errors.get(label)
            lines.append(f"| {r.seed} | {r.schedules} | {label} | {u.sum():.1f} | {u.min():.1f} | {_fmt(err)} |")
    lines += ["", "## Run", "", "```json"]
    import json

    lines += [json.dumps(run, indent=1, default=str), "```", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path, plot

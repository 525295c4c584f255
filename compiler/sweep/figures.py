"""The figures a sweep writes: revenue against the swept parameter, one line per backend
(median over seeds, bars from the lowest to the highest seed), with the published figures
and closed forms of the settings it crosses drawn in (``anchors``).  matplotlib, Agg."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

from .anchors import anchors_for
from .grid import Grid

FIGURES = "figures"


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _numeric(values: list[str]) -> bool:
    try:
        [float(v) for v in values]
    except ValueError:
        return False
    return True


def x_param(grid: Grid, wanted: str | None) -> str | None:
    """The parameter on the x axis: ``wanted``, else the first swept parameter whose values
    are numbers (None: the backends are the x axis)."""
    if wanted:
        return wanted
    return next((k for k in grid.swept if _numeric(grid.sets[k])), None)


def _stats(rows: list[dict[str, Any]]) -> tuple[float, float, float] | None:
    import statistics

    revs = [float(r["revenue"]) for r in rows if r.get("status") == "ok" and r.get("revenue") is not None]
    if not revs:
        return None
    return statistics.median(revs), min(revs), max(revs)


def write_figures(directory: Path, rows: list[dict[str, Any]], grid: Grid, wanted_x: str | None = None) -> list[Path]:
    """Write the figures under ``directory/figures``; returns their paths."""
    if not any(r.get("status") == "ok" and r.get("revenue") is not None for r in rows):
        return []
    out_dir = Path(directory) / FIGURES
    out_dir.mkdir(parents=True, exist_ok=True)
    x = x_param(grid, wanted_x)
    others = [k for k in grid.swept if k != x]
    paths = []
    for combo in itertools.product(*(grid.sets[k] for k in others)) if others else [()]:
        fixed = dict(zip(others, combo))
        subset = [r for r in rows if all(json.loads(r.get("params") or "{}").get(k) == v for k, v in fixed.items())]
        suffix = "".join(f"__{k}={v}" for k, v in fixed.items())
        name = f"revenue_vs_{x or 'backend'}{suffix}"
        path = out_dir / (re.sub(r"[^A-Za-z0-9_.=-]+", "_", name) + ".png")
        if x is None:
            _by_backend(subset, grid, fixed, path)
        else:
            _against(subset, grid, x, fixed, path)
        paths.append(path)
    return paths


def _title(grid: Grid, rows: list[dict[str, Any]], fixed: dict[str, str]) -> str:
    spec = next((r["spec"] for r in rows if r.get("spec")), Path(grid.spec_file).stem)
    const = {k: v[0] for k, v in grid.sets.items() if len(v) == 1}
    shown = {**const, **fixed}
    tail = ", ".join(f"{k}={v}" for k, v in shown.items())
    return f"{spec}" + (f" ({tail})" if tail else "")


def _against(rows: list[dict[str, Any]], grid: Grid, x: str, fixed: dict[str, str], path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 5), constrained_layout=True)
    xs = grid.sets[x]
    pos = {v: float(v) if _numeric(xs) else i for i, v in enumerate(xs)}
    for entry in grid.entries:
        pts = []
        for v in xs:
            st = _stats([r for r in rows if r.get("backend") == entry.label
                         and json.loads(r.get("params") or "{}").get(x) == v])
            if st is not None:
                pts.append((pos[v], *st))
        if not pts:
            continue
        px, med, lo, hi = zip(*pts)
        ax.errorbar(px, med, yerr=[[m - a for m, a in zip(med, lo)], [b - m for m, b in zip(med, hi)]],
                    marker="o", capsize=3, linewidth=1.8, label=entry.label)
    _draw_anchors(ax, rows, x, xs, pos)
    ax.set_xlabel(x)
    if not _numeric(xs):
        ax.set_xticks(list(pos.values()), xs)
    elif all(float(v).is_integer() for v in xs):
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # bidder counts: no 2.5 bidders
    ax.set_ylabel("revenue (median over seeds; bars: min to max)")
    ax.set_title(f"Revenue against {x}: {_title(grid, rows, fixed)}")
    ax.grid(alpha=0.3)
    _legend(ax, grid)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _legend(ax: Any, grid: Grid) -> None:
    """The sweep's own lines first, then the anchors, beside the plot."""
    handles, labels = ax.get_legend_handles_labels()
    own = {e.label for e in grid.entries}
    order = sorted(range(len(labels)), key=lambda i: (labels[i] not in own, i))
    ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="upper left",
              bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _settings_at(rows: list[dict[str, Any]], x: str, v: str) -> str | None:
    for r in rows:
        if json.loads(r.get("params") or "{}").get(x) == v and r.get("setting"):
            return r["setting"]
    return None


def _draw_anchors(ax: Any, rows: list[dict[str, Any]], x: str, xs: list[str], pos: dict[str, float]) -> None:
    """Closed forms as dashed lines through the x values whose setting they describe;
    published figures as open markers (dotted when several x values share them)."""
    series: dict[str, tuple[bool, list[tuple[float, float]]]] = {}
    for v in xs:
        for label, value, _source, closed in anchors_for(_settings_at(rows, x, v)):
            series.setdefault(label, (closed, []))[1].append((pos[v], value))
    grey = iter(["0.35", "0.55", "0.2", "0.45", "0.65", "0.3", "0.5"])
    for label, (closed, pts) in series.items():
        px, py = zip(*pts)
        if closed:
            ax.plot(px, py, linestyle="--", color=next(grey, "0.4"), linewidth=1.2, label=label)
        else:
            ax.plot(px, py, linestyle=":" if len(pts) > 1 else "none", marker="D", markersize=6,
                    markerfacecolor="none", label=f"published: {label}")


def _by_backend(rows: list[dict[str, Any]], grid: Grid, fixed: dict[str, str], path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 5), constrained_layout=True)
    labels = [e.label for e in grid.entries]
    for i, label in enumerate(labels):
        st = _stats([r for r in rows if r.get("backend") == label])
        if st is not None:
            med, lo, hi = st
            ax.errorbar([i], [med], yerr=[[med - lo], [hi - med]], marker="o", capsize=4, linestyle="none",
                        label=label)
    setting = next((r["setting"] for r in rows if r.get("setting")), None)
    for label, value, _source, closed in anchors_for(setting):
        ax.axhline(value, linestyle="--" if closed else ":", linewidth=1.0, color="0.4" if closed else None,
                   label=label if closed else f"published: {label}")
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
    ax.set_ylabel("revenue (median over seeds; bars: min to max)")
    ax.set_title(f"Revenue by backend: {_title(grid, rows, fixed)}")
    ax.grid(alpha=0.3, axis="y")
    _legend(ax, grid)
    fig.savefig(path, dpi=120)
    plt.close(fig)

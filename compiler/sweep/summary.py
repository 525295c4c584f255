"""The comparison table a sweep ends with: one line per parameter assignment and backend,
the median over seeds with its spread (min and max), the certificates, and the failures."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from .grid import Grid


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def summarize(rows: list[dict[str, Any]], grid: Grid) -> list[dict[str, Any]]:
    """One record per (parameters, backend) of the grid, in grid order."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    order: list[tuple[str, str]] = []
    for c in grid.cells:
        k = (json.dumps(c.param_dict, sort_keys=True), c.entry.label)
        if k not in groups:
            groups[k] = []
            order.append(k)
    for r in rows:
        k = (r.get("params") or "{}", r.get("backend") or "")
        if k in groups:
            groups[k].append(r)
    out = []
    for k in order:
        rs = groups[k]
        ok = [r for r in rs if r.get("status") == "ok"]
        rev = [float(r["revenue"]) for r in ok if r.get("revenue") is not None]
        wel = [float(r["welfare"]) for r in ok if r.get("welfare") is not None]
        regrets = [float(r["max_regret"]) for r in ok if r.get("max_regret") is not None]
        kinds = sorted({r["certificate_kind"] for r in ok if r.get("certificate_kind")})
        failed = [r for r in rs if r.get("status") != "ok"]
        calls = [int(r["model_calls"]) for r in ok if r.get("model_calls") is not None]
        cost = [float(r["cost_usd"]) for r in ok if r.get("cost_usd") is not None]
        out.append({
            "params": json.loads(k[0]),
            "backend": k[1],
            "cells": sum(1 for c in grid.cells if (json.dumps(c.param_dict, sort_keys=True), c.entry.label) == k),
            "ok": len(ok),
            "failed": len(failed),
            "revenue": _median(rev),
            "revenue_min": min(rev) if rev else None,
            "revenue_max": max(rev) if rev else None,
            "welfare": _median(wel),
            "certificate": ", ".join(kinds) or None,
            "certified": sum(1 for r in ok if r.get("certificate_ok")),
            "max_regret": max(regrets) if regrets else None,
            "seconds": _median([float(r["seconds"]) for r in rs if r.get("seconds") is not None]),
            "model_calls": sum(calls) if calls else None,
            "cost_usd": sum(cost) if cost else None,
            "diagnostic": next((r.get("diagnostic") or r.get("diagnostic_code") for r in failed), None),
        })
    return out


def _f(x: Any, digits: int = 4) -> str:
    return "—" if x is None else f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def _spread(s: dict[str, Any]) -> str:
    if s["revenue"] is None:
        return "—"
    if s["ok"] > 1:
        return f"{s['revenue']:.4f} [{s['revenue_min']:.4f}, {s['revenue_max']:.4f}]"
    return f"{s['revenue']:.4f}"


def rows_text(summary: list[dict[str, Any]], grid: Grid) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the comparison table (shared by the terminal and markdown)."""
    params = [k for k in grid.sets]
    head = [*params, "backend", "ok/cells", "revenue median [min, max]", "welfare", "certificate",
            "certified", "max regret", "s/cell"]
    simulate = any(s["model_calls"] is not None for s in summary)
    if simulate:
        head += ["model calls", "USD"]
    head.append("failure")
    body = []
    for s in summary:
        line = [str(s["params"].get(p, "")) for p in params]
        line += [s["backend"], f"{s['ok']}/{s['cells']}", _spread(s), _f(s["welfare"]), s["certificate"] or "—",
                 f"{s['certified']}/{s['ok']}" if s["ok"] else "—",
                 "—" if s["max_regret"] is None else f"{s['max_regret']:.2g}", _f(s["seconds"], 1)]
        if simulate:
            line += [_f(s["model_calls"]), _f(s["cost_usd"])]
        diag = (s["diagnostic"] or "").split(" (help:")[0]
        line.append(diag if len(diag) <= 60 else diag[:57] + "...")
        body.append(line)
    return head, body


def render(summary: list[dict[str, Any]], grid: Grid) -> Any:
    """A rich table for the terminal."""
    from rich.table import Table

    head, body = rows_text(summary, grid)
    table = Table(title=f"sweep of {grid.spec_file}: medians over {len(grid.seeds)} seed(s)")
    for h in head:
        table.add_column(h, overflow="fold", no_wrap=h != "failure", min_width=24 if h == "failure" else None)
    for line in body:
        table.add_row(*line)
    return table


def markdown(summary: list[dict[str, Any]], grid: Grid) -> str:
    head, body = rows_text(summary, grid)
    esc = [[c.replace("|", "\\|") for c in line] for line in body]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(line) + " |" for line in esc]
    return "\n".join(out) + "\n"


def write_summary(directory: Path, summary: list[dict[str, Any]], grid: Grid) -> Path:
    path = Path(directory) / "summary.md"
    text = (f"Sweep of `{grid.spec_file}`: medians over {len(grid.seeds)} seed(s), spread as [min, max].\n\n"
            + markdown(summary, grid))
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path

"""Reports beside an artifact: ``report.md``, ``report.html`` and plots (PNG).

``write_report`` lists the spec (its source text when ``spec.source`` names a
readable file, else the IR), the plan and why, the mechanism (menus as
deduplicated (allocation, price) rows sorted by price; experiments as matrices;
formats with their rules), the certificate, revenue and welfare, the allocation
regions of one-bidder two-item mechanisms and the regret histogram.
``summary_table`` renders a result dictionary (``CompileOutput.to_json()``) as a
rich table for the terminal.  Matplotlib runs with the Agg backend and is
imported only when a plot is drawn.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

MAX_ROWS = 60
"""Longest listing (menu elements, table rows) written into a report."""


# --------------------------------------------------------------------------- sections


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.{digits}g}" if abs(float(x)) < 1e4 else f"{float(x):.6g}"
    if isinstance(x, (list, tuple, np.ndarray)):
        return "(" + ", ".join(_fmt(v, digits) for v in np.asarray(x).ravel()) + ")"
    return str(x)


def _table(header: list[str], rows: Iterable[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(c) for c in r) + " |")
    return "\n".join(lines)


def _spec_section(spec: Any) -> tuple[str, str]:
    """The spec as the front end read it, or its IR.  The text comes from the front end
    (``_source_text``), never from the file ``source`` names: an artifact's spec.json may
    set ``source`` to any path, and the report would carry that file to whoever reads it."""
    text = getattr(spec, "_source_text", None)
    if text:
        src = getattr(spec, "source", None) or spec.name
        return "Spec", f"Source: `{src}`\n\n```\n{text}\n```"
    body = json.dumps(spec.model_dump(mode="json"), indent=1)
    return "Spec", f"Spec `{spec.name}` (IR, hash `{spec.spec_hash()}`):\n\n```json\n{body}\n```"


def _plan_section(plan: dict[str, Any] | None) -> tuple[str, str] | None:
    if not plan:
        return None
    lines = [f"Chosen backend: **{plan.get('chosen')}**"]
    if plan.get("why"):
        lines.append(f"\nWhy: {plan['why']}")
    refused = plan.get("refused") or []
    if refused:
        lines.append("\nRefused:\n")
        lines.append(_table(["backend", "reason"], [[r.get("backend"), r.get("reason")] for r in refused]))
    return "Plan", "\n".join(lines)


def _items_label(mech: Any, spec: Any) -> list[str]:
    items = list(getattr(spec, "items", []) or [])
    if getattr(mech, "outcome_space", "items") == "bundles" and items:
        from .valuation import MAX_BUNDLE_ITEMS, bundle_label

        if len(items) > MAX_BUNDLE_ITEMS:  # 2**m columns cannot be listed (CATS menus list themselves)
            return []
        return [bundle_label(k, tuple(items)) for k in range(2 ** len(items))]
    return items


def mechanism_section(mech: Any, spec: Any) -> tuple[str, str]:
    """The mechanism, listed by what its artifact exposes."""
    out = [f"Kind `{mech.kind}`: {_describe(mech)}"]
    if hasattr(mech, "experiments_table"):
        for k, g in enumerate(mech.experiments_table()):
            out.append(f"\n**Experiment {k + 1}** at price {_fmt(g['price'])} "
                       f"(types {_fmt(g['type_range'])}, probability {_fmt(g['probability'])}"
                       f"{'' if g['informative'] else ', uninformative'}):\n")
            rows = [[s, *row] for s, row in zip(g["states"], g["state_by_signal"], strict=True)]
            out.append(_table(["state \\ signal", *g["signals"]], rows))
    elif hasattr(mech, "deduplicated"):
        labels = _items_label(mech, spec)
        elems = mech.deduplicated()
        cols = labels if labels and len(labels) == len(elems[0][0]) else [f"x{j}" for j in range(len(elems[0][0]))]
        rows = [[*a, p] for a, p in elems[:MAX_ROWS]]
        out.append(f"\n{len(elems)} distinct elements (allocation probabilities and price), by price:\n")
        out.append(_table([*cols, "price"], rows))
        if len(elems) > MAX_ROWS:
            out.append(f"\n... {len(elems) - MAX_ROWS} more")
    elif mech.kind == "table" and getattr(mech, "n_bidders", 0) == 1:
        labels = _items_label(mech, spec)
        V, probs = mech.type_values[0], mech.type_probs[0]
        cols = labels if labels and len(labels) == V.shape[1] else [f"x{j}" for j in range(V.shape[1])]
        rows = [[_fmt(V[t]), prob, *mech.alloc[t, 0], mech.pay[t, 0]] for t, prob in enumerate(probs[:MAX_ROWS])]
        out.append("\n" + _table(["type", "prob", *cols, "price"], rows))
    elif hasattr(mech, "notes"):
        out.extend(f"- {n}" for n in mech.notes)
    return "Mechanism", "\n".join(out)


def _describe(mech: Any) -> str:
    try:
        return str(mech.describe())
    except Exception:  # a broken describe() must not stop the report
        return mech.kind


def certificate_section(cert: Any) -> tuple[str, str]:
    lines = [f"**{cert.kind}**: {'passes' if cert.ok else 'FAILS'} at tolerance {_fmt(cert.tolerance)}, "
             f"on {cert.scope}\n"]
    rows = [
        ["max regret", cert.max_regret],
        ["mean regret", cert.mean_regret],
        ["regret 95% upper bound", cert.regret_ci_upper],
        ["max IR violation", cert.max_ir_violation],
        ["max obedience violation", cert.max_obedience_violation],
        ["feasibility violation", cert.feasibility_violation],
        ["misreport samples", cert.samples],
        ["misreport steps", cert.steps],
        ["restarts", cert.restarts],
        ["search", cert.search],
        ["seconds", cert.seconds],
    ]
    if cert.interim:
        rows.append(["interim regret (mean, 95% upper)", f"{_fmt(cert.interim['mean'])}, {_fmt(cert.interim['ci95_upper'])}"])
    lines.append(_table(["", "value"], rows))
    lines.append("\nChecks:\n")
    lines.append(_table(["check", "result", "what was found"],
                        [[c.name, "ok" if c.ok else f"FAILED ({c.code})", c.detail] for c in cert.checks]))
    if cert.per_bidder:
        lines.append("\nPer bidder:\n")
        lines.append(_table(["bidder", "mean regret", "max regret", "max IR violation", "expected utility"],
                            [[b.get("bidder"), b.get("mean_regret"), b.get("max_regret"), b.get("max_ir_violation"),
                              b.get("expected_utility", b.get("mean_utility"))] for b in cert.per_bidder]))
    if cert.worst:
        w = cert.worst
        lines.append(f"\nWorst deviation found: bidder {w.get('bidder')} with values {_fmt(w.get('values'))} "
                     f"gains {_fmt(w.get('regret'))} by reporting {_fmt(w.get('misreport'))}"
                     + (f" (others: {', '.join(f'{k}={_fmt(v)}' for k, v in w['others'].items())})" if w.get("others") else ""))
    disc = cert.details.get("discretised")
    if disc:
        lines.append(f"\nOn the spec's prior discretised on the backend's {disc['grid']}-cell grid (exact, computed by "
                     f"the verifier from the spec): revenue {_fmt(disc['revenue'], 10)}, welfare {_fmt(disc['welfare'], 10)}, "
                     f"max regret {_fmt(disc['max_regret'])}, max IR violation {_fmt(disc['max_ir_violation'])}.")
    comp = cert.details.get("claim_comparison")
    if comp and comp.get("figures"):
        lines.append(f"\nThe backend's claim ({comp.get('backend_kind')}) beside the verifier's figures on {comp['scope']}:\n")
        lines.append(_table(["figure", "backend's claim", "verifier"],
                            [[k, _fmt(v["backend"], 12), _fmt(v["verifier"], 12)] for k, v in comp["figures"].items()]))
    if cert.notes:
        lines.append("\nNotes:\n")
        lines.extend(f"- {c}" for c in cert.notes)
    return "Certificate", "\n".join(lines)


INCENTIVE_CHECKS = frozenset({"IC", "IR", "obedience"})
"""The checks a grid solve of a continuous prior can fail by construction (rounding a report
to the nearest grid type), unlike the validity, structure and claim checks."""


def grid_cause(cert: dict[str, Any]) -> list[str]:
    """Why a certificate fails, when the failure is a known consequence of the method: the
    backend solved the spec's continuous prior on a grid (``details.discretised``, written by
    the verifier), the mechanism holds exactly on that grid, and only incentive checks fail on
    the continuum.  Empty otherwise."""
    disc = (cert.get("details") or {}).get("discretised")
    failed = set(cert.get("failed_checks") or [])
    if not isinstance(disc, dict) or not failed or not failed <= INCENTIVE_CHECKS:
        return []
    tol = cert.get("tolerance") or 0.0
    worst = [disc.get(k) for k in ("max_regret", "max_ir_violation", "max_obedience_violation")]
    if any(w is not None and w > tol for w in worst):
        return []  # not exact on its own grid either: no excuse from the method
    grid = disc.get("grid")
    return [
        f"why: a known consequence of the method: the backend solved the spec's continuous prior on a "
        f"{grid}-cell grid, where the mechanism holds exactly (max regret {_fmt(disc.get('max_regret'))}, "
        f"revenue {_fmt(disc.get('revenue'), 6)}); a report between grid points is rounded to a grid type, "
        "which a bidder can exploit by about a cell's width",
        f"to shrink it: compile with a finer grid, e.g. -o grid={2 * int(grid or 1)} (option `grid`; the program "
        "grows with the grid)",
    ]


def verdict_lines(cert: dict[str, Any] | None) -> list[str]:
    """The certificate's verdict in plain lines, from its JSON form (``Certificate.to_json()``,
    or ``certificate`` of a stored result): ``PASS: ...``, or ``FAIL: ...`` followed by one line
    per failed check (its name, code and what was found) and, when the failure is a known
    consequence of the method, why and the option that shrinks it.  Empty without a
    certificate.  The terminal, the reports and the gallery all show these lines."""
    if not cert:
        return []
    kind, tol = cert.get("kind"), _fmt(cert.get("tolerance"))
    scope = f", on {cert['scope']}" if cert.get("scope") else ""
    if cert.get("ok"):
        return [f"PASS: certificate {kind} holds at tolerance {tol}{scope}"]
    lines = [f"FAIL: certificate {kind} does not hold at tolerance {tol}{scope}"]
    # Results stored before checks were records list them as sentences: nothing to name.
    by_name = {c.get("name"): c for c in cert.get("checks") or [] if isinstance(c, dict)}
    for name in cert.get("failed_checks") or []:
        c = by_name.get(name, {})
        lines.append(f"  check {name} failed [{c.get('code', '?')}]: {c.get('detail', '')}".rstrip())
    lines.extend(f"  {line}" for line in grid_cause(cert))
    return lines


def metrics_section(cert: Any) -> tuple[str, str]:
    rows = []
    for name, m in cert.metrics.items():
        ci = m.get("ci95")
        if m.get("exact"):
            rows.append([name, _fmt(m.get("value"), 10), "exact (no interval)", f"{m.get('profiles')} profiles enumerated"])
        else:
            rows.append([name, m.get("value"), f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else "n/a", m.get("samples")])
    return "Revenue and welfare", _table(["metric", "value", "95% CI", "samples"], rows)


# --------------------------------------------------------------------------- plots


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_allocation_regions(mech: Any, spec: Any, path: Path, resolution: int = 160) -> Path | None:
    """Allocation of each item (and the payment) over the value square of a one-bidder
    two-item mechanism; None for other settings."""
    if getattr(spec, "kind", "") != "auction" or spec.n_bidders != 1 or spec.n_items != 2:
        return None
    if getattr(mech, "outcome_space", "items") != "items":
        return None
    from .valuation import value_bounds

    b = value_bounds(spec)[0]
    xs = np.linspace(b[0, 0], b[0, 1], resolution)
    ys = np.linspace(b[1, 0], b[1, 1], resolution)
    X, Y = np.meshgrid(xs, ys)
    bids = np.stack([X.ravel(), Y.ravel()], axis=1)[:, None, :]
    alloc, pay = mech.allocate_and_pay(bids)
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    ext = (xs[0], xs[-1], ys[0], ys[-1])
    for k, (ax, data, title) in enumerate(zip(axes, [alloc[:, 0, 0], alloc[:, 0, 1], pay[:, 0]],
                                                [f"P(get {spec.items[0]})", f"P(get {spec.items[1]})", "payment"],
                                                strict=True)):
        im = ax.imshow(data.reshape(X.shape), origin="lower", extent=ext, aspect="auto",
                       vmin=0 if k < 2 else None, vmax=1 if k < 2 else None, cmap="viridis")
        ax.set_title(title)
        ax.set_xlabel(f"value of {spec.items[0]}")
        ax.set_ylabel(f"value of {spec.items[1]}")
        fig.colorbar(im, ax=ax)
    fig.suptitle(f"{spec.name}: allocation regions")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_regret_histogram(cert: Any, path: Path) -> Path | None:
    if cert is None or cert.regrets is None:
        return None
    r = np.asarray(cert.regrets)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.hist(r.ravel(), bins=50, color="#4c72b0")
    ax.set_yscale("log")
    ax.set_xlabel("ex-post regret per bidder and sample" if cert.kind != "exact_by_enumeration" else "regret")
    ax.set_ylabel("count")
    ax.set_title(f"regret: mean {cert.mean_regret:.3g}, max {cert.max_regret:.3g} ({cert.kind})")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_training_curves(history: dict[str, list[float]], path: Path, title: str = "") -> Path | None:
    """One panel per recorded series against the step (a learned backend's ``history``);
    temperatures, penalties and sharpness on a log scale."""
    if not history or not history.get("step"):
        return None
    steps = history["step"]
    keys = [k for k, v in history.items() if k != "step" and len(v) == len(steps) and any(x for x in v)]
    if not keys:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), constrained_layout=True)
    for ax, key in zip(np.atleast_1d(axes), keys, strict=True):
        ax.plot(steps, history[key], lw=1)
        ax.set_xlabel("step")
        ax.set_title(key.replace("_", " "))
        if key in ("temperature", "penalty", "sharpness") and min(history[key], default=0) > 0:
            ax.set_yscale("log")
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- writing


_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ccc; padding: .2em .6em; text-align: right; }
th { background: #f3f3f3; } pre { background: #f6f8fa; padding: .8em; overflow-x: auto; }
.ok { color: #176317; } .fail { color: #a11; } img { max-width: 100%; }
</style></head><body>
<h1>{{ title }}</h1>
<p class="{{ 'ok' if ok else 'fail' }}"><strong>{{ verdict }}</strong></p>
{% for title, body in sections %}<h2>{{ title }}</h2>
{{ body }}
{% endfor %}
{% for name, file in images %}<h2>{{ name }}</h2><img src="{{ file }}" alt="{{ name }}">
{% endfor %}
</body></html>
"""


def _md_to_html(md: str) -> str:
    """The small markdown subset the sections use: fenced code, tables, bullets, bold."""
    import re

    out: list[str] = []
    lines = md.split("\n")
    i = 0

    def inline(t: str) -> str:
        t = html.escape(t)
        t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", t)

    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append("<pre>" + html.escape("\n".join(lines[i + 1 : j])) + "</pre>")
            i = j + 1
            continue
        if line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                if not set(lines[i]) <= set("|-: "):
                    rows.append([c.strip() for c in lines[i].strip("|").split("|")])
                i += 1
            if rows:
                out.append("<table><tr>" + "".join(f"<th>{inline(c)}</th>" for c in rows[0]) + "</tr>")
                out.extend("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
                out.append("</table>")
            continue
        if line.startswith("- "):
            out.append("<ul>")
            while i < len(lines) and lines[i].startswith("- "):
                out.append(f"<li>{inline(lines[i][2:])}</li>")
                i += 1
            out.append("</ul>")
            continue
        if line.strip():
            out.append(f"<p>{inline(line)}</p>")
        i += 1
    return "\n".join(out)


def write_report(
    out_dir: str | Path,
    *,
    spec: Any,
    mechanism: Any,
    certificate: Any,
    plan: dict[str, Any] | None = None,
    result_json: dict[str, Any] | None = None,
    extra_sections: Iterable[tuple[str, str]] = (),
    history: dict[str, list[float]] | None = None,
    side_files: dict[str, str] | None = None,
    stem: str = "report",
) -> dict[str, Path]:
    """Write ``<stem>.md``, ``<stem>.html`` and the plots that apply into ``out_dir``, and show
    every figure among ``side_files`` (PNG files a backend wrote there); returns
    ``{"report_md", "report_html", "allocation_png"?, "regret_png"?, "training_curves_png"?}``."""
    import jinja2

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    sections: list[tuple[str, str]] = [_spec_section(spec)]
    p = _plan_section(plan)
    if p:
        sections.append(p)
    sections.append(mechanism_section(mechanism, spec))
    if certificate is not None:
        sections.append(certificate_section(certificate))
        sections.append(metrics_section(certificate))
    sections.extend(extra_sections)
    if result_json and result_json.get("timings"):
        sections.append(("Timings", _table(["stage", "seconds"], [[k, v] for k, v in result_json["timings"].items()])))
    if result_json and result_json.get("versions"):
        sections.append(("Versions", _table(["package", "version"], [[k, v] for k, v in result_json["versions"].items()])))

    images: list[tuple[str, str]] = []
    # the verifier's report lies beside the compile's: its figures must not replace the compile's
    pre = "" if stem == "report" else f"{stem}-"
    a = plot_allocation_regions(mechanism, spec, out / f"{pre}allocation.png")
    if a is not None:
        files["allocation_png"] = a
        images.append(("Allocation regions", a.name))
    r = plot_regret_histogram(certificate, out / f"{pre}regret.png")
    if r is not None:
        files["regret_png"] = r
        images.append(("Regret histogram", r.name))
    t = plot_training_curves(history or {}, out / f"{pre}training_curves.png", title=f"{spec.name}: training")
    if t is not None:
        files["training_curves_png"] = t
        images.append(("Training curves", t.name))
    for name, f in (side_files or {}).items():
        fp = Path(f)
        if fp.suffix == ".png" and fp.parent.resolve() == out.resolve() and fp.exists():
            images.append((name.replace("_", " ").capitalize(), fp.name))

    title = f"auctionc {'verify ' if stem != 'report' else ''}report: {spec.name}"
    verdict = verdict_lines(certificate.to_json()) if certificate is not None else ["not verified (--no-verify)"]
    ok = bool(certificate.ok) if certificate is not None else False
    md = [f"# {title}\n", *(f"**{v}**\n" if v[:5] in ("PASS:", "FAIL:") else f"{v.strip()}\n" for v in verdict)]
    for t, body in sections:
        md.append(f"## {t}\n\n{body}\n")
    md.extend(f"## {name}\n\n![{name}]({f})\n" for name, f in images)
    files["report_md"] = out / f"{stem}.md"
    files["report_md"].write_text("\n".join(md))

    env = jinja2.Environment(autoescape=False)  # section bodies are escaped by _md_to_html
    page = env.from_string(_HTML).render(
        title=html.escape(title), verdict="<br>".join(html.escape(v.strip()) for v in verdict), ok=ok,
        sections=[(html.escape(t), _md_to_html(b)) for t, b in sections],
        images=[(html.escape(n), html.escape(f)) for n, f in images],
    )
    files["report_html"] = out / f"{stem}.html"
    files["report_html"].write_text(page)
    return files


def summary_table(result: dict[str, Any]):
    """A rich Table of a result dictionary (``CompileOutput.to_json()`` or a verify result)."""
    from rich.table import Table

    t = Table(title=f"auctionc: {result.get('spec', '')}", show_header=True, header_style="bold")
    t.add_column("")
    t.add_column("value", justify="right")
    if result.get("backend"):
        t.add_row("backend", str(result["backend"]))
    cert = result.get("certificate") or {}
    if cert:
        style = "green" if cert.get("ok") else "red"
        word = "PASS" if cert.get("ok") else "FAIL"  # in words, not only in colour (logs, screen readers)
        t.add_row("certificate", f"[{style}]{word}: {cert.get('kind')}[/{style}]")
        if cert.get("failed_checks"):
            t.add_row("failed checks", f"[red]{', '.join(cert['failed_checks'])}[/red]")
        for key, label in (("max_regret", "max regret"), ("mean_regret", "mean regret"),
                           ("regret_ci_upper", "regret 95% upper"), ("max_ir_violation", "max IR violation"),
                           ("max_obedience_violation", "max obedience violation"),
                           ("feasibility_violation", "feasibility violation")):
            if cert.get(key) is not None:
                t.add_row(label, _fmt(cert[key]))
        if cert.get("samples"):
            t.add_row("samples / steps / restarts", f"{cert['samples']} / {cert.get('steps')} / {cert.get('restarts')}")
    for name, m in (result.get("metrics") or {}).items():
        if not isinstance(m, dict):  # plain figures (simulation efficiency, shares)
            t.add_row(name, _fmt(m))
            continue
        ci = m.get("ci95")
        t.add_row(name, f"{_fmt(m.get('value'))}" + ("  (exact)" if m.get("exact") else f"  [{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else ""))
    calls = result.get("calls") or {}
    for key in ("model_calls", "cache_hits", "failed_parses", "cost_usd"):
        if key in calls:
            t.add_row(key.replace("_", " "), _fmt(calls[key]))
    dry = result.get("dry_run") or {}
    # a dry run plans calls and makes none: what it plans (a simulation's, or an assignment's
    # answers, schedules and the LLM proxy's calls under "llm")
    for key, v in {**dry, **(dry.get("llm") or {})}.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            t.add_row(f"dry run: {key.replace('_', ' ')}", _fmt(v))
    for k, v in (result.get("timings") or {}).items():
        t.add_row(k, _fmt(v))
    return t

"""The docs gallery: one card and one page per ``examples/*.auction``.

Two jobs:

* ``python scripts/build_gallery.py --refresh [NAME ...]`` runs ``auctionc compile --json``
  (or ``auctionc simulate --json`` for specs that name a format and a ``simulate`` block, and
  for assignment specs)
  on each example with small budgets and stores the JSON (plus the PNG plots the run
  wrote) under ``docs/gallery/results/``.  An example that does not finish within the
  time limit gets a ``not_computed`` record with the reason, and its page says so.
* The mkdocs hook (``docs/hooks/auctionc_hooks.py``) imports this module to render the
  index and the pages from the examples and the stored results; nothing slow runs at
  build time.

A stored result is tied to the spec it came from by ``spec_hash``: when an example
changes, its card says the result is stale until the next ``--refresh``
(``tests/test_docs.py`` fails on that).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
RESULTS = ROOT / "docs" / "gallery" / "results"

# Small budgets so the whole refresh stays in minutes on two cores.  Keys are example
# names; values are extra command-line arguments.  Options must exist in the backend's
# ``options`` dict (the CLI rejects unknown ones), so this table is checked by the run.
BUDGETS: dict[str, list[str]] = {
    # LLM bidders: the gallery plays them with the bundled local model (a plumbing
    # check, not a behavioural result), for a few rounds
    "lab_first_price": ["--llm", "--rounds", "3"],
    "lab_second_price": ["--llm", "--rounds", "3"],
    "wallet": ["--llm", "--rounds", "3"],
    # learning backends: a shorter run than the spec asks for (recorded in the result)
    "regions_50": ["--option", "steps=150", "--option", "warmup=100"],
    "arbitrary_g": ["--option", "steps=150", "--option", "warmup=100"],
    # the market network: 300 of its 1,500 steps (about a minute); its estimated certificate
    # shows the regret such a short run leaves
    "externality_market": ["--option", "steps=300"],
}
DEFAULT_TIMEOUT_S = 180.0

NO_RESULT = "no stored result yet"


@dataclass
class Example:
    name: str
    path: Path
    text: str
    title: str
    description: str
    spec: Any = None
    spec_error: str | None = None
    result: dict[str, Any] | None = None
    result_status: str = "missing"
    """missing | ok | not_computed | failed | stale"""
    plots: list[str] = field(default_factory=list)

    @property
    def spec_hash(self) -> str | None:
        return self.spec.spec_hash() if self.spec is not None else None

    @property
    def command(self) -> str:
        return "simulate" if _wants_simulation(self.spec, self.text) else "compile"


# --------------------------------------------------------------------------
# Reading examples and stored results
# --------------------------------------------------------------------------


def _header(text: str) -> tuple[str, str]:
    """Title and description from the comment lines at the top of a spec."""
    lines: list[str] = []
    for line in text.splitlines():
        s = line.strip()
        if not s:
            if lines:
                break
            continue
        if not s.startswith("#"):
            break
        lines.append(s.lstrip("#").strip())
    if not lines:
        return "", ""
    # The title is the first sentence; very long ones are cut at a word for the card.
    text = " ".join(lines)
    parts = re.split(r"(?<=[.;])\s+", text, maxsplit=1)
    title = parts[0].rstrip(".;")
    rest = parts[1] if len(parts) > 1 else ""
    if len(title) > 90:
        cut = title[:80].rsplit(" ", 1)[0].rstrip(",;:")
        rest = title[len(cut):].lstrip(" ,;:") + (" " + rest if rest else "")
        title = cut + " …"
    return title, rest


def _load_spec(path: Path) -> tuple[Any, str | None]:
    try:
        from auctionc.frontend import load_file
    except ImportError:
        return None, "the front end (auctionc.frontend) is not installed"
    try:
        return load_file(path), None
    except Exception as e:  # SpecError carries diagnostics; anything else is shown as is
        diags = getattr(e, "diagnostics", None)
        if diags:
            return None, "; ".join(f"{d.code}: {d.message}" for d in diags)
        return None, f"{type(e).__name__}: {e}"


def example_paths(examples: Path = EXAMPLES) -> list[Path]:
    return sorted(examples.glob("*.auction")) if examples.is_dir() else []


def read_example(path: Path, results: Path = RESULTS) -> Example:
    text = path.read_text(encoding="utf-8")
    title, desc = _header(text)
    ex = Example(path.stem, path, text, title or path.stem.replace("_", " "), desc)
    ex.spec, ex.spec_error = _load_spec(path)
    stored = results / f"{ex.name}.json"
    if stored.exists():
        try:
            ex.result = json.loads(stored.read_text(encoding="utf-8"))
        except ValueError:
            ex.result = None
            ex.result_status = "failed"
    if ex.result is not None:
        gallery = ex.result.get("gallery", {})
        status = gallery.get("status", "ok")
        if ex.spec_hash is not None and ex.result.get("spec_hash") != ex.spec_hash:
            status = "stale"
        ex.result_status = status
        ex.plots = [p for p in gallery.get("plots", []) if (results / p).exists()]
    return ex


def read_examples(examples: Path = EXAMPLES, results: Path = RESULTS) -> list[Example]:
    return [read_example(p, results) for p in example_paths(examples)]


def _wants_simulation(spec: Any, text: str) -> bool:
    if spec is not None:
        if spec.kind == "assignment":  # an assignment spec always runs as a simulation
            return True
        return spec.objective is None and spec.mechanism is not None and spec.simulate is not None
    # Without the front end, judge from the text: a format plus a simulate block.
    if re.search(r"^\s*assignment\b", text, re.M):
        return True
    return bool(re.search(r"^\s*mechanism\b", text, re.M) and re.search(r"^\s*simulate\b", text, re.M)
                and not re.search(r"^\s*maximize\b", text, re.M))


# --------------------------------------------------------------------------
# Card fields
# --------------------------------------------------------------------------


def valuation_class(ex: Example) -> str:
    spec = ex.spec
    if spec is not None:
        if spec.kind == "assignment":
            proxy = spec.students.proxy
            return f"course allocation ({proxy.kind + ' proxy' if proxy else 'interface reports'})"
        if spec.kind == "market":
            kinds = sorted({b.type.kind for b in spec.buyers})
            return "data market (" + ", ".join(f"{k} types" for k in kinds) + ")"
        kinds = sorted(spec.valuation_kinds)
        label = ", ".join(kinds)
        if spec.common:
            label += ", common value"
        return label
    if re.search(r"^\s*market\b", ex.text, re.M):
        return "data market"
    if re.search(r"^\s*assignment\b", ex.text, re.M):
        return "course allocation"
    found = sorted(set(re.findall(r"\bvaluation\s+(\w+)", ex.text)))
    return ", ".join(found) if found else "single"


def backend_label(ex: Example) -> str:
    if ex.result is not None and ex.result.get("backend"):
        return str(ex.result["backend"])
    spec = ex.spec
    if spec is not None:
        if spec.kind == "assignment":
            return "assignment"
        if spec.solve is not None:
            return spec.solve.backend
        if spec.objective is None and spec.mechanism is not None:
            return "simulate" if spec.simulate is not None else "format"
        return "planner's choice"
    m = re.search(r"\bsolve\s+with\s+(\w+)", ex.text)
    return m.group(1) if m else "planner's choice"


def _num(x: Any, digits: int = 4) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if x is None:
        return "—"
    if isinstance(x, (int, float)):
        return f"{x:.{digits}g}" if abs(x) < 1e5 else f"{x:.3e}"
    return html.escape(str(x))


def _metric(result: dict[str, Any], key: str) -> Any:
    m = result.get("metrics", {}).get(key)
    if isinstance(m, dict):
        return m.get("value")
    return m


def headline(ex: Example) -> str:
    if ex.result_status == "missing":
        return NO_RESULT
    if ex.result_status == "stale":
        return "stored result is stale: the spec changed since it was computed"
    if ex.result_status in ("not_computed", "failed"):
        reason = (ex.result or {}).get("gallery", {}).get("reason", "")
        word = "not computed for the docs" if ex.result_status == "not_computed" else "the last run failed"
        return f"{word}: {reason}" if reason else word
    r = ex.result or {}
    parts = []
    rev = _metric(r, "revenue")
    if rev is not None:
        parts.append(f"revenue {_num(rev)}")
    eff = _metric(r, "efficiency")
    if eff is not None:
        parts.append(f"efficiency {_num(eff, 3)}")
    cert = r.get("certificate") or {}
    if isinstance(cert, dict) and cert.get("kind"):
        parts.append(str(cert["kind"]).replace("_", " "))
    return ", ".join(parts) if parts else "see the result"


MAIN_FIGURES = ("allocation_regions", "allocation", "bids", "training_curves", "regret")
"""Which stored figure is a result's main one (its card's thumbnail), by the file's stem after
``<example>-``: the mechanism itself before how it was found or checked."""


def main_figure(ex: Example) -> str | None:
    """The stored PNG that stands for the result (None without one)."""
    if ex.result_status != "ok" or not ex.plots:
        return None
    by_stem = {p[len(ex.name) + 1:-4]: p for p in ex.plots if p.startswith(ex.name + "-") and p.endswith(".png")}
    for stem in MAIN_FIGURES:
        if stem in by_stem:
            return by_stem[stem]
    return ex.plots[0]


def thumbnail(ex: Example, results: Path = RESULTS) -> str | None:
    """The card's picture: ``<example>-thumb.png`` (written by ``--refresh``) when it exists,
    else the main figure itself."""
    thumb = f"{ex.name}-thumb.png"
    if ex.result_status == "ok" and (results / thumb).exists():
        return thumb
    return main_figure(ex)


def certificate_status(ex: Example) -> tuple[str, str]:
    """(css class, words) of the certificate for the card: pass, fail (with the failed checks,
    and "grid" when the failure is the known cost of a grid solve) or none."""
    r = ex.result or {}
    cert = r.get("certificate") if ex.result_status == "ok" else None
    if not isinstance(cert, dict) or not cert:
        if ex.result_status != "ok":
            return "none", "certificate: not computed"
        return "none", "no certificate (a simulation)" if ex.command == "simulate" else "not verified"
    kind = str(cert.get("kind", "")).replace("_", " ")
    if cert.get("ok"):
        return "pass", f"certificate PASS: {kind}"
    failed = ", ".join(cert.get("failed_checks") or []) or "a check"
    cause = " (grid solve of a continuous prior)" if _grid_cause(cert) else ""
    return "fail", f"certificate FAIL: {failed}{cause}"


def _grid_cause(cert: dict[str, Any]) -> list[str]:
    try:
        from auctionc.report import grid_cause
    except ImportError:
        return []
    return grid_cause(cert)


def verdict(cert: dict[str, Any]) -> list[str]:
    """The certificate's verdict lines, as ``auctionc compile`` prints them."""
    try:
        from auctionc.report import verdict_lines
    except ImportError:
        return [f"certificate {cert.get('kind')}: {'PASS' if cert.get('ok') else 'FAIL'}"]
    return verdict_lines(cert)


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------


def render_index(examples: list[Example]) -> str:
    out = [
        "# Gallery",
        "",
        "Every spec in `examples/` with the stored result of a small-budget run "
        "(`python scripts/build_gallery.py --refresh`). Each page shows the spec, the plan, "
        "the result and its plots.",
        "",
    ]
    if not examples:
        out += ['!!! note "No examples yet"', "    `examples/` holds no `.auction` file.", ""]
        return "\n".join(out)
    out.append('<div class="gallery-grid">')
    for ex in examples:
        thumb = thumbnail(ex)
        picture = (f'<img class="gallery-thumb" src="results/{thumb}" alt="{html.escape(ex.name)}: main figure" '
                   'loading="lazy">' if thumb else '<span class="gallery-thumb gallery-nothumb">no figure</span>')
        cls, status = certificate_status(ex)
        out.append(
            f'<a class="gallery-card gallery-{ex.result_status}" href="{ex.name}/" data-example="{ex.name}">'
            f"{picture}"
            f'<span class="gallery-title">{html.escape(ex.title)}</span>'
            f'<span class="gallery-file"><code>{ex.name}.auction</code></span>'
            f'<span class="gallery-field"><b>valuation</b> {html.escape(valuation_class(ex))}</span>'
            f'<span class="gallery-field"><b>backend</b> {html.escape(backend_label(ex))}</span>'
            f'<span class="gallery-headline">{html.escape(headline(ex))}</span>'
            f'<span class="gallery-cert gallery-cert-{cls}" data-cert="{cls}">{html.escape(status)}</span>'
            "</a>"
        )
    out += ["</div>", ""]
    return "\n".join(out)


def _table(rows: list[tuple[str, str]], head: tuple[str, str] = ("", "")) -> list[str]:
    out = [f"| {head[0]} | {head[1]} |", "|---|---|"]
    out += [f"| {a} | {b} |" for a, b in rows]
    return out + [""]


def _cell(x: Any) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def _metrics_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, m in (r.get("metrics") or {}).items():
        if isinstance(m, dict):
            val = _num(m.get("value"))
            ci = m.get("ci95")
            if m.get("exact"):
                val += " (exact)"
            elif isinstance(ci, (list, tuple)) and len(ci) == 2:
                val += f" (95% CI {_num(ci[0])} – {_num(ci[1])})"
            if m.get("samples"):
                val += f", {m['samples']} samples"
        else:
            val = _num(m) if isinstance(m, (int, float)) else _cell(m)
        rows.append((f"`{key}`", val))
    return rows


def _plan_lines(ex: Example) -> list[str]:
    plan = (ex.result or {}).get("plan") if ex.result_status == "ok" else None
    source = "stored run"
    if plan is None and ex.spec is not None:
        try:
            from auctionc.planner import make_plan

            purpose = "simulate" if ex.command == "simulate" else "compile"
            plan = make_plan(ex.spec, purpose=purpose).to_json()
            source = "computed at build time"
        except Exception as e:  # a refusal of every backend is a result worth showing
            diags = getattr(e, "diagnostics", None)
            msg = "; ".join(d.message for d in diags) if diags else f"{type(e).__name__}: {e}"
            return [f"The planner finds no backend at build time: {_cell(msg)}", ""]
    if plan is None:
        return ["The plan is not available (the front end or the planner is not installed yet).", ""]
    out = [f"**Chosen backend:** `{plan.get('chosen')}` ({source})", "", f"{_cell(plan.get('why', ''))}", ""]
    refused = plan.get("refused") or []
    if refused:
        out += ["| refused backend | reason |", "|---|---|"]
        out += [f"| `{r.get('backend')}` | {_cell(r.get('reason', ''))} |" for r in refused]
        out.append("")
    return out


def render_page(ex: Example) -> str:
    out = [f"# {ex.title}", ""]
    if ex.description:
        out += [ex.description, ""]
    out += [
        f"[examples/{ex.name}.auction](#spec) · valuation: **{valuation_class(ex)}** · backend: **{backend_label(ex)}**",
        "",
        "## Spec",
        "",
        f'```auction title="examples/{ex.name}.auction" linenums="1"',
        ex.text.rstrip("\n"),
        "```",
        "",
    ]
    if ex.spec_error:
        out += ['!!! failure "The spec does not load"', f"    {_cell(ex.spec_error)}", ""]
    cmd = f"auctionc {ex.command} examples/{ex.name}.auction"
    out += ["Run it:", "", "```console", f"$ {cmd}", "```", "", "## Plan", ""]
    out += _plan_lines(ex)
    out += ["## Result", ""]
    if ex.result_status != "ok":
        kind = {"missing": "note", "stale": "warning", "not_computed": "info", "failed": "failure"}[ex.result_status]
        line = headline(ex)
        out += [f'!!! {kind} "{line[:1].upper() + line[1:]}"']  # capitalize() would lower-case codes
        if ex.result_status == "missing":
            out.append("    The gallery script has not stored a result for this example yet; "
                       f"run `python scripts/build_gallery.py --refresh {ex.name}`.")
        elif ex.result_status == "stale":
            out.append(f"    Run `python scripts/build_gallery.py --refresh {ex.name}` to update it.")
        else:
            out.append(f"    Run `{cmd}` to compute it yourself.")
        out.append("")
        return "\n".join(out)
    r = ex.result or {}
    g = r.get("gallery", {})
    run = "`" + " ".join(g.get("command", [cmd])) + "`"
    out += [f"Stored from {run}" + (f" in {g['seconds']:.1f} s" if g.get("seconds") is not None else "") + ".", ""]
    cert = r.get("certificate")
    if isinstance(cert, dict) and cert:
        lines = verdict(cert)
        kind = "success" if cert.get("ok") else "failure"
        out += [f'!!! {kind} "{_cell(lines[0])}"']
        out += [f"    - {html.escape(line.strip())}" for line in lines[1:]] or ["    Every check passed."]
        out.append("")
    main = main_figure(ex)
    if main:
        out += [f"![{ex.name}: {main[len(ex.name) + 1:-4].replace('_', ' ')}](results/{main})", ""]
    rows = _metrics_rows(r)
    if rows:
        out += _table(rows, ("metric", "value"))
    if isinstance(cert, dict) and cert:
        out += ["### Certificate", ""]
        out += _table([(f"`{k}`", _cell(_num(v) if isinstance(v, (int, float)) else v)) for k, v in cert.items()
                       if v is not None and not isinstance(v, (dict, list))], ("field", "value"))
    calls = r.get("calls")
    if isinstance(calls, dict) and calls:
        out += ["### Model calls", ""]
        out += _table([(f"`{k}`", _cell(v)) for k, v in calls.items()], ("field", "value"))
    others = [p for p in ex.plots if p != main_figure(ex)]
    if others:
        out += ["## More figures", ""]
        for p in others:
            out += [f"![{Path(p).stem}](results/{p})", ""]
    out += _sweep_lines(ex)
    out += ["??? abstract \"Stored JSON\"", "", "    ```json"]
    out += ["    " + line for line in json.dumps(r, indent=1, default=str).splitlines()]
    out += ["    ```", ""]
    return "\n".join(out)


SWEEPS = ROOT / "docs" / "sweeps"
"""Figures of `auctionc sweep` runs over an example, named ``<example>-*.png`` (see sweeps.md)."""


def _sweep_lines(ex: Example) -> list[str]:
    figures = sorted(SWEEPS.glob(f"{ex.name}-*.png")) if SWEEPS.is_dir() else []
    if not figures:
        return []
    out = ["## Sweeps", "", "This example swept over its parameters and backends ([sweeps and clusters](../sweeps.md)):", ""]
    for f in figures:
        out += [f"![{f.stem}](../sweeps/{f.name})", ""]
    return out


# --------------------------------------------------------------------------
# Refresh: run the CLI on every example and store its JSON and plots
# --------------------------------------------------------------------------


def _auctionc() -> list[str]:
    exe = Path(sys.executable).parent / "auctionc"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "auctionc"]


def refresh_one(ex: Example, timeout_s: float, results: Path = RESULTS) -> dict[str, Any]:
    results.mkdir(parents=True, exist_ok=True)
    base: dict[str, Any] = {"spec": ex.spec.name if ex.spec is not None else ex.name, "spec_hash": ex.spec_hash}
    if ex.spec is None:
        rec = {**base, "gallery": {"status": "failed", "reason": ex.spec_error or "the spec does not load"}}
        (results / f"{ex.name}.json").write_text(json.dumps(rec, indent=1) + "\n")
        return rec
    with tempfile.TemporaryDirectory(prefix=f"gallery-{ex.name}-") as tmp:
        try:
            spec_path = ex.path.resolve().relative_to(ROOT).as_posix()
        except ValueError:
            spec_path = str(ex.path)
        args = [ex.command, spec_path, "--json", "--quiet", "--out", tmp, "--seed", "0"]
        args += BUDGETS.get(ex.name, [])
        shown = ["auctionc", *[a if a != tmp else "OUT" for a in args]]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                [*_auctionc(), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout_s, env=env
            )
        except subprocess.TimeoutExpired:
            rec = {**base, "gallery": {"status": "not_computed", "command": shown,
                                       "reason": f"a small-budget run takes longer than {timeout_s:.0f} s"}}
            (results / f"{ex.name}.json").write_text(json.dumps(rec, indent=1) + "\n")
            return rec
        seconds = time.perf_counter() - t0
        try:
            data = json.loads(proc.stdout)
        except ValueError:
            data = None
        from auctionc.verifier.certificate import EXIT_NOT_VERIFIED

        # exit 3 (solved, certificate fails) is a result to show, with its FAIL, not a failed run
        not_verified = (proc.returncode == EXIT_NOT_VERIFIED and isinstance(data, dict)
                        and isinstance(data.get("certificate"), dict))
        if not not_verified and (proc.returncode != 0 or not isinstance(data, dict) or data.get("ok") is False):
            reason = ""
            if isinstance(data, dict) and data.get("diagnostics"):
                reason = "; ".join(f"{d['code']}: {d['message']}" for d in data["diagnostics"])
            if not reason:
                lines = proc.stderr.strip().splitlines()
                errors = [ln.strip() for ln in lines if ln.startswith("error")]
                reason = "; ".join(errors) or (lines or [f"exit code {proc.returncode}"])[-1]
            codes = {d.get("code") for d in (data or {}).get("diagnostics", [])} if isinstance(data, dict) else set()
            # a spec that no installed backend takes yet is a known gap, shown as such
            status = "not_computed" if codes == {"E0606"} else "failed"
            if status == "not_computed":
                reason = "no installed backend accepts this spec yet (" + reason + ")"
            rec = {**base, "gallery": {"status": status, "command": shown, "reason": reason}}
            (results / f"{ex.name}.json").write_text(json.dumps(rec, indent=1) + "\n")
            return rec
        plots = []
        # a simulation's figures: bids.png (plot_path) and the per-round means, rounds.png
        figures = [*(data.get("files") or {}).values(), data.get("plot_path"), data.get("rounds_plot_path")]
        for path in sorted({str(f) for f in figures if f}):
            src = Path(path)
            if src.suffix.lower() == ".png" and src.exists():
                dest = f"{ex.name}-{src.stem}.png"
                if dest in plots:  # one file listed under two keys (backend and report)
                    continue
                shutil.copyfile(src, results / dest)
                plots.append(dest)
        for old_file in results.glob(f"{ex.name}-*.png"):  # figures of an earlier run
            if old_file.name not in plots:
                old_file.unlink()
        data["gallery"] = {"plots": plots}
        ex.result, ex.result_status, ex.plots = data, "ok", plots
        main = main_figure(ex)
        if main is not None:
            _thumbnail(results / main, results / f"{ex.name}-thumb.png")
        # Temporary paths mean nothing on the docs site.
        for key in ("artifact", "transcript", "transcript_path", "report_path", "plot_path", "rounds_plot_path",
                    "checkpoint_path", "out_dir"):
            if isinstance(data.get(key), str):
                data[key] = data[key].replace(tmp, "OUT")
        if isinstance(data.get("files"), dict):
            data["files"] = {k: str(v).replace(tmp, "OUT") for k, v in data["files"].items()}
        data["gallery"] = {"status": "ok", "command": shown, "seconds": round(seconds, 2), "plots": plots}
        data.setdefault("spec_hash", ex.spec_hash)
        (results / f"{ex.name}.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
        return data


THUMB_WIDTH = 480
"""Pixels across a card's picture (twice the card's width on the page, for sharp screens)."""


def _thumbnail(src: Path, dest: Path) -> None:
    """A smaller copy of ``src`` for the card (Pillow; matplotlib's own thumbnail is deprecated)."""
    from PIL import Image

    with Image.open(src) as im:
        im.thumbnail((THUMB_WIDTH, THUMB_WIDTH))
        im.save(dest, optimize=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refresh", action="store_true", help="run the examples and store their results")
    ap.add_argument("--stale-only", action="store_true", help="with --refresh: only missing or stale results")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per example")
    ap.add_argument("names", nargs="*", help="examples to refresh (default: all)")
    ns = ap.parse_args(argv)
    examples = read_examples()
    if ns.names:
        unknown = set(ns.names) - {e.name for e in examples}
        if unknown:
            ap.error("unknown example(s): " + ", ".join(sorted(unknown)))
        examples = [e for e in examples if e.name in ns.names]
    if not ns.refresh:
        for ex in examples:
            print(f"{ex.name:32s} {ex.result_status:13s} {headline(ex)}")
        return 0
    for ex in examples:
        if ns.stale_only and ex.result_status in ("ok", "not_computed"):
            continue
        rec = refresh_one(ex, ns.timeout)
        g = rec.get("gallery", {})
        print(f"{ex.name:32s} {g.get('status'):13s} {g.get('seconds', '')} {g.get('reason', '')}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

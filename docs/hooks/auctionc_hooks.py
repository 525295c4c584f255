"""mkdocs hooks: the parts of the site generated from the code at build time.

* ``<!-- auctionc:cli -->``: the CLI reference, from the typer app through click's help.
* ``<!-- auctionc:backends -->``: every registered backend with its capabilities and
  the options declared in its ``options`` dict.
* ``<!-- auctionc:diagnostics -->``: the error-code table (every layer's registered codes, ``auctionc.diagnostics.all_codes``).
* ``<!-- auctionc:keywords -->``: the keywords of the grammar, as the lexer reads them.
* ``<!-- auctionc:benchmark NAME -->``: ``benchmarks/results/NAME.md`` when it exists.
* ``gallery/``: an index and one page per ``examples/*.auction`` (``scripts/build_gallery.py``).

A part whose code is not there yet renders as a visible notice, never as a build error,
so the site builds at every stage of the project.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import build_gallery  # noqa: E402

_MARKER = re.compile(r"<!--\s*auctionc:(\w+)(?:\s+([\w.:-]+))?\s*-->")
_examples: list[build_gallery.Example] = []


def _esc(text: str) -> str:
    """Text for one markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _notice(title: str, text: str, kind: str = "warning") -> str:
    return f'!!! {kind} "{title}"\n    {text}\n'


# --------------------------------------------------------------------------
# CLI reference
# --------------------------------------------------------------------------


def render_cli() -> str:
    try:
        import typer
        from auctionc.cli import app
    except Exception as e:  # the CLI module is written by another engineer
        return _notice("CLI reference not available", f"`auctionc.cli` could not be imported at build time ({type(e).__name__}: {e}).")
    group = typer.main.get_command(app)
    out: list[str] = []
    # Recent typer vendors its own click: duck-type the commands and make each context
    # with the command's own context class.
    with group.context_class(group, info_name="auctionc") as ctx:
        out += ["```text", group.get_help(ctx).replace("```", "'''"), "```", ""]
        names = group.list_commands(ctx) if hasattr(group, "list_commands") else []
        for name in names:
            cmd = group.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            with cmd.context_class(cmd, info_name=name, parent=ctx) as sub:
                out += [f"## `auctionc {name}`", ""]
                if cmd.help:
                    out += [html.escape(cmd.help.split("\f")[0].strip(), quote=False), ""]
                out += ["```text", cmd.get_help(sub).replace("```", "'''"), "```", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------


def render_backends() -> str:
    try:
        from auctionc.plugins.registry import _entry_points, available_backends
    except Exception as e:
        return _notice("Backends not available", f"the backend registry could not be imported ({e}).")
    out: list[str] = []
    for name in available_backends():
        out += [f"### `{name}`", ""]
        ep = _entry_points()[name]
        out += [f"Entry point: `{name} = \"{ep.value}\"`", ""]
        try:
            cls = ep.load()
        except Exception as e:
            out += [_notice(f"Backend {name} is not installed yet", f"loading `{ep.value}` failed ({type(e).__name__}).", "note")]
            continue
        if getattr(cls, "summary", ""):
            out += [cls.summary, ""]
        caps = cls.capabilities.to_json()
        caps_rows = [(k, ", ".join(map(str, v)) if isinstance(v, list) else str(v)) for k, v in caps.items()]
        caps_rows.append(("designs", str(cls.capabilities.designs)))
        caps_rows.append(("runs_formats", str(cls.capabilities.runs_formats)))
        out += ["| capability | value |", "|---|---|", *[f"| `{k}` | {v or '—'} |" for k, v in caps_rows], ""]
        opts = getattr(cls, "options", {}) or {}
        if opts:
            out += ["| option | type | default | allowed | help |", "|---|---|---|---|---|"]
            for oname, spec in opts.items():
                allowed = []
                if spec.choices is not None:
                    allowed.append(", ".join(f"`{c}`" for c in spec.choices))
                if spec.min is not None:
                    allowed.append(f"≥ {spec.min:g}")
                if spec.max is not None:
                    allowed.append(f"≤ {spec.max:g}")
                out.append(
                    f"| `{oname}` | {spec.type.__name__} | `{spec.default!r}` | {'; '.join(allowed) or '—'} | "
                    f"{_esc(spec.help)} |"
                )
            out.append("")
        else:
            out += ["No options.", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------
# Diagnostics, keywords, benchmarks
# --------------------------------------------------------------------------


def render_diagnostics() -> str:
    from auctionc.diagnostics import all_codes

    out = ["| code | meaning | raised by |", "|---|---|---|"]
    for code, entry in all_codes().items():
        out.append(f'| <span id="{code}">`{code}`</span> | {_esc(entry.summary)} | {_esc(entry.layer)} |')
    # the long explanations, as `auctionc explain CODE` prints them
    out += ["", "## Explanations", "", "What `auctionc explain CODE` prints for each code that has one:", ""]
    for code, entry in all_codes().items():
        if entry.explanation:
            out += [f"**`{code}`** {_esc(entry.summary)}.", "", entry.explanation, ""]
    return "\n".join(out) + "\n"


def render_keywords() -> str:
    from auctionc.dsl.lexer import grammar_keywords

    kws = sorted(grammar_keywords(), key=str.lower)
    if not kws:
        return _notice("Keywords not available", "the grammar (`dsl/grammar.lark`) is not installed yet.", "note")
    return " ".join(f"`{k}`" for k in kws) + "\n"


def render_benchmark(name: str) -> str:
    path = ROOT / "benchmarks" / "results" / f"{name}.md"
    if not path.exists():
        return _notice(
            "Our figures: not measured yet",
            f"This table is filled from `benchmarks/results/{name}.md` when a benchmark run has written it.",
            "info",
        )
    body = path.read_text(encoding="utf-8").strip()
    # Demote headings so a results file cannot break the page outline.
    body = re.sub(r"^(#{1,5}) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", body, flags=re.M)
    return f"*From `benchmarks/results/{name}.md`:*\n\n{body}\n"


def render_benchmark_rows(arg: str) -> str:
    """``FILE:PREFIX``: the rows of ``benchmarks/results/FILE.md``'s table whose setting starts
    with PREFIX (dashes for spaces), under the table's header: one benchmark script measures
    several sections' settings."""
    name, _, prefix = arg.partition(":")
    path = ROOT / "benchmarks" / "results" / f"{name}.md"
    if not path.exists():
        return render_benchmark(name)
    prefix = prefix.replace("-", " ")
    lines = path.read_text(encoding="utf-8").splitlines()
    rule = next((i for i, ln in enumerate(lines) if ln.startswith("---")), None)
    rows = [ln for ln in lines if ln.startswith(prefix)]
    if rule is None or not rows:
        return render_benchmark(name)
    first = lines[0] if not lines[0].startswith("```") else ""
    table = "\n".join([lines[rule - 1], lines[rule], *rows])
    return f"*From `benchmarks/results/{name}.md`, its {prefix} rows:* {first.strip()}\n\n```text\n{table}\n```\n"


def render_benchmark_others(shown: set[str]) -> str:
    results = ROOT / "benchmarks" / "results"
    rest = sorted(p.stem for p in results.glob("*.md") if p.stem not in shown) if results.is_dir() else []
    if not rest:
        return "No other benchmark results are stored.\n"
    return "\n".join(f"### `{name}`\n\n{render_benchmark(name)}" for name in rest)


_RENDER = {
    "cli": lambda arg: render_cli(),
    "backends": lambda arg: render_backends(),
    "diagnostics": lambda arg: render_diagnostics(),
    "keywords": lambda arg: render_keywords(),
    "benchmark": lambda arg: render_benchmark(arg or ""),
    "benchmark_rows": lambda arg: render_benchmark_rows(arg or ""),
}
# ``benchmark_others`` needs to know which tables the page already shows.


# --------------------------------------------------------------------------
# mkdocs events
# --------------------------------------------------------------------------


def on_config(config: Any) -> Any:
    global _examples
    _examples = build_gallery.read_examples()
    pages = [{ex.name: f"gallery/{ex.name}.md"} for ex in _examples]
    for entry in config.nav or []:
        if isinstance(entry, dict) and "Gallery" in entry:
            entry["Gallery"] = ["gallery/index.md", *pages]
    return config


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "gallery/index.md", content=build_gallery.render_index(_examples)))
    for ex in _examples:
        files.append(File.generated(config, f"gallery/{ex.name}.md", content=build_gallery.render_page(ex)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    shown = {m.group(2) for m in _MARKER.finditer(markdown) if m.group(1) == "benchmark"}

    def sub(m: re.Match[str]) -> str:
        if m.group(1) == "benchmark_others":
            return render_benchmark_others(shown)
        fn = _RENDER.get(m.group(1))
        if fn is None:
            raise ValueError(f"{page.file.src_uri}: unknown auctionc marker '{m.group(1)}'")
        return fn(m.group(2))

    return _MARKER.sub(sub, markdown)

"""What the ``auctionc`` command line prints, and how failures become diagnostics and exit codes.

Shared by every command (``cli``, ``cli_sweep``): human text on stderr (``err``), one JSON
object on stdout (``emit_json``), diagnostics with their source excerpts (``fail``), the result
table and the certificate's verdict (``summary``, ``not_verified``), and ``guard``, which turns
errors into exit codes.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import typer

from .errors import AuctionError


def err(text: str) -> None:
    print(text, file=sys.stderr)


def emit_json(obj: Any) -> None:
    print(json.dumps(obj, indent=1, default=str))


def read_source(path: str | None) -> str | None:
    if not path or path.startswith("<"):
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def render(diags: list, spec: Any = None) -> str:
    from .diagnostics import render_all

    diags = [d.with_span(spec) for d in diags]
    files = {d.span.file for d in diags if d.span is not None}
    sources = {f: s for f in files if (s := read_source(f)) is not None}
    return render_all(diags, sources)


def fail(e: AuctionError, as_json: bool, spec: Any = None) -> None:
    diags = [d.with_span(spec) for d in e.diagnostics]
    if as_json:
        emit_json({"ok": False, "diagnostics": [d.to_json() for d in diags]})
    err(render(diags, spec))
    raise typer.Exit(e.exit_code)


def parse_pairs(pairs: list[str] | None, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in pairs or []:
        if "=" not in p or not p.split("=", 1)[0].strip():
            raise typer.BadParameter(f"expected NAME=VALUE, got {p!r}", param_hint=flag)
        k, v = p.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def scalar(v: str) -> Any:
    try:
        return json.loads(v)
    except json.JSONDecodeError:
        return v


def load(path: Path, sets: list[str] | None):
    from .frontend import load_file

    return load_file(path, parse_pairs(sets, "--set") or None)


def guard(fn):
    """Turn AuctionErrors into diagnostics and exit codes; interrupts into a clean message."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        try:
            return fn(*args, **kwargs)
        except AuctionError as e:
            fail(e, as_json)
        except KeyboardInterrupt:
            err("interrupted: what was done so far is saved; rerun with --resume to continue")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, SystemExit, typer.BadParameter):
            raise
        except Exception as e:  # a bug in auctionc, not a user mistake
            if os.environ.get("AUCTIONC_DEBUG"):
                traceback.print_exc()
            from .diagnostics import Diagnostic

            d = Diagnostic(
                "E0999",
                f"internal error: {type(e).__name__}: {e}",
                help="this is a bug in auctionc; rerun with AUCTIONC_DEBUG=1 for the traceback and report it",
            )
            if as_json:
                emit_json({"ok": False, "diagnostics": [d.to_json()]})
            err(d.render())
            raise typer.Exit(1) from None

    return wrapper


def quiet_solvers(quiet: bool):
    """Silence what native solvers print themselves (HiGHS's banner) under --quiet."""
    from .solvers import quiet_solvers

    return quiet_solvers(quiet)


def summary(result: dict[str, Any]) -> None:
    try:
        from rich.console import Console

        from .report import summary_table

        Console(stderr=True).print(summary_table(result))
    except ImportError:
        err(json.dumps(result.get("metrics", {}), indent=1))


def not_verified(res: Any) -> None:
    """Print the certificate's verdict on stderr (PASS, or FAIL with every failed check, its
    figure and, for a grid solve of a continuous prior, why and the option that shrinks it)
    and exit with the not-verified code when it fails."""
    cert = getattr(res, "certificate", None)
    if cert is None:
        err("not verified (--no-verify)")
        return
    from .report import verdict_lines
    from .verifier import EXIT_NOT_VERIFIED

    for line in verdict_lines(cert.to_json()):
        err(line)
    if not res.ok:
        err(f"exit {EXIT_NOT_VERIFIED}: solved, but not verified at tolerance; "
             f"`auctionc explain {cert.failed[0].code}` says what the check means")
        raise typer.Exit(EXIT_NOT_VERIFIED)


def calls_models(spec: Any, llm: bool) -> bool:
    """Whether a simulation of ``spec`` calls language models (--llm, or an `agent llm`)."""
    return llm or any(getattr(getattr(b, "agent", None), "kind", None) == "llm" for b in getattr(spec, "bidders", ()))


def estimate_line(est: dict[str, Any] | None, before: bool) -> str:
    """The dry run's estimate in words, for the terminal."""
    if not est:
        return "dry run: no model calls (rule-based agents only)"
    cost = est.get("cost_usd") or 0.0
    unpriced = est.get("unpriced_models") or []
    price = f"${cost:.4f}" + (f" (no price known for {', '.join(unpriced)}: a local model costs time, not money)"
                               if unpriced else "")
    head = "this run makes up to" if before else "dry run:"
    tail = ("; --max-calls N bounds it, --dry-run shows this alone" if before else
            "; the README says how long the bundled local model takes per call")
    return (f"{head} {est.get('calls', 0):,} model calls, {est.get('prompt_tokens', 0):,} prompt and "
            f"{est.get('completion_tokens', 0):,} completion tokens, cost {price}{tail}")

"""The front end's public entry points: text or file in, Spec IR (or diagnostics) out.

Nothing here imports torch, cvxpy or litellm: ``auctionc check``, ``fmt`` and
``plan`` stay fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import ir
from .diagnostics import Diagnostic, Span
from .dsl.limits import MAX_SOURCE_BYTES
from .errors import SpecError, UsageError

MAX_DIAGNOSTICS = 50
"""Diagnostics reported for one spec; a file of thousands of copies of one mistake gets the
first ones and a count of the rest, not megabytes of messages."""

Spec = ir.AuctionSpec | ir.MarketSpec | ir.AssignmentSpec


def _empty(text: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def _attach(err: SpecError, filename: str, text: str) -> SpecError:
    """Keep the source with the error so that callers can render the excerpts."""
    err.sources = {filename: text}  # type: ignore[attr-defined]
    return err


def diagnose_text(
    text: str, filename: str = "<string>", overrides: dict[str, str] | None = None
) -> tuple[Spec | None, list[Diagnostic]]:
    """Parse and analyse; every problem comes back as a diagnostic, nothing is raised."""
    from .dsl.parser import parse
    from .semantic import analyze

    if _empty(text):
        return None, [
            Diagnostic(
                "E0002",
                "empty spec: the file holds no auction or market block",
                Span(filename, 1, 1),
                help="write 'auction my_auction { ... }' or 'market my_market { ... }'; see examples/",
            )
        ]
    if "\x00" in text:
        return None, [_binary(filename)]
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        return None, [_too_big(filename, f"{size:,} bytes")]
    try:
        doc = parse(text, filename)
    except SpecError as e:
        return None, list(e.diagnostics)
    spec, diags = analyze(doc, overrides)
    if spec is not None:
        from .planner import check_options

        diags = check_options(spec)
        if diags:
            return None, _capped(diags)
    return spec, _capped(diags)


def _capped(diags: list[Diagnostic]) -> list[Diagnostic]:
    if len(diags) <= MAX_DIAGNOSTICS:
        return diags
    rest = len(diags) - MAX_DIAGNOSTICS
    return diags[:MAX_DIAGNOSTICS] + [
        Diagnostic(
            "E0004",
            f"further errors not shown: {rest:,} beyond the first {MAX_DIAGNOSTICS}",
            help="fix the errors listed and check again",
        )
    ]


def _too_big(filename: str, size: str) -> Diagnostic:
    return Diagnostic(
        "E0004",
        f"{filename} is {size}, more than the {MAX_SOURCE_BYTES:,} bytes a spec may have",
        Span(filename, 1, 1),
        help="a spec describes an auction in a few lines; generated bids belong in cats(...) or a smaller file",
    )


def load_text(text: str, filename: str = "<string>", overrides: dict[str, str] | None = None) -> Spec:
    """The Spec IR of ``text``; ``SpecError`` carrying every diagnostic found otherwise.

    ``overrides`` are ``--set name=value`` pairs (values as typed on the command line).
    The error has ``sources = {filename: text}`` for ``render_all``.
    """
    spec, diags = diagnose_text(text, filename, overrides)
    if diags or spec is None:
        raise _attach(SpecError(diags), filename, text)
    return spec


def _binary(filename: str) -> Diagnostic:
    return Diagnostic(
        "E0003",
        f"{filename} is not a text file: it holds binary data",
        Span(filename, 1, 1),
        help="a spec is UTF-8 text that starts with 'auction' or 'market'",
    )


def read_source(path: str | os.PathLike[str]) -> str:
    """The text of a spec file: ``UsageError`` E0001 if unreadable, ``SpecError`` E0003 if binary."""
    p = Path(path)
    name = str(path)
    try:
        with p.open("rb") as fh:
            # one byte past the limit tells a too-big file without reading it all
            data = fh.read(MAX_SOURCE_BYTES + 1)
    except IsADirectoryError:
        raise UsageError(
            Diagnostic("E0001", f"cannot read {name}: it is a directory", help="give the path of a .auction file")
        ) from None
    except FileNotFoundError:
        raise UsageError(
            Diagnostic("E0001", f"cannot read {name}: no such file", help="check the path")
        ) from None
    except OSError as e:
        raise UsageError(
            Diagnostic("E0001", f"cannot read {name}: {e.strerror or e}", help="check the path and its permissions")
        ) from None
    if len(data) > MAX_SOURCE_BYTES:
        raise SpecError(_too_big(name, f"over {MAX_SOURCE_BYTES:,} bytes"))
    if b"\x00" in data:
        raise SpecError(_binary(name))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SpecError(
            Diagnostic(
                "E0003",
                f"{name} is not UTF-8 text: byte 0x{data[e.start]:02x} at offset {e.start} cannot be decoded",
                Span(name, data[: e.start].count(b"\n") + 1, 1),
                help="save the file as UTF-8",
            )
        ) from None


def load_file(path: str | os.PathLike[str], overrides: dict[str, str] | None = None) -> Spec:
    text = read_source(path)
    return load_text(text, str(path), overrides)


def check_file(
    path: str | os.PathLike[str], overrides: dict[str, str] | None = None
) -> tuple[Spec | None, list[Diagnostic], str]:
    """(spec or None, diagnostics, source text) for ``auctionc check``; never raises for a
    user mistake: an unreadable path comes back as an E0001 diagnostic (exit code 2)."""
    try:
        text = read_source(path)
    except (SpecError, UsageError) as e:
        return None, list(e.diagnostics), ""
    spec, diags = diagnose_text(text, str(path), overrides)
    return spec, diags, text


def ir_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``SpecDocument`` (what ``auctionc schema`` prints)."""
    return ir.SpecDocument.model_json_schema()


SCHEMA_PATH = Path(__file__).with_name("schema") / "ir.schema.json"


def write_schema(path: str | os.PathLike[str] = SCHEMA_PATH) -> None:
    import json

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(ir_json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":  # python -m auctionc.frontend: refresh compiler/schema/ir.schema.json
    write_schema()

"""Paths a spec or an artifact names stay inside the folder they belong to.

A spec from someone else may name files: an llm agent's prompt, a simulation's reply cache,
BundleFlow's flow cache.  Each such path is taken relative to the folder it belongs to (the
spec's folder for what is read, the output directory for what is written) and refused when,
with every symbolic link resolved, it leads outside; anything else the user passes on the
command line.  See ``docs/security.md``.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath

from .diagnostics import Diagnostic


class OutsideFolder(ValueError):
    """The path leads outside its folder; the message says why, in words."""


def confined(base: str | os.PathLike[str], name: str, *, what: str) -> Path:
    """``base / name`` with every link resolved, or ``OutsideFolder`` when ``name`` is
    absolute, climbs with '..', or resolves (through a link) outside ``base``."""
    if not name or "\x00" in name:
        raise OutsideFolder(f"{what} {name!r} is not a file name")
    pure = PurePath(name)
    if pure.is_absolute() or (pure.drive or pure.root):
        raise OutsideFolder(f"{what} {name!r} is an absolute path")
    if ".." in pure.parts:
        raise OutsideFolder(f"{what} {name!r} climbs out of its folder with '..'")
    root = Path(base).resolve()
    target = (root / pure).resolve()
    if target != root and root not in target.parents:
        raise OutsideFolder(f"{what} {name!r} leads outside {root} through a symbolic link")
    return target


def read_confined(base: str | os.PathLike[str], name: str, *, what: str, max_bytes: int) -> str:
    """The UTF-8 text of a file confined to ``base`` (``confined``), at most ``max_bytes``;
    ``OutsideFolder`` or ``OSError``/``UnicodeDecodeError`` otherwise."""
    path = confined(base, name, what=what)
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise OutsideFolder(f"{what} {name!r} is larger than {max_bytes:,} bytes")
    return data.decode("utf-8")


def refusal(code: str, err: Exception, *, hint: str, where: str | None = None) -> Diagnostic:
    """The diagnostic for a path that is refused: its reason and how to pass it instead."""
    return Diagnostic(code, str(err), help=hint, where=where)

"""Output directories: one run at a time, and one spec per directory.

``claim(out_dir, spec, force=...)`` holds a lock on the directory for the length of a
compile or a simulation (a second run into the same ``--out`` is refused at once, instead of
two runs sharing a checkpoint) and records which spec the directory belongs to, in
``.auctionc-run.json``.  A directory that belongs to another spec is refused unless the user
passes ``--force``; then what auctionc wrote there is removed first, so the old spec's weights
and checkpoints never lie beside the new artifact.  Files that were in the directory before
auctionc first used it are never removed.

A finished compile of the same spec (its ``mechanism.json`` is there) is refused the same way:
a second ``auctionc compile`` never replaces a result silently.  ``--force`` replaces it
(removing what the first run wrote, so no figure of the old run stays beside the new one) and
``--resume`` continues its training.  A compile that stopped before saving its artifact is
taken up again without a flag, and simulations, whose replies are cached and replayed, may
always run again into their directory.

The record also holds the run's identity (spec hash, backend, options, seed; given to ``claim``),
which the trainers write into their checkpoints and compare on ``--resume``
(``run_identity``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic
from .errors import UsageError

RECORD = ".auctionc-run.json"
LOCK = ".auctionc.lock"
KNOWN = (
    "mechanism.json", "spec.json", "result.json", "report.md", "report.html", "verify_report.md",
    "verify_report.html", "checkpoints", "checkpoint.json",
    "checkpoint.tmp", "transcript.jsonl", "llm_cache.sqlite", "llm_cache.sqlite-wal", "llm_cache.sqlite-shm",
    "bundleflow_ckpt.pt", "bundleflow_ckpt.tmp", "bundleflow_state.pt", "gemnet_weights.npz", "finite_types",
    "simulate", "verify",
)
"""Names auctionc writes into an output directory, for directories made before the record
existed (anything ending in .png is a figure of a report too)."""


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _record(out_dir: Path) -> dict[str, Any] | None:
    return _read_json(out_dir / RECORD)


def _write_record(out_dir: Path, doc: dict[str, Any]) -> None:
    tmp = out_dir / (RECORD + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True, default=str), encoding="utf-8")
    tmp.replace(out_dir / RECORD)


def _ours(name: str) -> bool:
    return name in KNOWN or name.endswith(".png")


def _clean(out_dir: Path, keep: set[str]) -> list[str]:
    """Remove every entry of ``out_dir`` but ``keep`` (and the lock); the names removed."""
    removed = []
    for entry in sorted(os.listdir(out_dir)):
        if entry in keep or entry == LOCK:
            continue
        path = out_dir / entry
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed.append(entry)
    return removed


def _refuse(out_dir: Path, message: str, hint: str) -> UsageError:
    return UsageError(Diagnostic("E0005", message, help=hint))


@contextlib.contextmanager
def claim(out_dir: str | os.PathLike[str], spec: Any, *, force: bool = False, purpose: str = "compile",
          run: dict[str, Any] | None = None, resume: bool = False) -> Iterator[Path]:
    """Hold ``out_dir`` for one run of ``spec`` (see the module's docstring); ``UsageError``
    E0005 when another run holds it, when it belongs to another spec, or (a compile that does
    not ``resume``) when it holds a finished compile of this spec, and ``force`` is false.
    ``run`` is the run's identity (backend, resolved options, seed), recorded with the claim
    so the record is written once."""
    from filelock import FileLock, Timeout

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out / LOCK), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise _refuse(out, f"another auctionc run is writing to {out}",
                      "wait for it to finish, or pass another --out") from None
    try:
        _take(out, spec, force, purpose, run, resume)
        yield out
    finally:
        lock.release()


def _take(out: Path, spec: Any, force: bool, purpose: str, run: dict[str, Any] | None, resume: bool) -> None:
    digest = spec.spec_hash()
    rec = _record(out)
    entries = [e for e in os.listdir(out) if e not in (LOCK, RECORD, RECORD + ".tmp")]
    if rec is not None:
        owner = rec.get("spec_hash")
        foreign = set(rec.get("foreign") or ())
    else:
        legacy = _read_json(out / "result.json") or {}
        owner = legacy.get("spec_hash")
        # first use, or a directory from before the record existed: what auctionc does not
        # write is the user's, and stays
        foreign = {e for e in entries if not _ours(e)}
    if owner is not None and owner != digest:
        old = rec.get("spec") if rec else legacy.get("spec")
        if not force:
            raise _refuse(
                out,
                f"{out} holds the output of another spec ({old or 'unknown'}, hash {owner}), not of "
                f"{spec.name} (hash {digest})",
                "pass another --out, or --force to remove the old output first",
            )
        _clean(out, foreign)
    elif purpose == "compile" and not resume and (out / "mechanism.json").exists():
        if not force:
            before = (rec or {}).get("run") or {}
            how = ", ".join(f"{k} {before[k]}" for k in ("backend", "seed") if before.get(k) is not None)
            raise _refuse(
                out,
                f"{out} already holds a finished compile of {spec.name}" + (f" ({how})" if how else ""),
                "pass --force to replace it, --out DIR to keep both, or --resume to continue its training",
            )
        _clean(out, foreign)
    identity = None
    if run is not None:
        identity = json.loads(json.dumps({"spec_hash": digest, **run}, sort_keys=True, default=str))
    _write_record(out, {
        "spec": spec.name, "spec_hash": digest, "purpose": purpose, "foreign": sorted(foreign),
        "run": identity,
    })


def run_identity(out_dir: str | os.PathLike[str] | None) -> dict[str, Any] | None:
    """The identity of the run now writing to ``out_dir`` (spec hash, backend, options,
    seed), or None when no claimed run is recorded there (a backend run on its own)."""
    if out_dir is None:
        return None
    rec = _record(Path(out_dir))
    return rec.get("run") if rec else None


def identity_mismatch(saved: Any, current: dict[str, Any] | None, ignore: frozenset[str] = frozenset()) -> str | None:
    """What differs between a checkpoint's identity and the current run's, in words; None
    when they agree (or neither is known).  ``ignore`` names options a resume may change
    (``steps``: continuing a run for longer is what --resume is for)."""
    if current is None and saved is None:
        return None
    if not isinstance(saved, dict) or current is None:
        return "the checkpoint does not say which spec and options it was made for"
    for key, words in (("spec_hash", "the spec"), ("backend", "the backend"), ("seed", "the seed")):
        if saved.get(key) != current.get(key):
            return f"{words} differs ({saved.get(key)} in the checkpoint, {current.get(key)} now)"
    a, b = saved.get("options") or {}, current.get("options") or {}
    changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and k not in ignore)
    if changed:
        return "options differ: " + ", ".join(f"{k} ({a.get(k)} in the checkpoint, {b.get(k)} now)" for k in changed[:4])
    return None

"""The model-reply cache of a sweep, owned by the driver when the workers are elsewhere.

The simulator keeps its replies in an sqlite file (``simulate`` option ``cache``).  Workers
on the driver's machine share the sweep's file directly (sqlite's WAL mode serialises the
writers).  Workers on other machines cannot share a file safely, so the driver owns it: it
sends each cell a snapshot of the cache (one object in Ray's store), the cell works on a
local copy, and sends back only the entries it added, which the driver merges.  A rerun on
the cluster therefore finds every reply of the first run and calls no model.

Nothing here knows the simulator's table layout: snapshots, deltas and merges work on
every table of the file, row by row.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path


def _tables(db: sqlite3.Connection, schema: str = "main") -> list[tuple[str, str]]:
    return db.execute(
        f"SELECT name, sql FROM {schema}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()


def snapshot(path: Path) -> bytes:
    """The cache file as bytes (a consistent copy, whatever writers do meanwhile); ``b""``
    when there is no cache yet.  The copy is in rollback-journal mode: a WAL-mode image
    cannot be opened from memory."""
    with tempfile.TemporaryDirectory(prefix="auctionc-cache-") as tmp:
        copy = sqlite3.connect(str(Path(tmp) / "copy.sqlite"))
        if path.exists():
            src = sqlite3.connect(str(path))
            src.backup(copy)
            src.close()
        copy.execute("PRAGMA journal_mode=DELETE")
        empty = not _tables(copy)
        data = b"" if empty else copy.serialize()
        copy.close()
    return data


def attach_snapshot(path: Path, data: bytes) -> None:
    """Write ``data`` (from ``snapshot``) as the sqlite file ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not data:
        return  # no cache yet: the simulator creates the file
    mem = sqlite3.connect(":memory:")
    mem.deserialize(data)
    dst = sqlite3.connect(str(path))
    mem.backup(dst)
    dst.close()
    mem.close()


def new_entries(path: Path, base: bytes) -> bytes | None:
    """The rows of ``path`` that ``base`` lacks, as a database of the same tables (None when
    nothing was added)."""
    work = sqlite3.connect(":memory:")
    src = sqlite3.connect(str(path))
    src.backup(work)
    src.close()
    old = sqlite3.connect(":memory:")
    if base:
        old.deserialize(base)
    delta = sqlite3.connect(":memory:")
    added = 0
    for name, sql in _tables(work):
        delta.execute(sql)
        seen = set(old.execute(f'SELECT * FROM "{name}"').fetchall()) if _has(old, name) else set()
        rows = [r for r in work.execute(f'SELECT * FROM "{name}"').fetchall() if r not in seen]
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            delta.executemany(f'INSERT INTO "{name}" VALUES ({marks})', rows)
            added += len(rows)
    delta.commit()
    data = delta.serialize() if added else None
    for db in (work, old, delta):
        db.close()
    return data


def _has(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def merge(path: Path, delta: bytes) -> int:
    """Add the rows of ``delta`` to the cache file ``path`` (a row whose primary key is
    there already is kept as it was); returns the rows added."""
    path.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(":memory:")
    src.deserialize(delta)
    dst = sqlite3.connect(str(path), timeout=60)
    dst.execute("PRAGMA journal_mode=WAL")
    added = 0
    for name, sql in _tables(src):
        if not _has(dst, name):
            dst.execute(sql)
        rows = src.execute(f'SELECT * FROM "{name}"').fetchall()
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            before = dst.total_changes
            dst.executemany(f'INSERT OR IGNORE INTO "{name}" VALUES ({marks})', rows)
            added += dst.total_changes - before
    dst.commit()
    dst.close()
    src.close()
    return added

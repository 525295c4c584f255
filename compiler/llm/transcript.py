"""The transcript of a run's model calls: one JSON line per call (or cache replay), written
and flushed at once.  Keys are never written: a line holds the messages, the reply, what was
read from it, tokens, cost and timings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def logged_keys(path: Path) -> set[str]:
    """The cache keys of the calls a transcript already records (to resume a run without
    logging a replayed call twice); a line cut by an interruption is skipped."""
    keys: set[str] = set()
    if not path.exists():
        return keys
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            doc = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(doc, dict) and "key" in doc and "error" not in doc:
            keys.add(doc["key"])
    return keys


class TranscriptWriter:
    """Appends JSON lines to ``path``; ``logged`` holds the keys already written."""

    def __init__(self, path: Path, logged: set[str] | None = None):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a", encoding="utf-8")
        self.logged = logged if logged is not None else set()

    @classmethod
    def open(cls, path: Path, resume: bool) -> TranscriptWriter:
        """A resumed run appends to the transcript it continues; a new run starts it afresh."""
        if resume:
            return cls(path, logged_keys(path))
        if path.exists():
            path.unlink()
        return cls(path)

    def write(self, line: dict[str, Any]) -> None:
        self._fh.write(json.dumps(line, default=str) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

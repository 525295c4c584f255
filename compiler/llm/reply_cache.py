"""The content-addressed reply cache: one sqlite row per model reply, keyed by everything that
shapes the reply, committed at once so an interruption loses nothing that was paid for."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any


def cache_location(out_dir: Path, name: Any, user_path: str | Path | None) -> Path:
    """The reply cache file: the caller's path (``--cache``), else the spec's ``cache`` setting
    as a file inside the output directory, else the default there.  A spec cannot write
    elsewhere: a name that leaves ``out_dir`` raises ``OutsideFolder`` (each caller reports it
    with its own code)."""
    if user_path is not None:
        return Path(user_path)
    if not name:
        return out_dir / "llm_cache.sqlite"
    from ..confine import confined

    return confined(out_dir, str(name), what="simulate { cache }")


def cache_key(model: str, params: dict[str, Any], messages: list[dict[str, str]], replicate: dict[str, Any]) -> str:
    """The key of one call: the model's identity (``model_identity``: the name, and for a
    local server the hash of its model file), the parameters that shape the reply, the
    messages and the caller's replicate id (which run, auction, round, bidder, step,
    attempt: two calls with the same prompt in different replicates are different draws)."""
    doc = {"model": model, "params": params, "messages": messages, "replicate": replicate}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class ResponseCache:
    """sqlite, one row per reply, committed at once so an interruption loses nothing paid."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path))
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, model TEXT, content TEXT,"
            " prompt_tokens INTEGER, completion_tokens INTEGER, cost REAL, latency REAL, created REAL,"
            " served_model TEXT)"
        )
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(replies)")}
        if "served_model" not in columns:  # a cache written before served versions were kept
            self.db.execute("ALTER TABLE replies ADD COLUMN served_model TEXT")
        self.db.commit()

    def get(self, key: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT content, prompt_tokens, completion_tokens, cost, latency, served_model FROM replies WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return {"content": row[0], "prompt_tokens": row[1], "completion_tokens": row[2], "cost": row[3],
                "latency": row[4], "served_model": row[5]}

    def put(self, key: str, model: str, content: str, pt: int, ct: int, cost: float, latency: float,
            served_model: str | None = None) -> None:
        """One reply; ``served_model``: the version the provider said answered."""
        self.db.execute(
            "INSERT OR REPLACE INTO replies (key, model, content, prompt_tokens, completion_tokens, cost, latency,"
            " created, served_model) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, model, content, pt, ct, cost, latency, time.time(), served_model),
        )
        self.db.commit()

    def close(self) -> None:
        self.db.close()

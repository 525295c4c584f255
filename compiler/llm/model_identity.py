"""Which model answers: part of every cache key, so that a reply is replayed only for the
model that gave it.

* A llama.cpp server on this machine (the bundled one or ``auctionc serve-model``) answers
  under one alias whatever file it serves; its identity is the SHA-256 of the GGUF file it
  reports at ``/props`` (swapping the file changes every key).
* A provider's model is named by the caller (``openai/gpt-4o``); the version the provider
  says it served (``gpt-4o-2024-08-06``) is stored with each reply, and a reply served by
  another version than the one this run is served is not replayed (``LLMEngine``).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from functools import lru_cache
from pathlib import Path

from .endpoints import is_loopback


@lru_cache(maxsize=16)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file, computed once per (path, size, modification time)."""
    st = os.stat(path)
    return _digest(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def server_model_file(api_base: str, timeout: float = 60.0) -> str | None:
    """The model file a llama.cpp server on this machine reports at ``/props``, or None.

    The answer is part of every cache key, so it must not depend on when it is asked: a
    server that accepts connections while it still loads its model answers 503, and is asked
    again until it answers or ``timeout`` seconds pass (a first run asked during loading got
    no file, its rerun got one, and no reply was ever found in the cache); a busy one-thread
    server answers late, hence the long wait.  A server that is not there refuses at once."""
    root = api_base.rstrip("/")
    root = root[: -len("/v1")] if root.endswith("/v1") else root
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(root + "/props", timeout=timeout) as resp:  # noqa: S310 - loopback only
                doc = json.loads(resp.read(1_000_000))
            break
        except urllib.error.HTTPError as e:
            if e.code != 503 or time.monotonic() >= deadline:
                return None
            time.sleep(0.25)
        except (OSError, ValueError):
            return None
    path = doc.get("model_path") if isinstance(doc, dict) else None
    return path if isinstance(path, str) and Path(path).is_file() else None


def model_identity(model: str, api_base: str | None, gguf: str | os.PathLike[str] | None = None) -> str:
    """``model`` and, for a local server whose model file is known, the file's hash."""
    path = str(gguf) if gguf is not None else (server_model_file(api_base) if is_loopback(api_base) else None)
    if path is not None:
        return f"{model}@gguf-sha256:{file_sha256(path)}"
    return model

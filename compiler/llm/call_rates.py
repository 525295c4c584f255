"""How long a model takes, measured on this machine: each run records its calls' compute
time (without queueing) by model identity, and the dry run prices a planned run's time with
the fit ``seconds = overhead + a * prompt tokens + b * completion tokens`` (non-negative
least squares over the latest calls).

The measurements live in the user's cache directory (``$AUCTIONC_CACHE/llm_rates.json``,
default ``~/.cache/auctionc``; ``$AUCTIONC_LLM_RATES`` names the file itself), never in an
output directory: they describe this machine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

KEEP = 2000
"""Calls kept per model identity (the latest)."""


def rates_path() -> Path:
    if os.environ.get("AUCTIONC_LLM_RATES"):
        return Path(os.environ["AUCTIONC_LLM_RATES"])
    base = Path(os.environ.get("AUCTIONC_CACHE") or Path.home() / ".cache" / "auctionc")
    return base / "llm_rates.json"


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def record(calls: dict[str, list[tuple[int, int, float]]], path: Path | None = None) -> None:
    """Add ``{identity: [(prompt tokens, completion tokens, compute seconds), ...]}``."""
    if not any(calls.values()):
        return
    path = path or rates_path()
    doc = _load(path)
    for identity, rows in calls.items():
        kept = [r for r in doc.get(identity, []) if isinstance(r, list) and len(r) == 3] + [list(r) for r in rows]
        doc[identity] = kept[-KEEP:]
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a measurement that cannot be kept is not an error of the run


def fitted_rate(identity: str, path: Path | None = None) -> dict[str, Any] | None:
    """The fit of the calls measured for ``identity``: seconds per call, per prompt token and
    per completion token, and how many calls it rests on; None without at least 3 calls."""
    rows = np.array(_load(path or rates_path()).get(identity, []), float)
    if rows.ndim != 2 or len(rows) < 3:
        return None
    from scipy.optimize import nnls

    design = np.column_stack([np.ones(len(rows)), rows[:, 0], rows[:, 1]])
    coef, _ = nnls(design, rows[:, 2])
    return {"seconds_per_call": float(coef[0]), "seconds_per_prompt_token": float(coef[1]),
            "seconds_per_completion_token": float(coef[2]), "calls_measured": int(len(rows))}


def estimate_seconds(rate: dict[str, Any], calls: int, prompt_tokens: int, completion_tokens: int) -> float:
    return (rate["seconds_per_call"] * calls + rate["seconds_per_prompt_token"] * prompt_tokens
            + rate["seconds_per_completion_token"] * completion_tokens)

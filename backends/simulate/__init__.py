"""Simulation backend: standard single-item formats played by LLM agents (litellm,
a local llama.cpp server by default) and rule-based bidders.

Public API (imported lazily: ``auctionc plan`` must not pay for numpy/litellm):
``run_simulation``, ``SimulationResult``.  The model server and the call engine are the
compiler's (``auctionc.llm``).
"""

from __future__ import annotations

from typing import Any

_API = {
    "run_simulation": "engine",
    "SimulationResult": "engine",
    "RoundRecord": "engine",
    "SimulateBackend": "backend",
}


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    raise AttributeError(name)


__all__ = list(_API)

"""auctionc: a declarative auction-design language and its compiler.

The public API (everything the CLI does):

    spec = auctionc.load("examples/manelli_vincent.auction", params={"n": 3})
    print(auctionc.plan(spec))
    result = auctionc.compile(spec, backend="menu", options={"steps": 2000}, seed=0)
    cert = auctionc.verify(result.mechanism, spec)

Heavy libraries (torch, cvxpy, litellm) are imported only when a backend runs.
"""

from __future__ import annotations

from typing import Any

from .errors import AuctionError, BackendError, PlanError, SpecError, UsageError

__version__ = "0.1.0"

_API = {
    "load": ("api", "load"),
    "loads": ("api", "loads"),
    "plan": ("api", "plan"),
    "compile": ("api", "compile"),
    "verify": ("api", "verify"),
    "simulate": ("api", "simulate"),
    "load_mechanism": ("mechanism", "load_mechanism"),
    "to_cvxpy": ("program_export", "to_cvxpy"),
}


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        mod, attr = _API[name]
        return getattr(importlib.import_module(f"{__name__}.{mod}"), attr)
    raise AttributeError(name)


__all__ = [
    "AuctionError",
    "BackendError",
    "PlanError",
    "SpecError",
    "UsageError",
    "__version__",
    *_API,
]

"""Backend discovery through the ``auctionc.backends`` entry-point group.

A new backend is a new module plus one line in its distribution's entry points;
nothing here lists backends by name.
"""

from __future__ import annotations

import difflib
from functools import cache, lru_cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auctionc.plugins.interface import Backend

GROUP = "auctionc.backends"


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def available_backends() -> list[str]:
    return sorted(_entry_points())


@cache
def backend_class(name: str) -> type[Backend]:
    """The backend class registered under ``name`` (importing its module registers its
    diagnostic codes); KeyError when unknown."""
    eps = _entry_points()
    if name not in eps:
        raise KeyError(name)
    return eps[name].load()  # type: ignore[attr-defined]


def get_backend(name: str) -> Backend:
    """A new instance of the backend registered under ``name``; KeyError when unknown."""
    return backend_class(name)()


def suggest(name: str) -> str | None:
    close = difflib.get_close_matches(name, available_backends(), n=1, cutoff=0.6)
    return close[0] if close else None

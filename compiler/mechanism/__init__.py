"""Mechanism artifacts (backend-independent)."""

from __future__ import annotations

from .base import (
    ArtifactMeta,
    Mechanism,
    known_kinds,
    load_mechanism,
    package_versions,
    register_artifact,
)

_CORE_MODULES = ("menu", "table", "formats", "datamarket", "datamarket_menu", "datamarket_network")
_loaded = False


def _ensure_kinds_loaded(kind: str | None = None) -> None:
    """Import the core artifact modules; for a kind they do not define, the module
    registered under that name in the ``auctionc.artifacts`` entry-point group
    (backends with artifact kinds of their own), imported only when needed."""
    global _loaded
    import importlib

    if not _loaded:
        for mod in _CORE_MODULES:
            try:
                importlib.import_module(f"{__name__}.{mod}")
            except ModuleNotFoundError as e:  # a core module not written yet
                if e.name != f"{__name__}.{mod}":
                    raise
        _loaded = True
    if kind is not None:
        from importlib.metadata import entry_points

        from .base import _KINDS

        if kind not in _KINDS:
            for ep in entry_points(group="auctionc.artifacts", name=kind):
                ep.load()


__all__ = [
    "ArtifactMeta",
    "Mechanism",
    "known_kinds",
    "load_mechanism",
    "package_versions",
    "register_artifact",
]

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

_CORE_MODULES = ("menu", "table", "formats", "datamarket")
_loaded = False


def _ensure_kinds_loaded() -> None:
    """Import the core artifact modules and any registered through the
    ``auctionc.artifacts`` entry-point group (backends with artifact kinds of their own)."""
    global _loaded
    if _loaded:
        return
    import importlib
    from importlib.metadata import entry_points

    for mod in _CORE_MODULES:
        try:
            importlib.import_module(f"{__name__}.{mod}")
        except ModuleNotFoundError as e:  # a core module not written yet
            if e.name != f"{__name__}.{mod}":
                raise
    for ep in entry_points(group="auctionc.artifacts"):
        ep.load()
    _loaded = True


__all__ = [
    "ArtifactMeta",
    "Mechanism",
    "known_kinds",
    "load_mechanism",
    "package_versions",
    "register_artifact",
]

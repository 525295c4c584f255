"""Diagnostics for every layer above the language.

The diagnostic type and the code registry are defined by the language
(``auctionc.dsl.diagnostics``), the lowest layer, because the parser reports with them
and imports nothing above itself.  The compiler and the backends import them from here,
so no backend imports ``auctionc.dsl``.
"""

from __future__ import annotations

from . import codes as _codes  # noqa: F401,E402  (registers the compiler's codes)
from .dsl.diagnostics import (
    Code,
    Diagnostic,
    Span,
    did_you_mean,
    did_you_mean_cased,
    register_codes,
    registered_codes,
    render_all,
    to_json,
)


def all_codes() -> dict[str, Code]:
    """Every code of the tool: the language's, the compiler's and those of every installed
    backend (each backend declares its own in its ``codes`` class attribute)."""
    from .plugins.registry import available_backends, backend_class

    for name in available_backends():
        try:
            backend_class(name)
        except Exception:  # a broken backend has no codes to show; the planner reports it
            continue
    return registered_codes()


__all__ = [
    "Code",
    "Diagnostic",
    "Span",
    "all_codes",
    "did_you_mean",
    "did_you_mean_cased",
    "register_codes",
    "registered_codes",
    "render_all",
    "to_json",
]

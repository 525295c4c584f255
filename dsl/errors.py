"""The error types the front end raises; the compiler adds its own in ``auctionc.errors``.

They live here, in the lowest layer, because the parser raises ``SpecError`` and the
language imports nothing above itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .diagnostics import Diagnostic


class AuctionError(Exception):
    """Base class: a user-facing failure with one or more diagnostics."""

    exit_code = 1

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic):
        if not isinstance(diagnostics, list):
            diagnostics = [diagnostics]
        self.diagnostics = diagnostics
        super().__init__("; ".join(d.message for d in diagnostics))


class SpecError(AuctionError):
    """The spec does not parse or does not make sense."""

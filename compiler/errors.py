"""Typed errors of the public API.  Each carries diagnostics, never a bare library traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .dsl.diagnostics import Diagnostic


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


class PlanError(AuctionError):
    """No backend accepts the spec, or the named backend refuses it."""


class BackendError(AuctionError):
    """A backend failed while solving, training or simulating (solver status, budget...)."""


class UsageError(AuctionError):
    """Bad command-line use: unreadable file, unknown option value."""

    exit_code = 2

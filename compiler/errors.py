"""Typed errors of the public API.  Each carries diagnostics, never a bare library traceback.

``AuctionError`` and ``SpecError`` come from the language layer (the parser raises them);
the stages above it add theirs here."""

from __future__ import annotations

from .dsl.errors import AuctionError, SpecError


class PlanError(AuctionError):
    """No backend accepts the spec, or the named backend refuses it."""


class BackendError(AuctionError):
    """A backend failed while solving, training or simulating (solver status, budget...)."""


class UsageError(AuctionError):
    """Bad command-line use: unreadable file, unknown option value."""

    exit_code = 2


__all__ = ["AuctionError", "BackendError", "PlanError", "SpecError", "UsageError"]

"""Backends: each one a module, found through the ``auctionc.backends`` entry-point group."""

from .base import Backend, Capabilities, CompileResult, Verdict
from .registry import available_backends, get_backend

__all__ = [
    "Backend",
    "Capabilities",
    "CompileResult",
    "Verdict",
    "available_backends",
    "get_backend",
]

"""Starting the LP/MILP solvers the compiler and the exact backend share (HiGHS, CBC)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_QUIET: ContextVar[bool] = ContextVar("auctionc_quiet_solvers", default=False)
"""Whether what native solvers print (HiGHS's banner) is dropped instead of sent to stderr."""


@contextmanager
def quiet_solvers(quiet: bool = True) -> Iterator[None]:
    """Within this block, drop what native solver code prints (``--quiet``)."""
    token = _QUIET.set(quiet)
    try:
        yield
    finally:
        _QUIET.reset(token)


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send what native solver code prints on file descriptor 1 to stderr, where it cannot
    corrupt ``--json`` output, or nowhere inside ``quiet_solvers`` (a no-op when stdout has
    no file descriptor)."""
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    saved = os.dup(fd)
    devnull = None
    try:
        try:
            target = -1 if _QUIET.get() else sys.stderr.fileno()
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):  # a stderr without a descriptor (captured)
            target = -1
        if target < 0:
            devnull = target = os.open(os.devnull, os.O_WRONLY)
        os.dup2(target, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        if devnull is not None:
            os.close(devnull)


def new_highs() -> Any:
    """A ``highspy.Highs`` whose start-up banner goes to stderr: HiGHS prints it on stdout
    (once per process), where it would corrupt ``--json`` output.

    HiGHS keeps one thread scheduler per process and refuses to run with ``threads = 1``
    (what the exact backend asks for) once another user in the process (cvxpy's HIGHS
    interface, say) has started it with more threads; so the scheduler is reset here, where
    no HiGHS solve is running."""
    import highspy

    highspy.Highs.resetGlobalScheduler(True)
    with stdout_to_stderr():
        return highspy.Highs()


def cbc_solver(pulp: Any, **kw: Any) -> Any:
    """pulp's bundled CBC (deprecated in pulp 3.3 in favour of a separately installed CBC,
    which these machines do not have)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(msg=False, **kw)

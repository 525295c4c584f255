"""Starting the LP/MILP solvers the compiler and the exact backend share (HiGHS, CBC)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send what native solver code prints on file descriptor 1 to stderr, where it cannot
    corrupt ``--json`` output (a no-op when stdout has no file descriptor)."""
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    saved = os.dup(fd)
    try:
        os.dup2(sys.stderr.fileno() if hasattr(sys.stderr, "fileno") else os.open(os.devnull, os.O_WRONLY), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


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

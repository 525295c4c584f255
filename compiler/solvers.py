"""Starting the LP/MILP solvers the compiler and the exact backend share (HiGHS, CBC)."""

from __future__ import annotations

from typing import Any


def new_highs() -> Any:
    """A ``highspy.Highs`` whose start-up banner goes to stderr: HiGHS prints it on stdout
    (once per process), where it would corrupt ``--json`` output."""
    import os
    import sys

    import highspy

    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return highspy.Highs()
    saved = os.dup(fd)
    try:
        os.dup2(sys.stderr.fileno() if hasattr(sys.stderr, "fileno") else os.open(os.devnull, os.O_WRONLY), fd)
        h = highspy.Highs()
    finally:
        os.dup2(saved, fd)
        os.close(saved)
    return h


def cbc_solver(pulp: Any, **kw: Any) -> Any:
    """pulp's bundled CBC (deprecated in pulp 3.3 in favour of a separately installed CBC,
    which these machines do not have)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(msg=False, **kw)

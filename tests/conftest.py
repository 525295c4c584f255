"""Shared test setup: paths, and single-threaded torch for the loaded CI machine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def repo_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test from the repository root, so diagnostics show paths like tests/bad/x.auction."""
    monkeypatch.chdir(ROOT)
    return ROOT


def run_backend(name: str, spec, options: dict | None = None, *, seed: int = 0, out_dir: Path | None = None,
                resume: bool = False):
    """Backend ``name`` on ``spec`` as the pipeline runs it (the planner parses the options,
    then ``compile`` with a run context), without verifying or saving: its ``CompileResult``."""
    from auctionc.planner import make_plan
    from auctionc.plugins import RunContext

    plan = make_plan(spec, name, options)
    return plan.backend.compile(spec, plan.options, RunContext(seed=seed, out_dir=out_dir, resume=resume))


def accepts(name: str, spec, options: dict | None = None):
    """Backend ``name``'s verdict on ``spec`` with these options (parsed as the planner does)."""
    from auctionc.planner import parse_backend_options
    from auctionc.plugins import get_backend

    backend = get_backend(name)
    return backend.accepts(spec, parse_backend_options(backend, spec, options))

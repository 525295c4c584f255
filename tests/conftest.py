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

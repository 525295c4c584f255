"""The BundleFlow benchmark's cell runs end to end on a tiny configuration (8 goods, a few
hundred valuations, a few steps): every method is scored on the same held-out valuations and
the tables are written from the row.  The benchmark's figures themselves are not asserted."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch, tmp_path):
    monkeypatch.setenv("AUCTIONC_CACHE", str(tmp_path))
    monkeypatch.syspath_prepend(str(BENCH))
    for name in ("bundleflow", "bundleflow_data"):
        sys.modules.pop(name, None)
    return importlib.import_module("bundleflow")


def test_a_tiny_cell_runs_every_method(bench):
    cfg = {**bench.CONFIGS["quick"], "samples": 300, "test": 100, "menu": 8, "steps": 6, "warmup": 4, "eval_every": 2,
           "flow_iterations": 5}
    row = bench.run_cell("regions", 8, 0, cfg, bench.METHODS)
    assert set(row["methods"]) == set(bench.METHODS) and row["train"] == 200 and row["test"] == 100
    for x in row["methods"].values():
        assert len(x["payments"]) == 100 and x["revenue"] == pytest.approx(np.mean(x["payments"]))
    table = bench.cell_table([row])
    assert table.count("| regions 8 | 0 |") == len(bench.METHODS)
    assert "| regions 8 | 1 |" in bench.summary_table([row])

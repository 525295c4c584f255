"""Progress that tells the truth: plain lines at a steady rate when stderr is not a terminal,
a watcher line while a long step reports nothing, and a verifier bar that moves with the work."""

from __future__ import annotations

import io
import re
import time

import numpy as np
from auctionc import progress as progress_module
from auctionc.progress import Progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_lines_come_at_a_steady_rate_not_per_update(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(progress_module.time, "monotonic", clock)
    stream = io.StringIO()
    task = Progress("lines", stream, interval=10.0).task("train", total=100)
    for step in range(100):  # one update per simulated second
        clock.now += 1.0
        task.update(advance=1, loss=1.0 / (step + 1))
    task.close()
    lines = stream.getvalue().splitlines()
    # the first update, one every 10 s after it, and the final line
    assert len(lines) == 11, lines
    assert lines[0].startswith("train: at 1/100 (1%), loss 1,") and lines[-1].startswith("train: done 100/100 (100%)")
    seconds = [int(re.search(r", (\d+) s$", ln).group(1)) for ln in lines]
    assert np.diff(seconds[:-1]).tolist() == [10] * 9


def test_auto_is_lines_off_a_terminal_and_nothing_when_quiet():
    assert Progress.auto(True, io.StringIO()).mode == "lines"
    assert Progress.auto(False, io.StringIO()).mode == "off"


def test_a_silent_step_inside_a_stage_still_writes_lines():
    stream = io.StringIO()
    reporter = Progress("lines", stream, interval=0.2)
    with reporter.stage("compile (lp)"):
        time.sleep(0.9)  # a solver call that reports nothing
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 3 and all(re.fullmatch(r"compile \(lp\): still working, \d+ s", ln) for ln in lines), lines


def test_a_stage_stays_quiet_while_its_tasks_write():
    stream = io.StringIO()
    reporter = Progress("lines", stream, interval=0.3)
    with reporter.stage("verify"):
        task = reporter.task("verify: search", total=8)
        for _ in range(8):
            time.sleep(0.1)
            task.update(advance=1)
        task.close()
    assert "still working" not in stream.getvalue()


def test_the_verifier_bar_moves_during_one_bidders_search():
    """One bidder: the old bar counted bidders, so it sat at 0% until the search ended."""
    from auctionc import ir
    from auctionc.mechanism.base import ArtifactMeta, Mechanism
    from auctionc.verifier import verify

    class ShadedPosting(Mechanism):
        """One buyer, two items; pays a fixed 0.3 per item it asks for above 0.5 (not a menu)."""

        kind = "shaded"
        outcome_space = "items"
        n_bidders = 1

        def __init__(self) -> None:
            self.meta = ArtifactMeta()

        def allocate_and_pay(self, bids):
            b = np.asarray(bids, float)
            alloc = (b > 0.5).astype(float)
            return alloc, 0.3 * alloc.sum(axis=2) + 0.1 * (b * alloc).sum(axis=2)

        def data(self):
            return {}

        @classmethod
        def from_data(cls, data, meta, directory):
            raise NotImplementedError

    u = ir.ValueExpr(terms=(ir.Draw(dist=ir.Uniform(low=0.0, high=1.0)),), coefs=(1.0,))
    spec = ir.AuctionSpec(name="one", items=("A", "B"), requirements=(ir.IC(), ir.IR()),
                          objective=ir.Objective(terms=("revenue",), weights=(1.0,)),
                          bidders=(ir.Bidder(name="buyer", valuation=ir.Additive(values=(u, u))),))
    stream = io.StringIO()
    verify(ShadedPosting(), spec, samples=500, steps=12, restarts=2, interim=False, metric_samples=2000,
           progress=Progress("lines", stream, interval=0.0))
    counts = [int(m.group(1)) for m in re.finditer(r"verify: misreport search: at (\d+)/13", stream.getvalue())]
    # 1 bidder x (grid and restarts + 12 coordinate rounds): every step is a line at interval 0
    assert counts[:13] == list(range(1, 14)) and counts == sorted(counts), stream.getvalue()
    assert "verify: misreport search: done 13/13" in stream.getvalue()

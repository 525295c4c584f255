"""The driver of a sweep: build the grid, skip the cells already in the table, hand the
rest to an executor, write each row the moment it comes back, and show one progress bar.

The driver is the only writer of the sweep directory's table, manifest and (for remote
workers) model-reply cache; a lock on the directory keeps a second driver out.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic
from ..errors import UsageError
from ..progress import Progress
from . import llm_cache
from .cell import DONE_STATUSES, STATUS_ERROR, STATUS_FAILED, STATUS_OK, unpack
from .grid import Cell, Grid, build_grid, check_entries, parse_backends, parse_seeds, parse_sets
from .results_table import E_TABLE, ResultsTable

MANIFEST = "sweep.json"
CELLS = "cells"
CACHE = "llm_cache.sqlite"
LOCK = ".lock"


@dataclass
class SweepConfig:
    """What ``auctionc sweep`` was asked (see the CLI for each field's meaning)."""

    spec: Path
    sets: list[str] = field(default_factory=list)
    backends: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    seeds: str | None = None
    simulate: bool = False
    llm: bool = False
    model: str | None = None
    api_base: str | None = None
    rounds: int | None = None
    concurrency: int = 4
    samples: int | None = None
    restarts: int | None = None
    misreport_steps: int | None = None
    device: str = "cpu"
    out: Path | None = None
    jobs: int | None = None
    ray: bool = False
    ray_address: str | None = None
    ray_cpus: int | None = None
    cpus_per_cell: float = 1.0
    retries: int = 2
    fresh: bool = False
    figures: bool = True
    x: str | None = None

    def settings(self) -> dict[str, Any]:
        """The settings every cell shares that change its result (part of each cell's key)."""
        if self.simulate:
            return {"mode": "simulate", "llm": self.llm, "model": self.model, "rounds": self.rounds}
        verify = {k: v for k, v in (("samples", self.samples), ("restarts", self.restarts),
                                    ("steps", self.misreport_steps)) if v is not None}
        return {"mode": "compile", "verify": verify}


@dataclass
class SweepRun:
    """What a sweep did: its grid, the table's rows of this grid, and what it wrote."""

    grid: Grid
    directory: Path
    rows: list[dict[str, Any]]
    ran: int = 0
    skipped: int = 0
    seconds: float = 0.0
    executor: str = ""
    figures: list[Path] = field(default_factory=list)
    summary: list[dict[str, Any]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        out = {STATUS_OK: 0, STATUS_FAILED: 0, STATUS_ERROR: 0, "missing": 0}
        for r in self.rows:
            out[r.get("status") or "missing"] = out.get(r.get("status") or "missing", 0) + 1
        out["missing"] = len(self.grid.cells) - len(self.rows)
        return out

    def to_json(self) -> dict[str, Any]:
        c = self.counts
        return {
            "ok": c[STATUS_ERROR] == 0 and c["missing"] == 0,
            "directory": str(self.directory),
            "grid": self.grid.to_json(),
            "cells": len(self.grid.cells),
            "ran": self.ran,
            "skipped": self.skipped,
            "counts": c,
            "seconds": round(self.seconds, 2),
            "executor": self.executor,
            "table": {"parquet": str(self.directory / "results.parquet"), "csv": str(self.directory / "results.csv")},
            "figures": [str(p) for p in self.figures],
            "summary": self.summary,
        }


def prepare(config: SweepConfig) -> tuple[Grid, Path]:
    """The grid and the sweep directory; every command-line mistake is raised here, before
    any cell runs."""
    from ..frontend import read_source

    text = read_source(config.spec)
    sets = parse_sets(config.sets)
    entries = parse_backends(config.backends, config.simulate)
    seeds = parse_seeds(config.seeds)
    check_entries(entries, config.options, config.simulate)
    if (config.llm or config.model) and not config.simulate:
        raise UsageError(Diagnostic("E1108", "--llm and --model need --simulate",
                                    help="add --simulate to play the spec's format with model bidders"))
    if config.ray or config.ray_address:
        from .ray_executor import import_ray

        import_ray()  # a missing Ray is reported before anything is written
    grid = build_grid(str(config.spec), text, sets, entries, seeds, config.options, config.settings())
    directory = config.out or Path("out") / _spec_name(text, str(config.spec), sets) / "sweep"
    return grid, Path(directory)


def _spec_name(text: str, path: str, sets: dict[str, list[str]]) -> str:
    from ..errors import AuctionError
    from ..frontend import load_text

    first = {k: v[0] for k, v in sets.items()} or None
    try:
        return load_text(text, path, first).name
    except AuctionError:
        return Path(path).stem


class _Lock:
    """An exclusive lock on the sweep directory, released when the driver exits or dies."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / LOCK
        self.file = self.path.open("a+")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise UsageError(Diagnostic(
                E_TABLE, f"another auctionc sweep is writing {directory}",
                help="wait for it to finish, or give this sweep another --out")) from None

    def release(self) -> None:
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def make_executor(config: SweepConfig) -> Any:
    if config.ray or config.ray_address:
        from .ray_executor import RayExecutor

        return RayExecutor(config.ray_address, config.ray_cpus, config.retries, config.cpus_per_cell,
                           config.device, max_in_flight=config.jobs)
    import os

    from .local import LocalExecutor

    return LocalExecutor(config.jobs or os.cpu_count() or 1, config.retries)


def task_of(cell: Cell, grid: Grid, directory: Path, config: SweepConfig) -> dict[str, Any]:
    out_rel = f"{CELLS}/{cell.slug()}"
    task: dict[str, Any] = {
        "key": cell.key,
        "index": cell.index,
        "spec_file": grid.spec_file,
        "spec_text": grid.spec_text,
        "params": cell.param_dict,
        "entry": cell.entry.to_json(),
        "options": dict(cell.options),
        "seed": cell.seed,
        "settings": {**grid.settings, "api_base": config.api_base, "concurrency": config.concurrency},
        "device": config.device,
        "out_dir": str(directory / out_rel),
        "out_rel": out_rel,
    }
    if config.simulate:
        task["cache"] = {"path": str((directory / CACHE).resolve())}
    return task


def lost_row(task: dict[str, Any], reason: str, attempts: int) -> dict[str, Any]:
    """The row of a cell whose worker kept dying (no result came back)."""
    from .cell import base_row

    row = base_row(task, "", 0)
    row.update(status=STATUS_ERROR, diagnostic_code="E1106", diagnostic=reason, attempts=attempts, worker=None,
               finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    return row


class _Board:
    """The sweep's progress: one bar (done, failed, running, time left) and, with
    ``verbose``, one line per finished cell."""

    def __init__(self, progress: Progress, total: int, already: int, verbose: bool) -> None:
        self.progress, self.total, self.verbose = progress, total, verbose
        self.done = self.failed = self.errors = 0
        self.running: set[str] = set()
        self.t0 = time.monotonic()
        self.already = already
        self.task = progress.task("sweep", total, completed=already)
        self._show()

    def _eta(self) -> str:
        finished = self.done + self.failed + self.errors
        left = self.total - self.already - finished
        if finished == 0 or left <= 0:
            return "?" if left > 0 else "0 s"
        s = (time.monotonic() - self.t0) / finished * left
        return f"{s / 3600:.1f} h" if s > 5400 else f"{s / 60:.1f} min" if s > 90 else f"{s:.0f} s"

    def _show(self) -> None:
        fields = {"ok": self.done, "failed": self.failed, "running": len(self.running), "left": self._eta()}
        if self.errors:
            fields["errors"] = self.errors
        self.task.update(completed=self.already + self.done + self.failed + self.errors, **fields)

    def refresh(self) -> None:
        """Between events: the bar's clock and the time left move on (lines stay rate-limited)."""
        self._show()

    def start(self, key: str) -> None:
        self.running.add(key)
        self._show()

    def finish(self, key: str, row: dict[str, Any], label: str) -> None:
        self.running.discard(key)
        status = row.get("status")
        if status == STATUS_OK:
            self.done += 1
        elif status == STATUS_FAILED:
            self.failed += 1
        else:
            self.errors += 1
        if self.verbose:
            self.line(f"{label}: {_row_text(row)}")
        self._show()

    def line(self, text: str) -> None:
        # the current sys.stderr: under a live bar, rich prints it above the bar
        if self.progress.enabled or self.verbose:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        self.task.close()


def _row_text(row: dict[str, Any]) -> str:
    if row.get("status") != STATUS_OK:
        return f"{row.get('status')} ({row.get('diagnostic')})"
    rev = row.get("revenue")
    parts = [f"revenue {rev:.4f}" if isinstance(rev, (int, float)) else "revenue -"]
    lo, hi = row.get("revenue_ci_low"), row.get("revenue_ci_high")
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
        parts[0] += f" [{lo:.4f}, {hi:.4f}]"
    if row.get("certificate_kind"):
        parts.append(f"{row['certificate_kind']} {'ok' if row.get('certificate_ok') else 'FAILS'}")
    if row.get("model_calls") is not None:
        parts.append(f"{row['model_calls']} model call(s), {row.get('cache_hits') or 0} cached")
    parts.append(f"{row.get('seconds', 0):.1f} s")
    if (row.get("attempts") or 1) > 1:
        parts.append(f"attempt {row['attempts']}")
    return ", ".join(parts)


def run_sweep(config: SweepConfig, progress: Progress | None = None, verbose: bool = False,
              on_event: Callable[[str, dict[str, Any], dict[str, Any]], None] | None = None) -> SweepRun:
    """Run every cell of the grid not in the table yet; returns the rows of this grid.

    ``on_event(event, task, info)`` sees every executor event (start, done, retry, lost)
    after the driver handled it."""
    progress = progress or Progress.off()
    grid, directory = prepare(config)
    lock = _Lock(directory)
    try:
        return _run_locked(config, grid, directory, progress, verbose, on_event)
    finally:
        lock.release()


def _run_locked(config: SweepConfig, grid: Grid, directory: Path, progress: Progress, verbose: bool,
                on_event: Callable | None) -> SweepRun:
    t0 = time.perf_counter()
    if config.fresh:
        for name in ("results.parquet", "results.csv", MANIFEST):
            (directory / name).unlink(missing_ok=True)
        shutil.rmtree(directory / CELLS, ignore_errors=True)  # the model-reply cache stays: it is not a result
    table = ResultsTable(directory).load()
    _write_manifest(directory, grid, config)
    todo = [c for c in grid.cells if (table.rows.get(c.key) or {}).get("status") not in DONE_STATUSES]
    executor = make_executor(config)
    run = SweepRun(grid, directory, [], ran=len(todo), skipped=len(grid.cells) - len(todo),
                   executor=executor.describe())
    tasks = [task_of(c, grid, directory, config) for c in todo]
    labels = {c.key: f"[{c.index + 1}/{len(grid.cells)}] {c.describe()}" for c in todo}
    cache_path = directory / CACHE
    if config.simulate and getattr(executor, "name", "") == "ray":
        # workers may sit on other machines: the driver owns the cache and ships snapshots
        executor.snapshot = llm_cache.snapshot(cache_path)
        executor.cache_back = lambda delta: llm_cache.merge(cache_path, delta)
        for t in tasks:
            t.pop("cache", None)
    board = _Board(progress, len(grid.cells), run.skipped, verbose)
    if run.skipped and (progress.enabled or verbose):
        board.line(f"sweep: {run.skipped} of {len(grid.cells)} cell(s) already in {directory / 'results.parquet'}; "
                   f"running {len(todo)} ({executor.describe()})")

    def handle(event: str, task: dict[str, Any], info: dict[str, Any]) -> None:
        key = task["key"]
        if event == "start":
            board.start(key)
        elif event == "retry":
            board.running.discard(key)
            board.line(f"{labels[key]}: {info['reason']}; retrying")
        elif event in ("done", "lost"):
            if event == "done":
                row = info["row"]
                if info.get("archive") is not None:
                    unpack(info["archive"], directory / task["out_rel"])
            else:
                row = lost_row(task, info["reason"], info.get("attempts", 1))
            table.put(row)
            board.finish(key, row, labels[key])
        if on_event is not None:
            on_event(event, task, info)

    try:
        executor.run(tasks, handle, tick=board.refresh)
    finally:
        board.close()
    run.seconds = time.perf_counter() - t0
    run.rows = [table.rows[c.key] for c in grid.cells if c.key in table.rows]
    from .summary import summarize, write_summary

    run.summary = summarize(run.rows, grid)
    write_summary(directory, run.summary, grid)
    if config.figures:
        from .figures import write_figures

        run.figures = write_figures(directory, run.rows, grid, config.x)
    return run


def _write_manifest(directory: Path, grid: Grid, config: SweepConfig) -> None:
    doc = {"grid": grid.to_json(), "argv": sys.argv, "cells": [
        {"key": c.key, "index": c.index, "params": c.param_dict, "backend": c.entry.label, "seed": c.seed,
         "out_dir": f"{CELLS}/{c.slug()}"} for c in grid.cells]}
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=str))
    tmp.replace(directory / MANIFEST)


def dry_run(config: SweepConfig) -> tuple[Grid, dict[str, Any], str]:
    """The grid, the estimate and its text; nothing is run, locked or removed."""
    import os

    from .cost_estimate import estimate, render

    grid, directory = prepare(config)
    rows = {} if config.fresh else ResultsTable(directory).load().rows
    todo = [c for c in grid.cells if (rows.get(c.key) or {}).get("status") not in DONE_STATUSES]
    finished = [r for r in rows.values() if r.get("status") in DONE_STATUSES]
    parallel = config.jobs or (os.cpu_count() or 1)
    est = estimate(grid, todo, finished, parallel, config.api_base)
    return grid, est, render(grid, est)

"""The local executor: worker processes on this machine, no dependency beyond the stdlib.

``concurrent.futures.ProcessPoolExecutor`` is not enough here: when one of its workers
dies (killed, out of memory) the whole pool breaks and every running cell is lost with
it.  Here the driver hands each worker one cell at a time over its own pipe, so it
always knows which cell a dead worker held: that cell alone is retried (up to
``retries`` times) on a fresh worker, and the other workers go on.

Workers are started with ``spawn`` (a fork of a driver that has loaded torch or opened
sqlite files is unsafe) and ignore Ctrl-C, which the driver handles for them.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import wait
from typing import Any

Handler = Callable[[str, dict[str, Any], dict[str, Any]], None]
"""``handle(event, task, info)`` with event ``start`` (info: pid, host), ``done``
(info: the cell's result), ``retry`` (info: reason) or ``lost`` (info: reason)."""


def _worker_main(conn: Any, threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # solvers print banners on stdout, which belongs to the driver's --json output and
    # would break its progress bar; a cell's results are in its files and its row
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    from .cell import run_cell

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            return
        if task is None:
            return
        try:
            result = run_cell(task, on_start=lambda pid, host: conn.send(("start", {"pid": pid, "host": host})))
            conn.send(("done", result))
        except (BrokenPipeError, OSError):
            return


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Read by the BLAS and OpenMP runtimes when numpy or torch is first imported.  They must be
in the worker's environment from its start: the spawned interpreter imports numpy (through
auctionc) before any code of ours runs in it, and a BLAS left at its default starts a thread
per core in every worker."""


class _Worker:
    def __init__(self, ctx: Any, threads: int) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, threads), daemon=True)
        saved = {k: os.environ.get(k) for k in THREAD_VARIABLES}
        os.environ.update({k: str(threads) for k in THREAD_VARIABLES})
        try:
            self.proc.start()  # the child copies this environment
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        child.close()
        self.task: dict[str, Any] | None = None

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)


class LocalExecutor:
    """``jobs`` worker processes; a cell whose worker dies is retried ``retries`` times."""

    name = "local"

    def __init__(self, jobs: int, retries: int = 2, threads: int | None = None) -> None:
        self.jobs = max(1, int(jobs))
        self.retries = max(0, int(retries))
        cores = os.cpu_count() or 1
        self.threads = threads or max(1, cores // self.jobs)

    def describe(self) -> str:
        return f"local process pool, {self.jobs} worker(s), {self.threads} torch thread(s) each"

    def run(self, tasks: list[dict[str, Any]], handle: Handler, tick: Callable[[], None] | None = None) -> None:
        """Run every task; ``tick()`` is called about once a second (progress between events)."""
        if not tasks:
            return
        ctx = multiprocessing.get_context("spawn")
        pending = deque(tasks)
        attempts: dict[str, int] = {}
        workers: list[_Worker] = []
        for t in tasks:
            t["threads"] = self.threads
        try:
            while pending or any(w.task is not None for w in workers):
                for w in workers:  # every idle worker gets a cell, missing workers are started
                    if w.task is None and pending and w.proc.is_alive():
                        self._assign(w, pending, attempts)
                while pending and len(workers) < self.jobs:
                    workers.append(_Worker(ctx, self.threads))
                    self._assign(workers[-1], pending, attempts)
                busy = [w for w in workers if w.task is not None]
                ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in workers], timeout=1.0)
                if tick is not None:
                    tick()
                for w in busy:
                    if w.conn in ready:
                        self._drain(w, handle)
                for w in list(workers):
                    if w.proc.is_alive():
                        continue
                    # what it sent before dying counts: a cell it finished is not lost
                    if w.task is not None and not self._drain(w, handle):
                        self._lost(w, pending, attempts, handle)
                    workers.remove(w)
                    w.kill()
        except BaseException:
            for w in workers:  # Ctrl-C or a driver error: the running cells are abandoned now
                w.kill()
            raise
        finally:
            for w in workers:
                w.stop()
            for w in workers:
                w.proc.join(10)
                w.kill()

    def _assign(self, w: _Worker, pending: deque, attempts: dict[str, int]) -> None:
        task = pending.popleft()
        try:
            w.conn.send(task)
        except (BrokenPipeError, OSError):  # the worker died meanwhile: the cell waits for another
            pending.appendleft(task)
            return
        attempts[task["key"]] = attempts.get(task["key"], 0) + 1
        task["attempt"] = attempts[task["key"]]
        w.task = task

    def _drain(self, w: _Worker, handle: Handler) -> bool:
        """Handle what the worker has sent; True when it finished its cell."""
        while w.task is not None:
            try:
                if not w.conn.poll():
                    return False
                kind, info = w.conn.recv()
            except (EOFError, OSError):
                return False
            if kind == "start":
                handle("start", w.task, info)
                continue
            info["row"]["attempts"] = w.task["attempt"]
            handle("done", w.task, info)
            w.task = None
            return True
        return False

    def _lost(self, w: _Worker, pending: deque, attempts: dict[str, int], handle: Handler) -> None:
        task = w.task
        assert task is not None
        code = w.proc.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        reason = f"the worker process (pid {w.proc.pid}) {how} during the cell"
        w.task = None
        if attempts[task["key"]] <= self.retries:
            handle("retry", task, {"reason": reason})
            pending.appendleft(task)
        else:
            handle("lost", task, {"reason": f"{reason}, {attempts[task['key']]} time(s)",
                                  "attempts": attempts[task["key"]]})

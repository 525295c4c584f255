"""Progress of long work, one implementation for every stage and backend.

On a terminal it is a rich bar on stderr; when stderr is not a terminal (a log file, CI,
a pipe) it is plain text lines at a steady rate, so a long run never sits silent; with
``--quiet`` it is nothing.  Work reports through ``Progress.task`` and never asks which
of the three it is talking to.

A step that reports nothing for a long time (one solver call, a compatibility proof) runs
inside ``Progress.stage``: in line mode a watcher thread writes ``<stage>: still working,
N s`` whenever no line has been written for ``interval`` seconds, so the rate holds there too.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal, TextIO

Mode = Literal["bar", "lines", "off"]

LINE_INTERVAL_S = 10.0
"""Seconds between plain-text progress lines (the first and the last are always written)."""

_last_line = [time.monotonic()]
"""When any reporter last wrote a line (all write to stderr, some through their own
``Progress``): the stage watcher stays quiet while others speak."""


class Progress:
    """Hands out tasks that report to a bar, to plain lines, or nowhere."""

    def __init__(self, mode: Mode = "off", stream: TextIO | None = None, interval: float = LINE_INTERVAL_S):
        self.mode = mode
        self.stream = stream
        self.interval = interval

    @classmethod
    def off(cls) -> Progress:
        return cls("off")

    @classmethod
    def auto(cls, enabled: bool = True, stream: TextIO | None = None) -> Progress:
        """A bar when ``stream`` (default stderr) is a terminal, lines otherwise, nothing when
        not ``enabled``."""
        if not enabled:
            return cls("off")
        s = stream if stream is not None else sys.stderr
        tty = bool(getattr(s, "isatty", lambda: False)())
        return cls("bar" if tty else "lines", s)

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def task(self, label: str, total: float | None, completed: float = 0) -> Task:
        """A unit of work of ``total`` steps (None: unknown), ``completed`` done already."""
        if self.mode == "bar":
            return _BarTask(label, total, completed, self.stream or sys.stderr)
        if self.mode == "lines":
            return _LineTask(label, total, completed, self.stream or sys.stderr, self.interval)
        return Task(label, total, completed)

    def log(self, message: str) -> None:
        """One line of news (a stage that starts, a repair that ran)."""
        if self.mode != "off":
            self.write(message)

    def write(self, line: str) -> None:
        print(line, file=self.stream or sys.stderr, flush=True)
        _last_line[0] = time.monotonic()

    @contextlib.contextmanager
    def stage(self, label: str) -> Iterator[None]:
        """Run a step that may report nothing for long; in line mode, write a line whenever
        ``interval`` seconds pass without one (the tasks inside keep writing their own)."""
        if self.mode != "lines":
            yield
            return
        done = threading.Event()
        t0 = time.monotonic()

        def watch() -> None:
            while not done.wait(min(1.0, self.interval / 4)):
                now = time.monotonic()
                if now - max(_last_line[0], t0) >= self.interval:
                    self.write(f"{label}: still working, {now - t0:.0f} s")

        watcher = threading.Thread(target=watch, name=f"progress: {label}", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()


class Task:
    """A task that reports nowhere; the base of the two that do."""

    def __init__(self, label: str, total: float | None, completed: float = 0) -> None:
        self.label = label
        self.total = total
        self.completed = completed
        self.fields: dict[str, Any] = {}

    def update(self, completed: float | None = None, advance: float = 0, **fields: Any) -> None:
        """Set or advance the count; ``fields`` are figures shown beside it (revenue=0.55)."""
        if completed is not None:
            self.completed = completed
        self.completed += advance
        self.fields.update(fields)
        self._show(final=False)

    def close(self) -> None:
        self._show(final=True)

    def __enter__(self) -> Task:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _show(self, final: bool) -> None:
        pass

    def _info(self) -> str:
        parts = []
        for k, v in self.fields.items():
            parts.append(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}")
        return ", ".join(parts)


class _LineTask(Task):
    """Plain lines: the first at once, then one every ``interval`` seconds, and the last."""

    def __init__(self, label: str, total: float | None, completed: float, stream: TextIO, interval: float) -> None:
        super().__init__(label, total, completed)
        self.stream, self.interval = stream, interval
        self.t0 = time.monotonic()
        self.last = -float("inf")
        self.closed = False

    def _show(self, final: bool) -> None:
        if self.closed:
            return
        now = time.monotonic()
        if not final and now - self.last < self.interval:
            return
        self.last = now
        self.closed = final
        if self.total:
            pct = 100.0 * min(1.0, self.completed / self.total)
            count = f"{self.completed:g}/{self.total:g} ({pct:.0f}%)"
        else:
            count = f"{self.completed:g}"
        info = self._info()
        tail = f", {info}" if info else ""
        word = "done" if final else "at"
        print(f"{self.label}: {word} {count}{tail}, {now - self.t0:.0f} s", file=self.stream, flush=True)
        _last_line[0] = now


class _BarTask(Task):
    """A transient rich bar with the fields shown after it."""

    def __init__(self, label: str, total: float | None, completed: float, stream: TextIO) -> None:
        super().__init__(label, total, completed)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self.bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
            console=Console(file=stream),
            transient=True,
        )
        self.bar.start()
        self.id = self.bar.add_task(label, total=total, completed=completed, info="")
        self.last = 0.0

    def _show(self, final: bool) -> None:
        now = time.monotonic()
        if not final and now - self.last < 0.1:  # a redraw per training step would cost more than the step
            return
        self.last = now
        self.bar.update(self.id, completed=self.completed, info=self._info())
        if final:
            self.bar.stop()

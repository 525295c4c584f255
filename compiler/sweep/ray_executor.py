"""The Ray executor: each cell a Ray task, on a local Ray runtime (``--ray``) or an existing
cluster (``--ray-address``).

* A task whose worker process or node dies is retried by Ray (``max_retries``); a cell that
  fails for the spec's own reasons returns a row, so Ray never sees an exception to retry.
* Resources follow the backend: a cell asks for ``cpus_per_cell`` CPUs, and for a GPU when
  the sweep runs on ``--device cuda`` and the backend learns (menu networks, BundleFlow).
* Results stream back to the driver, which alone writes the table.  Each task runs in a
  scratch directory on its node and returns its output directory as an archive, so the
  driver holds every cell's files whether or not the nodes share a filesystem.
* Tasks announce their start on a Ray queue (an actor), which is how the driver counts
  running cells and attempts.
* Simulation cells get a snapshot of the driver's model-reply cache and return the
  replies they added (see ``llm_cache``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..diagnostics import Diagnostic
from ..errors import UsageError
from .local import Handler

E_RAY = "E1105"

LOCAL_OBJECT_STORE_BYTES = 512 * 1024**2
"""Object store of a local runtime: cells send back results and small output archives,
and Ray's default (30% of memory) would claim shared memory the cells need."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError(Diagnostic(
            E_RAY, "--ray needs Ray, which is not installed",
            help="pip install 'auctionc[ray]' (on the driver and on every node of the cluster)")) from None
    return ray


def _cell_task(task: dict[str, Any], snapshot: bytes | None, queue: Any) -> dict[str, Any]:
    from .cell import run_cell

    if snapshot is not None:
        task = {**task, "cache": {"snapshot": snapshot}}

    def started(pid: int, host: str) -> None:
        queue.put(("start", task["key"], {"pid": pid, "host": host}))

    return run_cell(task, on_start=started)


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, retries: int = 2,
                 cpus_per_cell: float = 1.0, device: str = "cpu", max_in_flight: int | None = None) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.retries = max(0, int(retries))
        self.cpus_per_cell = cpus_per_cell
        self.device = device
        self.max_in_flight = max_in_flight
        self.snapshot: bytes | None = None
        """Set by the driver for simulation sweeps: its cache as bytes."""
        self.cache_back: Any = None
        """Set by the driver: called with each delta of new cache entries."""
        self._started = False

    def describe(self) -> str:
        where = f"Ray cluster at {self.address}" if self.address else "local Ray runtime"
        return f"{where}, {self.cpus_per_cell:g} CPU(s) per cell, {self.retries} retries"

    def _gpus(self, task: dict[str, Any]) -> float:
        if not self.device.startswith("cuda") or task["entry"]["format"] is not None:
            return 0.0
        from ..plugins.registry import backend_class

        name = task["entry"]["backend"]
        try:
            learned = bool(name) and backend_class(name).capabilities.method == "learned"
        except Exception:  # noqa: BLE001 - an unknown backend fails in its cell, with its diagnostic
            learned = False
        return 1.0 if learned else 0.0

    def start(self) -> Any:
        ray = import_ray()
        if ray.is_initialized():
            return ray
        # the cells' own output goes to their files and rows, not to the driver's terminal
        kwargs: dict[str, Any] = {"log_to_driver": False}
        if self.address:
            kwargs["address"] = self.address  # the cluster's own settings stand
        else:
            kwargs.update(num_cpus=self.num_cpus, object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                          include_dashboard=False)
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise UsageError(Diagnostic(
                E_RAY, f"cannot start or reach Ray ({'address ' + self.address if self.address else 'local runtime'}): "
                       f"{str(e).splitlines()[0] if str(e) else type(e).__name__}",
                help="check that `ray status` works on this machine and that the cluster runs the same "
                     "Ray and Python versions")) from None
        self._started = True
        return ray

    def stop(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def capacity(self, ray: Any) -> int:
        """Cells that can run at once now (the cluster may grow or shrink)."""
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        n = max(1, int(cpus // max(self.cpus_per_cell, 1e-9)))
        return min(n, self.max_in_flight) if self.max_in_flight else n

    def run(self, tasks: list[dict[str, Any]], handle: Handler, tick: Callable[[], None] | None = None) -> None:
        """Run every task; ``tick()`` is called about twice a second (progress between events)."""
        if not tasks:
            return
        ray = self.start()
        from ray.util.queue import Empty, Queue

        queue = Queue(actor_options={"num_cpus": 0})
        remote = ray.remote(_cell_task)
        snap = ray.put(self.snapshot) if self.snapshot is not None else None
        pending = list(reversed(tasks))
        in_flight: dict[Any, dict[str, Any]] = {}
        by_key = {t["key"]: t for t in tasks}
        starts: dict[str, int] = {}
        crashed = (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                   ray.exceptions.RayTaskError, ray.exceptions.TaskCancelledError,
                   ray.exceptions.ObjectLostError)
        oom = getattr(ray.exceptions, "OutOfMemoryError", None)
        if oom is not None:
            crashed = (*crashed, oom)

        def drain_events() -> None:
            while True:
                try:
                    _, key, info = queue.get_nowait()
                except Empty:
                    return
                starts[key] = starts.get(key, 0) + 1
                task = by_key[key]
                if starts[key] > 1:
                    handle("retry", task, {"reason": f"Ray retried the cell (attempt {starts[key]})"})
                handle("start", task, info)

        try:
            while pending or in_flight:
                room = self.capacity(ray) - len(in_flight)
                while pending and room > 0:
                    t = pending.pop()
                    ref = remote.options(num_cpus=self.cpus_per_cell, num_gpus=self._gpus(t),
                                         max_retries=self.retries, retry_exceptions=False).remote(
                        {**t, "ship": True}, snap, queue)
                    in_flight[ref] = t
                    room -= 1
                done, _ = ray.wait(list(in_flight), num_returns=1, timeout=0.5)
                drain_events()
                if tick is not None:
                    tick()
                for ref in done:
                    t = in_flight.pop(ref)
                    try:
                        result = ray.get(ref)
                    except crashed as e:
                        n = max(1, starts.get(t["key"], 1))
                        handle("lost", t, {"reason": f"Ray gave up on the cell after {n} attempt(s): "
                                                     f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
                                           "attempts": n})
                        continue
                    result["row"]["attempts"] = max(1, starts.get(t["key"], 1))
                    if result.get("cache") is not None and self.cache_back is not None:
                        self.cache_back(result["cache"])
                    handle("done", t, result)
        except BaseException:
            for ref in in_flight:
                ray.cancel(ref, force=True)
            raise
        finally:
            try:
                ray.kill(queue.actor)
            except Exception:  # noqa: BLE001 - the runtime may be going down already
                pass
            self.stop()

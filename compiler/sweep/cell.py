"""One cell of a sweep, run where a worker runs it: load the spec at the cell's parameters,
compile and verify with the cell's backend (or simulate the cell's format), and turn what
came back into one row of the results table.

Everything here takes and returns plain data, so the same function runs in a local worker
process and as a Ray task on another machine.  A failure for the spec's own reasons (an
``AuctionError``: a backend that refuses the spec, a format that does not fit) is a row with
its diagnostic, never an exception: a retry would fail the same way.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import tarfile
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from .anchors import setting_of
from .llm_cache import attach_snapshot, new_entries

STATUS_OK = "ok"
"""The cell ran; ``certificate_ok`` says whether the verifier passed it."""
STATUS_FAILED = "failed"
"""The spec's own reasons (an ``AuctionError``): recorded with its diagnostic, not retried."""
STATUS_ERROR = "error"
"""An internal error, or the worker died more often than the retries allow: rerun on resume."""
DONE_STATUSES = (STATUS_OK, STATUS_FAILED)
"""What a rerun skips."""


def run_cell(task: dict[str, Any], on_start: Any = None) -> dict[str, Any]:
    """Run ``task`` (``Cell`` data plus where to write) and return
    ``{"row": ..., "archive": bytes | None, "cache": bytes | None}``.

    ``task["ship"]`` packs the output directory into ``archive`` (a worker on another
    machine); otherwise it is written in place.  ``on_start(pid, host)`` is called first."""
    host, pid = socket.gethostname(), os.getpid()
    if on_start is not None:
        on_start(pid, host)
    t0 = time.perf_counter()
    ship = bool(task.get("ship"))
    scratch = Path(tempfile.mkdtemp(prefix="auctionc-cell-")) if ship else None
    out_dir = scratch / "cell" if scratch is not None else Path(task["out_dir"])
    if out_dir.exists():
        shutil.rmtree(out_dir)  # an earlier attempt's half-written files
    out_dir.mkdir(parents=True)
    row = base_row(task, host, pid)
    cache_out = None
    try:
        spec = cell_spec(task)
        setting = setting_of(spec)
        row["setting"] = json.dumps(setting, sort_keys=True) if setting is not None else None
        row["status"] = STATUS_OK
        if task["settings"]["mode"] == "simulate":
            cache_path, snapshot = _cache_for(task, scratch)
            doc = _simulate(spec, task, out_dir, cache_path).to_json()
            row.update(simulation_fields(doc))
            if snapshot is not None:
                cache_out = new_entries(cache_path, snapshot)
            if doc.get("complete") is False:  # stopped early: a rerun continues it
                row["status"] = STATUS_ERROR
        else:
            row.update(compile_fields(_compile(spec, task, out_dir).to_json()))
    except Exception as e:  # noqa: BLE001 - every failure becomes a row, never a lost cell
        from ..errors import AuctionError

        if isinstance(e, AuctionError):
            d = e.diagnostics[0] if e.diagnostics else None
            row["status"] = STATUS_FAILED
            row["diagnostic_code"] = d.code if d else None
            row["diagnostic"] = _diag_text(e)
        else:
            row["status"] = STATUS_ERROR
            row["diagnostic_code"] = "E0999"
            row["diagnostic"] = f"internal error: {type(e).__name__}: {e}"
            (out_dir / "traceback.txt").write_text(traceback.format_exc())
    row["seconds"] = round(time.perf_counter() - t0, 3)
    row["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    (out_dir / "row.json").write_text(json.dumps(row, indent=1, default=str))
    archive = None
    if scratch is not None:
        archive = _pack(out_dir)
        shutil.rmtree(scratch, ignore_errors=True)
    return {"row": row, "archive": archive, "cache": cache_out}


def _diag_text(e: Exception) -> str:
    parts = []
    for d in getattr(e, "diagnostics", ()):
        text = f"{d.code}: {d.message}"
        if getattr(d, "help", None):
            text += f" (help: {d.help})"
        parts.append(text)
    return "; ".join(parts) or str(e)


def base_row(task: dict[str, Any], host: str, pid: int) -> dict[str, Any]:
    entry = task["entry"]
    from .. import __version__

    return {
        "cell": task["key"],
        "index": task["index"],
        "spec": None,
        "spec_file": task["spec_file"],
        "spec_hash": None,
        "setting": None,
        "params": json.dumps(task["params"], sort_keys=True),
        **{f"param_{k}": _num_or_text(v) for k, v in task["params"].items()},
        "backend": entry["label"],
        "backend_name": entry["backend"] or None,
        "format": entry["format"] or None,
        "options": json.dumps(task["options"], sort_keys=True, default=str),
        "seed": task["seed"],
        "mode": task["settings"]["mode"],
        "status": None,
        "revenue": None,
        "revenue_ci_low": None,
        "revenue_ci_high": None,
        "welfare": None,
        "welfare_ci_low": None,
        "welfare_ci_high": None,
        "efficiency": None,
        "certificate_kind": None,
        "certificate_ok": None,
        "max_regret": None,
        "solve_s": None,
        "verify_s": None,
        "seconds": None,
        "model_calls": None,
        "cache_hits": None,
        "cost_usd": None,
        "auctionc_version": __version__,
        "versions": None,
        "diagnostic_code": None,
        "diagnostic": None,
        "attempts": 1,
        "worker": f"{host}:{pid}",
        "out_dir": task.get("out_rel"),
        "finished_at": None,
    }


def _num_or_text(v: str) -> Any:
    try:
        x = json.loads(v)
    except (json.JSONDecodeError, TypeError):
        return v
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else v


def cell_spec(task: dict[str, Any]) -> Any:
    """The cell's spec: the file's text at the cell's parameters, with the entry's format
    put in place of the spec's mechanism (a format is run, not designed: objective and
    ``solve with`` go)."""
    from ..frontend import load_text
    from ..ir import Format

    spec = load_text(task["spec_text"], task["spec_file"], task["params"] or None)
    entry = task["entry"]
    if entry["format"] is None:
        return spec
    fields = dict(task["options"])
    name = entry["format"] or (spec.mechanism.name if spec.mechanism is not None else None)
    if name is None:
        from ..diagnostics import Diagnostic
        from ..errors import PlanError

        raise PlanError(Diagnostic("E0607", "the spec names no format to run for --backend format",
                                   help="name one: --backend format:vcg"))
    if not entry["format"] and spec.mechanism is not None:
        fields = {**spec.mechanism.model_dump(exclude={"name"}), **fields}
    update: dict[str, Any] = {"mechanism": Format(name=name, **fields), "solve": None}
    if task["settings"]["mode"] != "simulate":
        update["objective"] = None
    return spec.model_copy(update=update)


def _compile(spec: Any, task: dict[str, Any], out_dir: Path) -> Any:
    from .. import api

    entry = task["entry"]
    backend = "format" if entry["format"] is not None else (entry["backend"] or None)
    options = {} if entry["format"] is not None else dict(task["options"])
    _threads(task)
    return api.compile(spec, backend=backend, options=options, seed=task["seed"], out=out_dir,
                       device=task.get("device", "cpu"), progress=False, verify=True,
                       verify_options=task["settings"].get("verify") or None)


def _simulate(spec: Any, task: dict[str, Any], out_dir: Path, cache_path: Path | None) -> Any:
    from .. import api

    sim = task["settings"]
    # the shared reply cache is the caller's path (as --cache is), not a spec setting
    return api.simulate(spec, llm=bool(sim.get("llm")), model=sim.get("model"), api_base=sim.get("api_base"),
                        cache_path=cache_path, rounds=sim.get("rounds"), seed=task["seed"], out_dir=out_dir,
                        concurrency=int(sim.get("concurrency") or 4), progress=False)


def _threads(task: dict[str, Any]) -> None:
    """Torch on the cell's share of the cores: several cells on one machine would
    otherwise each start a thread per core."""
    n = task.get("threads")
    if n:
        import torch

        torch.set_num_threads(int(n))


def _cache_for(task: dict[str, Any], scratch: Path | None) -> tuple[Path | None, bytes | None]:
    """The model-reply cache of a simulation cell: the sweep's shared file (workers on the
    driver's machine), or a copy of the driver's snapshot (workers elsewhere), whose new
    entries go back to the driver."""
    cache = task.get("cache") or {}
    if cache.get("path"):
        return Path(cache["path"]), None
    if "snapshot" in cache and scratch is not None:
        path = scratch / "llm_cache.sqlite"
        snapshot = cache["snapshot"]
        attach_snapshot(path, snapshot)
        return path, snapshot
    return None, None


def _pack(out_dir: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(out_dir, arcname=".")
    return buf.getvalue()


def unpack(archive: bytes, dest: Path) -> None:
    """Write a shipped cell directory under ``dest`` (the driver's copy); members that would
    land outside ``dest`` are refused by tarfile's ``data`` filter."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")


# --------------------------------------------------------------------------
# rows from results
# --------------------------------------------------------------------------


def _metric(metrics: dict[str, Any], name: str) -> tuple[Any, Any, Any]:
    m = metrics.get(name)
    if isinstance(m, dict):
        ci = m.get("ci95") or [None, None]
        return m.get("value"), ci[0], ci[1]
    if isinstance(m, (int, float)):
        return m, None, None
    return None, None, None


def compile_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The row fields of ``CompileOutput.to_json()``."""
    metrics = doc.get("metrics") or {}
    rev, rlo, rhi = _metric(metrics, "revenue")
    wel, wlo, whi = _metric(metrics, "welfare")
    cert = doc.get("certificate") or {}
    timings = doc.get("timings") or {}
    return {
        "spec": doc.get("spec"),
        "spec_hash": doc.get("spec_hash"),
        "backend_name": doc.get("backend"),
        "revenue": rev, "revenue_ci_low": rlo, "revenue_ci_high": rhi,
        "welfare": wel, "welfare_ci_low": wlo, "welfare_ci_high": whi,
        "certificate_kind": cert.get("kind"),
        "certificate_ok": cert.get("ok"),
        "max_regret": cert.get("max_regret"),
        "solve_s": timings.get("solve_s"),
        "verify_s": timings.get("verify_s"),
        "versions": json.dumps(doc.get("versions") or {}, sort_keys=True),
    }


def simulation_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The row fields of ``SimulationResult.to_json()``."""
    metrics = doc.get("metrics") or {}
    rev, rlo, rhi = _metric(metrics, "revenue")
    wel, wlo, whi = _metric(metrics, "welfare")
    calls = doc.get("calls") or {}
    return {
        "spec": doc.get("spec"),
        "spec_hash": doc.get("spec_hash"),
        "backend_name": "simulate",
        "format": doc.get("format"),
        "revenue": rev, "revenue_ci_low": rlo, "revenue_ci_high": rhi,
        "welfare": wel, "welfare_ci_low": wlo, "welfare_ci_high": whi,
        "efficiency": _metric(metrics, "efficiency")[0],  # a share with its interval: the table keeps the share
        "model_calls": calls.get("model_calls"),
        "cache_hits": calls.get("cache_hits"),
        "cost_usd": calls.get("cost_usd"),
        "solve_s": (doc.get("timings") or {}).get("total_s"),
        "versions": json.dumps(doc.get("versions") or {}, sort_keys=True),
        # a simulation that stopped early (budget) is not a finished cell
        **({} if doc.get("complete", True) else {"diagnostic": f"stopped early: {doc.get('stop_reason')}"}),
    }

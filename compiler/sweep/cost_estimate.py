"""``auctionc sweep --dry-run``: the grid, its size and what it would cost, without running it.

Time per cell comes, best first, from the cells of this sweep that have finished already
(same backend entry), else from the project's measured benchmarks (below, with the file
each figure was read from), scaled by the cell's training steps and verification budget.
Model calls and money come from the simulator's own dry run, one per parameter
assignment and format, times the seeds.  Where neither is known the estimate says so
instead of guessing.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from typing import Any

from .grid import AUTO, Cell, Grid


@dataclass(frozen=True)
class Measured:
    seconds: float
    steps: int
    setting: str
    source: str
    by_steps: bool = True
    """Whether the time grows with the training steps.  GemNet's does not: its
    compatibility transform dominates, and a shorter training leaves more conflicts for
    it to repair (measured: 300 steps took 247-1,387 s on 2x2 where 8,000 took 52 s)."""
    shape: tuple[int, int] = (2, 2)
    """(bidders, items) of the measured setting."""


TRAINING: dict[str, Measured] = {
    # median sec/run of training (and GemNet's transform) on the project's shared 2-core CPU
    "rochetnet": Measured(2.4, 2000, "1x2 additive U[0,1]", "benchmarks/results/menu.md", shape=(1, 2)),
    "gemnet": Measured(51.8, 8000, "2x2 additive U[0,1]", "benchmarks/results/gemnet.md", by_steps=False),
    "lottery_ama": Measured(48.4, 8000, "2x2 additive U[0,1]", "benchmarks/results/ama.md"),
}
VERIFY = Measured(38.9, 10000 * 20 * 200, "2x2 differentiable artifact, 10000 samples x 20 restarts x 200 steps",
                  "benchmarks/results/verify.md")
"""The verifier's misreport search on a learned artifact; ``steps`` here is
samples x restarts x steps, which its cost grows with."""
LOCAL_MODEL_S_PER_CALL = Measured(3.1, 1, "SmolLM2-135M, one thread", "benchmarks/results/simulate.md")
"""Seconds per call of the bundled local model."""


def _verify_budget(settings: dict[str, Any], spec: Any) -> int:
    from ..api import _verify_settings

    v = _verify_settings(spec, settings.get("verify"))
    return int(v.get("samples", 10000)) * int(v.get("restarts", 20)) * int(v.get("steps", 200))


def _compile_estimate(spec: Any, cell: Cell, grid: Grid) -> tuple[float | None, str]:
    """(seconds or None, where the figure comes from) for one compile cell."""
    from ..errors import AuctionError
    from ..planner import make_plan

    if cell.entry.is_format:
        return None, "no benchmark figure for a format's verification"
    try:
        plan = make_plan(spec, cell.entry.backend or None, dict(cell.options))
    except AuctionError as e:
        return 0.0, f"fails at planning ({e.diagnostics[0].code}): recorded as a failed row"
    if plan.chosen != "menu":
        return None, f"no benchmark figure for backend {plan.chosen}"
    opts = plan.options
    arch = "rochetnet" if spec.n_bidders == 1 else opts.get("architecture", "gemnet")
    m = TRAINING[arch]
    steps = int(opts.get("steps") or m.steps)
    train = m.seconds * steps / m.steps if m.by_steps else m.seconds
    verify = VERIFY.seconds * _verify_budget(grid.settings, spec) / VERIFY.steps
    how = f"scaled to {steps}" if m.by_steps and steps != m.steps else "not scaled by steps" if not m.by_steps else ""
    text = f"{m.source} ({m.setting}: {m.seconds:g} s at {m.steps} steps{', ' + how if how else ''})"
    shape = (spec.n_bidders, spec.n_items)
    if shape != m.shape:  # marked, and listed once per entry by ``estimate``
        text += f"{OTHER_SHAPE}{shape[0]}x{shape[1]}"
    return train + verify, f"{text} + {VERIFY.source} (verifier, scaled to the budget)"


OTHER_SHAPE = " @@ "


def _simulation_estimate(spec: Any, cell: Cell, grid: Grid, api_base: str | None) -> dict[str, Any]:
    """The simulator's dry run for one cell: model calls, tokens, USD."""
    import tempfile

    from .. import api
    from ..errors import AuctionError
    from .cell import cell_spec

    task = {"spec_text": grid.spec_text, "spec_file": grid.spec_file, "params": cell.param_dict,
            "entry": cell.entry.to_json(), "options": dict(cell.options), "settings": grid.settings}
    try:
        s = cell_spec(task)
        with tempfile.TemporaryDirectory(prefix="auctionc-dry-") as tmp:
            res = api.simulate(s, llm=bool(grid.settings.get("llm")), model=grid.settings.get("model"),
                               api_base=api_base, rounds=grid.settings.get("rounds"), seed=cell.seed,
                               out_dir=tmp, dry_run=True, progress=False)
    except AuctionError as e:
        return {"calls": 0, "cost_usd": 0.0, "note": f"fails ({e.diagnostics[0].code}): recorded as a failed row"}
    dry = res.dry_run or {}
    return {"calls": int(dry.get("calls", 0)), "cost_usd": float(dry.get("cost_usd") or 0.0),
            "unpriced": dry.get("unpriced_models") or []}


def estimate(grid: Grid, todo: list[Cell], finished: list[dict[str, Any]], parallel: int,
             api_base: str | None = None) -> dict[str, Any]:
    """The cost of running ``todo``: per backend entry, and in total."""
    from ..errors import AuctionError
    from ..frontend import load_text

    simulate = grid.settings.get("mode") == "simulate"
    specs: dict[str, Any] = {}
    per_entry: dict[str, dict[str, Any]] = {}
    calls = 0
    cost = 0.0
    sims: dict[tuple[str, str], dict[str, Any]] = {}
    for cell in todo:
        label = cell.entry.label
        e = per_entry.setdefault(label, {"backend": label, "cells": 0, "seconds": 0.0, "unknown": 0, "sources": []})
        e["cells"] += 1
        pkey = json.dumps(cell.param_dict, sort_keys=True)
        if pkey not in specs:
            try:
                specs[pkey] = load_text(grid.spec_text, grid.spec_file, cell.param_dict or None)
            except AuctionError as err:
                specs[pkey] = err
        spec = specs[pkey]
        same = [r for r in finished if r.get("backend") == label and r.get("seconds") is not None]
        here = [r for r in same if r.get("params") == pkey]  # same entry and parameters first
        done = [float(r["seconds"]) for r in (here or same)]
        if isinstance(spec, AuctionError):
            secs, src = 0.0, f"the spec does not load at {pkey} ({spec.diagnostics[0].code})"
        elif done:
            secs, src = statistics.median(done), (f"median of {len(done)} finished cell(s) of this sweep"
                                                  + ("" if here else " at other parameters"))
        elif simulate:
            k = (pkey, label)
            if k not in sims:
                sims[k] = _simulation_estimate(spec, cell, grid, api_base)
            sim = sims[k]
            calls += sim["calls"]
            cost += sim["cost_usd"]
            local = grid.settings.get("llm") and not grid.settings.get("model")
            secs = sim["calls"] * LOCAL_MODEL_S_PER_CALL.seconds if local else (0.0 if not sim["calls"] else None)
            src = (f"{LOCAL_MODEL_S_PER_CALL.source} ({LOCAL_MODEL_S_PER_CALL.seconds:g} s per local-model call)"
                   if local else "rule-based bidders: seconds" if not sim["calls"] else
                   "provider latency unknown: the simulator's dry run gives calls and cost only")
        else:
            secs, src = _compile_estimate(spec, cell, grid)
        if secs is None:
            e["unknown"] += 1
        else:
            e["seconds"] += secs
        if src and OTHER_SHAPE in src:  # a figure measured at another size of the setting
            head, _, tail = src.partition(OTHER_SHAPE)
            shape, _, rest = tail.partition(" ")
            shapes = e.setdefault("other_shapes", [])
            if shape not in shapes:
                shapes.append(shape)
            src = head + (" " + rest if rest else "")
        if src and src not in e["sources"]:
            e["sources"].append(src)
    for e in per_entry.values():
        e["source"] = "; ".join(e.pop("sources"))
        other = e.pop("other_shapes", [])
        if other:
            e["source"] += f"; also used for {', '.join(other)}, where the time may differ widely"
    known = sum(e["seconds"] for e in per_entry.values())
    unknown = sum(e["unknown"] for e in per_entry.values())
    return {
        "cells": len(grid.cells),
        "to_run": len(todo),
        "done": len(grid.cells) - len(todo),
        "per_entry": list(per_entry.values()),
        "cell_seconds": round(known, 1),
        "unknown_cells": unknown,
        "parallel": parallel,
        "wall_seconds": round(known / max(1, parallel), 1),
        "model_calls": calls if simulate else 0,
        "cost_usd": round(cost, 6),
    }


def _dur(s: float) -> str:
    return f"{s / 3600:.1f} h" if s > 5400 else f"{s / 60:.1f} min" if s > 90 else f"{s:.0f} s"


def render(grid: Grid, est: dict[str, Any], show: int = 30) -> str:
    """The dry run as text: the grid, its size, the cells and the estimate."""
    lines = [f"sweep of {grid.spec_file}"]
    for k, vs in grid.sets.items():
        lines.append(f"  --set {k}: {', '.join(vs)} ({len(vs)})")
    labels = [e.label if e != AUTO else "auto (the spec's solve with, else the planner)" for e in grid.entries]
    lines.append(f"  backends: {', '.join(labels)} ({len(labels)})")
    lines.append(f"  seeds: {', '.join(map(str, grid.seeds))} ({len(grid.seeds)})")
    sizes = [len(v) for v in grid.sets.values()] + [len(grid.entries), len(grid.seeds)]
    lines.append(f"grid: {' x '.join(map(str, sizes))} = {est['cells']} cell(s); {est['done']} done, "
                 f"{est['to_run']} to run")
    for i, c in enumerate(grid.cells[:show]):
        lines.append(f"  [{i + 1}] {c.describe()}")
    if len(grid.cells) > show:
        lines.append(f"  ... and {len(grid.cells) - show} more")
    lines.append("estimated cost:")
    for e in est["per_entry"]:
        known = e["cells"] - e["unknown"]
        per = f"{_dur(e['seconds'] / known)} per cell" if known else "unknown per cell"
        lines.append(f"  {e['backend']}: {e['cells']} cell(s), {per} ({e['source'] or 'no figure'})")
    total = f"{_dur(est['cell_seconds'])} of cell time, about {_dur(est['wall_seconds'])} on {est['parallel']} worker(s)"
    if est["unknown_cells"]:
        total += f", plus {est['unknown_cells']} cell(s) of unknown time (run a few, then --dry-run again)"
    lines.append(f"  total: {total}")
    if grid.settings.get("mode") == "simulate":
        lines.append(f"  model calls: {est['model_calls']}, about ${est['cost_usd']:.4f} "
                     "(the simulator's dry run; cached replies are not paid again)")
    return "\n".join(lines)

"""A whole assignment run: every instance, the figures over them, the report and result.json.

``run_assignment`` is what ``auctionc simulate`` calls for an assignment spec.  A dry run
runs nothing and says what a run would do (instances, schedules per instance, proxy
answers, model calls: zero for the oracle).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auctionc import ir

from .assignment_metrics import summarize
from .assignment_report import write_report
from .experiment import InstanceResult, RunSettings, run_instance


@dataclass
class AssignmentResult:
    spec: ir.AssignmentSpec
    seed: int
    options: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    curve: list[dict[str, Any]] = field(default_factory=list)
    instances: list[InstanceResult] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    dry_run: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None

    @property
    def calls(self) -> dict[str, Any]:
        proxy = self.spec.students.proxy
        answers = sum(r.proxy.get("answers", 0) for r in self.instances)
        return {
            "proxy": proxy.kind if proxy else None,
            "answers": answers,
            "model_calls": int(sum(r.proxy.get("calls", 0) for r in self.instances)),
            "tokens": int(sum(r.proxy.get("tokens", 0) for r in self.instances)),
            "cost_usd": float(sum(r.proxy.get("cost_usd", 0.0) for r in self.instances)),
        }

    def to_json(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "spec": spec.name,
            "spec_hash": spec.spec_hash(),
            "backend": "assignment",
            "kind": "assignment",
            "mechanism": spec.mechanism.name,
            "seed": self.seed,
            "instances": spec.simulate.instances,
            "students": spec.students.count,
            "courses": len(spec.courses.names),
            "queries": spec.simulate.queries,
            "proxy": spec.students.proxy.model_dump(mode="json") if spec.students.proxy else None,
            "complete": True,
            "metrics": self.metrics,
            "curve": self.curve,
            "per_instance": [r.to_json() for r in self.instances],
            "calls": self.calls,
            "dry_run": self.dry_run,
            "plan": self.plan,
            "files": self.files,
            "report_path": self.files.get("report"),
            "plot_path": self.files.get("plot"),
            "timings": self.timings,
            "options": self.options,
            "versions": self.versions,
        }


def dry_run(spec: ir.AssignmentSpec) -> dict[str, Any]:
    from .schedules import count_without_conflicts

    sim = spec.simulate
    proxy = spec.students.proxy
    answers = sim.instances * spec.students.count * sim.queries if proxy else 0
    votes = proxy.votes if proxy else 0
    return {
        "instances": sim.instances,
        "schedules_at_most": count_without_conflicts(len(spec.courses.names), spec.students.demand),
        "proxy_answers": answers,
        "votes": answers * votes,
        "model_calls": answers * votes if proxy is not None and proxy.kind == "llm" else 0,
    }


def run_assignment(spec: ir.AssignmentSpec, options: dict[str, Any], *, seed: int, out_dir: Path | None,
                   progress: Any = None, write: bool = True) -> AssignmentResult:
    from auctionc.mechanism.base import package_versions

    settings = RunSettings.from_options(options)
    res = AssignmentResult(spec=spec, seed=seed, options=dict(options),
                           versions=package_versions("torch", "scipy", "pulp", "highspy"))
    log = progress.log if progress is not None else (lambda _m: None)
    t0 = time.perf_counter()
    task = progress.task("instances", spec.simulate.instances) if progress is not None else None
    for k in range(spec.simulate.instances):
        res.instances.append(run_instance(spec, seed + k, settings, log))
        if task is not None:
            task.update(advance=1)
    if task is not None:
        task.close()
    res.metrics, res.curve = summarize(res.instances, spec.students.count)
    res.timings = {"total_s": round(time.perf_counter() - t0, 3)}
    if write and out_dir is not None:
        run_info = {"seed": seed, "options": res.options, "versions": res.versions}
        report, plot = write_report(out_dir, spec, res.metrics, res.curve, res.instances, run_info)
        res.files["report"] = str(report)
        if plot is not None:
            res.files["plot"] = str(plot)
        result_path = out_dir / "result.json"
        res.files["result"] = str(result_path)
        result_path.write_text(json.dumps(res.to_json(), indent=1, default=str), encoding="utf-8")
    return res

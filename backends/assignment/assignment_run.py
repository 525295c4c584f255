"""A whole assignment run: every instance, the figures over them, the report and result.json.

``run_assignment`` is what ``auctionc simulate`` calls for an assignment spec.  A dry run
runs nothing and says what a run would do (instances, schedules per instance, proxy
answers, model calls: zero for the oracle; for an LLM proxy also its prompt tokens and at
most how many completion tokens and dollars).  An LLM proxy's run stops cleanly when the
budget (``--max-cost``, ``--max-calls``) is spent: the finished instances are reported, the
result says it is incomplete, and a rerun (``--resume``) replays the cached replies.
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
    complete: bool = True
    stop_reason: str | None = None
    """"max_cost" or "max_calls" (the budget is spent), "no_readable_reply" (E0850)."""
    warnings: list[Any] = field(default_factory=list)
    llm: dict[str, Any] | None = None
    """The LLM proxy's model configuration and the engine's call statistics."""

    @property
    def calls(self) -> dict[str, Any]:
        """The proxy's answers and their cost over the finished instances (``llm`` has the
        engine's figures for the whole run, an unfinished instance included)."""
        proxy = self.spec.students.proxy
        answers = sum(r.proxy.get("answers", 0) for r in self.instances)
        return {
            "proxy": proxy.kind if proxy else None,
            "answers": answers,
            "model_calls": int(sum(r.proxy.get("calls", 0) for r in self.instances)),
            "cache_hits": int(sum(r.proxy.get("cache_hits", 0) for r in self.instances)),
            "tokens": int(sum(r.proxy.get("tokens", 0) for r in self.instances)),
            "cost_usd": float(sum(r.proxy.get("cost_usd", 0.0) for r in self.instances)),
            "unreadable_votes": int(sum(r.proxy.get("unreadable_votes", 0) for r in self.instances)),
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
            "complete": self.complete,
            "stop_reason": self.stop_reason,
            "warnings": [w.to_json() if hasattr(w, "to_json") else w for w in self.warnings],
            "llm": self.llm,
            "transcript_path": self.files.get("transcript"),
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


def dry_run(spec: ir.AssignmentSpec, cfg: Any = None, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a run would do; ``cfg``: the LLM proxy's ``ModelConfig`` (None without one)."""
    from .schedules import count_without_conflicts

    sim = spec.simulate
    proxy = spec.students.proxy
    answers = sim.instances * spec.students.count * sim.queries if proxy else 0
    votes = proxy.votes if proxy else 0
    out: dict[str, Any] = {
        "instances": sim.instances,
        "schedules_at_most": count_without_conflicts(len(spec.courses.names), spec.students.demand),
        "proxy_answers": answers,
        "votes": answers * votes,
        "model_calls": answers * votes if proxy is not None and proxy.kind == "llm" else 0,
    }
    if proxy is not None and proxy.kind == "llm" and proxy.interface:
        out["interface_calls"] = sim.instances * spec.students.count * votes
        out["model_calls"] += out["interface_calls"]
    if cfg is not None and proxy is not None and proxy.kind == "llm":
        from .llm_setup import estimate

        out["model"] = cfg.model
        out["llm"] = estimate(spec, proxy, cfg, options or {})
    return out


def run_assignment(spec: ir.AssignmentSpec, options: dict[str, Any], *, seed: int, out_dir: Path | None,
                   progress: Any = None, write: bool = True, cfg: Any = None, **llm_run: Any) -> AssignmentResult:
    """Every instance, the figures and (``write``) the report under ``out_dir``.  ``cfg``: the
    LLM proxy's ``ModelConfig``; ``llm_run``: the engine's settings (``llm_setup.llm_session``:
    cli_api_base, max_cost, max_calls, cache_path, concurrency, resume)."""
    from auctionc.mechanism.base import package_versions

    settings = RunSettings.from_options(options)
    res = AssignmentResult(spec=spec, seed=seed, options=dict(options),
                           versions=package_versions("torch", "scipy", "pulp", "highspy",
                                                     *(("litellm", "xllamacpp") if cfg is not None else ())))
    log = progress.log if progress is not None else (lambda _m: None)
    t0 = time.perf_counter()
    if cfg is None:
        _instances(spec, seed, settings, res, progress, log, None)
    else:
        from auctionc.llm import BudgetExhausted

        from .llm_setup import llm_session

        assert out_dir is not None, "an LLM proxy writes its transcript and cache in the output directory"
        proxy = spec.students.proxy
        assert proxy is not None and proxy.kind == "llm"
        with llm_session(spec, proxy, cfg, options, out_dir, **llm_run) as session:
            try:
                _instances(spec, seed, settings, res, progress, log, session)
            except BudgetExhausted as e:
                res.complete, res.stop_reason = False, e.reason
            res.llm = {"model": cfg.model, "api_base": cfg.api_base, "temperature": cfg.temperature,
                       "max_tokens": cfg.max_tokens, "structured": cfg.structured, "votes": proxy.votes,
                       "reasoning": proxy.reasoning, **session.engine.stats.to_json()}
        res.files["transcript"] = str(out_dir / "transcript.jsonl")
        _llm_warnings(res, llm_run)
    if res.instances:
        res.metrics, res.curve = summarize(res.instances, spec.students.count)
    res.timings = {"total_s": round(time.perf_counter() - t0, 3)}
    if write and out_dir is not None and res.instances:
        run_info = {"seed": seed, "options": res.options, "versions": res.versions, "llm": res.llm,
                    "complete": res.complete, "stop_reason": res.stop_reason}
        report, plot = write_report(out_dir, spec, res.metrics, res.curve, res.instances, run_info)
        res.files["report"] = str(report)
        if plot is not None:
            res.files["plot"] = str(plot)
    if write and out_dir is not None:
        result_path = out_dir / "result.json"
        res.files["result"] = str(result_path)
        out_dir.mkdir(parents=True, exist_ok=True)
        result_path.write_text(json.dumps(res.to_json(), indent=1, default=str), encoding="utf-8")
    return res


def _instances(spec: ir.AssignmentSpec, seed: int, settings: RunSettings, res: AssignmentResult, progress: Any,
               log: Any, session: Any) -> None:
    task = progress.task("instances", spec.simulate.instances) if progress is not None else None
    try:
        for k in range(spec.simulate.instances):
            res.instances.append(run_instance(spec, seed + k, settings, log, session))
            if task is not None:
                task.update(advance=1)
    finally:
        if task is not None:
            task.close()


def _llm_warnings(res: AssignmentResult, llm_run: dict[str, Any]) -> None:
    from auctionc.diagnostics import Diagnostic

    done, total = len(res.instances), res.spec.simulate.instances
    if res.stop_reason == "max_cost":
        res.warnings.append(Diagnostic(
            "E0805", f"the cost budget of ${llm_run.get('max_cost'):g} was spent; {done} of {total} instances are done",
            help="rerun with --resume and a higher --max-cost: finished calls are cached and not paid again",
            severity="warning"))
    elif res.stop_reason == "max_calls":
        res.warnings.append(Diagnostic(
            "E0805", f"the {llm_run.get('max_calls')} model calls of --max-calls are made; {done} of {total} instances "
            "are done", help="rerun with --resume and a higher --max-calls: finished calls are cached and not made "
            "again", severity="warning"))
    asked = sum(r.proxy.get("answers", 0) for r in res.instances)
    proxy = res.spec.students.proxy
    report_votes = len(res.instances) * res.spec.students.count * proxy.votes if proxy and proxy.interface else 0
    lost_reports = sum(r.proxy.get("unreadable_report_votes", 0) for r in res.instances)
    if res.complete and asked and not any(r.proxy.get("answered", 0) for r in res.instances):
        res.complete, res.stop_reason = False, "no_readable_reply"
        res.warnings.append(Diagnostic(
            "E0850", f"no reply of the LLM proxy could be read: all {asked} queries went unanswered",
            help="see transcript.jsonl for the replies; try response_format \"json_schema\", reasoning plain or "
                 "another model", severity="error"))
    elif res.complete and report_votes and lost_reports == report_votes:
        res.complete, res.stop_reason = False, "no_readable_reply"
        res.warnings.append(Diagnostic(
            "E0850", f"no interface report of the LLM proxy could be read: all {report_votes} votes were unreadable",
            help="see transcript.jsonl for the replies; try response_format \"json_schema\", reasoning plain or "
                 "another model", severity="error"))

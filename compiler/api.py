"""The public API, which owns the pipeline; the CLI is a thin layer over these functions.

``compile`` runs ``plan -> backend.compile -> provenance -> verify -> save/report``, each
step once: the planner parses the backend's options and picks the backend instance, the
backend returns a ``CompileResult``, and only this module stamps the artifact's
provenance and writes files beside it.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic
from .errors import AuctionError, BackendError, UsageError
from .planner import Plan, make_plan
from .progress import Progress


def _overrides(params: dict[str, Any] | None) -> dict[str, str] | None:
    if not params:
        return None
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}


def load(path: str | Path, params: dict[str, Any] | None = None):
    """Parse and check a ``.auction`` file; ``params`` override its ``param`` values."""
    from .frontend import load_file

    return load_file(path, _overrides(params))


def loads(text: str, params: dict[str, Any] | None = None, filename: str = "<string>"):
    """Parse and check spec text."""
    from .frontend import load_text

    return load_text(text, filename, _overrides(params))


def plan(spec: Any, backend: str | None = None, options: dict[str, Any] | None = None) -> Plan:
    """The backend ``compile`` would use, why, and every refusal."""
    return make_plan(spec, backend, options)


@dataclass
class CompileOutput:
    """What ``compile`` returns: the mechanism, its certificate and everything recorded."""

    spec: Any
    plan: Plan
    mechanism: Any
    backend: str
    seed: int
    options: dict[str, Any]
    stats: dict[str, Any]
    certificate: Any = None
    """The verifier's Certificate (None with ``verify=False``)."""
    claim: dict[str, Any] | None = None
    """The backend's own certificate, shown as its claim beside the verifier's."""
    history: dict[str, list[float]] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    artifact: Path | None = None
    files: dict[str, str] = field(default_factory=dict)
    report_sections: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """False when the verifier ran and its certificate fails."""
        return self.certificate is None or bool(self.certificate.ok)

    @property
    def exit_code(self) -> int:
        """0, or the code for "solved but not verified" when the certificate fails."""
        from .verifier import EXIT_NOT_VERIFIED

        return 0 if self.ok else EXIT_NOT_VERIFIED

    def to_json(self) -> dict[str, Any]:
        cert = self.certificate.to_json() if self.certificate is not None else {}
        metrics = cert.pop("metrics", None) if isinstance(cert, dict) else None
        return {
            "ok": self.ok,
            "spec": self.spec.name,
            "spec_hash": self.spec.spec_hash(),
            "backend": self.backend,
            "plan": self.plan.to_json(),
            "seed": self.seed,
            "options": self.options,
            "metrics": metrics or {},
            "certificate": cert.get("certificate", cert) if cert else None,
            "backend_claim": self.claim,
            "stats": self.stats,
            "artifact": str(self.artifact) if self.artifact else None,
            "files": self.files,
            "timings": self.timings,
            "versions": getattr(self.mechanism.meta, "versions", {}),
        }


def _progress(progress: bool | Progress) -> Progress:
    return progress if isinstance(progress, Progress) else Progress.auto(bool(progress))


def compile(  # noqa: A001 - the API name users expect
    spec: Any,
    backend: str | None = None,
    options: dict[str, Any] | None = None,
    seed: int = 0,
    *,
    out: str | Path | None = None,
    device: str = "cpu",
    resume: bool = False,
    progress: bool | Progress = False,
    verify: bool = True,
    verify_options: dict[str, Any] | None = None,
    force: bool = False,
) -> CompileOutput:
    """Plan, compile with the chosen backend, verify, and save the artifact under ``out``.

    ``out`` is held for the run (``outputs.claim``): another run into it is refused, and so
    is a directory holding another spec's output or a finished compile of this one (unless
    ``resume``) unless ``force``, which removes what auctionc wrote there first."""
    _only_simulated(spec, "compile")
    t0 = time.perf_counter()
    the_plan = make_plan(spec, backend, options)  # no side effects: done before the directory is held
    if out is None:
        return _compile(spec, the_plan, seed, t0, out=None, device=device, resume=resume, progress=progress,
                        verify=verify, verify_options=verify_options)
    from .outputs import claim

    run = {"backend": the_plan.chosen, "options": the_plan.options, "seed": seed}  # checkpoints carry it
    with claim(out, spec, force=force, purpose="compile", run=run, resume=resume):
        return _compile(spec, the_plan, seed, t0, out=out, device=device, resume=resume, progress=progress,
                        verify=verify, verify_options=verify_options)


def _compile(
    spec: Any,
    the_plan: Plan,
    seed: int,
    t0: float,
    *,
    out: str | Path | None,
    device: str,
    resume: bool,
    progress: bool | Progress,
    verify: bool,
    verify_options: dict[str, Any] | None,
) -> CompileOutput:
    from .mechanism.base import stamp_provenance
    from .plugins.interface import RunContext

    name, b, opts = the_plan.chosen, the_plan.backend, the_plan.options
    assert name is not None and b is not None
    out_dir = Path(out) if out is not None else None
    reporter = _progress(progress)
    ctx = RunContext(seed=seed, out_dir=out_dir, device=device, resume=resume, progress=reporter)
    t1 = time.perf_counter()
    try:
        with reporter.stage(f"compile ({name})"):
            result = b.compile(spec, opts, ctx)
    except (AuctionError, KeyboardInterrupt):
        raise
    except MemoryError as e:
        raise BackendError(
            Diagnostic("E0701", f"backend {name} ran out of memory ({e})", help="use a smaller grid, menu or batch")
        ) from None
    t2 = time.perf_counter()
    mech = result.mechanism
    extra = ("torch",) if "torch" in sys.modules else ()
    stamp_provenance(mech, spec, backend=name, seed=seed, options=opts, stats=result.stats,
                     claim=result.claim, extra_packages=extra)
    output = CompileOutput(
        spec=spec,
        plan=the_plan,
        mechanism=mech,
        backend=name,
        seed=seed,
        options=opts,
        stats=result.stats,
        claim=result.claim,
        history=result.history,
        files=dict(result.files),
        report_sections=list(result.report_sections),
    )
    if verify:
        from .verifier import verify as run_verify

        with reporter.stage("verify"):
            output.certificate = run_verify(mech, spec, progress=reporter, **_verify_settings(spec, verify_options))
    t3 = time.perf_counter()
    output.timings = {"plan_s": round(t1 - t0, 4), "solve_s": round(t2 - t1, 4), "verify_s": round(t3 - t2, 4)}
    if out_dir is not None:
        save_outputs(output, out_dir)
    return output


def _only_simulated(spec: Any, command: str) -> None:
    """Assignment specs have no mechanism artifact to compile or verify: they run as simulations."""
    if getattr(spec, "kind", None) == "assignment":
        raise UsageError(Diagnostic(
            "E0620",
            f"an assignment spec runs with `auctionc simulate`, not `auctionc {command}`",
            help=f"run `auctionc simulate {spec.source or 'FILE'}`",
        ).with_span(spec))


def _verify_settings(spec: Any, given: dict[str, Any] | None) -> dict[str, Any]:
    """Verification settings: the caller's, over the spec's ``verify { }`` section."""
    from .verifier import settings_from_spec

    return settings_from_spec(spec, **(given or {}))


def save_outputs(output: CompileOutput, out_dir: Path) -> Path:
    """Write mechanism.json (+ side files), spec.json (the IR, so ``verify DIR`` needs no
    spec file), the report and result.json, each once."""
    from .report import write_report

    path = output.mechanism.save(out_dir)
    output.artifact = path
    doc = {"ir_version": 1, "spec": output.spec.model_dump(mode="json")}
    (out_dir / "spec.json").write_text(json.dumps(doc, indent=1))
    files = write_report(
        out_dir,
        spec=output.spec,
        mechanism=output.mechanism,
        certificate=output.certificate,
        plan=output.plan.to_json(),
        result_json=output.to_json(),
        extra_sections=output.report_sections,
        history=output.history,
        side_files=output.files,
    )
    output.files.update({k: str(v) for k, v in files.items()})
    (out_dir / "result.json").write_text(json.dumps(output.to_json(), indent=1, default=str))
    return path


def load_artifact(path: str | Path):
    """(mechanism, spec) from an artifact directory or its mechanism.json; spec is None
    when no spec.json lies beside it."""
    from .ir import SpecDocument
    from .mechanism import load_mechanism
    from .mechanism.base import ArtifactError

    p = Path(path)
    if not p.exists():
        raise UsageError(Diagnostic("E0901", f"cannot read artifact {p} (no such file or directory)",
                                    help="pass a directory written by `auctionc compile --out DIR`"))
    directory = p if p.is_dir() else p.parent
    try:
        mech = load_mechanism(p)
    except KeyError as e:
        raise UsageError(
            Diagnostic("E0902", f"unknown artifact kind {e} in {p}", help="the artifact was written by a newer auctionc or a backend that is not installed")
        ) from None
    except ArtifactError as e:
        raise UsageError(
            Diagnostic("E0908", f"malformed artifact {p}: {e}", help="recompile the spec; an artifact is read, never repaired")
        ) from None
    except (OSError, ValueError) as e:
        raise UsageError(
            Diagnostic("E0901", f"cannot read artifact {p} ({e})", help="pass a directory written by `auctionc compile --out DIR` or its mechanism.json")
        ) from None
    spec_path = directory / "spec.json"
    spec = None
    if spec_path.exists():
        try:
            spec = SpecDocument.model_validate_json(spec_path.read_text()).spec
        except (OSError, ValueError) as e:
            raise UsageError(Diagnostic("E0908", f"malformed spec.json beside {p} ({str(e).splitlines()[0]})",
                                        help="pass the spec with --spec FILE")) from None
    return mech, spec


def verify(mechanism: Any, spec: Any, **options: Any):
    """Verify a mechanism under the spec's priors; returns a Certificate."""
    from .verifier import verify as run_verify

    return run_verify(mechanism, spec, **options)


@dataclass
class VerifyOutput:
    """What ``verify_path`` returns: the certificate and where its report went."""

    spec: Any
    mechanism: Any
    certificate: Any
    files: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.certificate.ok)

    @property
    def exit_code(self) -> int:
        from .verifier import EXIT_NOT_VERIFIED

        return 0 if self.ok else EXIT_NOT_VERIFIED

    def to_json(self) -> dict[str, Any]:
        cert = self.certificate.to_json()
        metrics = cert.pop("metrics", {})
        return {
            "ok": self.ok,
            "spec": self.spec.name,
            "spec_hash": self.spec.spec_hash(),
            "artifact_kind": self.mechanism.kind,
            "backend": getattr(self.mechanism.meta, "backend", None) or None,
            "metrics": metrics,
            "certificate": cert,
            "files": self.files,
        }


def verify_path(
    target: str | Path,
    spec: Any = None,
    *,
    report_dir: str | Path | None = None,
    progress: bool | Progress = False,
    **options: Any,
) -> VerifyOutput:
    """Verify what ``target`` names: an artifact directory (or its mechanism.json), under
    ``spec`` or the spec.json saved beside it; or a spec whose ``mechanism`` names a format.
    Writes the verifier's report, ``verify_report.md`` and ``.html`` (its figures prefixed
    ``verify_report-``), into ``report_dir`` (default: beside the artifact), so the compile's
    own ``report.md`` stays as it was."""
    from .report import write_report

    target = Path(target)
    if target.suffix == ".auction":
        spec = spec if spec is not None else load(target)
        _only_simulated(spec, "verify")
        if spec.mechanism is None:
            raise UsageError(Diagnostic(
                "E0903",
                f"spec {target} names no format to verify",
                help="add `mechanism second_price` (or another format), or compile it first and verify the artifact directory",
            ))
        res = compile(spec, backend="format", out=None, progress=False, verify=False)
        mech = res.mechanism
        where = Path(report_dir) if report_dir is not None else Path("out") / spec.name / "verify"
    else:
        mech, saved = load_artifact(target)
        spec = spec if spec is not None else saved
        if spec is None:
            raise UsageError(Diagnostic("E0904", f"no spec.json beside {target}", help="pass the spec with --spec FILE"))
        where = Path(report_dir) if report_dir is not None else (target if target.is_dir() else target.parent)
    reporter = _progress(progress)
    with reporter.stage("verify"):
        cert = verify(mech, spec, progress=reporter, **_verify_settings(spec, options))
    output = VerifyOutput(spec, mech, cert)
    files = write_report(where, spec=spec, mechanism=mech, certificate=cert, result_json=output.to_json(),
                         stem="verify_report")
    output.files = {k: str(v) for k, v in files.items()}
    return output


def simulate(spec: Any, llm: bool = False, model: str | None = None, options: dict[str, Any] | None = None,
             **kwargs: Any):
    """Run the spec's format with simulated bidders (rule-based or LLM agents), or an
    assignment spec's course allocation with its students' proxies; ``options`` override the
    spec's ``simulate { }`` settings (``cache``: a reply cache shared across runs)."""
    from .outputs import claim
    from .planner import simulation_backend
    from .plugins.interface import RunContext

    the_plan = make_plan(spec, simulation_backend(spec), options)
    out_dir = Path(kwargs.pop("out_dir", None) or Path("out") / spec.name / "simulate")
    ctx = RunContext(out_dir=out_dir, resume=bool(kwargs.pop("resume", False)),
                     progress=_progress(kwargs.pop("progress", False)))
    force = bool(kwargs.pop("force", False))
    # A dry run writes nothing, so it neither needs the output directory nor may refuse it.
    held = nullcontext() if kwargs.get("dry_run") else claim(out_dir, spec, force=force, purpose="simulate")
    with held, ctx.progress.stage("simulate"):
        # the seed stays a run setting: None means the spec's simulate { seed }
        return the_plan.backend.simulate(spec, the_plan.options, ctx, llm=llm, model=model, **kwargs)


def analyze_logs(path: str | Path) -> list[dict[str, Any]]:
    """Our simulation metrics for another tool's transcripts: the released logs of Shah et al.
    (2025) in the layout of their repository, one entry per treatment (the simulate backend's
    ``analyze_logs``)."""
    from .plugins.registry import get_backend

    return get_backend("simulate").analyze_logs(Path(path))

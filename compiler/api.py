"""The public API; the CLI is a thin layer over these functions."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .dsl.diagnostics import Diagnostic
from .errors import AuctionError, BackendError, UsageError
from .plan import Plan, make_plan


def _with_options(spec: Any, backend: str | None, options: dict[str, Any] | None) -> Any:
    """The spec as the planner should see it: command-line options for the backend that
    will run count as if the spec's ``solve with`` had them (a backend's answer may depend
    on an option, such as the menu backend's architecture)."""
    target = backend or (spec.solve.backend if getattr(spec, "solve", None) is not None else None)
    if not options or target is None:
        return spec
    from .ir import Solve

    base = dict(spec.solve.options) if spec.solve is not None and spec.solve.backend == target else {}
    return spec.model_copy(update={"solve": Solve(backend=target, options={**base, **options})})


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


def plan(spec: Any, backend: str | None = None) -> Plan:
    """The backend ``compile`` would use, why, and every refusal."""
    return make_plan(spec, backend)


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
    backend_certificate: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    artifact: Path | None = None
    files: dict[str, str] = field(default_factory=dict)
    report_sections: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        cert = self.certificate.to_json() if self.certificate is not None else {}
        metrics = cert.pop("metrics", None) if isinstance(cert, dict) else None
        out: dict[str, Any] = {
            "spec": self.spec.name,
            "spec_hash": self.spec.spec_hash(),
            "backend": self.backend,
            "plan": self.plan.to_json(),
            "seed": self.seed,
            "options": self.options,
            "metrics": metrics or {},
            "certificate": cert.get("certificate", cert) if cert else None,
            "backend_certificate": self.backend_certificate,
            "stats": self.stats,
            "artifact": str(self.artifact) if self.artifact else None,
            "files": self.files,
            "timings": self.timings,
            "versions": getattr(self.mechanism.meta, "versions", {}),
        }
        return out


def compile(  # noqa: A001 - the API name users expect
    spec: Any,
    backend: str | None = None,
    options: dict[str, Any] | None = None,
    seed: int = 0,
    *,
    out: str | Path | None = None,
    device: str = "cpu",
    resume: bool = False,
    progress: bool = False,
    verify: bool = True,
    verify_options: dict[str, Any] | None = None,
) -> CompileOutput:
    """Plan, compile with the chosen backend, save the artifact under ``out``, verify."""
    from .backends.registry import get_backend
    from .mechanism.base import ArtifactMeta, package_versions

    t0 = time.perf_counter()
    the_plan = make_plan(_with_options(spec, backend, options), backend)
    name = the_plan.chosen
    assert name is not None
    b = get_backend(name)
    merged: dict[str, Any] = {}
    if spec.solve is not None and spec.solve.backend == name:
        merged.update(spec.solve.options)
    merged.update(options or {})
    out_dir = Path(out) if out is not None else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    t1 = time.perf_counter()
    try:
        result = b.compile(
            spec, merged, seed=seed, out_dir=out_dir, device=device, resume=resume, progress=progress
        )
    except AuctionError:
        raise
    except KeyboardInterrupt:
        raise
    except MemoryError as e:
        raise BackendError(
            Diagnostic("E0701", f"backend {name} ran out of memory ({e})", help="use a smaller grid, menu or batch")
        ) from None
    t2 = time.perf_counter()
    mech = result.mechanism
    meta = mech.meta if getattr(mech, "meta", None) is not None else ArtifactMeta()
    meta.spec_name = spec.name
    meta.spec_hash = spec.spec_hash()
    meta.backend = name
    meta.seed = seed
    meta.options = {**merged, **meta.options}
    extra = ("torch",) if "torch" in __import__("sys").modules else ()
    meta.versions = {**package_versions(*extra), **meta.versions}
    if result.certificate is not None:
        meta.certificate = result.certificate
    meta.stats = {**result.stats, **meta.stats}
    mech.meta = meta

    output = CompileOutput(
        spec=spec,
        plan=the_plan,
        mechanism=mech,
        backend=name,
        seed=seed,
        options=merged,
        stats=result.stats,
        backend_certificate=result.certificate,
        files=dict(result.files),
        report_sections=list(result.report_sections),
    )
    if verify:
        from .verifier import verify as run_verify

        vo = dict(verify_options or {})
        if spec.verify is not None:
            for key in ("samples", "steps", "restarts", "seed"):
                val = getattr(spec.verify, key)
                if val is not None:
                    vo.setdefault(key, val)
        output.certificate = run_verify(mech, spec, progress=progress, **vo)
    t3 = time.perf_counter()
    output.timings = {"plan_s": round(t1 - t0, 4), "solve_s": round(t2 - t1, 4), "verify_s": round(t3 - t2, 4)}
    if out_dir is not None:
        output.artifact = save_outputs(output, out_dir)
    return output


def save_outputs(output: CompileOutput, out_dir: Path) -> Path:
    """Write mechanism.json (+ side files), spec.json (the IR, so ``verify DIR`` needs no
    spec file), result.json and the report."""
    path = output.mechanism.save(out_dir)
    doc = {"ir_version": 1, "spec": output.spec.model_dump(mode="json")}
    (out_dir / "spec.json").write_text(json.dumps(doc, indent=1))
    output.artifact = path
    try:
        from .report import write_report

        files = write_report(
            out_dir,
            spec=output.spec,
            mechanism=output.mechanism,
            certificate=output.certificate,
            plan=output.plan.to_json(),
            result_json=output.to_json(),
            extra_sections=output.report_sections,
        )
        output.files.update({k: str(v) for k, v in files.items()})
    except ImportError:
        pass
    (out_dir / "result.json").write_text(json.dumps(output.to_json(), indent=1, default=str))
    return path


def load_artifact(path: str | Path):
    """(mechanism, spec) from an artifact directory or its mechanism.json."""
    from .ir import SpecDocument
    from .mechanism import load_mechanism

    p = Path(path)
    directory = p if p.is_dir() else p.parent
    try:
        mech = load_mechanism(p)
    except KeyError as e:
        raise UsageError(
            Diagnostic("E0902", f"unknown artifact kind {e} in {p}", help="the artifact was written by a newer auctionc or a backend that is not installed")
        ) from None
    except (OSError, ValueError) as e:
        raise UsageError(
            Diagnostic("E0901", f"cannot read artifact {p} ({e})", help="pass a directory written by `auctionc compile --out DIR` or its mechanism.json")
        ) from None
    spec_path = directory / "spec.json"
    spec = None
    if spec_path.exists():
        spec = SpecDocument.model_validate_json(spec_path.read_text()).spec
    return mech, spec


def verify(mechanism: Any, spec: Any, **options: Any):
    """Verify a mechanism under the spec's priors; returns a Certificate."""
    from .verifier import verify as run_verify

    return run_verify(mechanism, spec, **options)


def simulate(spec: Any, llm: bool = False, model: str | None = None, **kwargs: Any):
    """Run the spec's format with simulated bidders (rule-based or LLM agents)."""
    from .backends.simulate import run_simulation

    kwargs.setdefault("out_dir", Path("out") / spec.name / "simulate")
    wants_local = (llm or _has_llm_agents(spec)) and model is None and kwargs.get("api_base") is None
    if wants_local and not kwargs.get("dry_run") and not _local_server_listening():
        # offline by default: start the bundled local model for the length of the run
        from .backends.simulate.local_llm import serve_local_model

        with serve_local_model(port=_free_port()) as server:
            kwargs["api_base"] = server.api_base
            return run_simulation(spec, llm=llm, model=server.model, **kwargs)
    return run_simulation(spec, llm=llm, model=model, **kwargs)


def _has_llm_agents(spec: Any) -> bool:
    people = getattr(spec, "bidders", ()) or getattr(spec, "buyers", ())
    return any(
        getattr(b, "agent", None) is not None and b.agent.kind == "llm" and b.agent.model is None and b.agent.api_base is None
        for b in people
    )


def _local_server_listening() -> bool:
    import socket

    from .backends.simulate.local_llm import DEFAULT_PORT

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", DEFAULT_PORT)) == 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

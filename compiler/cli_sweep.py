"""``auctionc sweep``: a spec over a grid of params, backends and formats, and seeds (the work
is in ``auctionc.sweep``; this is its command line, registered on the app by ``cli``)."""

from __future__ import annotations

from pathlib import Path

import typer

from .cli_help import JSON_OPT, SPEC_ARG
from .cli_output import emit_json, err, guard, parse_pairs, scalar


@guard
def sweep(
    file: Path = SPEC_ARG,
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
    that fail for the spec's own reasons are rows with their diagnostic.

    \b
    Examples:
      auctionc sweep examples/two_by_two.auction --set n=2,3 -b 'menu,vcg=format:vcg' --dry-run
      auctionc sweep examples/myerson_lp.auction --set n=2..3 -o grid=10 --out out/myerson_sweep"""
    from .sweep import SweepConfig, run_sweep
    from .sweep import dry_run as sweep_dry_run

    opts = {k: scalar(v) for k, v in parse_pairs(option, "--option").items()}
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
            emit_json({"ok": True, "grid": grid.to_json(), "estimate": est})
        err(text)
        return
    from .progress import Progress
    from .sweep.summary import render

    run = run_sweep(config, Progress.auto(not quiet), verbose=verbose)
    doc = run.to_json()
    if as_json:
        emit_json(doc)
    try:
        from rich.console import Console

        console = Console(stderr=True)
        # a log file or pipe gets the whole table, not one folded to 80 columns
        (console if console.is_terminal else Console(stderr=True, width=240)).print(render(run.summary, run.grid))
    except ImportError:
        pass
    c = doc["counts"]
    err(f"{len(run.grid.cells)} cell(s): {c['ok']} ok, {c['failed']} failed, {c['error']} error(s); "
         f"ran {run.ran}, skipped {run.skipped} already done, {run.seconds:.1f} s ({run.executor})")
    err(f"table: {doc['table']['parquet']} (and .csv)")
    for p in run.figures:
        err(f"figure: {p}")
    if not doc["ok"]:
        err("some cells ended in an error; rerun the same command to retry them")
        raise typer.Exit(1)

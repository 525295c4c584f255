"""The ``simulate`` backend: runs a named single-item format with simulated bidders
(rule-based or LLM agents).  Imports stay light: the engine, litellm and
matplotlib load only when a simulation runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from auctionc.diagnostics import Diagnostic
from auctionc.plugins import Backend, Capabilities, CompileResult, OptionSpec, RunContext, Verdict

if TYPE_CHECKING:
    from auctionc.ir import AuctionSpec

_FORMATS = ("first_price", "second_price", "third_price", "all_pay", "vcg", "ascending_clock", "dutch", "ebay")


class SimulateBackend(Backend):
    name = "simulate"
    summary = "plays a standard format round by round with LLM agents (litellm) or rule-based bidders"
    capabilities = Capabilities(
        spec_kinds=frozenset({"auction"}),
        valuations=frozenset({"single"}),
        constraints=frozenset(),
        objectives=frozenset(),
        min_bidders=2,
        max_items=1,
        method="simulated",
        designs=False,
        runs_formats=True,
    )
    options = {
        "steps": OptionSpec(str, "separate", "LLM turn: separate reflection/plan/bid calls, one combined call, or "
                            "the bid alone with no plan (the out-of-the-box baseline)",
                            choices=("separate", "combined", "no_plan")),
        "max_tokens": OptionSpec(int, None, "completion token limit per call", min=8, max=8192),
        "parse_retries": OptionSpec(int, 2, "re-asks with a format reminder after an unreadable reply", min=0, max=10),
        "api_retries": OptionSpec(int, 3, "retries after rate limits and timeouts", min=0, max=10),
        "timeout": OptionSpec(float, 120.0, "seconds per model call", min=1, max=600),
        "input_cost_per_token": OptionSpec(float, 0.0, "USD per prompt token for models the price table lacks", min=0),
        "output_cost_per_token": OptionSpec(float, 0.0, "USD per completion token for models the price table lacks", min=0),
        "cache": OptionSpec(str, "", "file name of the model-reply cache inside the output directory "
                            "(default llm_cache.sqlite; `simulate --cache PATH` puts it anywhere)"),
        "response_format": OptionSpec(str, "auto", "replies as JSON under a schema the provider enforces, as free text "
                                      "(tags or JSON), or auto: a schema where litellm says the model supports one",
                                      choices=("auto", "json_schema", "text")),
        "report": OptionSpec(bool, True, "write the markdown report and its figures (bids, per-round means)"),
        "risk_aversion": OptionSpec(float, 0.0, "the bidders' CRRA risk aversion r for the equilibrium bids the "
                                    "behaviour is measured against (u = x^(1-r); 0: risk neutral)", min=0, max=0.99),
        "rounds_limit": OptionSpec(int, 200_000, "refuse, before any work, more rounds x repetitions than this "
                                   "(each round's record is kept for the metrics, about 7 KB)", min=1, limit=True),
        "ticks_limit": OptionSpec(int, 10_000_000, "refuse, before any work, clocks that would take more ticks "
                                  "(ticks a round x rounds) than this", min=1, limit=True),
    }
    options_section = "simulate"
    # the codes of model calls (E0801-E0806, E0811-E0813) are the compiler's: the LLM engine
    # (auctionc.llm) raises them for every backend
    codes = {
        "E0807": "a bidder without an agent plays truthfully (warning)",
        "E0808": "the spec cannot be simulated",
        "E0809": "an agent has no strategy for this format",
        "E0810": "the checkpoint belongs to a different run",
        "E0814": "no reply of the LLM agents gave a valid action",
        "E0815": "the simulation's work estimate is past its limit",
        "E0816": "a prompt folder or language the simulation cannot use (not read with the spec, an unknown "
                 "template, no rules in the agent's language)",
        "E0817": "a prompt intervention that is not sound for this format or value model",
        "E0818": "another tool's logs cannot be read (no treatment found, a malformed file)",
    }

    def given_options(self, spec: Any) -> dict[str, Any]:
        """The settings of the spec's ``simulate { }`` section (and ``solve with simulate(...)``)."""
        sim = dict(spec.simulate.options) if getattr(spec, "simulate", None) is not None else {}
        return {**sim, **super().given_options(spec)}

    def resolve_options(self, spec: Any, options: dict[str, Any]) -> dict[str, Any]:
        """Refuse at check/plan time a simulation whose rounds or clock ticks pass their
        limits (``workload.check_work``: the estimate, the limit and the option)."""
        from auctionc.errors import PlanError

        if (getattr(spec, "kind", None) == "auction" and spec.mechanism is not None and spec.n_items == 1
                and all(b.valuation.kind == "single" for b in spec.bidders)):
            from auctionc.backends.simulate.workload import check_work

            too_much = check_work(spec, options)
            if too_much is not None:
                raise PlanError(too_much)
        return options

    def accepts(self, spec: Any, options: dict[str, Any]) -> Verdict:
        v = self.check_capabilities(spec)
        if v is not None:
            return v
        if spec.mechanism is None:
            return Verdict.no("backend simulate runs a named format; this spec names none",
                              "add `mechanism first_price` (or another format)")
        if spec.mechanism.name not in _FORMATS:
            return Verdict.no(f"backend simulate does not play {spec.mechanism.name}",
                              "simulated formats: " + ", ".join(_FORMATS))
        if spec.simulate is None and all(b.agent is None for b in spec.bidders):
            return Verdict.no("nothing to simulate: the spec has no simulate { } section and no agents",
                              "add `simulate { rounds 15 }` or `agent llm(...)` to the bidders")
        return Verdict.yes(score=5.0, why="the spec asks for a simulation of a named format")

    def compile(self, spec: AuctionSpec, options: dict[str, Any], ctx: RunContext) -> CompileResult:
        """The format as an artifact, with the simulation's figures as its statistics."""
        from auctionc.errors import BackendError
        from auctionc.ir import SIMULATED_ONLY
        from auctionc.mechanism.format_mechanism import format_mechanism

        if spec.mechanism is not None and spec.mechanism.name in SIMULATED_ONLY:
            raise BackendError(Diagnostic(
                "E0808", f"{spec.mechanism.name} is played day by day: it has no sealed-report artifact to compile",
                help=f"run it with `auctionc simulate {spec.source or 'SPEC'}`", where="mechanism").with_span(spec))
        out = Path(ctx.out_dir) if ctx.out_dir is not None else Path("out") / spec.name
        res = self.simulate(spec, options, RunContext(ctx.seed, out, ctx.device, ctx.resume, ctx.progress),
                            seed=ctx.seed)
        mech = format_mechanism(spec.mechanism, spec)
        files = {k: str(p) for k, p in (("report", res.report_path), ("plot", res.plot_path),
                                        ("rounds_plot", res.rounds_plot_path),
                                        ("transcript", res.transcript_path)) if p is not None}
        return CompileResult(mech, stats=res.to_json(), files=files)

    def simulate(self, spec: AuctionSpec, options: dict[str, Any], ctx: RunContext, *, llm: bool = False,
                 model: str | None = None, api_base: str | None = None, **run: Any) -> Any:
        """Play the format (``run``: rounds, seed, max_cost, concurrency, dry_run).  LLM agents with
        no model and no server named get the bundled local model, started for the run when no
        server listens on the default port."""
        from auctionc.backends.simulate.engine import run_simulation

        out = Path(ctx.out_dir) if ctx.out_dir is not None else Path("out") / spec.name / "simulate"
        kwargs = dict(out_dir=out, resume=ctx.resume, progress=ctx.progress.enabled, options=options, **run)
        wants_local = (llm or _has_llm_agents(spec)) and model is None and api_base is None
        from auctionc.llm.local_server import default_server_listening

        if wants_local and not run.get("dry_run") and not default_server_listening():
            from auctionc.llm.local_server import free_port, serve_local_model

            with serve_local_model(port=free_port()) as server:
                return run_simulation(spec, llm=llm, model=server.model, api_base=server.api_base, **kwargs)
        return run_simulation(spec, llm=llm, model=model, api_base=api_base, **kwargs)


    def analyze_logs(self, path: Path) -> list[dict[str, Any]]:
        """Our metrics for the released logs of Shah et al. (2025) under ``path``
        (``released_logs``): one entry per treatment."""
        import json

        from auctionc.backends.simulate.released_logs import analyze
        from auctionc.errors import BackendError

        def fail(message: str) -> BackendError:
            return BackendError(Diagnostic("E0818", message, help="give the folder of the study's logs (a clone of "
                                           "KeHang-Zhu/llm-auction, its experiment_logs/V10, or one treatment folder)"))

        if not Path(path).is_dir():
            raise fail(f"'{path}' is not a folder")
        try:
            out = analyze(Path(path))
        except (ValueError, KeyError, TypeError, IndexError, SyntaxError, json.JSONDecodeError, OSError) as e:
            raise fail(f"a log under '{path}' cannot be read: {str(e)[:200]}") from None
        if not out:
            raise fail(f"no treatment of the study's layout under '{path}' (result_*.json or result_*.csv in a folder "
                       "named like private_first_price, common_spsb_3, affiliated_ac or ebay_proxy)")
        return out


def _has_llm_agents(spec: Any) -> bool:
    people = getattr(spec, "bidders", ()) or getattr(spec, "buyers", ())
    return any(
        getattr(b, "agent", None) is not None and b.agent.kind == "llm" and b.agent.model is None and b.agent.api_base is None
        for b in people
    )

"""The ``simulate`` backend: runs a named single-item format with simulated bidders
(rule-based or LLM agents).  Imports stay light: the engine, litellm and
matplotlib load only when a simulation runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..base import Backend, Capabilities, CompileResult, Verdict
from ..options import OptionSpec

if TYPE_CHECKING:
    from ...ir import AuctionSpec

_FORMATS = ("first_price", "second_price", "third_price", "all_pay", "vcg", "ascending_clock", "dutch")


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
        "steps": OptionSpec(str, "separate", "LLM turn: separate reflection/plan/bid calls, or one combined call",
                            choices=("separate", "combined")),
        "max_tokens": OptionSpec(int, None, "completion token limit per call", min=8),
        "parse_retries": OptionSpec(int, 2, "re-asks with a format reminder after an unreadable reply", min=0, max=10),
        "api_retries": OptionSpec(int, 3, "retries after rate limits and timeouts", min=0, max=10),
        "timeout": OptionSpec(float, 120.0, "seconds per model call", min=1),
        "input_cost_per_token": OptionSpec(float, 0.0, "USD per prompt token for models the price table lacks", min=0),
        "output_cost_per_token": OptionSpec(float, 0.0, "USD per completion token for models the price table lacks", min=0),
    }

    def accepts(self, spec: Any) -> Verdict:
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

    def compile(
        self,
        spec: AuctionSpec,
        options: dict[str, Any],
        *,
        seed: int = 0,
        out_dir: Path | None = None,
        device: str = "cpu",
        resume: bool = False,
        progress: bool = True,
    ) -> CompileResult:
        from ...dsl.diagnostics import Diagnostic
        from ...errors import BackendError
        from .engine import run_simulation

        opts = {k: v for k, v in self.parse_options(spec, options).items() if v is not None}
        try:
            from ...mechanism.formats import format_mechanism
        except ImportError as e:
            raise BackendError(Diagnostic("E0812", "the format mechanisms are not available in this installation",
                                          help="reinstall auctionc")) from e
        out = Path(out_dir) if out_dir is not None else Path("out") / spec.name
        res = run_simulation(spec, seed=seed, out_dir=out, resume=resume, progress=progress, options=opts)
        mech = format_mechanism(spec.mechanism, spec)
        mech.meta.backend = "simulate"
        mech.meta.seed = seed
        mech.meta.options = res.options
        mech.meta.stats = {"simulation": {k: v for k, v in res.to_json().items() if k in ("metrics", "behaviour", "calls")}}
        files = {k: str(p) for k, p in (("report", res.report_path), ("plot", res.plot_path),
                                        ("transcript", res.transcript_path)) if p is not None}
        return CompileResult(mech, "simulate", stats=res.to_json(), files=files)

"""The ``format`` backend: run a named standard format (``mechanism first_price``).

Nothing is solved: the artifact is the format itself (``auctionc.mechanism.formats``),
which the verifier then measures like any designed mechanism.  Torch is never
imported here.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from auctionc.plugins import Backend, Capabilities, CompileResult, RunContext, Verdict

if TYPE_CHECKING:
    from auctionc.ir import AuctionSpec, MarketSpec

    Spec = AuctionSpec | MarketSpec


class FormatBackend(Backend):
    name = "format"
    summary = "runs a standard format (first/second/third price, VCG, all-pay, clock, Dutch, posted price)"
    capabilities = Capabilities(
        spec_kinds=frozenset({"auction"}),
        valuations=frozenset({"additive", "unit_demand", "single", "xor"}),
        # a format is run, not designed: requirements are checked by the verifier afterwards
        constraints=frozenset({"IC", "IR", "deterministic", "budget_balance"}),
        objectives=frozenset(),
        method="exact",
        designs=False,
        runs_formats=True,
    )
    options: dict = {}
    codes = {"E0607": "the format backend was asked to build a spec that names no format"}

    def accepts(self, spec: Spec, options: dict[str, Any]) -> Verdict:
        if spec.mechanism is None:
            return Verdict.no(
                "backend format runs a named format; this spec names none",
                "add e.g. `mechanism second_price` to the spec",
            )
        if spec.objective is not None:
            return Verdict.no(
                "backend format does not design mechanisms; this spec asks to maximise an objective",
                "the format named in `mechanism` is compared after the design backend runs",
            )
        v = self.check_capabilities(spec)
        if v is not None:
            return v
        from auctionc.errors import SpecError
        from auctionc.mechanism.format_mechanism import format_mechanism

        try:
            format_mechanism(spec.mechanism, spec)  # type: ignore[arg-type]
        except SpecError as e:
            return Verdict.no(e.diagnostics[0].message, e.diagnostics[0].help or "")
        return Verdict.yes(score=1.0, why=f"the spec names the format {spec.mechanism.name}")

    def compile(self, spec: Spec, options: dict[str, Any], ctx: RunContext) -> CompileResult:
        from auctionc.diagnostics import Diagnostic
        from auctionc.errors import PlanError
        from auctionc.mechanism.format_mechanism import format_mechanism

        if spec.kind != "auction" or spec.mechanism is None:
            raise PlanError(Diagnostic(
                "E0607", "backend format needs an auction spec that names a format",
                help="add e.g. `mechanism second_price` to the spec", where="mechanism",
            ).with_span(spec))
        t0 = time.perf_counter()
        mech = format_mechanism(spec.mechanism, spec)
        stats = {"seconds": time.perf_counter() - t0, "format": spec.mechanism.name}
        notes = "\n".join(f"- {n}" for n in mech.notes)
        return CompileResult(
            mechanism=mech,
            stats=stats,
            report_sections=[("Format", f"{mech.describe()}\n\n{notes}\n")],
        )

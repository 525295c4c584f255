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
    codes = {"E0607": ("the format backend was asked to build a spec that names no format", (
        "`--backend format` builds the artifact of the standard format a spec names with "
        "`mechanism NAME`; this spec names none. Add a `mechanism` line, or let the planner "
        "choose a design backend."))}

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
        from auctionc.ir import SIMULATED_ONLY

        if spec.mechanism.name in SIMULATED_ONLY:
            return Verdict.no(f"{spec.mechanism.name} is played day by day and has no sealed-report artifact to verify",
                              "run it with `auctionc simulate` (add a simulate { } section)")
        from auctionc.errors import SpecError
        from auctionc.mechanism.format_mechanism import format_mechanism

        try:
            format_mechanism(spec.mechanism, spec)  # type: ignore[arg-type]
        except SpecError as e:
            return Verdict.no(e.diagnostics[0].message, e.diagnostics[0].help or "")
        heavy = vcg_verification_work(spec)
        if heavy is not None:
            return Verdict.no(*heavy, code="E0605")
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


VCG_SOLVE_LIMIT = 50_000_000
"""Winner determinations (assignment problems or bundle MILPs) that verifying a VCG format may
take: about an hour at the 14,000 per second measured for 10 unit-demand bidders over 30
items (verify of 8 samples took 80 s for 1.1 million assignment problems)."""


def vcg_verification_work(spec: Any) -> tuple[str, str] | None:
    """(reason, hint) when verifying the spec's VCG would solve more winner determinations
    than ``VCG_SOLVE_LIMIT``: over many items VCG solves one per bidder and one more for each
    profile the verifier evaluates, samples x (1 + bidders x misreports tried per bidder)."""
    import inspect
    import math

    from auctionc import verifier
    from auctionc.verifier.search import reports_tried

    f = spec.mechanism
    kinds = spec.valuation_kinds
    n, m = spec.n_bidders, spec.n_items
    if f.name != "vcg" or kinds <= {"additive", "single"} or (n + 1) ** m <= 4096:
        return None  # per-item second price, or enumerated assignments: no per-profile solves
    defaults = {k: p.default for k, p in inspect.signature(verifier.verify).parameters.items()}
    sec = getattr(spec, "verify", None)
    samples = (sec.samples if sec is not None and sec.samples else None) or defaults["samples"]
    restarts = (sec.restarts if sec is not None and sec.restarts else None) or defaults["restarts"]
    steps = (sec.steps if sec is not None and sec.steps else None) or defaults["steps"]
    dim = 2**m if "xor" in kinds else m
    tried = reports_tried(restarts, steps, dim)
    solves = samples * (1 + n * tried) * (n + 1)
    if solves <= VCG_SOLVE_LIMIT:
        return None
    fit = max(2, math.floor(VCG_SOLVE_LIMIT / ((1 + n * tried) * (n + 1))))
    return (f"verifying vcg over {m} items and {n} bidders would solve about {solves:,.0f} winner determinations "
            f"({samples:,} samples x {1 + n * tried:,} profiles each x {n + 1} solves), more than the limit of "
            f"{VCG_SOLVE_LIMIT:,}",
            f"lower verify {{ samples }} to at most {fit:,}, or use fewer items or bidders")

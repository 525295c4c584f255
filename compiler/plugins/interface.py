"""The backend interface (after cvxpy's solver interface: capabilities as class
attributes, ``accepts`` explains itself, ``compile`` does the work).

A backend only lowers, solves and returns.  The pipeline (``auctionc.api``) owns the
rest: the planner parses and validates the backend's options once and asks
``accepts(spec, options)``; ``compile(spec, options, ctx)`` returns a ``CompileResult``;
the API stamps provenance on the mechanism, saves it, verifies it and writes the report,
each once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from ..diagnostics import register_codes
from ..progress import Progress

if TYPE_CHECKING:  # keep ``auctionc plan`` free of heavy imports
    from auctionc.plugins.options import OptionSpec

    from ..ir import AuctionSpec, MarketSpec
    from ..mechanism import Mechanism

    Spec = AuctionSpec | MarketSpec


@dataclass(frozen=True)
class Capabilities:
    """What a backend can take; the planner shows it next to each refusal."""

    spec_kinds: frozenset[str] = frozenset({"auction"})
    valuations: frozenset[str] = frozenset()
    constraints: frozenset[str] = frozenset()
    objectives: frozenset[str] = frozenset({"revenue"})
    min_bidders: int = 1
    max_bidders: int | None = None
    max_items: int | None = None
    method: Literal["exact", "learned", "simulated"] = "exact"
    designs: bool = True
    """True for backends that design a mechanism from require/maximize."""
    runs_formats: bool = False
    """True for backends that run a named format (mechanism first_price ...)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "spec_kinds": sorted(self.spec_kinds),
            "valuations": sorted(self.valuations),
            "constraints": sorted(self.constraints),
            "objectives": sorted(self.objectives),
            "min_bidders": self.min_bidders,
            "max_bidders": self.max_bidders,
            "max_items": self.max_items,
            "method": self.method,
        }


@dataclass(frozen=True)
class Verdict:
    """A backend's answer to ``accepts``: yes, or no with reasons and hints."""

    ok: bool
    reasons: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    score: float = 0.0
    """Preference among accepting backends (higher wins): exact beats learned when both fit."""
    code: str | None = None
    """The backend's own diagnostic code for this refusal (E0605 when none)."""

    @classmethod
    def yes(cls, score: float = 0.0, why: str = "") -> Verdict:
        return cls(True, (why,) if why else (), (), score)

    @classmethod
    def no(cls, reason: str, hint: str = "", code: str | None = None) -> Verdict:
        return cls(False, (reason,), (hint,) if hint else (), code=code)


@dataclass(frozen=True)
class RunContext:
    """What a run is given besides the spec and the options: where to write side files
    (checkpoints, figures), the seed, the torch device, whether to resume, and where to
    report progress."""

    seed: int = 0
    out_dir: Path | None = None
    device: str = "cpu"
    resume: bool = False
    progress: Progress = field(default_factory=Progress.off)


@dataclass
class CompileResult:
    """What ``Backend.compile`` returns; the API adds provenance, saves and verifies."""

    mechanism: Mechanism
    stats: dict[str, Any] = field(default_factory=dict)
    """Solver or training statistics (seconds, iterations, constraint rounds, test revenue...)."""
    history: dict[str, list[float]] | None = None
    """Training curves: equal-length lists keyed by name, ``step`` among them (learned backends)."""
    claim: dict[str, Any] | None = None
    """The backend's own certificate: shown as the backend's claim, never taken as the
    verifier's (the verifier computes its own)."""
    report_sections: list[tuple[str, str]] = field(default_factory=list)
    """Extra (title, markdown) sections for the report."""
    files: dict[str, str] = field(default_factory=dict)
    """Side files the backend wrote under ``ctx.out_dir`` (checkpoints, figures): name -> path."""


@dataclass
class Exported:
    """What ``Backend.export`` returns: the backend's program in a target's form, unsolved,
    and the way back from its solution to an artifact."""

    program: Any
    """The program as the target represents it (a ``cvxpy.Problem`` for ``cvxpy``)."""
    families: dict[str, list[Any]]
    """Its constraints by family (``IC``, ``IR``, ``feasibility``, ``obedience``, ``bounds``...)."""
    variables: dict[str, Any]
    """Its variables by name, in the order the backend lays them out."""
    layout: dict[str, str]
    """What each variable's entries mean (index order), for someone adding constraints."""
    decode: Callable[[], CompileResult]
    """Reads the variables' values (after any solve of any program over them) into a result:
    the mechanism, statistics and the backend's claim."""


class Backend:
    """Subclass, set ``name``/``summary``/``capabilities``/``options``/``codes``, implement
    ``accepts`` and ``compile`` (or ``simulate`` for simulation backends)."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    options: ClassVar[dict[str, OptionSpec]] = {}
    """Declared options (``solve with NAME(opt = value)``), parsed and validated by the
    planner and listed by the docs and ``auctionc plan``."""
    options_section: ClassVar[str] = "solve.options"
    """Where the spec gives this backend's options (the IR path diagnostics point at)."""
    codes: ClassVar[dict[str, str]] = {}
    """The diagnostic codes this backend raises beyond the compiler's, with their summaries."""
    exports: ClassVar[tuple[str, ...]] = ()
    """Targets ``export`` can hand this backend's program to (``auctionc export --to TARGET``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "codes" in cls.__dict__ and cls.codes:
            # the layer is the module that declares the codes: backends sharing a base share them
            register_codes(cls.__module__, cls.codes)

    def check_capabilities(self, spec: Spec) -> Verdict | None:
        """The generic part of ``accepts``: spec kind, valuations, constraints, objective, sizes."""
        caps = self.capabilities
        if spec.kind not in caps.spec_kinds:
            return Verdict.no(f"backend {self.name} does not take {spec.kind} specs")
        if spec.objective is None and spec.mechanism is not None and not caps.runs_formats:
            return Verdict.no(f"backend {self.name} designs mechanisms; this spec names a format to run")
        if spec.objective is not None:
            if not caps.designs:
                return Verdict.no(f"backend {self.name} does not design mechanisms")
            bad = [t for t in spec.objective.terms if t not in caps.objectives]
            if bad:
                return Verdict.no(f"backend {self.name} cannot maximise {', '.join(bad)}")
        # A simulation plays the named format as it is; what the spec requires of that format
        # is for `auctionc verify` to check, not for the simulation to enforce.
        requirements = () if caps.method == "simulated" else spec.requirements
        for c in requirements:
            if c.kind not in caps.constraints:
                return Verdict.no(f"backend {self.name} cannot enforce {c.kind}")
        n = spec.n_bidders
        if n < caps.min_bidders or (caps.max_bidders is not None and n > caps.max_bidders):
            hi = caps.max_bidders if caps.max_bidders is not None else "any number of"
            return Verdict.no(f"backend {self.name} takes {caps.min_bidders} to {hi} bidders, not {n}")
        if spec.kind == "auction":
            kinds = spec.valuation_kinds - caps.valuations
            if kinds:
                return Verdict.no(f"backend {self.name} cannot take {', '.join(sorted(kinds))} valuations")
            if caps.max_items is not None and spec.n_items > caps.max_items:
                return Verdict.no(f"backend {self.name} takes at most {caps.max_items} items, not {spec.n_items}")
        return None

    def given_options(self, spec: Spec) -> dict[str, Any]:
        """The raw options the spec gives this backend: its ``solve with NAME(...)`` options."""
        solve = getattr(spec, "solve", None)
        return dict(solve.options) if solve is not None and solve.backend == self.name else {}

    def accepts(self, spec: Spec, options: dict[str, Any]) -> Verdict:
        """Whether this backend can take ``spec`` with these (parsed) options, and why not."""
        return self.check_capabilities(spec) or Verdict.yes()

    def resolve_options(self, spec: Spec, options: dict[str, Any]) -> dict[str, Any]:
        """The effective options, once each is valid on its own: defaults that depend on the
        spec or on other options filled in, and checks between options (one bounded by
        another) that raise ``PlanError`` naming the option.  What this returns is what the
        artifact records.  Default: the options as parsed."""
        return options

    def compile(self, spec: Spec, options: dict[str, Any], ctx: RunContext) -> CompileResult:
        """Solve or train for ``spec`` with parsed ``options``.  Write checkpoints and figures
        under ``ctx.out_dir`` when given, never the artifact itself; report progress through
        ``ctx.progress``.  Raise ``BackendError``/``PlanError`` with diagnostics, never return
        a fake mechanism."""
        raise NotImplementedError

    def export(self, spec: Spec, options: dict[str, Any], target: str) -> Exported:
        """The program ``compile`` would solve for ``spec``, unsolved, in the form ``target``
        names (one of ``exports``), so that a user can change it and solve it elsewhere."""
        raise NotImplementedError

    def simulate(self, spec: Spec, options: dict[str, Any], ctx: RunContext) -> Any:
        """Simulation backends: run the spec's format with simulated bidders."""
        raise NotImplementedError

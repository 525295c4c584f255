"""The backend interface (after cvxpy's solver interface: capabilities as class
attributes, ``accepts`` explains itself, ``compile`` does the work)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:  # keep ``auctionc plan`` free of heavy imports
    from pathlib import Path

    from ..ir import AuctionSpec, MarketSpec
    from ..mechanism import Mechanism
    from .options import OptionSpec

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

    @classmethod
    def yes(cls, score: float = 0.0, why: str = "") -> Verdict:
        return cls(True, (why,) if why else (), (), score)

    @classmethod
    def no(cls, reason: str, hint: str = "") -> Verdict:
        return cls(False, (reason,), (hint,) if hint else ())


@dataclass
class CompileResult:
    mechanism: Mechanism
    backend: str
    stats: dict[str, Any] = field(default_factory=dict)
    """Solver or training statistics (seconds, iterations, constraint rounds...)."""
    certificate: dict[str, Any] | None = None
    """A backend's own exact certificate, re-checked by the verifier."""
    report_sections: list[tuple[str, str]] = field(default_factory=list)
    """Extra (title, markdown) sections for the report."""
    files: dict[str, str] = field(default_factory=dict)
    """Extra files written (plots, checkpoints): name -> path."""


class Backend:
    """Subclass, set ``name``/``summary``/``capabilities``, implement ``accepts`` and ``compile``."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    options: ClassVar[dict[str, OptionSpec]] = {}
    """Declared options (``solve with NAME(opt = value)``), validated by ``parse_options``
    and listed by the docs and ``auctionc plan``."""

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
        for c in spec.requirements:
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

    def accepts(self, spec: Spec) -> Verdict:
        return self.check_capabilities(spec) or Verdict.yes()

    def parse_options(self, spec: Spec, given: dict[str, Any]) -> dict[str, Any]:
        from .options import parse_options

        return parse_options(self.name, given, self.options, spec)

    def compile(
        self,
        spec: Spec,
        options: dict[str, Any],
        *,
        seed: int = 0,
        out_dir: Path | None = None,
        device: str = "cpu",
        resume: bool = False,
        progress: bool = True,
    ) -> CompileResult:
        """Solve/train for ``spec``.  ``options`` are the raw options (spec's ``solve with``
        merged with the caller's); validate them with ``self.parse_options``.  Write
        checkpoints and side files under ``out_dir`` when given; show progress on
        stderr when ``progress``.  Raise ``BackendError``/``PlanError`` with diagnostics,
        never return a fake mechanism."""
        raise NotImplementedError

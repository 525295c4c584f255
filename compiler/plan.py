"""The planner: ask every backend whether it accepts the spec, pick one, explain.

A backend named by the spec (``solve with NAME``) or by the caller wins if it
accepts; otherwise the accepting backend with the highest ``Verdict.score``
wins, exact before learned before simulated on ties.  Every refusal is kept so
``auctionc plan`` can show why the others said no.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .backends.registry import available_backends, get_backend, suggest
from .dsl.diagnostics import Diagnostic
from .errors import PlanError

_METHOD_RANK = {"exact": 0, "learned": 1, "simulated": 2}


@dataclass(frozen=True)
class Refusal:
    backend: str
    reasons: tuple[str, ...]
    hints: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"backend": self.backend, "reason": "; ".join(self.reasons), "hints": list(self.hints)}


@dataclass
class Plan:
    chosen: str | None
    why: str
    refused: list[Refusal] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    requested: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen,
            "why": self.why,
            "requested": self.requested,
            "accepted": self.accepted,
            "refused": [r.to_json() for r in self.refused],
        }

    def __str__(self) -> str:
        lines = [f"backend: {self.chosen or '(none)'}", f"why: {self.why}"]
        for r in self.refused:
            lines.append(f"  {r.backend}: refused: {'; '.join(r.reasons)}")
            lines.extend(f"      hint: {h}" for h in r.hints)
        return "\n".join(lines)


def _ask(name: str, spec: Any) -> tuple[Any, Any]:
    """(backend or None, Verdict) — a backend that fails to load is a refusal, not a crash."""
    from .backends.base import Verdict

    try:
        backend = get_backend(name)
    except Exception as e:  # an installed backend whose module is broken or missing
        return None, Verdict.no(f"backend {name} could not be loaded ({type(e).__name__}: {e})")
    try:
        return backend, backend.accepts(spec)
    except Exception as e:
        return backend, Verdict.no(f"backend {name} failed while checking the spec ({type(e).__name__}: {e})")


def _fits_role(backend: Any, spec: Any) -> bool:
    caps = backend.capabilities
    if spec.kind not in caps.spec_kinds:
        return False
    return caps.designs if spec.objective is not None else caps.runs_formats


def make_plan(spec: Any, backend: str | None = None, *, purpose: str = "compile") -> Plan:
    """Choose a backend for ``spec``.  ``backend`` overrides the spec's ``solve with``.

    ``purpose`` is "compile" (design a mechanism or build a format artifact) or
    "simulate"; simulated backends are chosen only for simulations or on request.
    """
    requested = backend or (spec.solve.backend if spec.solve is not None else None)
    names = available_backends()
    if requested is not None:
        if requested not in names:
            where = "solve.backend" if backend is None else None
            raise PlanError(
                Diagnostic(
                    "E0601",
                    f"unknown backend '{requested}'",
                    help="installed backends: " + ", ".join(names),
                    suggestion=suggest(requested),
                    where=where,
                ).with_span(spec)
            )
        b, verdict = _ask(requested, spec)
        refused = [] if verdict.ok else [Refusal(requested, verdict.reasons, verdict.hints)]
        if not verdict.ok:
            raise PlanError(
                Diagnostic(
                    "E0605",
                    f"backend {requested} cannot take this spec: {'; '.join(verdict.reasons)}",
                    help=verdict.hints[0] if verdict.hints else "run `auctionc plan FILE` to see which backends accept it",
                    notes=tuple(verdict.hints[1:]),
                    where="solve" if backend is None else None,
                ).with_span(spec)
            )
        src = "the spec asks for it (solve with)" if backend is None else "requested on the command line"
        why = f"{requested}: {src}"
        if verdict.reasons and verdict.reasons[0]:
            why += f"; {verdict.reasons[0]}"
        return Plan(requested, why, refused, [requested], requested)

    accepted: list[tuple[float, int, str, Any]] = []
    refused: list[Refusal] = []
    relevant: set[str] = set()
    for name in names:
        b, verdict = _ask(name, spec)
        if b is not None and _fits_role(b, spec):
            relevant.add(name)
        if not verdict.ok:
            refused.append(Refusal(name, verdict.reasons, verdict.hints))
            continue
        method = b.capabilities.method
        if purpose == "compile" and method == "simulated":
            refused.append(Refusal(name, ("simulation backends run with `auctionc simulate`",)))
            continue
        if purpose == "simulate" and method != "simulated":
            continue
        accepted.append((verdict.score, -_METHOD_RANK.get(method, 3), name, verdict))
    if not accepted:
        notes = tuple(f"{r.backend}: {'; '.join(r.reasons)}" for r in refused)
        # hints from backends made for this kind of spec come first (a design spec
        # wants "add a grid", not "name a format")
        ordered = sorted(refused, key=lambda r: r.backend not in relevant)
        hints = [h for r in ordered for h in r.hints]
        raise PlanError(
            Diagnostic(
                "E0606",
                "no installed backend accepts this spec",
                help=hints[0] if hints else "simplify the spec or name a backend with `solve with NAME(...)`",
                notes=notes,
                where="spec",
            ).with_span(spec)
        )
    accepted.sort(key=lambda t: (t[0], t[1]), reverse=True)
    score, _, name, verdict = accepted[0]
    b = get_backend(name)
    why = f"{name} ({b.capabilities.method}) accepts the spec"
    if verdict.reasons and verdict.reasons[0]:
        why += f": {verdict.reasons[0]}"
    if len(accepted) > 1:
        others = ", ".join(t[2] for t in accepted[1:])
        why += f"; preferred over {others}"
    return Plan(name, why, refused, [t[2] for t in accepted])

"""The planner: parse each backend's options, ask it whether it accepts the spec, pick
one, explain.

A backend named by the spec (``solve with NAME``) or by the caller wins if it accepts;
otherwise the accepting backend with the highest ``Verdict.score`` wins, exact before
learned before simulated on ties.  Every refusal is kept so ``auctionc plan`` can show
why the others said no.  Options are parsed and validated here, once: a backend sees
only typed, checked options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Diagnostic
from .errors import PlanError
from .plugins import registry

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
    backend: Any = field(default=None, repr=False, compare=False)
    """The chosen backend's instance (the one ``compile`` runs)."""
    options: dict[str, Any] = field(default_factory=dict)
    """The chosen backend's options, parsed and validated (defaults filled in)."""

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


def parse_backend_options(backend: Any, spec: Any, options: dict[str, Any] | None) -> dict[str, Any]:
    """The backend's options: defaults, under what the spec gives it, under the caller's
    (``-o``); each option checked alone and then together; ``PlanError`` (E0602-E0604)
    naming the option otherwise."""
    from .plugins.options import parse_options

    from_spec = backend.given_options(spec)
    given = {**from_spec, **(options or {})}
    opts = parse_options(backend.name, given, backend.options, spec, section=backend.options_section)
    for name, o in backend.options.items():
        # a spec from someone else must not lift the limits that protect the user running it
        if (o.limit and name in from_spec and name not in (options or {}) and o.default is not None
                and opts[name] > o.default):
            raise PlanError(Diagnostic(
                "E0604",
                f"the spec raises option '{name}' of backend {backend.name} to {opts[name]:,} above its default "
                f"{o.default:,}: a spec may lower a limit, not raise it",
                help=f"raise it yourself on the command line with -o {name}={opts[name]:g}",
                where=f"{backend.options_section}.{name}",
            ).with_span(spec))
    return backend.resolve_options(spec, opts)


SIMULATION_BACKENDS = {"assignment": "assignment"}
"""The backend that runs ``auctionc simulate`` for each kind of spec (default: simulate)."""


def simulation_backend(spec: Any) -> str:
    """The backend ``auctionc simulate`` runs this spec with."""
    return SIMULATION_BACKENDS.get(getattr(spec, "kind", ""), "simulate")


def check_options(spec: Any) -> list[Diagnostic]:
    """The diagnostics of the backend options the spec gives (``solve with NAME(...)``, the
    settings of ``simulate { }``) on their own: an unknown backend, unknown or bad options.
    For ``auctionc check``; whether a backend accepts the spec is the plan's."""
    solve = getattr(spec, "solve", None)
    names = [solve.backend] if solve is not None else []
    runner = simulation_backend(spec)
    if getattr(spec, "simulate", None) is not None and runner not in names and runner in registry.available_backends():
        names.append(runner)
    out: list[Diagnostic] = []
    for name in names:
        try:
            backend = _load(name, spec, from_spec=True)
            parse_backend_options(backend, spec, None)
        except PlanError as e:
            out.extend(d.with_span(spec) for d in e.diagnostics)
        except Exception:  # a broken backend module: the plan reports it as a refusal
            continue
    return out


def _load(name: str, spec: Any, from_spec: bool) -> Any:
    names = registry.available_backends()
    if name not in names:
        raise PlanError(
            Diagnostic(
                "E0601",
                f"unknown backend '{name}'",
                help="backends: " + ", ".join(names),
                suggestion=registry.suggest(name),
                where="solve.backend" if from_spec else None,
            ).with_span(spec)
        )
    return registry.backend_class(name)()


def _ask(name: str, spec: Any, options: dict[str, Any] | None) -> tuple[Any, dict[str, Any] | None, Any]:
    """(backend or None, parsed options or None, Verdict): a backend that fails to load, whose
    options do not parse or that breaks while checking is a refusal, not a crash."""
    from .plugins.interface import Verdict

    try:
        backend = registry.backend_class(name)()
    except Exception as e:  # an installed backend whose module is broken or missing
        return None, None, Verdict.no(f"backend {name} could not be loaded ({type(e).__name__}: {e})")
    try:
        opts = parse_backend_options(backend, spec, options)
    except PlanError as e:
        return backend, None, Verdict.no(f"backend {name} does not take these options: {e.diagnostics[0].message}")
    except Exception as e:  # a bug in one backend's option checks must not stop the others
        return backend, None, Verdict.no(f"backend {name} failed while reading its options ({type(e).__name__}: {e})")
    try:
        return backend, opts, backend.accepts(spec, opts)
    except Exception as e:
        return backend, opts, Verdict.no(f"backend {name} failed while checking the spec ({type(e).__name__}: {e})")


def _fits_role(backend: Any, spec: Any) -> bool:
    caps = backend.capabilities
    if spec.kind not in caps.spec_kinds:
        return False
    return caps.designs if getattr(spec, "objective", None) is not None else caps.runs_formats


def make_plan(
    spec: Any, backend: str | None = None, options: dict[str, Any] | None = None, *, purpose: str = "compile"
) -> Plan:
    """Choose a backend for ``spec``.  ``backend`` overrides the spec's ``solve with``;
    ``options`` (``-o NAME=VALUE``) override the spec's options for the chosen backend.

    ``purpose`` is "compile" (design a mechanism or build a format artifact) or
    "simulate"; simulated backends are chosen only for simulations or on request.
    """
    solve = getattr(spec, "solve", None)
    requested = backend or (solve.backend if solve is not None else None)
    if requested is not None:
        b = _load(requested, spec, from_spec=backend is None)
        opts = parse_backend_options(b, spec, options)
        verdict = b.accepts(spec, opts)
        if not verdict.ok:
            raise PlanError(
                Diagnostic(
                    verdict.code or "E0605",
                    # a backend that names its own code words its own sentence
                    "; ".join(verdict.reasons) if verdict.code else
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
        return Plan(requested, why, [], [requested], requested, b, opts)

    accepted: list[tuple[float, int, str, Any, Any, dict[str, Any]]] = []
    refused: list[Refusal] = []
    relevant: set[str] = set()
    for name in registry.available_backends():
        b, opts, verdict = _ask(name, spec, options)
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
        accepted.append((verdict.score, -_METHOD_RANK.get(method, 3), name, verdict, b, opts or {}))
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
    _, _, name, verdict, b, opts = accepted[0]
    why = f"{name} ({b.capabilities.method}) accepts the spec"
    if verdict.reasons and verdict.reasons[0]:
        why += f": {verdict.reasons[0]}"
    if len(accepted) > 1:
        others = ", ".join(t[2] for t in accepted[1:])
        why += f"; preferred over {others}"
    return Plan(name, why, refused, [t[2] for t in accepted], None, b, opts)

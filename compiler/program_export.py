"""Hand a backend's program to another tool instead of solving it here.

A backend declares the targets it can export to (``Backend.exports``) and implements
``Backend.export``; the exact backends (``lp``, ``milp``) export to ``cvxpy``.  This module
picks the backend as ``compile`` would (the caller's, the spec's ``solve with``, else the
first exporting backend that accepts the spec), and for ``cvxpy`` wraps the result in an
``ExportedProblem``.  ``solve_exported`` is ``auctionc export --solve``: solve with a cvxpy
solver, then verify and save like ``compile``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic
from .errors import BackendError, PlanError
from .planner import Plan, make_plan
from .plugins import registry


def export_targets() -> dict[str, list[str]]:
    """Each export target and the installed backends that export to it."""
    out: dict[str, list[str]] = {}
    for name in registry.available_backends():
        try:
            targets = registry.backend_class(name).exports
        except Exception:  # a broken backend module: the planner reports it where it matters
            continue
        for target in targets:
            out.setdefault(target, []).append(name)
    return out


def _cannot(message: str, help: str, spec: Any = None, where: str | None = None) -> PlanError:
    d = Diagnostic("E0608", message, help=help, where=where)
    return PlanError(d.with_span(spec) if spec is not None and where else d)


def plan_export(spec: Any, to: str, backend: str | None = None, options: dict[str, Any] | None = None) -> Plan:
    """The plan whose backend exports ``spec`` to ``to``; ``PlanError`` otherwise (E0608 when
    no backend that could take the spec exports there, else the backend's own refusal)."""
    targets = export_targets()
    exporters = targets.get(to, [])
    if not exporters:
        known = ", ".join(sorted(targets)) or "none"
        raise _cannot(f"no installed backend exports to {to!r}", f"export targets: {known}")
    requested = backend or (spec.solve.backend if spec.solve is not None else None)
    if requested is not None:
        plan = make_plan(spec, backend, options)
        if to not in plan.backend.exports:
            raise _cannot(f"backend {requested} cannot export to {to!r}",
                          f"backends that export to {to}: {', '.join(exporters)} (pass --backend {exporters[0]})",
                          spec, "solve" if backend is None else None)
        return plan
    first: PlanError | None = None
    for name in exporters:
        try:
            return make_plan(spec, name, options)
        except PlanError as e:
            first = first or e
    assert first is not None
    raise first


def _cvxpy_program(spec: Any, options: dict[str, Any] | None, backend: str | None) -> tuple[Plan, Any]:
    from .cvxpy_problem import ExportedProblem

    plan = plan_export(spec, "cvxpy", backend, options)
    exported = plan.backend.export(spec, plan.options, "cvxpy")
    return plan, ExportedProblem(exported, spec=spec, backend=plan.chosen, options=plan.options)


def to_cvxpy(spec: Any, options: dict[str, Any] | None = None, *, backend: str | None = None) -> Any:
    """The exact backend's program for ``spec`` as a ``cvxpy.Problem`` (an ``ExportedProblem``)
    with named constraint families; solve it with any installed cvxpy solver, then
    ``problem.mechanism()`` is the artifact ``auctionc.verify`` checks.  ``options`` are the
    backend's (``grid``, ...)."""
    return _cvxpy_program(spec, options, backend)[1]


def solve_exported(
    spec: Any,
    solver: str,
    *,
    backend: str | None = None,
    options: dict[str, Any] | None = None,
    out: str | Path | None = None,
    verify: bool = True,
    verify_options: dict[str, Any] | None = None,
) -> Any:
    """Export to cvxpy, solve with the cvxpy ``solver``, then verify and save like ``compile``:
    a ``CompileOutput`` whose stats name the solver.  ``BackendError`` (E0703) when the solver
    is not installed or stops without an optimum."""
    import cvxpy as cp

    from .api import CompileOutput, _verify_settings, save_outputs
    from .solvers import stdout_to_stderr

    t0 = time.perf_counter()
    plan, problem = _cvxpy_program(spec, options, backend)
    t1 = time.perf_counter()
    installed = cp.installed_solvers()
    if solver.upper() not in installed:
        raise BackendError(Diagnostic("E0703", f"cvxpy solver {solver!r} is not installed",
                                      help=f"installed cvxpy solvers: {', '.join(installed)}"))
    try:
        with stdout_to_stderr():  # HiGHS's banner, for one
            problem.solve(solver=solver.upper())
    except cp.error.SolverError as e:
        raise BackendError(Diagnostic("E0703", f"cvxpy solver {solver.upper()} failed: {e}",
                                      help="try another solver (HIGHS solves these LPs exactly)")) from None
    if problem.status != cp.OPTIMAL:
        raise BackendError(Diagnostic("E0703", f"cvxpy solver {solver.upper()} stopped with status {problem.status}",
                                      help="check the constraints you added; the exported program alone is always feasible"))
    mech = problem.mechanism()
    mech.meta.stats.update({"cvxpy_solver": solver.upper(), "cvxpy_status": problem.status,
                            "cvxpy_objective": float(problem.value)})
    t2 = time.perf_counter()
    output = CompileOutput(spec=spec, plan=plan, mechanism=mech, backend=problem.backend, seed=0,
                           options=dict(plan.options), stats=dict(mech.meta.stats), claim=mech.meta.claim)
    if verify:
        from .verifier import verify as run_verify

        output.certificate = run_verify(mech, spec, **_verify_settings(spec, verify_options))
    t3 = time.perf_counter()
    output.timings = {"export_s": round(t1 - t0, 4), "solve_s": round(t2 - t1, 4), "verify_s": round(t3 - t2, 4)}
    if out is not None:
        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
        save_outputs(output, out_dir)
    return output

"""A backend's program as a ``cvxpy.Problem`` that knows its way back to an artifact.

``auctionc.to_cvxpy(spec)`` returns an ``ExportedProblem``: a plain ``cvxpy.Problem`` (solve
it with any installed solver, or build a new problem from its objective, its constraints
and constraints of your own over its variables) with three additions:

* ``families``: the constraints by family (``IC``, ``IR``, ``feasibility``, ``obedience``,
  ``bounds``...), to drop or inspect one family;
* ``named_variables`` and ``layout``: the variables by name and what their entries mean;
* ``mechanism()``: the artifact of the variables' current values, with the same provenance
  ``compile`` records, for ``auctionc.verify`` or ``mechanism.save``.

This module imports cvxpy; the compiler imports it only when a program is exported.
"""

from __future__ import annotations

from typing import Any

import cvxpy as cp

from .diagnostics import Diagnostic
from .errors import UsageError
from .mechanism.base import stamp_provenance
from .plugins import Exported


class ExportedProblem(cp.Problem):
    """The program a backend would solve for a spec, as a cvxpy problem (see the module)."""

    def __init__(self, exported: Exported, *, spec: Any, backend: str, options: dict[str, Any]) -> None:
        super().__init__(exported.program.objective, exported.program.constraints)
        self.families: dict[str, list[cp.Constraint]] = exported.families
        self.named_variables: dict[str, cp.Variable] = exported.variables
        self.layout: dict[str, str] = exported.layout
        self.backend = backend
        self._exported = exported
        self._spec = spec
        self._options = dict(options)

    def copy(self, args: list | None = None, id_objects: dict | None = None) -> cp.Problem:
        """A plain ``cvxpy.Problem`` over the same (or the given) objective and constraints:
        cvxpy rebuilds problems through ``copy`` with those two arguments alone."""
        return cp.Problem(*(args if args is not None else self.args))

    def mechanism(self) -> Any:
        """The artifact of the variables' values, whichever problem over them was solved last;
        ``UsageError`` (E0703) when they hold none (not solved, or infeasible)."""
        missing = [name for name, var in self.named_variables.items() if var.value is None]
        if missing:
            raise UsageError(Diagnostic(
                "E0703",
                f"the exported program holds no solution: {', '.join(missing)} have no values",
                help="solve it first (problem.solve(solver='HIGHS'), or any installed cvxpy solver) and check "
                     "that problem.status is 'optimal'",
            ))
        result = self._exported.decode()
        stamp_provenance(result.mechanism, self._spec, backend=self.backend, seed=0, options=self._options,
                         stats={**result.stats, "exported_to": "cvxpy"}, claim=result.claim, extra_packages=("cvxpy",))
        return result.mechanism

    def summary(self) -> dict[str, Any]:
        """Sizes: the rows of each constraint family and the entries of each variable."""
        return {
            "variables": {name: int(var.size) for name, var in self.named_variables.items()},
            "families": {name: int(sum(c.size for c in cons)) for name, cons in self.families.items()},
            "layout": dict(self.layout),
        }

"""The backend's claim, set beside the verifier's own figures.

What a backend says about its artifact (its certificate kind, exact revenue, welfare and
violations, its solver's objective) never makes a certificate pass; where it disagrees with
what the verifier computed on the same prior, the certificate fails the ``claim`` check.
"""

from __future__ import annotations

from typing import Any

from .certificate import Check
from .enumeration import objective_value

OBJECTIVE_TOL = 1e-9
"""Relative agreement expected between an exact solve's objective and the verified figure."""

_FIGURES = (("revenue", "revenue"), ("welfare", "welfare"), ("max_ic_violation", "max_regret"),
            ("max_ir_violation", "max_ir_violation"), ("max_obedience_violation", "max_obedience_violation"))


def claim_check(meta: Any, spec: Any, kind: str, exact: dict[str, Any] | None, scope: str, tol: float,
                notes: list[str], details: dict[str, Any]) -> Check | None:
    """Compare the claim with the verifier's ``kind`` and, where the verifier has exact
    figures (``exact``, on ``scope``), with those; None when the backend claims nothing."""
    claim = getattr(meta, "claim", None) or {}
    stats = getattr(meta, "stats", None) or {}
    if not claim and "objective" not in stats:
        return None
    problems, agreed = [], []
    ck = claim.get("kind")
    if ck in ("exact_by_construction", "exact_by_menu_compatibility") and kind != ck:
        problems.append(f"the backend claims {ck}; the verifier establishes {kind}")
    if ck == "exact_by_enumeration" and exact is None:
        problems.append(f"the backend claims exact figures; the verifier has none on {scope}")
    compared: dict[str, Any] = {}
    if exact is not None:
        for key, mine in _FIGURES:
            theirs, ours = claim.get(key), exact.get(mine)
            if isinstance(theirs, (int, float)) and isinstance(ours, (int, float)):
                compared[key] = {"backend": float(theirs), "verifier": float(ours)}
                if abs(float(theirs) - float(ours)) > tol * max(1.0, abs(float(ours))):
                    problems.append(f"{key}: the backend claims {float(theirs):.9g}, the verifier finds {float(ours):.9g}")
                else:
                    agreed.append(key)
        obj, ours = stats.get("objective"), objective_value(spec, exact)
        if isinstance(obj, (int, float)) and ours is not None:
            gap = abs(float(obj) - ours)
            compared["objective"] = {"backend": float(obj), "verifier": ours, "difference": gap}
            if gap <= OBJECTIVE_TOL * max(1.0, abs(ours)):
                agreed.append(f"the solver's objective (to {OBJECTIVE_TOL:g})")
            elif gap <= tol * max(1.0, abs(ours)):
                notes.append(f"the solver's objective {float(obj):.12g} and the verified {ours:.12g} differ by {gap:.2g}, "
                             f"more than {OBJECTIVE_TOL:g} but within the tolerance: the solver meets its constraints only "
                             "to its own feasibility tolerance, so an argmax choice can pick another (tied) element")
                agreed.append("the solver's objective (within the tolerance)")
            else:
                problems.append(f"objective: the solver reports {float(obj):.9g}, the verified figure is {ours:.9g}")
    details["claim_comparison"] = {"scope": scope, "backend_kind": ck, "figures": compared}
    if problems:
        return Check("claim", False, "the backend's claim disagrees with the verifier: " + "; ".join(problems))
    what = ", ".join(agreed) if agreed else "its certificate kind"
    return Check("claim", True, f"the backend's claim agrees with the verifier on {scope}: {what}")


def add_claim_check(mech: Any, spec: Any, cert: Any, exact: dict[str, Any] | None, scope: str, tol: float) -> None:
    """Append the ``claim`` check to ``cert`` when the backend claims something."""
    c = claim_check(mech.meta, spec, cert.kind, exact, scope, tol, cert.notes, cert.details)
    if c is not None:
        cert.checks.append(c)

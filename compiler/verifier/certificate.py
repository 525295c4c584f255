"""The certificate: what ``auctionc verify`` returns, its checks and its figures.

A certificate passes (``ok``) exactly when every one of its ``checks`` passes: validity
(spec hash, shapes, world data, ranges, feasibility, stochastic experiments, finite
payments), structure, the incentive checks (IC, IR, obedience) and the agreement with the
backend's claim.  A failed check carries the diagnostic code the command line shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Z95 = 1.959963984540054
"""The 97.5% quantile of the standard normal (two-sided 95% intervals)."""

EXIT_NOT_VERIFIED = 3
"""Exit code of ``auctionc verify``, ``compile`` and ``export --solve`` when the mechanism was
made (or read) but its certificate fails: distinct from 1 (the spec or the run failed) and 2
(usage), so a script can tell "solved, not verified at tolerance" from an error (the one place
to change it)."""

CHECK_CODES = {
    "spec_hash": "E0907",
    "evaluation": "E0906",
    "shapes": "E0909",
    "world": "E0909",
    "allocation_range": "E0909",
    "feasibility": "E0909",
    "stochastic_experiments": "E0909",
    "finite_payments": "E0909",
    "lotteries": "E0909",
    "structure": "E0910",
    "structure_confirmed": "E0910",
    "menu_compatibility": "E0910",
    "claim": "E0910",
    "IC": "E0911",
    "IR": "E0911",
    "obedience": "E0911",
}
"""The diagnostic code of each check when it fails (registered in ``auctionc.codes``)."""

VALIDITY = ("spec_hash", "evaluation", "shapes", "world", "allocation_range", "feasibility",
            "stochastic_experiments", "lotteries", "finite_payments")
"""The checks that run before any certificate; a failure among them makes the kind ``invalid``."""


@dataclass
class Check:
    """One named check: whether it passed and what was found."""

    name: str
    ok: bool
    detail: str

    @property
    def code(self) -> str:
        return CHECK_CODES.get(self.name, "E0911")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "ok": self.ok, "detail": self.detail}
        if not self.ok:
            out["code"] = self.code
        return out


def exact_metric(value: float, profiles: int | None) -> dict[str, Any]:
    """An expectation computed by enumeration: no confidence interval."""
    return {"value": float(value), "exact": True, "ci95": None, "samples": None, "profiles": profiles}


def sampled_metric(mean: float, half_width: float, n: int, **extra: Any) -> dict[str, Any]:
    return {"value": float(mean), "exact": False, "ci95": [mean - half_width, mean + half_width],
            "samples": int(n), **extra}


@dataclass
class Certificate:
    """Everything ``auctionc verify`` prints; ``to_json()`` gives the documented keys."""

    kind: str
    checks: list[Check]
    max_regret: float | None
    mean_regret: float | None
    max_ir_violation: float | None
    max_obedience_violation: float | None
    feasibility_violation: float | None
    metrics: dict[str, dict[str, Any]]
    scope: str = "the spec's prior"
    """The prior the exact figures and the incentive checks refer to."""
    regret_ci_upper: float | None = None
    per_bidder: list[dict[str, Any]] = field(default_factory=list)
    worst: dict[str, Any] | None = None
    samples: int | None = None
    steps: int = 0
    restarts: int = 0
    search: str = ""
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    tolerance: float = 1e-6
    seconds: float = 0.0
    seed: int | None = None
    mechanism: str = ""
    interim: dict[str, Any] | None = None
    """Interim (Bayesian) regret of sampled own types against the others' prior (``mean``,
    ``max``, ``ci95_upper``, ``types``, ``others``); None when not run."""
    regrets: np.ndarray | None = field(default=None, repr=False)
    """``(samples, n)`` regrets found (for the histogram; not in the JSON)."""

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def strategy_proof(self) -> bool:
        return self.max_regret is not None and self.max_regret <= self.tolerance

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ok": self.ok,
            "failed_checks": [c.name for c in self.failed],
            "scope": self.scope,
            "max_regret": _num(self.max_regret),
            "mean_regret": _num(self.mean_regret),
            "regret_ci_upper": _num(self.regret_ci_upper),
            "max_ir_violation": _num(self.max_ir_violation),
            "max_obedience_violation": _num(self.max_obedience_violation),
            "feasibility_violation": _num(self.feasibility_violation),
            "per_bidder": jsonable(self.per_bidder),
            "worst": jsonable(self.worst),
            "samples": self.samples,
            "steps": self.steps,
            "restarts": self.restarts,
            "search": self.search,
            "checks": [c.to_json() for c in self.checks],
            "notes": list(self.notes),
            "details": jsonable(self.details),
            "tolerance": self.tolerance,
            "seconds": round(self.seconds, 4),
            "seed": self.seed,
            "mechanism": self.mechanism,
            "interim": jsonable(self.interim),
            "metrics": jsonable(self.metrics),
        }

    def summary_lines(self) -> list[str]:
        """Plain lines for terminals and reports."""
        lines = [f"certificate: {self.kind} ({'passes' if self.ok else 'FAILS'} at tolerance {self.tolerance:g}; "
                 f"{self.scope})"]
        for c in self.failed:
            lines.append(f"failed check {c.name} [{c.code}]: {c.detail}")
        if self.max_regret is not None:
            reg = f"regret: max {self.max_regret:.6g}"
            if self.mean_regret is not None:
                reg += f", mean {self.mean_regret:.6g}"
            if self.regret_ci_upper is not None:
                reg += f" (95% upper bound {self.regret_ci_upper:.6g})"
            lines.append(reg)
        if self.max_ir_violation is not None:
            lines.append(f"IR violation: max {self.max_ir_violation:.6g}")
        if self.max_obedience_violation is not None:
            lines.append(f"obedience violation: max {self.max_obedience_violation:.6g}")
        if self.feasibility_violation is not None:
            lines.append(f"feasibility violation: {self.feasibility_violation:.6g}")
        for name in ("revenue", "welfare"):
            m = self.metrics.get(name)
            if m:
                ci = m.get("ci95")
                ci_s = f" [{ci[0]:.6g}, {ci[1]:.6g}]" if ci else " (exact)"
                lines.append(f"{name}: {m['value']:.6g}{ci_s}")
        if self.worst:
            w = self.worst
            lines.append(
                f"worst deviation: {w.get('bidder')} with values {w.get('values', w.get('type'))} "
                f"reports {w.get('misreport')} (gain {_fmt(w.get('regret'))})"
            )
        return lines


def _fmt(x: Any) -> str:
    return f"{x:.6g}" if isinstance(x, (int, float)) else str(x)


def _num(x: Any) -> Any:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def jsonable(o: Any) -> Any:
    """``o`` with numpy values turned into JSON values (non-finite floats into null)."""
    if isinstance(o, dict):
        return {str(k): jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return jsonable(o.tolist())
    if isinstance(o, (np.floating, float)):
        return _num(o)
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.bool_):
        return bool(o)
    return o

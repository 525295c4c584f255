"""The verifier's budget and switches, in one record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..progress import Progress

SANITY_SAMPLES = 500
"""Profiles of the misreport sanity sample behind a structural or enumeration certificate."""
CONFIRM_SAMPLES = 4000
"""Profiles on which a structural certificate confirms that the outcomes are the ones the
structure prescribes."""
METRIC_SAMPLES = 1_000_000
"""Default budget (profiles) of the revenue and welfare estimate on continuous priors."""
PRECISION = 0.0025
"""The revenue and welfare estimate stops once its 95% half-width is at most this fraction of
the estimate."""


@dataclass
class Settings:
    samples: int = 10_000
    """Profiles of the estimated-regret search."""
    steps: int = 200
    """Gradient steps (differentiable artifacts) or coordinate-search rounds (at most 40)."""
    restarts: int = 20
    """Random misreport starts per profile and bidder."""
    seed: int = 0
    tolerance: float | None = None
    """Decides the incentive checks; default 1e-6 times the largest value."""
    device: str = "cpu"
    interim: bool | None = None
    interim_types: int = 100
    interim_others: int = 500
    budget: int | None = None
    """At most this many mechanism evaluations (profile x misreport) in the estimated-regret
    search; the profile count shrinks to fit (None: no limit)."""
    metric_samples: int = METRIC_SAMPLES
    precision: float = PRECISION
    allow_spec_mismatch: bool = False
    """Verify an artifact whose recorded spec hash differs (a spec that was only reformatted)."""
    progress: Progress | None = None

    @property
    def reporter(self) -> Progress:
        return self.progress if self.progress is not None else Progress.off()


def settings_from_spec(spec: Any, **overrides: Any) -> dict[str, Any]:
    """Verification settings: the spec's ``verify { }`` section under explicit overrides
    (``None`` overrides are ignored)."""
    out: dict[str, Any] = {}
    sec = getattr(spec, "verify", None)
    if sec is not None:
        for key in ("samples", "steps", "restarts", "seed", "tolerance"):
            if getattr(sec, key) is not None:
                out[key] = getattr(sec, key)
    out.update({k: v for k, v in overrides.items() if v is not None})
    return out

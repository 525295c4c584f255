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
CATS_METRIC_SAMPLES = 10_000
"""Default budget of the same estimate on a CATS generator: each valuation is a run of the
generator (about 5 ms for 50 bids on one core, where an array prior draws a million profiles
in a second), and CATS payments vary so much (standard deviation near their mean) that 0.25%
would take about a million of them: an hour and a half. 10,000 take under a minute and give a
half-width near 2%; ``--metric-samples`` buys more."""
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
    metric_samples: int | None = None
    """Budget of the revenue and welfare estimate (None: METRIC_SAMPLES, or CATS_METRIC_SAMPLES
    on a CATS generator)."""
    precision: float = PRECISION
    allow_spec_mismatch: bool = False
    """Verify an artifact whose recorded spec hash differs (a spec that was only reformatted)."""
    progress: Progress | None = None

    def metric_budget(self, default: int = METRIC_SAMPLES) -> int:
        return int(self.metric_samples) if self.metric_samples is not None else default

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

"""The verifier: is a mechanism strategy-proof, individually rational, obedient and
feasible under the spec's priors, and what revenue and welfare does it reach?

The spec is the only source of facts about the world; the artifact is a function from
reports to outcomes and payments plus the parameters it declares through the hooks of
``auctionc.mechanism.base.Mechanism``.  One module per idea:

* ``certificate``: the certificate, its checks and figures;
* ``validity``: spec hash, shapes, world data, ranges, feasibility, stochasticity (first);
* ``structure``: one-bidder menus, affine maximizers, menus of the others' reports;
* ``enumeration``: exact checks and figures on finite type spaces;
* ``search`` and ``interim``: the misreport search behind estimated regret;
* ``estimate``: revenue and welfare on continuous priors, to a stated precision;
* ``auctions`` and ``market_verify``: which certificate applies, at what cost;
* ``claims``: the backend's claim against the verifier's figures;
* ``evaluation``: the one door to ``allocate_and_pay``, checking every answer.
"""

from __future__ import annotations

import time
from typing import Any

from ..diagnostics import Diagnostic
from ..errors import UsageError
from ..progress import Progress
from .certificate import EXIT_NOT_VERIFIED, Certificate, Check
from .settings import PRECISION, Settings, settings_from_spec


def verify(
    mechanism: Any,
    spec: Any,
    *,
    samples: int = 10_000,
    steps: int = 200,
    restarts: int = 20,
    seed: int = 0,
    progress: bool | Progress = False,
    tolerance: float | None = None,
    device: str = "cpu",
    interim: bool | None = None,
    interim_types: int = 100,
    interim_others: int = 500,
    budget: int | None = None,
    metric_samples: int | None = None,
    precision: float = PRECISION,
    allow_spec_mismatch: bool = False,
) -> Certificate:
    """Verify ``mechanism`` under ``spec`` and return its Certificate.

    ``samples`` profiles for the estimated-regret search, ``restarts`` random misreport starts
    per profile and bidder, ``steps`` gradient steps (differentiable artifacts) or at most 40
    coordinate-search rounds; ``budget`` caps the search's evaluations.  Revenue and welfare
    on continuous priors are estimated until the 95% half-width is at most ``precision`` of
    the estimate or ``metric_samples`` profiles are spent.  ``tolerance`` (default 1e-6 times
    the largest value) decides the incentive checks.  ``interim`` adds the interim regret of
    ``interim_types`` own types against ``interim_others`` draws of the others (default: when
    the spec asks for ``IC(bayesian)`` or reports have at most two coordinates).
    ``allow_spec_mismatch`` verifies an artifact recorded for another spec hash."""
    from .auction_verify import verify_auction
    from .market_verify import verify_market

    t0 = time.perf_counter()
    if samples < 2:
        raise UsageError(Diagnostic("E0905", f"verification needs at least 2 samples, not {samples}",
                                    help="pass --samples 1000 or more"))
    if spec is None:
        raise UsageError(Diagnostic("E0903", "cannot verify without the spec the mechanism was made for",
                                    help="pass the .auction file, or an artifact directory that holds spec.json"))
    reporter = progress if isinstance(progress, Progress) else Progress.auto(bool(progress))
    settings = Settings(samples=int(samples), steps=int(steps), restarts=int(restarts), seed=int(seed),
                        tolerance=tolerance, device=device, interim=interim, interim_types=int(interim_types),
                        interim_others=int(interim_others), budget=budget, metric_samples=None if metric_samples is None else int(metric_samples),
                        precision=float(precision), allow_spec_mismatch=allow_spec_mismatch, progress=reporter)
    cert = verify_market(mechanism, spec, settings) if spec.kind == "market" else verify_auction(mechanism, spec, settings)
    cert.seconds = time.perf_counter() - t0
    cert.seed = seed
    cert.mechanism = _describe(mechanism)
    return cert


def _describe(mechanism: Any) -> str:
    try:
        return str(mechanism.describe())
    except Exception:  # a describe() bug must not hide a certificate
        return getattr(mechanism, "kind", type(mechanism).__name__)


__all__ = ["EXIT_NOT_VERIFIED", "Certificate", "Check", "settings_from_spec", "verify"]

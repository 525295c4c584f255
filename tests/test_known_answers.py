"""Every backend that accepts a spec of the known-answer table (tests/known_answers.py) reaches
its optimum within the tolerance its budget earns, and its mechanism verifies.

The cases are (entry, backend) pairs found by asking every installed design backend whether it
accepts the entry's spec, as the planner asks; a backend that accepts an entry without a budget
in the table, or one the table budgets but that refuses, fails here instead of being skipped.

Every result must verify (``cert.ok``).  The revenue held to the tolerance is the backend's own
held-out test revenue where it reports one (learned backends: fresh profiles, argmax choice), else
the verifier's; where the verifier estimates it by sampling, its 95% interval is added to the
tolerance, and an exact backend's claim (the exact enumeration of the finite type space it
solved) must meet the tolerance on its own.
"""

from __future__ import annotations

import re
from pathlib import Path

import auctionc
import pytest
from auctionc.errors import PlanError
from auctionc.planner import make_plan
from auctionc.plugins import registry
from known_answers import FIGURES, KNOWN_ANSWERS, KnownAnswer

ROOT = Path(__file__).resolve().parent.parent


def _design_backends() -> list[str]:
    return [n for n in registry.available_backends() if registry.backend_class(n).capabilities.method != "simulated"]


def _verdict(entry: KnownAnswer, backend: str) -> str | None:
    """None when ``backend`` accepts the entry with its budget's options, else why not."""
    budget = entry.budgets.get(backend)
    try:
        make_plan(auctionc.loads(entry.spec), backend, budget.options if budget else None)
    except PlanError as e:
        return e.diagnostics[0].message
    return None


def _cases() -> list:
    out = []
    for entry in KNOWN_ANSWERS:
        for backend in _design_backends():
            refusal = _verdict(entry, backend)
            budget = entry.budgets.get(backend)
            if refusal is None or budget is not None:
                marks = [pytest.mark.slow] if budget is not None and budget.slow else []
                out.append(pytest.param(entry, backend, refusal, id=f"{entry.name}-{backend}", marks=marks))
    return out


@pytest.mark.parametrize(("entry", "backend", "refusal"), _cases())
def test_backend_reaches_the_known_optimum(entry: KnownAnswer, backend: str, refusal: str | None) -> None:
    budget = entry.budgets.get(backend)
    assert budget is not None, f"backend {backend} accepts {entry.name}: give it a budget in tests/known_answers.py"
    assert refusal is None, f"the table budgets backend {backend} for {entry.name}, but it refuses: {refusal}"
    spec = auctionc.loads(entry.spec)
    out = auctionc.compile(spec, backend=backend, options=budget.options, seed=0, verify_options=budget.verify)
    cert = out.certificate
    assert cert.ok, (cert.kind, cert.notes)
    if "test_revenue" in out.stats:
        revenue, noise, what = out.stats["test_revenue"], 0.0, "test revenue"
    else:
        measured = cert.metrics["revenue"]
        lo, hi = measured.get("ci95") or (measured["value"], measured["value"])
        revenue, noise = measured["value"], 0.0 if measured.get("exact") else (hi - lo) / 2
        what = f"verifier's revenue (95% interval {lo:.6f}..{hi:.6f})"
    assert abs(revenue - entry.optimum) <= budget.tol + noise, (
        f"{backend} on {entry.name}: {what} {revenue:.6f}, optimum {entry.optimum:.6f} "
        f"(tolerance {budget.tol:.2e}: {budget.why})")
    if registry.backend_class(backend).capabilities.method == "exact":
        assert abs(out.claim["revenue"] - entry.optimum) <= budget.tol, (backend, out.claim["revenue"])


def _slug(heading: str) -> str:
    """The anchor mkdocs gives a heading (python-markdown's toc slugify)."""
    return re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", heading).strip().lower())


def test_every_entry_is_run_and_cites_its_figure() -> None:
    anchors = {_slug(h) for h in re.findall(r"^#+ (.+)$", (ROOT / FIGURES).read_text(encoding="utf-8"), re.M)}
    run = {case.values[0].name for case in _cases()}
    for entry in KNOWN_ANSWERS:
        assert entry.name in run, f"no installed backend runs {entry.name}"
        page, _, rest = entry.source.partition("#")
        assert page == FIGURES and rest.split(":")[0] in anchors, entry.source
        assert all(b.tol > 0 and b.why for b in entry.budgets.values()), entry.name

"""What a simulation produces: one record per round, and the result of a run (its metrics,
calls, files and provenance) as ``result.json`` holds it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auctionc.diagnostics import Diagnostic


@dataclass
class RoundRecord:
    experiment: int
    round: int
    values: list[float]
    obs: list[float]
    common: float | None
    bids: list[float | None]
    """Sealed bids; ascending clock: drop-out prices; Dutch: the price each bidder called at."""
    winner: int | None
    price: float
    payments: list[float]
    profits: list[float]
    ticks: int
    """Clock ticks; eBay: the days the auction ran (after any soft-close extension)."""
    failed: list[bool]
    texts: list[dict[str, str]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    """eBay: every turn (day, turn, bidder, action, amount, price and leader after it)."""

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RoundRecord:
        return cls(**d)


@dataclass
class SimulationResult:
    spec_name: str
    spec_hash: str
    format: str
    seed: int
    rounds: int
    experiments: int
    agents: list[str]
    records: list[RoundRecord]
    metrics: dict[str, Any]
    behaviour: dict[str, Any]
    theory: dict[str, Any]
    calls: dict[str, Any]
    complete: bool = True
    stop_reason: str | None = None
    warnings: list[Diagnostic] = field(default_factory=list)
    transcript_path: Path | None = None
    report_path: Path | None = None
    plot_path: Path | None = None
    rounds_plot_path: Path | None = None
    checkpoint_path: Path | None = None
    dry_run: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec_name,
            "spec_hash": self.spec_hash,
            "backend": "simulate",
            "format": self.format,
            "seed": self.seed,
            "rounds": self.rounds,
            "experiments": self.experiments,
            "agents": self.agents,
            "complete": self.complete,
            "stop_reason": self.stop_reason,
            "metrics": self.metrics,
            "behaviour": self.behaviour,
            "theory": self.theory,
            "calls": self.calls,
            "dry_run": self.dry_run,
            "transcript_path": str(self.transcript_path) if self.transcript_path else None,
            "report_path": str(self.report_path) if self.report_path else None,
            "plot_path": str(self.plot_path) if self.plot_path else None,
            "rounds_plot_path": str(self.rounds_plot_path) if self.rounds_plot_path else None,
            "files": {k: str(p) for k, p in (("report", self.report_path), ("bids", self.plot_path),
                                             ("rounds", self.rounds_plot_path)) if p is not None},
            "checkpoint_path": str(self.checkpoint_path) if self.checkpoint_path else None,
            "warnings": [d.to_json() for d in self.warnings],
            "timings": self.timings,
            "options": self.options,
            "versions": self.versions,
        }

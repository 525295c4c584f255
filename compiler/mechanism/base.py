"""The mechanism artifact: what every backend produces and every tool consumes.

Conventions shared by all artifacts (see ``auctionc.valuation``):

* A *report* for an auction is a float array ``(batch, n_bidders, dim)`` in the
  bidder's *outcome space*: ``dim = n_items`` for additive, unit-demand and
  single-item valuations (one value per item), ``dim = 2**n_items`` for XOR
  valuations over small item sets (one value per bundle, bundle index = the
  bitmask of its items).
* An *allocation* has the same shape: item probabilities, or bundle
  probabilities.  A bidder's utility is ``sum(values * allocation) - payment``
  in both cases, so the verifier never needs to know which backend produced
  a mechanism.
* Payments are ``(batch, n_bidders)``.

Data markets use reports ``(batch, n_buyers)`` (the buyer's type) and
return experiments instead of allocations (see ``datamarket.py``).
"""

from __future__ import annotations

import json
import platform
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

ARTIFACT_VERSION = 1
_KINDS: dict[str, type[Mechanism]] = {}


def package_versions(*extra: str) -> dict[str, str]:
    """Versions of the packages that can change a result, for the artifact record."""
    from importlib import metadata

    names = ["auctionc", "numpy", "pydantic", *extra]
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


@dataclass
class ArtifactMeta:
    """Provenance recorded in every artifact."""

    spec_name: str = ""
    spec_hash: str = ""
    backend: str = ""
    seed: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=package_versions)
    claim: dict[str, Any] | None = None
    """The backend's own certificate (GemNet's compatibility proof, an LP's exact check): shown
    as the backend's claim; the verifier computes its own and never takes this one."""
    stats: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "spec_name": self.spec_name,
            "spec_hash": self.spec_hash,
            "backend": self.backend,
            "seed": self.seed,
            "options": self.options,
            "versions": self.versions,
            "claim": self.claim,
            "stats": self.stats,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ArtifactMeta:
        d = dict(d)
        if "claim" not in d and "certificate" in d:  # artifacts written before 0.2 named it so
            d["claim"] = d.pop("certificate")
        return cls(**{k: d.get(k) for k in cls.__dataclass_fields__ if k in d})


def stamp_provenance(
    mech: Mechanism,
    spec: Any,
    *,
    backend: str,
    seed: int,
    options: dict[str, Any],
    stats: dict[str, Any],
    claim: dict[str, Any] | None,
    extra_packages: tuple[str, ...] = (),
) -> None:
    """Record on ``mech`` what made it: the spec (name and hash), the backend, its parsed
    options, the seed, the versions of the packages that can change a result, the backend's
    statistics and its claim.  The API calls this once per compile; backends never do.
    Statistics the artifact already holds (an exact menu's finite type space) are kept."""
    held = dict(mech.meta.stats) if getattr(mech, "meta", None) is not None else {}
    mech.meta = ArtifactMeta(
        spec_name=spec.name,
        spec_hash=spec.spec_hash(),
        backend=backend,
        seed=seed,
        options=dict(options),
        versions=package_versions(*extra_packages),
        claim=claim,
        stats={**stats, **held},
    )


def register_artifact(cls: type[Mechanism]) -> type[Mechanism]:
    """Class decorator: make an artifact kind loadable by ``load_mechanism``."""
    _KINDS[cls.kind] = cls
    return cls


class Mechanism(ABC):
    """A mechanism that can be evaluated on a batch of reports."""

    kind: ClassVar[str]
    n_bidders: int
    outcome_space: str  # "items" | "bundles" | "experiments"
    meta: ArtifactMeta

    @abstractmethod
    def allocate_and_pay(self, bids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Allocation ``(B, n, dim)`` and payments ``(B, n)`` for reports ``(B, n, dim)``."""

    @abstractmethod
    def data(self) -> dict[str, Any]:
        """The JSON-serialisable body of the artifact (no provenance)."""

    @classmethod
    @abstractmethod
    def from_data(cls, data: dict[str, Any], meta: ArtifactMeta, directory: Path) -> Mechanism:
        """Rebuild from ``data()``; ``directory`` holds any side files (weights)."""

    # ---- optional hooks the verifier uses (each artifact kind implements what applies) ----

    differentiable: ClassVar[bool] = False
    """True when ``allocate_and_pay_torch`` exists (gradient-ascent misreports)."""

    def allocate_and_pay_torch(self, bids: Any) -> tuple[Any, Any]:
        """Differentiable ``allocate_and_pay`` on a torch tensor ``(B, n, dim)``."""
        raise NotImplementedError

    def menu_structure(self) -> dict[str, Any] | None:
        """For single-bidder menus: ``{"n_bidders": 1, "null_element": bool, "choice": "argmax"}``,
        checked structurally for an exact-by-construction certificate; None otherwise."""
        return None

    def exact_check(self, spec: Any) -> dict[str, Any] | None:
        """For finite type spaces: enumerate every (bidder, type, misreport) and return
        ``{"max_ic_violation", "worst": {"bidder", "type", "misreport"}, "max_ir_violation",
        "max_obedience_violation", "revenue", "welfare", "checked_pairs"}``; None otherwise."""
        return None

    def recheck_certificate(self, spec: Any) -> dict[str, Any] | None:
        """For artifacts carrying a proof object (GemNet menu compatibility): re-check it
        and return ``{"ok": bool, ...details}``; None when the artifact has none."""
        return None

    def save_side_files(self, directory: Path) -> None:
        """Write weights or other side files next to ``mechanism.json`` (default: none)."""

    def describe(self) -> str:
        """A short human description for reports."""
        return self.kind

    def to_json(self) -> dict[str, Any]:
        return {
            "artifact_version": ARTIFACT_VERSION,
            "kind": self.kind,
            "n_bidders": self.n_bidders,
            "outcome_space": self.outcome_space,
            "meta": self.meta.to_json(),
            "data": self.data(),
        }

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.save_side_files(directory)
        path = directory / "mechanism.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1, default=_json_default))
        tmp.replace(path)
        return path


def _json_default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def load_mechanism(path: str | Path) -> Mechanism:
    """Load an artifact written by ``Mechanism.save`` (a directory or its mechanism.json)."""
    from . import _ensure_kinds_loaded

    path = Path(path)
    if path.is_dir():
        path = path / "mechanism.json"
    doc = json.loads(path.read_text())
    kind = doc.get("kind")
    _ensure_kinds_loaded(kind)
    if kind not in _KINDS:
        raise KeyError(kind)
    meta = ArtifactMeta.from_json(doc.get("meta", {}))
    return _KINDS[kind].from_data(doc["data"], meta, path.parent)


def known_kinds() -> list[str]:
    from . import _ensure_kinds_loaded

    _ensure_kinds_loaded()
    return sorted(_KINDS)

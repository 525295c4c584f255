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
from pydantic import BaseModel, ConfigDict, ValidationError

from .structures import OfferedOutcomes, Structure, WorldFacts

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
    statistics and its claim.  The API calls this once per compile; backends never do."""
    mech.meta = ArtifactMeta(
        spec_name=spec.name,
        spec_hash=spec.spec_hash(),
        backend=backend,
        seed=seed,
        options=dict(options),
        versions=package_versions(*extra_packages),
        claim=claim,
        stats=dict(stats),
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

    # ---- hooks the verifier uses (each artifact kind implements what applies) ----
    #
    # An artifact hands over the numbers its evaluation uses, never a verdict about them: the
    # verifier recomputes every property from these parameters and the spec, and confirms on
    # sampled reports that ``allocate_and_pay`` does what the structure prescribes.

    differentiable: ClassVar[bool] = False
    """True when ``allocate_and_pay_torch`` exists (gradient-ascent misreports)."""

    def allocate_and_pay_torch(self, bids: Any) -> tuple[Any, Any]:
        """Differentiable ``allocate_and_pay`` on a torch tensor ``(B, n, dim)``."""
        raise NotImplementedError

    def structure(self) -> Structure | None:
        """The structure the mechanism is built on, as its parameters (``OneBidderMenu``,
        ``AffineMaximizer``, ``MenusOfOthers``); None for mechanisms without one."""
        return None

    def offered_outcomes(self) -> OfferedOutcomes | None:
        """Every outcome the mechanism can produce when that is a finite list (menu elements,
        table cells, the outcomes of an affine maximizer, experiments and prices), for the
        validity checks; None when the outcomes are computed (formats, networks)."""
        return None

    def world(self) -> WorldFacts:
        """The facts about the world the artifact carries (items, type grids, beliefs,
        payoffs...), which the verifier compares with the spec's and never uses."""
        return WorldFacts(n_bidders=self.n_bidders, outcome_space=self.outcome_space)

    def bidder_menus(self, bids: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """``MenusOfOthers``: each bidder's menu at these reports, null element excluded:
        allocations ``(B, K, dim)`` and prices ``(B, K)``; None for other mechanisms."""
        return None

    def compatibility_proof(self, value_box: np.ndarray) -> dict[str, Any] | None:
        """``MenusOfOthers``: re-run, from the artifact's parameters, the proof that every
        combination of the bidders' favourite elements is feasible for values in
        ``value_box (n, dim, 2)``; ``{"ok": bool, "covers_value_space": bool, ...}``, or None
        when the artifact carries no proof parameters."""
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


class ArtifactError(ValueError):
    """A malformed artifact: a field missing or of the wrong type or shape, a side file
    outside the artifact folder.  ``auctionc.api.load_artifact`` turns it into E0908."""


class _Document(BaseModel):
    """The envelope of ``mechanism.json``; each kind validates its own ``data``."""

    model_config = ConfigDict(extra="ignore")
    artifact_version: int = ARTIFACT_VERSION
    kind: str
    meta: dict[str, Any] = {}
    data: dict[str, Any]


class _Meta(BaseModel):
    model_config = ConfigDict(extra="ignore")
    spec_name: str = ""
    spec_hash: str = ""
    backend: str = ""
    seed: int | None = None
    options: dict[str, Any] = {}
    versions: dict[str, str] = {}
    claim: dict[str, Any] | None = None
    certificate: dict[str, Any] | None = None
    stats: dict[str, Any] = {}


def validated(model: type[BaseModel], data: Any, what: str) -> Any:
    """``data`` parsed into ``model``; a validation error becomes an ``ArtifactError`` that
    names the first offending field."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err.get("loc", ()))
        raise ArtifactError(f"{what}: {where or 'document'}: {err.get('msg')}") from None


def side_file(directory: Path, name: str) -> Path:
    """The path of a side file named in the artifact, refused when it leaves the folder."""
    base = Path(directory).resolve()
    path = (base / name).resolve()
    if not name or Path(name).is_absolute() or base not in path.parents:
        raise ArtifactError(f"side file {name!r} lies outside the artifact folder {base}")
    return path


def load_mechanism(path: str | Path) -> Mechanism:
    """Load an artifact written by ``Mechanism.save`` (a directory or its mechanism.json).

    Nothing from the artifact is executed: the JSON is parsed into validated models, arrays
    are read with ``numpy.load(allow_pickle=False)``, side files must lie in the artifact's
    folder.  Raises ``KeyError`` (unknown kind), ``OSError`` (unreadable) or ``ArtifactError``
    (malformed)."""
    from . import _ensure_kinds_loaded

    path = Path(path)
    if path.is_dir():
        path = path / "mechanism.json"
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ArtifactError(f"mechanism.json is not JSON ({e})") from None
    doc = validated(_Document, raw, "mechanism.json")
    _ensure_kinds_loaded(doc.kind)
    if doc.kind not in _KINDS:
        raise KeyError(doc.kind)
    m = validated(_Meta, doc.meta, "meta")
    meta = ArtifactMeta(spec_name=m.spec_name, spec_hash=m.spec_hash, backend=m.backend, seed=m.seed,
                        options=m.options, versions=m.versions, stats=m.stats,
                        # artifacts written before 0.2 named the claim "certificate"
                        claim=m.claim if m.claim is not None else m.certificate)
    try:
        return _KINDS[doc.kind].from_data(doc.data, meta, path.parent)
    except ArtifactError:
        raise
    except (ValueError, KeyError, IndexError, TypeError) as e:
        # a shape that does not fit or an array that does not load: malformed, not a bug
        raise ArtifactError(f"{doc.kind} artifact: {type(e).__name__}: {e}") from None


def known_kinds() -> list[str]:
    from . import _ensure_kinds_loaded

    _ensure_kinds_loaded()
    return sorted(_KINDS)

"""Allocation/payment tables over finite type spaces (kind ``"table"``).

Each bidder ``i`` has finitely many types: value vectors ``type_values[i]`` of shape
``(T_i, dim)`` in the outcome space (see ``auctionc.valuation``) with prior
probabilities ``type_probs[i]``; types of different bidders are independent.  The
mechanism is a table indexed by type profiles: ``alloc[t_1, ..., t_n]`` is ``(n, dim)``
and ``pay[t_1, ..., t_n]`` is ``(n,)``.

Off-grid reports: a report is mapped to the *nearest type in Euclidean distance* over
the outcome-space vector, ties to the lowest type index.  When a bidder's types are
the full product of per-coordinate grids (additive, unit-demand and single-item
valuations), this is the same as taking the nearest grid point in each coordinate,
and that is how it is computed (ties to the lower grid value).

The type space of a spec is built here too (``bidder_type_space``), so the exact
backend and the enumeration check agree on one discretisation rule: finite priors
are used as they are, continuous ones become the midpoints of ``grid`` equal-width
cells (``auctionc.distributions.discretize``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from .. import distributions as D
from .. import ir
from .base import ArtifactMeta, Mechanism, register_artifact, validated
from .structures import OfferedOutcomes, WorldFacts

DISCRETISATION_RULE = "finite priors as given; continuous priors: midpoint of N equal-width cells over the support (tails beyond 1e-9 folded into the end cells)"
OFF_GRID_RULE = "nearest type in Euclidean distance (nearest grid point per coordinate on product grids), ties to the lower type"
_CHUNK = 2_000_000  # entries per temporary array in the enumeration check


class UnsupportedPrior(ValueError):
    """The spec's priors cannot be turned into a finite type space."""

    def __init__(self, message: str, *, bidder: str, where: str, needs_grid: bool = False) -> None:
        super().__init__(message)
        self.bidder = bidder
        self.where = where
        self.needs_grid = needs_grid


@dataclass
class TypeSpace:
    """One bidder's finite types: outcome-space values ``(T, dim)``, probabilities ``(T,)``,
    and the per-coordinate grids when the types are their full product (else None)."""

    values: np.ndarray
    probs: np.ndarray
    grids: list[np.ndarray] | None
    discretised: bool
    prim_shape: tuple[int, ...] = ()
    """The product shape over the primitive coordinates (items, or XOR bids), C order."""

    @property
    def size(self) -> int:
        return len(self.probs)


def expr_atoms(expr: ir.ValueExpr, grid: int | None, *, bidder: str, where: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Finite ``(values, probs, discretised)`` for a value expression of constants and
    independent draws (sums of draws are convolved)."""
    vals, probs, disc = np.array([0.0]), np.array([1.0]), False
    for coef, term in zip(expr.coefs, expr.terms, strict=False):
        if isinstance(term, ir.Const):
            vals = vals + coef * term.value
            continue
        if isinstance(term, ir.CommonRef):
            raise UnsupportedPrior(
                f"bidder {bidder} values depend on the common variable '{term.name}'; the exact backend takes independent private values",
                bidder=bidder,
                where=where,
            )
        a = D.atoms(term.dist)
        if a is None:
            if not grid:
                raise UnsupportedPrior(
                    f"bidder {bidder} has a continuous prior {D.describe(term.dist)}",
                    bidder=bidder,
                    where=where,
                    needs_grid=True,
                )
            a = D.discretize(term.dist, grid)
            disc = True
        v = np.add.outer(vals, coef * a[0]).ravel()
        p = np.multiply.outer(probs, a[1]).ravel()
        uv, inv = np.unique(np.round(v, 12), return_inverse=True)
        vals, probs = uv, np.bincount(inv, weights=p)
    return vals, probs / probs.sum(), disc


def _product(grids: list[np.ndarray], probs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """All combinations, last coordinate fastest: ``(T, k)`` points and ``(T,)`` probabilities."""
    mesh = np.meshgrid(*grids, indexing="ij")
    pts = np.stack([m.ravel() for m in mesh], axis=1)
    pm = np.meshgrid(*probs, indexing="ij")
    pr = np.prod(np.stack([m.ravel() for m in pm], axis=1), axis=1)
    return pts, pr


def bidder_type_count(spec: ir.AuctionSpec, i: int, grid: int | None) -> int:
    """The number of types of bidder ``i`` without building them (for size checks)."""
    b = spec.bidders[i]
    v = b.valuation
    exprs = [bid.value for bid in v.bids] if isinstance(v, ir.Xor) else _item_exprs(v)
    n = 1
    for e in exprs:
        k = 1
        for t in e.terms:
            if isinstance(t, ir.Draw):
                a = D.atoms(t.dist)
                k *= len(a[0]) if a is not None else (grid or 1)
        n *= k
    return n


def _item_exprs(v: Any) -> tuple[ir.ValueExpr, ...]:
    if isinstance(v, ir.Single):
        return (v.value,)
    if isinstance(v, (ir.Additive, ir.UnitDemand)):
        return v.values
    raise UnsupportedPrior(f"{v.kind} valuations have no finite type space here", bidder="", where="")


def bidder_type_space(spec: ir.AuctionSpec, i: int, grid: int | None) -> TypeSpace:
    """The finite type space of bidder ``i`` (raises ``UnsupportedPrior``)."""
    b = spec.bidders[i]
    v = b.valuation
    where = f"bidders.{b.name}.valuation"
    if b.signal is not None:
        raise UnsupportedPrior(
            f"bidder {b.name} observes a signal, not its value; the exact backend takes private values",
            bidder=b.name,
            where=where,
        )
    if isinstance(v, ir.Cats):
        raise UnsupportedPrior(
            f"bidder {b.name} has CATS valuations, which have no finite type space",
            bidder=b.name,
            where=where,
        )
    if isinstance(v, ir.Xor):
        from ..valuation import bundle_matrix

        m = spec.n_items
        parts = [expr_atoms(bid.value, grid, bidder=b.name, where=where) for bid in v.bids]
        pts, pr = _product([p[0] for p in parts], [p[1] for p in parts])
        bm = bundle_matrix(m)
        values = np.zeros((len(pr), 2**m))
        for k, bid in enumerate(v.bids):
            cols = [spec.items.index(t) for t in bid.bundle]
            contains = bm[:, cols].min(axis=1) > 0 if cols else np.ones(2**m, bool)
            values[:, contains] = np.maximum(values[:, contains], pts[:, k : k + 1])
        return TypeSpace(values, pr, None, any(p[2] for p in parts), tuple(len(p[0]) for p in parts))
    parts = [expr_atoms(e, grid, bidder=b.name, where=where) for e in _item_exprs(v)]
    pts, pr = _product([p[0] for p in parts], [p[1] for p in parts])
    return TypeSpace(pts, pr, [p[0] for p in parts], any(p[2] for p in parts), tuple(len(p[0]) for p in parts))


def type_spaces(spec: ir.AuctionSpec, grid: int | None) -> list[TypeSpace]:
    return [bidder_type_space(spec, i, grid) for i in range(spec.n_bidders)]


def nearest_type(reports: np.ndarray, values: np.ndarray, grids: list[np.ndarray] | None) -> np.ndarray:
    """Type index ``(B,)`` for reports ``(B, dim)`` under ``OFF_GRID_RULE``."""
    reports = np.asarray(reports, float)
    if grids is not None:
        idx = np.zeros(len(reports), dtype=np.int64)
        for j, g in enumerate(grids):
            if len(g) == 1:
                k = np.zeros(len(reports), dtype=np.int64)
            else:
                mids = 0.5 * (g[1:] + g[:-1])
                # a report exactly between two grid points goes to the lower one
                k = np.searchsorted(mids, reports[:, j], side="left")
            idx = idx * len(g) + k
        return idx
    out = np.empty(len(reports), dtype=np.int64)
    step = max(1, _CHUNK // max(1, values.size))
    sq = (values**2).sum(axis=1)
    for s in range(0, len(reports), step):
        r = reports[s : s + step]
        d = sq[None, :] - 2.0 * r @ values.T
        out[s : s + step] = d.argmin(axis=1)
    return out


class _TableData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type_values: list[list[list[float]]]
    type_probs: list[list[float]]
    grids: list[list[list[float]] | None] = []
    bidder_names: list[str] | None = None
    alloc: list[Any]
    pay: list[Any]
    outcome_space: Literal["items", "bundles"] = "items"


@register_artifact
class TableMechanism(Mechanism):
    """A direct mechanism over finite type spaces: allocation and payment per type profile."""

    kind = "table"

    def __init__(
        self,
        type_values: list[np.ndarray],
        type_probs: list[np.ndarray],
        alloc: np.ndarray,
        pay: np.ndarray,
        *,
        outcome_space: str = "items",
        grids: list[list[np.ndarray] | None] | None = None,
        bidder_names: list[str] | None = None,
        meta: ArtifactMeta | None = None,
    ) -> None:
        self.type_values = [np.asarray(v, float) for v in type_values]
        self.type_probs = [np.asarray(p, float) for p in type_probs]
        self.n_bidders = len(self.type_values)
        self.alloc = np.asarray(alloc, float)
        self.pay = np.asarray(pay, float)
        shape = tuple(len(p) for p in self.type_probs)
        dim = self.type_values[0].shape[1]
        if self.alloc.shape != (*shape, self.n_bidders, dim) or self.pay.shape != (*shape, self.n_bidders):
            raise ValueError(
                f"table shapes {self.alloc.shape}/{self.pay.shape} do not match types {shape} x {self.n_bidders} x {dim}"
            )
        self.outcome_space = outcome_space
        self.grids = grids if grids is not None else [None] * self.n_bidders
        if len(self.grids) != self.n_bidders or any(
            v.shape != (len(p), dim) for v, p in zip(self.type_values, self.type_probs, strict=True)
        ):
            raise ValueError("a table needs one type list, probability list and grid entry per bidder")
        for v, g in zip(self.type_values, self.grids, strict=True):
            if g is not None and (len(g) != dim or int(np.prod([len(x) for x in g])) != len(v)):
                raise ValueError("a bidder's per-coordinate grids do not multiply to its types")
        self.bidder_names = bidder_names or [f"bidder_{i + 1}" for i in range(self.n_bidders)]
        self.meta = meta or ArtifactMeta()

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(p) for p in self.type_probs)

    @property
    def dim(self) -> int:
        return self.type_values[0].shape[1]

    def report_to_types(self, bids: np.ndarray) -> np.ndarray:
        """``(B, n)`` type indices of reports ``(B, n, dim)``."""
        bids = np.asarray(bids, float)
        if bids.ndim == 2:
            bids = bids[:, :, None] if self.dim == 1 else bids[:, None, :]
        return np.stack(
            [nearest_type(bids[:, i, :], self.type_values[i], self.grids[i]) for i in range(self.n_bidders)], axis=1
        )

    def allocate_and_pay(self, bids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = tuple(self.report_to_types(bids).T)
        return self.alloc[idx], self.pay[idx]

    # ---- verifier hooks ----

    def offered_outcomes(self) -> OfferedOutcomes:
        n = self.n_bidders
        return OfferedOutcomes(allocations=self.alloc.reshape(-1, n, self.dim), payments=self.pay.reshape(-1, n))

    def world(self) -> WorldFacts:
        return WorldFacts(n_bidders=self.n_bidders, outcome_space=self.outcome_space, dim=self.dim,
                          bidders=list(self.bidder_names), type_values=self.type_values,
                          type_probs=self.type_probs, type_grids=self.grids)

    # ---- the backend's own enumeration (its claim; the verifier never calls it) ----

    def _bidder_view(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bidder ``i``'s allocations ``(T_i, R, dim)``, payments ``(T_i, R)`` and the others'
        profile probabilities ``(R,)``, with the others' profiles flattened in axis order."""
        n = self.n_bidders
        a = np.moveaxis(self.alloc[..., i, :], i, 0).reshape(self.shape[i], -1, self.dim)
        p = np.moveaxis(self.pay[..., i], i, 0).reshape(self.shape[i], -1)
        w = np.ones(1)
        for j in range(n):
            if j != i:
                w = np.multiply.outer(w, self.type_probs[j]).ravel()
        return a, p, w

    def exact_check(self, spec: Any = None, grid: int | None = None) -> dict[str, Any]:
        """Enumerate every bidder, true type, misreport (and, for dominant IC, every profile
        of the others) on this table's own arrays: the exact backend's claim.  The verifier
        enumerates the spec's type space through ``allocate_and_pay`` instead."""
        ic_mode = "dominant"
        ir_mode = "ex_post"
        if spec is not None:
            c = spec.requirement("IC")
            if c is not None:
                ic_mode = c.mode
            r = spec.requirement("IR")
            if r is not None:
                ir_mode = r.mode
        worst_ic, worst, worst_ir, pairs = -np.inf, None, 0.0, 0
        for i in range(self.n_bidders):
            V = self.type_values[i]
            A, P, w = self._bidder_view(i)
            T, R = P.shape
            own = np.einsum("td,trd->tr", V, A) - P  # truthful utility per (type, others)
            if ir_mode == "interim":
                worst_ir = max(worst_ir, float(np.max(-(own @ w))))
            else:
                worst_ir = max(worst_ir, float(np.max(-own)))
            step = max(1, _CHUNK // max(1, T * R))
            for s in range(0, T, step):
                U = np.einsum("td,srd->tsr", V[s : s + step], A) - P[None]  # (c, T, R)
                if ic_mode == "bayesian":
                    gain = U @ w - (own[s : s + step] @ w)[:, None]
                    pairs += gain.size
                    k = np.unravel_index(int(gain.argmax()), gain.shape)
                    g, others = float(gain[k]), None
                else:
                    gain = U - own[s : s + step, None, :]
                    pairs += gain.size
                    k = np.unravel_index(int(gain.argmax()), gain.shape)
                    g, others = float(gain[k]), int(k[2])
                if g > worst_ic:
                    worst_ic = g
                    worst = {
                        "bidder": self.bidder_names[i],
                        "type": V[s + k[0]].tolist(),
                        "misreport": V[k[1]].tolist(),
                    }
                    if others is not None and self.n_bidders > 1:
                        worst["others"] = self._others_profile(i, others)
        flat_prob = np.ones(1)
        for p in self.type_probs:
            flat_prob = np.multiply.outer(flat_prob, p).ravel()
        pay = self.pay.reshape(-1, self.n_bidders)
        alloc = self.alloc.reshape(-1, self.n_bidders, self.dim)
        vals = self._profile_values()
        out = {
            "max_ic_violation": max(0.0, worst_ic),
            "worst": worst,
            "max_ir_violation": max(0.0, worst_ir),
            "max_obedience_violation": None,
            "revenue": float(flat_prob @ pay.sum(axis=1)),
            "welfare": float(flat_prob @ (vals * alloc).sum(axis=(1, 2))),
            "checked_pairs": int(pairs),
            "ic_mode": ic_mode,
            "ir_mode": ir_mode,
            "type_counts": list(self.shape),
            "profiles": int(np.prod(self.shape)),
        }
        if spec is not None:
            from ..valuation import feasibility_violation

            out["max_feasibility_violation"] = feasibility_violation(spec, alloc)
            try:
                ref = type_spaces(spec, grid)
                out["types_match_spec"] = all(
                    r.values.shape == v.shape and np.allclose(r.values, v) and np.allclose(r.probs, p)
                    for r, v, p in zip(ref, self.type_values, self.type_probs, strict=False)
                )
            except (UnsupportedPrior, TypeError):
                out["types_match_spec"] = False
        return out

    def _others_profile(self, i: int, r: int) -> dict[str, list[float]]:
        others = [j for j in range(self.n_bidders) if j != i]
        idx = np.unravel_index(r, tuple(self.shape[j] for j in others))
        return {self.bidder_names[j]: self.type_values[j][k].tolist() for j, k in zip(others, idx, strict=False)}

    def _profile_values(self) -> np.ndarray:
        """``(R, n, dim)`` true values of every profile, profiles in table order."""
        grids = np.meshgrid(*[np.arange(s) for s in self.shape], indexing="ij")
        return np.stack([self.type_values[i][g.ravel()] for i, g in enumerate(grids)], axis=1)

    # ---- serialisation ----

    def data(self) -> dict[str, Any]:
        return {
            "type_values": [v.tolist() for v in self.type_values],
            "type_probs": [p.tolist() for p in self.type_probs],
            "grids": [None if g is None else [x.tolist() for x in g] for g in self.grids],
            "bidder_names": self.bidder_names,
            "alloc": self.alloc.tolist(),
            "pay": self.pay.tolist(),
            "outcome_space": self.outcome_space,
            "off_grid_rule": OFF_GRID_RULE,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any], meta: ArtifactMeta, directory: Path) -> TableMechanism:
        d = validated(_TableData, data, "table data")
        grids = [None if g is None else [np.asarray(x, float) for x in g] for g in d.grids]
        return cls(
            [np.asarray(v, float) for v in d.type_values],
            [np.asarray(p, float) for p in d.type_probs],
            np.asarray(d.alloc, float),
            np.asarray(d.pay, float),
            outcome_space=d.outcome_space,
            grids=grids or None,
            bidder_names=d.bidder_names,
            meta=meta,
        )

    @classmethod
    def from_menu(cls, menu: Any, space: TypeSpace, bidder_names: list[str] | None = None) -> TableMechanism:
        """The finite-type view of a single-bidder menu on the type space ``space`` (the
        one-bidder LP's): each type gets the element the menu's own argmax rule picks."""
        k = menu.choose(space.values)
        return cls(
            [space.values],
            [space.probs],
            menu.allocations[k][:, None, :],
            menu.prices[k][:, None],
            outcome_space=menu.outcome_space,
            grids=[space.grids],
            bidder_names=bidder_names,
            meta=menu.meta,
        )

    def describe(self) -> str:
        prof = " x ".join(str(s) for s in self.shape)
        return f"allocation/payment table over {prof} type profiles ({self.n_bidders} bidders, {self.outcome_space})"

"""A data-market buyer's types, from the spec alone: what a report is, how types are drawn,
what belief and payoff scale a report stands for, and the finite type space of a finite or
discretised prior.

A report is a vector of ``d`` numbers, ``d = type_dim(type)``:

* ``belief`` (two states): ``[P(state)]``;
* ``scale``: ``[v]``, the payoff scale, under the spec's common prior;
* ``dirichlet``: the whole belief ``[P(s_1), ..., P(s_S)]``;
* ``belief_scale``: the belief's numbers followed by the scale.

A buyer of type ``x`` values an experiment through its *weight* ``w = scale * belief`` (a
vector over the states): following the recommendation ``a`` is worth
``sum_s w_s E[a, s] U[a, s]``.  Reports outside the type space are projected onto it (beliefs
clipped to [0, 1] and renormalised, the scale part of a belief-and-scale type clipped at 0; a
``scale`` type keeps its report as it is, as the exact LP always has), so every report is some
type's.

Discretisation (``grid`` cells per coordinate): a one-dimensional prior takes the midpoints
of ``grid`` equal cells (``distributions.discretize``); a Dirichlet belief takes the simplex
lattice ``(k + 1/2) / (grid - 1 + S/2)`` over the integer vectors ``k >= 0`` summing to
``grid - 1`` (for two states these are the same midpoints), weighted by the Dirichlet
density; a ``belief_scale`` type is the product of its parts' grids.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .. import distributions as D
from .. import ir
from .table import UnsupportedPrior

DIRICHLET_RULE = ("Dirichlet beliefs: the simplex lattice (k + 1/2) / (N - 1 + S/2), k >= 0 integer with "
                  "sum N - 1, weighted by the Dirichlet density; a belief and a scale: the product of their grids")
MAX_LATTICE = 200_000
"""Points of a discretised type space past which the discretisation is refused (memory)."""


@dataclass
class MarketTypes:
    """The buyer's finite types: parameter ``points`` (``(T,)`` for one-number types, else
    ``(T, d)``), beliefs ``(T, S)``, payoff scales ``(T,)``, probabilities ``(T,)``."""

    kind: str
    points: np.ndarray
    beliefs: np.ndarray
    scales: np.ndarray
    probs: np.ndarray
    discretised: bool

    @property
    def size(self) -> int:
        return len(self.probs)

    @property
    def reports(self) -> np.ndarray:
        """The points as reports ``(T, d)``."""
        return self.points.reshape(self.size, -1)


def point(x: np.ndarray) -> float | list[float]:
    """A type for JSON: a float for one-number types, else a list."""
    x = np.asarray(x, float)
    return float(x.reshape(-1)[0]) if x.size == 1 else x.reshape(-1).tolist()


def belief_of(t: ir.BuyerType) -> ir.BeliefType | ir.DirichletBelief | None:
    if isinstance(t, ir.BeliefScaleType):
        return t.belief
    if isinstance(t, (ir.BeliefType, ir.DirichletBelief)):
        return t
    return None


def scale_of(t: ir.BuyerType) -> ir.Distribution | None:
    if isinstance(t, (ir.ScaleType,)):
        return t.dist
    if isinstance(t, ir.BeliefScaleType):
        return t.scale
    return None


def type_dim(t: ir.BuyerType, n_states: int) -> int:
    """How many numbers a report of this type has."""
    b = belief_of(t)
    d = 0 if b is None else (1 if isinstance(b, ir.BeliefType) else n_states)
    return d + (1 if scale_of(t) is not None else 0)


def type_labels(spec: ir.MarketSpec, buyer: int = 0) -> list[str]:
    """A name for each number of a report (for tables and plots)."""
    t = spec.buyers[buyer].type
    b = belief_of(t)
    out: list[str] = []
    if isinstance(b, ir.BeliefType):
        out.append(f"P({b.state})")
    elif isinstance(b, ir.DirichletBelief):
        out += [f"P({s})" for s in spec.states]
    if scale_of(t) is not None:
        out.append("value")
    return out


def type_weights(spec: ir.MarketSpec, buyer: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Beliefs ``(B, S)`` and payoff scales ``(B,)`` of reports ``x (B, d)`` (or ``(B,)``),
    projected onto the type space."""
    b = spec.buyers[buyer]
    if isinstance(b.type, ir.ScaleType) and len(b.type.prior) != len(spec.states):
        raise UnsupportedPrior(f"buyer {b.name}'s common prior has {len(b.type.prior)} entries for "
                               f"{len(spec.states)} states", bidder=b.name, where=f"buyers.{b.name}.type")
    return weights_for(list(spec.states), b.type, x)


def weights_for(states: list[str], t: ir.BuyerType, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``type_weights`` for a buyer type ``t`` over ``states`` (artifacts call this with their
    own copy of the type, which the verifier compares with the spec's)."""
    S = len(states)
    x = np.asarray(x, float).reshape(len(x), -1)
    bel = belief_of(t)
    if isinstance(bel, ir.BeliefType):
        k = states.index(bel.state)
        p = np.clip(x[:, 0], 0.0, 1.0)
        beliefs = np.zeros((len(x), S))
        beliefs[:, k] = p
        beliefs[:, 1 - k] = 1 - p
        used = 1
    elif isinstance(bel, ir.DirichletBelief):
        q = np.clip(x[:, :S], 0.0, None)
        tot = q.sum(axis=1, keepdims=True)
        beliefs = np.where(tot > 0, q / np.where(tot > 0, tot, 1.0), 1.0 / S)
        used = S
    else:
        prior = np.asarray(t.prior, float)  # type: ignore[union-attr]
        beliefs = np.tile(prior / prior.sum(), (len(x), 1))
        used = 0
    if isinstance(t, ir.ScaleType):
        scales = x[:, 0].copy()
    elif isinstance(t, ir.BeliefScaleType):
        scales = np.clip(x[:, used], 0.0, None)
    else:
        scales = np.ones(len(x))
    return beliefs, scales


def sample_types(spec: ir.MarketSpec, buyer: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` types ``(n, d)`` drawn from the buyer's prior (belief and scale independent)."""
    t = spec.buyers[buyer].type
    cols = []
    bel = belief_of(t)
    if isinstance(bel, ir.BeliefType):
        cols.append(D.sample(bel.dist, n, rng)[:, None])
    elif isinstance(bel, ir.DirichletBelief):
        cols.append(rng.dirichlet(np.asarray(bel.alpha, float), n))
    sc = scale_of(t)
    if sc is not None:
        cols.append(D.sample(sc, n, rng)[:, None])
    return np.concatenate(cols, axis=1)


def report_box(spec: ir.MarketSpec, buyer: int = 0) -> np.ndarray:
    """``(d, 2)`` bounds of the reports (the support of each coordinate)."""
    t = spec.buyers[buyer].type
    rows = []
    bel = belief_of(t)
    if isinstance(bel, ir.BeliefType):
        rows.append(D.support(bel.dist))
    elif isinstance(bel, ir.DirichletBelief):
        rows += [(0.0, 1.0)] * len(spec.states)
    sc = scale_of(t)
    if sc is not None:
        rows.append(D.support(sc))
    return np.asarray(rows, float)


def is_finite(spec: ir.MarketSpec, buyer: int = 0) -> bool:
    t = spec.buyers[buyer].type
    bel = belief_of(t)
    if isinstance(bel, ir.DirichletBelief):
        return False
    parts = [bel.dist] if isinstance(bel, ir.BeliefType) else []
    sc = scale_of(t)
    if sc is not None:
        parts.append(sc)
    return all(D.atoms(p) is not None for p in parts)


def dirichlet_lattice(alpha: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(P, S)`` and probabilities of the simplex lattice with ``n`` cells per edge."""
    S = len(alpha)
    count = math.comb(n - 1 + S - 1, S - 1)
    if count > MAX_LATTICE:
        raise ValueError(f"{count:,} lattice points")
    ks = np.array([c for c in itertools.product(range(n), repeat=S - 1) if sum(c) <= n - 1], dtype=float)
    k = np.concatenate([ks, (n - 1 - ks.sum(axis=1))[:, None]], axis=1)
    pts = (k + 0.5) / (n - 1 + S / 2)
    logp = ((alpha - 1)[None, :] * np.log(pts)).sum(axis=1)
    w = np.exp(logp - logp.max())
    return pts, w / w.sum()


def _one_dim(d: ir.Distribution, grid: int | None, name: str, where: str) -> tuple[np.ndarray, np.ndarray, bool]:
    a = D.atoms(d)
    if a is not None:
        return a[0].astype(float), a[1] / a[1].sum(), False
    if not grid:
        raise UnsupportedPrior(f"buyer {name} has a continuous type prior {D.describe(d)}", bidder=name, where=where,
                               needs_grid=True)
    v, p = D.discretize(d, grid)
    return v.astype(float), p, True


def market_types(spec: ir.MarketSpec, grid: int | None, buyer: int = 0) -> MarketTypes:
    """The finite type space of a market buyer: its finite prior, or its continuous prior
    discretised on ``grid`` cells per coordinate (raises ``UnsupportedPrior``)."""
    b = spec.buyers[buyer]
    t = b.type
    where = f"buyers.{b.name}.type"
    S = len(spec.states)
    bel, sc = belief_of(t), scale_of(t)
    parts: list[tuple[np.ndarray, np.ndarray]] = []  # (points (P, k), probs (P,)) per part
    disc = False
    if isinstance(bel, ir.BeliefType):
        if S != 2:
            raise UnsupportedPrior(f"buyer {b.name} has a belief type over {S} states; belief types need exactly 2 "
                                   "states", bidder=b.name, where=where)
        v, p, dd = _one_dim(bel.dist, grid, b.name, where)
        if v.min() < 0 or v.max() > 1:
            raise UnsupportedPrior(f"buyer {b.name}'s belief type takes values outside [0, 1]", bidder=b.name, where=where)
        parts.append((v[:, None], p))
        disc |= dd
    elif isinstance(bel, ir.DirichletBelief):
        if len(bel.alpha) != S:
            raise UnsupportedPrior(f"buyer {b.name}'s Dirichlet has {len(bel.alpha)} parameters for {S} states",
                                   bidder=b.name, where=where)
        if not grid:
            raise UnsupportedPrior(f"buyer {b.name} has a continuous Dirichlet belief over {S} states", bidder=b.name,
                                   where=where, needs_grid=True)
        try:
            parts.append(dirichlet_lattice(np.asarray(bel.alpha, float), grid))
        except ValueError as e:
            raise UnsupportedPrior(f"buyer {b.name}'s Dirichlet belief on a {grid}-cell grid has {e}: too many types",
                                   bidder=b.name, where=where) from None
        disc = True
    if sc is not None:
        v, p, dd = _one_dim(sc, grid, b.name, where)
        parts.append((v[:, None], p))
        disc |= dd
    total = math.prod(len(p) for _, p in parts)
    if total > MAX_LATTICE:
        raise UnsupportedPrior(f"buyer {b.name}'s discretised types number {total:,}, more than {MAX_LATTICE:,}",
                               bidder=b.name, where=where)
    pts, probs = parts[0]
    for q, pq in parts[1:]:
        pts = np.concatenate([np.repeat(pts, len(q), axis=0), np.tile(q, (len(pts), 1))], axis=1)
        probs = np.outer(probs, pq).ravel()
    beliefs, scales = type_weights(spec, buyer, pts)
    points = pts[:, 0] if pts.shape[1] == 1 else pts
    return MarketTypes(t.kind, points.astype(float), beliefs, scales.astype(float), probs / probs.sum(), disc)

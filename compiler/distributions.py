"""Distributions as a library shared by every backend.

Each IR distribution gets seeded sampling (numpy), its support, mean, cdf/pdf where
defined, a finite discretisation (for the exact backend) and Myerson virtual values.
scipy is imported only for the continuous families.
"""

from __future__ import annotations

import math

import numpy as np

from . import ir

_SUPPORT_Q = 1e-9  # tail mass dropped when an unbounded support must be made finite


def _frozen(d: ir.Distribution):
    """A scipy frozen distribution for the continuous families.

    scipy.stats is imported here, not at module level: it costs over a second and
    ``auctionc check`` reaches this module through the backends' ``accepts``."""
    from scipy import stats

    if isinstance(d, ir.Uniform):
        return stats.uniform(loc=d.low, scale=d.high - d.low)
    if isinstance(d, ir.Normal):
        lo = -np.inf if d.low is None else (d.low - d.mu) / d.sigma
        hi = np.inf if d.high is None else (d.high - d.mu) / d.sigma
        if d.low is None and d.high is None:
            return stats.norm(loc=d.mu, scale=d.sigma)
        return stats.truncnorm(lo, hi, loc=d.mu, scale=d.sigma)
    if isinstance(d, ir.Exponential):
        return stats.expon(scale=1.0 / d.rate)
    if isinstance(d, ir.Beta):
        return stats.beta(d.a, d.b)
    return None


def atoms(d: ir.Distribution) -> tuple[np.ndarray, np.ndarray] | None:
    """(values, probs) for finite distributions, sorted by value; None if continuous."""
    if isinstance(d, ir.PointMass):
        return np.array([d.value]), np.array([1.0])
    if isinstance(d, ir.Discrete):
        v = np.asarray(d.values, float)
        p = np.asarray(d.probs, float)
        order = np.argsort(v)
        return v[order], p[order] / p.sum()
    if isinstance(d, ir.Grid):
        v = np.linspace(d.low, d.high, d.n) if d.n > 1 else np.array([d.low])
        return v, np.full(len(v), 1.0 / len(v))
    if isinstance(d, ir.Mixture):
        parts = [atoms(c) for c in d.components]
        if any(p is None for p in parts):
            return None
        w = np.asarray(d.weights, float) / sum(d.weights)
        v = np.concatenate([p[0] for p in parts])  # type: ignore[index]
        pr = np.concatenate([wi * p[1] for wi, p in zip(w, parts)])  # type: ignore[index]
        uv, inv = np.unique(v, return_inverse=True)
        return uv, np.bincount(inv, weights=pr)
    return None


def is_finite(d: ir.Distribution) -> bool:
    return atoms(d) is not None


def support(d: ir.Distribution) -> tuple[float, float]:
    """The closed interval holding all the mass (unbounded tails cut at 1e-9)."""
    a = atoms(d)
    if a is not None:
        return float(a[0].min()), float(a[0].max())
    if isinstance(d, ir.Mixture):
        bounds = [support(c) for c in d.components]
        return min(b[0] for b in bounds), max(b[1] for b in bounds)
    if isinstance(d, ir.Uniform):  # the common case, without importing scipy.stats (over a second)
        return float(d.low), float(d.high)
    f = _frozen(d)
    lo, hi = f.support()
    if not np.isfinite(lo):
        lo = f.ppf(_SUPPORT_Q)
    if not np.isfinite(hi):
        hi = f.ppf(1 - _SUPPORT_Q)
    return float(lo), float(hi)


def mean(d: ir.Distribution) -> float:
    a = atoms(d)
    if a is not None:
        return float(a[0] @ a[1])
    if isinstance(d, ir.Mixture):
        w = np.asarray(d.weights, float) / sum(d.weights)
        return float(sum(wi * mean(c) for wi, c in zip(w, d.components)))
    return float(_frozen(d).mean())


def variance(d: ir.Distribution) -> float:
    a = atoms(d)
    if a is not None:
        m = a[0] @ a[1]
        return float(((a[0] - m) ** 2) @ a[1])
    if isinstance(d, ir.Mixture):
        w = np.asarray(d.weights, float) / sum(d.weights)
        m = mean(d)
        return float(sum(wi * (variance(c) + (mean(c) - m) ** 2) for wi, c in zip(w, d.components)))
    return float(_frozen(d).var())


def cdf(d: ir.Distribution, x: np.ndarray | float) -> np.ndarray:
    x = np.asarray(x, float)
    a = atoms(d)
    if a is not None:
        return (a[1][None, :] * (a[0][None, :] <= x.reshape(-1, 1))).sum(1).reshape(x.shape)
    if isinstance(d, ir.Mixture):
        w = np.asarray(d.weights, float) / sum(d.weights)
        return sum(wi * cdf(c, x) for wi, c in zip(w, d.components))
    if isinstance(d, ir.Uniform):  # closed form: no scipy.stats import for the common case
        return np.clip((x - d.low) / (d.high - d.low), 0.0, 1.0)
    return _frozen(d).cdf(x)


def pdf(d: ir.Distribution, x: np.ndarray | float) -> np.ndarray:
    """Density for continuous distributions; ValueError for finite ones (use ``atoms``)."""
    if atoms(d) is not None:
        raise ValueError("a finite distribution has no density; use atoms()")
    x = np.asarray(x, float)
    if isinstance(d, ir.Mixture):
        w = np.asarray(d.weights, float) / sum(d.weights)
        return sum(wi * pdf(c, x) for wi, c in zip(w, d.components))
    return _frozen(d).pdf(x)


def ppf(d: ir.Distribution, q: np.ndarray | float) -> np.ndarray:
    q = np.asarray(q, float)
    a = atoms(d)
    if a is not None:
        c = np.cumsum(a[1])
        idx = np.searchsorted(c, q * (1 - 1e-12), side="left")
        return a[0][np.clip(idx, 0, len(a[0]) - 1)]
    if isinstance(d, ir.Mixture):
        lo, hi = support(d)
        grid = np.linspace(lo, hi, 20001)
        return np.interp(q, cdf(d, grid), grid)
    return _frozen(d).ppf(q)


def sample(d: ir.Distribution, size: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Seeded draws as float64."""
    size = (size,) if isinstance(size, int) else tuple(size)
    if isinstance(d, ir.Uniform):
        return rng.uniform(d.low, d.high, size)
    if isinstance(d, ir.Exponential):
        return rng.exponential(1.0 / d.rate, size)
    if isinstance(d, ir.Beta):
        return rng.beta(d.a, d.b, size)
    if isinstance(d, ir.Normal):
        if d.low is None and d.high is None:
            return rng.normal(d.mu, d.sigma, size)
        return ppf(d, rng.uniform(0.0, 1.0, size))
    if isinstance(d, ir.Mixture):
        w = np.asarray(d.weights, float) / sum(d.weights)
        which = rng.choice(len(w), size=size, p=w)
        out = np.empty(size)
        for k, c in enumerate(d.components):
            mask = which == k
            out[mask] = sample(c, int(mask.sum()), rng)
        return out
    a = atoms(d)
    assert a is not None
    return a[0][rng.choice(len(a[0]), size=size, p=a[1])]


def discretize(d: ir.Distribution, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A finite approximation with at most ``n`` points: ``(values, probs)``.

    Finite distributions are returned as they are.  A continuous one is cut into
    ``n`` equal-width cells over its support (tails beyond 1e-9 folded into the
    end cells) and each cell's mass sits at the cell's midpoint.  This is the
    rule the exact backend records in its artifacts ("midpoint of n
    equal-width cells").
    """
    a = atoms(d)
    if a is not None:
        return a
    if n < 1:
        raise ValueError("n must be >= 1")
    lo, hi = support(d)
    edges = np.linspace(lo, hi, n + 1)
    c = cdf(d, edges)
    c[0], c[-1] = 0.0, 1.0
    probs = np.diff(c)
    values = 0.5 * (edges[:-1] + edges[1:])
    keep = probs > 0
    return values[keep], probs[keep] / probs[keep].sum()


def virtual_value(d: ir.Distribution, x: np.ndarray | float) -> np.ndarray:
    """Myerson's virtual value x - (1 - F(x)) / f(x) for continuous d; for finite d,
    the discrete analogue  v_k - (v_{k+1} - v_k) * (1 - F(v_k)) / p_k  at the atoms."""
    x = np.asarray(x, float)
    a = atoms(d)
    if a is not None:
        v, p = a
        tail = 1.0 - np.cumsum(p)
        nxt = np.append(v[1:], v[-1])
        phi = v - (nxt - v) * tail / p
        idx = np.clip(np.searchsorted(v, x), 0, len(v) - 1)
        return phi[idx]
    return x - (1.0 - cdf(d, x)) / np.maximum(pdf(d, x), 1e-300)


def describe(d: ir.Distribution) -> str:
    """The distribution in the language's own syntax."""
    def num(x: float) -> str:
        return f"{x:g}" if math.isfinite(x) else str(x)

    if isinstance(d, ir.Uniform):
        return f"Uniform({num(d.low)}, {num(d.high)})"
    if isinstance(d, ir.Normal):
        extra = ""
        if d.low is not None or d.high is not None:
            extra = f", {num(d.low if d.low is not None else -math.inf)}, {num(d.high if d.high is not None else math.inf)}"
        return f"Normal({num(d.mu)}, {num(d.sigma)}{extra})"
    if isinstance(d, ir.Exponential):
        return f"Exponential({num(d.rate)})"
    if isinstance(d, ir.Beta):
        return f"Beta({num(d.a)}, {num(d.b)})"
    if isinstance(d, ir.Discrete):
        body = ", ".join(f"{num(v)}: {num(p)}" for v, p in zip(d.values, d.probs))
        return f"Discrete({{{body}}})"
    if isinstance(d, ir.Grid):
        return f"Grid({num(d.low)}, {num(d.high)}, {d.n})"
    if isinstance(d, ir.PointMass):
        return f"PointMass({num(d.value)})"
    if isinstance(d, ir.Mixture):
        body = ", ".join(f"{num(w)}: {describe(c)}" for w, c in zip(d.weights, d.components))
        return f"Mixture({{{body}}})"
    raise TypeError(type(d).__name__)

"""Theory for single-item formats: the information model of a spec, risk-neutral
Bayes-Nash strategies where a closed form exists, CRRA first-price bids, and the
predictions a report prints beside measured behaviour (docs/published-figures.md).

A strategy is a *threshold*: the sealed bid, the clock price at which the bidder
drops out, or the Dutch price at which it buys, as a function of what the bidder
observes (its value, or its signal in common-value auctions).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from auctionc import distributions as D
from auctionc import ir

SEALED = ("first_price", "second_price", "third_price", "all_pay", "vcg")
DYNAMIC = ("ascending_clock", "dutch")
SUPPORTED_FORMATS = SEALED + DYNAMIC + ("ebay",)


class NoClosedForm(ValueError):
    """The requested equilibrium strategy has no closed form for this spec."""


@dataclass(frozen=True)
class InfoModel:
    """How values and observations relate.

    ``kind``: ``ipv`` (independent private values, one plain prior per bidder),
    ``affiliated`` (private values with a shared common part, v_i = c + p_i),
    ``common`` (everyone's value is the common V; bidders observe signals).
    """

    kind: Literal["ipv", "affiliated", "common"]
    n: int
    symmetric: bool
    value_dist: ir.Distribution | None
    """The common prior of a symmetric IPV spec."""
    noise: float | None = None
    """Common value: the half-width eps of uniform signal noise V + U[-eps, eps]."""


def _uniform_noise(expr: ir.ValueExpr) -> tuple[str, float] | None:
    """(common name, eps) when ``expr`` is ``V + Uniform(-eps, eps)``."""
    refs = [(c, t) for c, t in zip(expr.coefs, expr.terms) if isinstance(t, ir.CommonRef)]
    draws = [(c, t) for c, t in zip(expr.coefs, expr.terms) if isinstance(t, ir.Draw)]
    if len(refs) != 1 or len(draws) != 1 or len(expr.terms) != 2 or refs[0][0] != 1.0:
        return None
    coef, d = draws[0][0], draws[0][1].dist
    if not isinstance(d, ir.Uniform) or abs(coef * d.low + coef * d.high) > 1e-12:
        return None
    return refs[0][1].name, abs(coef * d.high)


def info_model(spec: ir.AuctionSpec) -> InfoModel:
    n = spec.n_bidders
    exprs = [b.valuation.value for b in spec.bidders if isinstance(b.valuation, ir.Single)]
    if len(exprs) != n:
        raise NoClosedForm("simulation plays single-item auctions")
    if any(b.signal is not None for b in spec.bidders):
        noise = None
        sig = [_uniform_noise(b.signal) if b.signal is not None else None for b in spec.bidders]
        pure = all(
            len(e.terms) == 1 and isinstance(e.terms[0], ir.CommonRef) and e.coefs == (1.0,) for e in exprs
        )
        names = {s[0] for s in sig if s is not None}
        eps = {s[1] for s in sig if s is not None}
        if pure and all(s is not None for s in sig) and len(names) == 1 and len(eps) == 1:
            noise = eps.pop()
        return InfoModel("common", n, noise is not None, None, noise)
    if all(e.is_plain for e in exprs):
        dists = [e.plain_dist for e in exprs]
        sym = all(d == dists[0] for d in dists)
        return InfoModel("ipv", n, sym, dists[0] if sym else None)
    sym = all(e == exprs[0] for e in exprs)
    return InfoModel("affiliated", n, sym, None)


# --------------------------------------------------------------------------
# Risk-neutral symmetric IPV equilibria for a prior F on [lo, hi]
# --------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _grid(d: ir.Distribution, k: int = 4001) -> tuple[np.ndarray, np.ndarray]:
    # Cached: clocks evaluate a strategy at every tick, and scipy's frozen
    # distributions are slow to build.
    lo, hi = D.support(d)
    x = np.linspace(lo, hi, k)
    return x, np.clip(D.cdf(d, x), 0.0, 1.0)


def _cumtrapz(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    out = np.zeros_like(y)
    out[1:] = np.cumsum(0.5 * (y[1:] + y[:-1]) * np.diff(x))
    return out


_GL_X, _GL_W = np.polynomial.legendre.leggauss(64)


def _int_cdf_power(d: ir.Distribution, a: float, v: np.ndarray, k: float) -> np.ndarray:
    """int_a^v F(x)^k dx for each v (Gauss-Legendre, 64 nodes: exact for uniform
    priors and integer k < 127, accurate to ~1e-12 for smooth ones)."""
    v = np.atleast_1d(np.asarray(v, float))
    half = (v - a)[:, None] / 2
    x = a + half * (_GL_X[None, :] + 1)
    Fx = np.clip(D.cdf(d, x.ravel()).reshape(x.shape), 0.0, 1.0)
    return (half * (_GL_W[None, :] * Fx**k)).sum(axis=1)


def first_price_bid(d: ir.Distribution, n: int, v: np.ndarray, reserve: float = 0.0, power: float = 1.0) -> np.ndarray:
    """b(v) = v - int_r^v (F(x)/F(v))^{(n-1)/power} dx for v >= r (NaN below: no bid).

    ``power = 1`` is the risk-neutral bid E[max(r, Y) | Y < v] with Y the highest other
    value; ``power = 1 - r`` gives the CRRA (u = x^{1-r}) equilibrium, which is the
    risk-neutral bid against (n-1)/(1-r) opponents."""
    lo = D.support(d)[0]
    r = max(reserve, lo)
    k = (n - 1) / power
    vv = np.atleast_1d(np.asarray(v, float))
    above = vv >= r
    top = np.where(above, vv, r)
    Fv = np.clip(D.cdf(d, top), 0.0, 1.0) ** k
    integral = _int_cdf_power(d, r, top, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(Fv > 0, top - integral / Fv, r)
    out = np.where(above, np.maximum(b, r), np.nan)
    return out.reshape(np.shape(v)) if np.ndim(v) else out


def all_pay_bid(d: ir.Distribution, n: int, v: np.ndarray) -> np.ndarray:
    """b(v) = v G(v) - int_lo^v G, G = F^{n-1}; (n-1)/n v^n for U[0,1]."""
    x, F = _grid(d)
    G = F ** (n - 1)
    integral = _cumtrapz(G, x)
    vv = np.asarray(v, float)
    return vv * np.interp(vv, x, G) - np.interp(vv, x, integral)


def third_price_bid(d: ir.Distribution, n: int, v: np.ndarray) -> np.ndarray:
    """b(v) = v + F(v) / ((n-2) f(v)) (n >= 3, continuous prior); (n-1)/(n-2) v for U[0, V]."""
    if n < 3:
        raise NoClosedForm("third price needs at least 3 bidders")
    if D.is_finite(d):
        raise NoClosedForm("the third-price equilibrium needs a continuous prior")
    vv = np.asarray(v, float)
    f = np.maximum(D.pdf(d, vv), 1e-300)
    return vv + D.cdf(d, vv) / ((n - 2) * f)


# --------------------------------------------------------------------------
# Strategies as thresholds
# --------------------------------------------------------------------------


def bne_threshold(fmt: ir.Format, model: InfoModel, obs: np.ndarray, *, dropped: list[float] | None = None) -> np.ndarray:
    """The risk-neutral equilibrium threshold for observations ``obs``.

    Clocks: the drop-out price.  In the announced common-value clock the price
    depends on the drop-outs seen so far (``dropped``: the signals inferred from them).
    Raises NoClosedForm where none is known."""
    name = fmt.name
    obs = np.asarray(obs, float)
    if fmt.entry_fee > 0:
        raise NoClosedForm("the equilibrium with an entry fee has no closed form here")
    if name == "ebay":
        if model.kind == "common":
            raise NoClosedForm("the proxy auction's equilibrium with a common value has no closed form here")
        return obs.copy()  # a truthful proxy: the maximum bid is the value
    if model.kind == "common":
        if model.noise is None:
            raise NoClosedForm("common-value equilibria need signals V + Uniform(-eps, eps)")
        e, n = model.noise, model.n
        if name in ("first_price", "dutch"):
            return obs - e
        if name in ("second_price", "vcg") or (name == "ascending_clock" and not fmt.announce_dropouts):
            return obs - e * (n - 2) / n
        if name == "ascending_clock":
            # Uniform noise: given every signal, V is uniform on [max s - eps, min s + eps];
            # a bidder drops where V's posterior mean, with the others still in tied at its
            # own signal, equals the price.
            if not dropped:
                return obs
            return (obs + min(dropped)) / 2
        raise NoClosedForm(f"no closed-form common-value equilibrium for {name}")
    if name in ("second_price", "vcg", "ascending_clock"):
        return np.where(obs >= fmt.reserve, obs, np.nan)
    if model.kind != "ipv" or not model.symmetric or model.value_dist is None:
        raise NoClosedForm(f"the {name} equilibrium is known here for symmetric independent private values only")
    d, n = model.value_dist, model.n
    if name in ("first_price", "dutch"):
        return first_price_bid(d, n, obs, fmt.reserve)
    if fmt.reserve > D.support(d)[0]:
        raise NoClosedForm(f"the {name} equilibrium with a reserve has no closed form here")
    if name == "all_pay":
        return all_pay_bid(d, n, obs)
    if name == "third_price":
        return third_price_bid(d, n, obs)
    raise NoClosedForm(f"no closed-form equilibrium for {name}")


def crra_threshold(fmt: ir.Format, model: InfoModel, obs: np.ndarray, r: float) -> np.ndarray:
    """Risk-averse (u = x^{1-r}) bids: first price and Dutch shade less; in second
    price and the clock, bidding the value stays dominant."""
    if not r < 1:
        raise NoClosedForm("crra(r) needs r < 1")
    if fmt.name == "ebay" and model.kind != "common":
        return np.asarray(obs, float).copy()
    if fmt.name in ("second_price", "vcg", "ascending_clock") and model.kind != "common":
        return np.where(obs >= fmt.reserve, obs, np.nan)
    if fmt.name in ("first_price", "dutch") and model.kind == "ipv" and model.symmetric and fmt.entry_fee == 0:
        return first_price_bid(model.value_dist, model.n, obs, fmt.reserve, power=1.0 - r)  # type: ignore[arg-type]
    raise NoClosedForm(f"crra bids are known here for first price and Dutch with symmetric private values, not {fmt.name}")


def theory_lines(fmt: ir.Format, model: InfoModel) -> list[str]:
    """Textbook predictions for the report (docs/published-figures.md)."""
    n, out = model.n, []
    name = fmt.name
    if name == "ebay":
        from auctionc.backends.simulate.ebay import EbayRules
        from auctionc.backends.simulate.ebay import theory_lines as ebay_lines

        return ebay_lines(EbayRules.of(fmt), model.kind, n)
    if model.kind == "ipv" and model.symmetric and model.value_dist is not None:
        d = model.value_dist
        lo, hi = D.support(d)
        if name in ("first_price", "dutch"):
            out.append(f"RNNE bid: E[max of the others | below v]; for U[0, V]: (n-1)/n v = {(n - 1) / n:.3f} v")
        elif name in ("second_price", "vcg", "ascending_clock"):
            out.append("dominant strategy: bid (or stay in until) the value")
        elif name == "all_pay":
            out.append("RNNE bid: v F(v)^(n-1) - int F^(n-1); for U[0,1]: (n-1)/n v^n")
        elif name == "third_price" and n >= 3:
            out.append(f"RNNE bid: v + F(v)/((n-2) f(v)); for U[0, V]: (n-1)/(n-2) v = {(n - 1) / (n - 2):.3f} v")
        if isinstance(d, ir.Uniform) and lo == 0 and fmt.reserve == 0 and fmt.entry_fee == 0:
            out.append(f"RNNE revenue (revenue equivalence): (n-1)/(n+1) V = {(n - 1) / (n + 1) * hi:.2f}")
    elif model.kind == "affiliated":
        if name in ("second_price", "vcg", "ascending_clock"):
            out.append("private values: bidding (dropping at) the value is dominant")
    elif model.kind == "common" and model.noise is not None:
        e = model.noise
        if name in ("second_price", "vcg") or (name == "ascending_clock" and not fmt.announce_dropouts):
            out.append(f"BNE bid: s - eps(n-2)/n = s - {e * (n - 2) / n:.2f}")
            out.append(f"naive bid = signal: winner's expected profit -eps(n-3)/(n+1) = {-e * (n - 3) / (n + 1):.2f}")
        elif name in ("first_price", "dutch"):
            out.append(f"BNE bid (interior): s - eps = s - {e:.2f}; winner's expected profit 2 eps/(n+1) = {2 * e / (n + 1):.2f}")
            out.append(f"naive bid = signal: winner's expected profit -eps(n-1)/(n+1) = {-e * (n - 1) / (n + 1):.2f}")
        elif name == "ascending_clock":
            out.append("BNE drop-out (uniform noise): own signal, then (s + lowest dropped signal)/2")
    return out


def naive_cv_profit(fmt: ir.Format, model: InfoModel) -> float | None:
    """Winner's expected profit when every bidder bids its signal (interior signals)."""
    if model.kind != "common" or model.noise is None:
        return None
    e, n = model.noise, model.n
    if fmt.name in ("second_price", "vcg", "ascending_clock"):
        return -e * (n - 3) / (n + 1)
    if fmt.name in ("first_price", "dutch"):
        return -e * (n - 1) / (n + 1)
    return None

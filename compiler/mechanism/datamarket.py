"""Data markets: a menu of experiments with prices (kind ``"datamarket"``).

One buyer with finitely many private types (``market_space``: a belief over two states,
a Dirichlet belief, a payoff scale under a common prior, or a belief and a scale).  Type
``t`` buys experiment ``t`` at price
``p_t``; experiments are in *recommendation form*: the signals are the buyer's
actions and ``experiments[t, a, s] = P(recommend a | state s)`` (signal-by-state;
each column sums to one).  The literature prints the transpose, a state-by-signal
stochastic matrix (``[[q, 1-q], [0, 1]]``); ``experiments_table`` gives both.

Reports are ``(B, n_buyers)`` type parameters for one-number types, ``(B, n_buyers, d)``
otherwise; an off-grid report takes the nearest type in Euclidean distance (ties to the
lower one on one-number types, to the first listed otherwise).  ``allocate_and_pay``
returns experiments ``(B, n_buyers, n_signals, n_states)`` and prices ``(B, n_buyers)``.

Welfare here is the value the information creates: the buyer's expected payoff
when following the recommendation minus its payoff acting on the prior alone
(the seller's cost is zero).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from .base import ArtifactMeta, Mechanism, register_artifact, validated
from .market_space import MarketTypes, market_types
from .market_space import point as _point
from .structures import OfferedOutcomes, WorldFacts
from .table import UnsupportedPrior

__all__ = ["DataMarketMechanism", "MarketTypes", "deviation_maps", "joint_values", "market_types"]


def deviation_maps(n_actions: int) -> np.ndarray:
    """All maps from recommended action to taken action: ``(A**A, A)``."""
    return np.array(list(itertools.product(range(n_actions), repeat=n_actions)), dtype=np.int64)


def joint_values(w: np.ndarray, experiments: np.ndarray, payoffs: np.ndarray) -> np.ndarray:
    """``M[t, u, a, b] = sum_s w[t, s] experiments[u, a, s] payoffs[b, s]`` as one matrix product
    (a plain einsum over four indices is several times slower at 800 types)."""
    T, S = w.shape
    Uu, A, _ = experiments.shape
    B = payoffs.shape[0]
    left = (w[:, None, :] * payoffs[None, :, :]).reshape(T * B, S)  # (t, b) x s
    M = left @ experiments.reshape(Uu * A, S).T  # (t, b) x (u, a)
    return M.reshape(T, B, Uu, A).transpose(0, 2, 3, 1)


class _MarketData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    buyer: str = "buyer"
    states: list[str]
    actions: list[str]
    payoffs: list[list[float]]
    type_kind: str
    points: list[float] | list[list[float]]
    beliefs: list[list[float]]
    scales: list[float]
    type_probs: list[float]
    experiments: list[list[list[float]]]
    prices: list[float]


@register_artifact
class DataMarketMechanism(Mechanism):
    kind = "datamarket"
    outcome_space = "experiments"
    n_bidders = 1

    def __init__(
        self,
        states: list[str],
        actions: list[str],
        payoffs: np.ndarray,
        type_kind: str,
        points: np.ndarray,
        beliefs: np.ndarray,
        scales: np.ndarray,
        type_probs: np.ndarray,
        experiments: np.ndarray,
        prices: np.ndarray,
        *,
        buyer: str = "buyer",
        meta: ArtifactMeta | None = None,
    ) -> None:
        self.states = list(states)
        self.actions = list(actions)
        self.payoffs = np.asarray(payoffs, float)  # (A, S)
        self.type_kind = type_kind
        self.points = np.asarray(points, float)
        self.beliefs = np.asarray(beliefs, float)
        self.scales = np.asarray(scales, float)
        self.type_probs = np.asarray(type_probs, float)
        self.experiments = np.asarray(experiments, float)  # (T, A, S)
        self.prices = np.asarray(prices, float)
        self.buyer = buyer
        self.meta = meta or ArtifactMeta()
        if self.experiments.ndim != 3:
            raise ValueError("experiments must be (T, A, S)")
        T, A, S = self.experiments.shape
        if (self.payoffs.shape != (A, S) or self.beliefs.shape != (T, S) or self.prices.shape != (T,)
                or self.points.shape[:1] != (T,) or self.points.ndim > 2 or self.scales.shape != (T,) or self.type_probs.shape != (T,)
                or len(self.states) != S or len(self.actions) != A):
            raise ValueError("experiments (T, A, S), payoffs (A, S), beliefs (T, S), points, scales, "
                             "probabilities and prices (T,) and the state and action names do not agree")

    def report_to_types(self, bids: np.ndarray) -> np.ndarray:
        if self.points.ndim == 2:
            return self._nearest(np.asarray(bids, float).reshape(len(bids), -1))
        x = np.asarray(bids, float).reshape(len(bids), -1)[:, 0]
        order = np.argsort(self.points, kind="stable")
        pts = self.points[order]
        if len(pts) == 1:
            return np.zeros(len(x), dtype=np.int64)
        k = np.searchsorted(0.5 * (pts[1:] + pts[:-1]), x, side="left")
        return order[k]

    def _nearest(self, x: np.ndarray, chunk: int = 2048) -> np.ndarray:
        out = np.empty(len(x), dtype=np.int64)
        for s in range(0, len(x), chunk):
            d = ((x[s : s + chunk, None, :] - self.points[None, :, :]) ** 2).sum(axis=2)
            out[s : s + chunk] = d.argmin(axis=1)
        return out

    def allocate_and_pay(self, bids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = self.report_to_types(bids)
        return self.experiments[k][:, None], self.prices[k][:, None]

    # ---- verifier hooks ----

    def offered_outcomes(self) -> OfferedOutcomes:
        return OfferedOutcomes(experiments=self.experiments, prices=self.prices)

    def world(self) -> WorldFacts:
        return WorldFacts(n_bidders=1, outcome_space="experiments", bidders=[self.buyer], states=self.states,
                          actions=self.actions, payoffs=self.payoffs, type_kind=self.type_kind,
                          type_points=self.points, type_probs=[self.type_probs], beliefs=self.beliefs,
                          scales=self.scales)

    # ---- values (the artifact's own copy of the world: the backend's claim uses it) ----

    def value_matrix(self) -> np.ndarray:
        """``M[t, u, a, b]``: type ``t``'s expected payoff from taking action ``b`` when
        experiment ``u`` recommends ``a`` (joint with the recommendation)."""
        return joint_values(self.beliefs * self.scales[:, None], self.experiments, self.payoffs)

    def outside_values(self) -> np.ndarray:
        """Each type's payoff acting on its prior alone (the IR benchmark)."""
        w = self.beliefs * self.scales[:, None]
        return (w @ self.payoffs.T).max(axis=1)

    def exact_check(self, spec: Any = None, grid: int | None = None) -> dict[str, Any]:
        """Every type against every misreport followed by the best action on each signal;
        IR against acting on the prior; obedience (best action = recommended one), on the
        artifact's own copy of the world: the exact backend's claim.  The verifier uses the
        spec's beliefs and payoffs instead."""
        M = self.value_matrix()
        T, A = M.shape[0], M.shape[2]
        diag = np.arange(T)
        obedient = np.einsum("taa->t", M[diag, diag])
        best = M.max(axis=3).sum(axis=2)  # (t, u): misreport u, then act optimally
        truthful = obedient - self.prices
        gain = best - self.prices[None, :] - truthful[:, None]
        gain[diag, diag] = -np.inf
        k = np.unravel_index(int(gain.argmax()), gain.shape) if T > 1 else (0, 0)
        max_ic = float(gain[k]) if T > 1 else 0.0
        outside = self.outside_values()
        # obedience per recommendation: no action beats the recommended one given the signal
        own = M[diag, diag]  # (t, a, b)
        obey = own - np.einsum("taa->ta", own)[:, :, None]
        out = {
            "max_ic_violation": max(0.0, max_ic),
            "worst": {
                "bidder": self.buyer,
                "type": _point(self.points[k[0]]),
                "misreport": _point(self.points[k[1]]),
            }
            if T > 1
            else None,
            "max_ir_violation": max(0.0, float(np.max(outside - truthful))),
            "max_obedience_violation": max(0.0, float(obey.max())),
            "revenue": float(self.type_probs @ self.prices),
            "welfare": float(self.type_probs @ (obedient - outside)),
            "buyer_surplus": float(self.type_probs @ (truthful - outside)),
            "checked_pairs": int(T * (T - 1) * A**A + T * A * (A - 1)),
            "ic_mode": "joint deviation: misreport, then the best action on each signal",
            "type_counts": [T],
        }
        if spec is not None:
            try:
                ref = market_types(spec, grid)
                out["types_match_spec"] = bool(
                    ref.size == T and np.allclose(ref.points, self.points) and np.allclose(ref.probs, self.type_probs)
                )
            except UnsupportedPrior:
                out["types_match_spec"] = False
        return out

    def experiments_table(self, decimals: int = 4) -> list[dict[str, Any]]:
        """Distinct (experiment, price) pairs of the menu, by price, with the types that buy them.

        ``signal_by_state[a][s] = P(signal a | state s)``; ``state_by_signal`` is its
        transpose, the row-stochastic form the literature prints."""
        groups: dict[tuple, dict[str, Any]] = {}
        order = np.argsort(self.points, kind="stable") if self.points.ndim == 1 else np.lexsort(self.points.T[::-1])
        for t in order:
            E = np.round(self.experiments[t], decimals) + 0.0
            p = round(float(self.prices[t]), decimals) + 0.0
            key = (tuple(E.ravel()), p)
            g = groups.get(key)
            if g is None:
                g = groups[key] = {
                    "price": p,
                    "signals": [f"recommend {a}" for a in self.actions],
                    "states": list(self.states),
                    "signal_by_state": E.tolist(),
                    "state_by_signal": E.T.tolist(),
                    "informative": bool(np.ptp(E, axis=1).max() > 10 ** (-decimals)),
                    "types": [],
                    "probability": 0.0,
                }
            g["types"].append(_point(self.points[t]))
            g["probability"] += float(self.type_probs[t])
        out = sorted(groups.values(), key=lambda g: g["price"])
        for g in out:
            if self.points.ndim == 1:
                g["type_range"] = [min(g["types"]), max(g["types"])]
            else:
                pts = np.asarray(g["types"], float)
                g["type_range"] = [pts.min(axis=0).tolist(), pts.max(axis=0).tolist()]
            g["probability"] = round(g["probability"], 12)
        return out

    # ---- serialisation ----

    def data(self) -> dict[str, Any]:
        return {
            "buyer": self.buyer,
            "states": self.states,
            "actions": self.actions,
            "payoffs": self.payoffs.tolist(),
            "type_kind": self.type_kind,
            "points": self.points.tolist(),
            "beliefs": self.beliefs.tolist(),
            "scales": self.scales.tolist(),
            "type_probs": self.type_probs.tolist(),
            "experiments": self.experiments.tolist(),
            "prices": self.prices.tolist(),
            "form": "recommendation; experiments[t][a][s] = P(recommend a | state s)",
        }

    @classmethod
    def from_data(cls, data: dict[str, Any], meta: ArtifactMeta, directory: Path) -> DataMarketMechanism:
        d = validated(_MarketData, data, "data market data")
        return cls(d.states, d.actions, np.asarray(d.payoffs, float), d.type_kind, np.asarray(d.points, float),
                   np.asarray(d.beliefs, float), np.asarray(d.scales, float), np.asarray(d.type_probs, float),
                   np.asarray(d.experiments, float), np.asarray(d.prices, float), buyer=d.buyer, meta=meta)

    def describe(self) -> str:
        n = len(self.experiments_table())
        return (
            f"data market: {n} distinct experiments with prices for {len(self.points)} {self.type_kind} types "
            f"({len(self.states)} states, {len(self.actions)} actions)"
        )


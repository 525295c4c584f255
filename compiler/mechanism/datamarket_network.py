"""A learned mechanism selling experiments to several data buyers with an externality
(kind ``"datamarket_network"``; Ravindranath, Jiang and Parkes 2023, the ex post design).

Each buyer's type is a payoff scale ``v_i`` under a common prior ``theta`` over the states.
A network (an MLP with LeakyReLU, weights in the side file ``network.npz``) maps the reported
profile, divided by ``value_scale``, to

* one experiment per buyer in recommendation form, ``experiments (B, n, A, S) = P(recommend
  a | state s)``: a softmax over the actions for each state;
* a fraction ``f_i`` in (0, 1) (a sigmoid) of what the buyer gains over its outside option.

Buyer ``i``'s payoff is ``v_i * (U_i[a_i, w] - alpha * sum_{j != i} U_j[a_j, w])`` (``ir.MarketSpec.
externality``); with ``x_j = sum_{a, s} theta_s E_j[a, s] U_j[a, s]`` the expected payoff of obeying,
its payoff in the mechanism is ``v_i * (x_i - alpha * sum_{j != i} x_j) - p_i``.  The externality is
additive in the buyers' own payoffs, so only each buyer's marginal experiment matters: the
network gives marginals, and the signals of different buyers may be drawn independently.

The outside option (IR) is the released code's: a buyer who abstains acts on the prior and
faces the others fully informed, ``o_i = v_i * (max_a theta . U_i[a] - alpha * sum_{j != i}
sum_s theta_s max_a U_j[a, s])``.  The payment ``p_i = v_i * f_i * max(0, x_i - alpha * sum_{j != i}
x_j - o_i / v_i)`` is at most the buyer's gain over it, so IR holds whenever obeying is worth at
least acting on the prior.  IC and obedience are not built in: training penalises them and the
verifier measures them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from .. import ir
from .base import ArtifactMeta, Mechanism, register_artifact, side_file, validated
from .datamarket_menu import validated_type
from .structures import WorldFacts

WEIGHTS_FILE = "network.npz"
LEAKY_SLOPE = 0.01


def leaky_relu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, LEAKY_SLOPE * x)


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def accuracies(prior: np.ndarray, E: np.ndarray, payoffs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per profile and buyer: the expected payoff at scale one of obeying ``E (B, n, A, S)`` and
    of the best action on each recommendation (``payoffs (n, A, S)``)."""
    M = np.einsum("s,bias,ics->biac", prior, E, payoffs)  # recommendation a, action c
    return np.einsum("biaa->bi", M), M.max(axis=3).sum(axis=2)


def outside_options(prior: np.ndarray, payoffs: np.ndarray, alpha: float) -> np.ndarray:
    """``(n,)`` each buyer's outside payoff at scale one: acting on the prior, the others fully informed."""
    alone = (payoffs @ prior).max(axis=1)  # (n,)
    informed = (payoffs.max(axis=1) * prior[None, :]).sum(axis=1)  # (n,)
    return alone - alpha * (informed.sum() - informed)


def others(x: np.ndarray) -> np.ndarray:
    """``sum_{j != i} x[:, j]`` for every ``i``."""
    return x.sum(axis=1, keepdims=True) - x


class _NetData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    buyers: list[str]
    states: list[str]
    actions: list[list[str]]
    payoffs: list[list[list[float]]]
    type_models: list[dict[str, Any]]
    externality: float
    value_scale: float
    layers: int
    weights: str = WEIGHTS_FILE


@register_artifact
class ExperimentNetworkMechanism(Mechanism):
    kind = "datamarket_network"
    outcome_space = "experiments"

    def __init__(self, buyers: list[str], states: list[str], actions: list[list[str]], payoffs: np.ndarray,
                 type_models: list[ir.BuyerType], externality: float, weights: list[tuple[np.ndarray, np.ndarray]],
                 value_scale: float, meta: ArtifactMeta | None = None) -> None:
        self.buyers, self.states, self.actions = list(buyers), list(states), [list(a) for a in actions]
        self.payoffs = np.asarray(payoffs, float)  # (n, A, S)
        self.type_models = list(type_models)
        self.externality = float(externality)
        self.weights = [(np.asarray(W, float), np.asarray(b, float)) for W, b in weights]
        self.value_scale = float(value_scale)
        self.meta = meta or ArtifactMeta()
        n, S = len(self.buyers), len(self.states)
        A = self.payoffs.shape[1] if self.payoffs.ndim == 3 else -1
        if (self.payoffs.shape != (n, A, S) or len(self.type_models) != n or len(self.actions) != n
                or any(len(a) != A for a in self.actions) or not self.weights
                or any(not isinstance(t, ir.ScaleType) or len(t.prior) != S for t in self.type_models)):
            raise ValueError("buyers, actions, payoffs (n, A, S) and value types with a prior over the states do not agree")
        dims = [n] + [W.shape[0] for W, _ in self.weights]
        if (any(W.shape != (o, i) or b.shape != (o,) for (W, b), i, o in zip(self.weights, dims[:-1], dims[1:],
                                                                                 strict=True))
                or dims[-1] != n * S * A + n or not self.value_scale > 0):
            raise ValueError("network layers do not chain from n reports to n*S*A logits and n payment logits")
        prior = np.asarray(self.type_models[0].prior, float)
        self.prior = prior / prior.sum()

    @property
    def n_bidders(self) -> int:  # type: ignore[override]
        return len(self.buyers)

    # ---- evaluation ----

    def forward(self, reports: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Experiments ``(B, n, A, S)`` and payment fractions ``(B, n)`` of reports ``(B, n)``."""
        n, A, S = self.payoffs.shape
        h = reports / self.value_scale
        for k, (W, b) in enumerate(self.weights):
            h = h @ W.T + b
            if k < len(self.weights) - 1:
                h = leaky_relu(h)
        logits = h[:, : n * S * A].reshape(len(h), n, S, A)
        frac = 1.0 / (1.0 + np.exp(-np.clip(h[:, n * S * A :], -60, 60)))
        return softmax(logits, axis=3).transpose(0, 1, 3, 2), frac

    def allocate_and_pay(self, bids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = np.asarray(bids, float).reshape(len(bids), -1)
        if v.shape[1] != self.n_bidders:
            raise ValueError(f"reports have {v.shape[1]} columns for {self.n_bidders} buyers")
        v = np.clip(v, 0.0, None)
        E, frac = self.forward(v)
        x, _ = accuracies(self.prior, E, self.payoffs)
        gain = x - self.externality * others(x) - outside_options(self.prior, self.payoffs, self.externality)[None, :]
        return E, v * frac * np.maximum(gain, 0.0)

    # ---- verifier hooks ----

    def world(self) -> WorldFacts:
        return WorldFacts(n_bidders=self.n_bidders, outcome_space="experiments", bidders=self.buyers,
                          states=self.states, buyer_actions=self.actions, buyer_payoffs=list(self.payoffs),
                          type_models=[t.model_dump(mode="json") for t in self.type_models],
                          externality=self.externality)

    # ---- serialisation ----

    def save_side_files(self, directory: Path) -> None:
        arrays = {f"W{k}": W for k, (W, _) in enumerate(self.weights)}
        arrays.update({f"b{k}": b for k, (_, b) in enumerate(self.weights)})
        np.savez(Path(directory) / WEIGHTS_FILE, **arrays)

    def data(self) -> dict[str, Any]:
        return {
            "buyers": self.buyers, "states": self.states, "actions": self.actions, "payoffs": self.payoffs.tolist(),
            "type_models": [t.model_dump(mode="json") for t in self.type_models], "externality": self.externality,
            "value_scale": self.value_scale, "layers": len(self.weights), "weights": WEIGHTS_FILE,
            "form": "recommendation; experiments[b][i][a][s] = P(recommend a to buyer i | state s), from an MLP "
                    "(LeakyReLU 0.01) of reports / value_scale; payment v_i * sigmoid * max(0, gain over the "
                    "outside option)",
        }

    @classmethod
    def from_data(cls, data: dict[str, Any], meta: ArtifactMeta, directory: Path) -> ExperimentNetworkMechanism:
        d = validated(_NetData, data, "data market network")
        with np.load(side_file(directory, d.weights), allow_pickle=False) as z:
            weights = [(np.asarray(z[f"W{k}"], float), np.asarray(z[f"b{k}"], float)) for k in range(d.layers)]
        return cls(d.buyers, d.states, d.actions, np.asarray(d.payoffs, float),
                   [validated_type(t) for t in d.type_models], d.externality, weights, d.value_scale, meta=meta)

    def describe(self) -> str:
        hidden = [W.shape[0] for W, _ in self.weights[:-1]]
        return (f"data market network for {self.n_bidders} buyers (externality {self.externality:g}): experiments "
                f"and payments from an MLP {hidden} of the reported values ({len(self.states)} states)")

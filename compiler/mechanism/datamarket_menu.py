"""A learned menu of experiments for one data buyer (kind ``"datamarket_menu"``).

The menu is a fixed list of experiments ``experiments (K, G, S)`` (``P(signal g | state
s)``, each column a distribution over the ``G`` signals) with ``prices (K,)``, one of them
a null entry (no information, price 0).  A buyer who reports type ``x`` gets the entry of
highest value net of price, its value for an entry being its expected payoff when it takes
on each signal the action best under its posterior (``entry_values``); ties go to the higher
price, then to the lower index.

The outcome is written in recommendation form (``experiments (B, 1, A, S)``, ``P(recommend
a | state s)``): the chosen experiment with each signal relabelled as the reporting type's
best action on it (``garble``).  For the reporting type this changes nothing it cares about
(it would take those actions anyway), and following each recommendation is optimal
(obedience); for any other type the relabelled experiment is a garbling of the entry, worth
no more than the entry itself (Blackwell), so a misreport buys at most some entry of the
menu and cannot gain: IC for every report; the null entry gives IR.  The verifier recomputes
all of this from the spec's world (``structure`` hands it the entries).

A report is the buyer's type in the layout of ``market_space`` (one number for belief and
scale types, ``(B, 1, d)`` otherwise); the artifact maps it to a belief and a payoff scale
with its own copy of the buyer's type, which the verifier compares with the spec's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, TypeAdapter

from .. import ir
from .base import ArtifactMeta, Mechanism, register_artifact, validated
from .market_space import weights_for
from .structures import ExperimentMenu, OfferedOutcomes, WorldFacts

TIE_TOL = 1e-9
_ENTRIES = 2_000_000  # (type, entry, signal, action) values per temporary array
_TYPE = TypeAdapter(ir.BuyerType)


def signal_action_values(w: np.ndarray, experiments: np.ndarray, payoffs: np.ndarray) -> np.ndarray:
    """``Q[b, k, g, a] = sum_s w[b, s] E[k, g, s] U[a, s]``: type ``b``'s payoff, jointly with
    signal ``g`` of entry ``k``, from taking action ``a`` on it."""
    return np.einsum("bs,kgs,as->bkga", w, experiments, payoffs, optimize=True)


def entry_values(w: np.ndarray, experiments: np.ndarray, payoffs: np.ndarray) -> np.ndarray:
    """``(B, K)``: each type's value of each entry, acting optimally on every signal."""
    B, (K, G, _), A = len(w), experiments.shape, payoffs.shape[0]
    out = np.empty((B, K))
    step = max(1, _ENTRIES // max(1, K * G * A))
    for s in range(0, B, step):
        out[s : s + step] = signal_action_values(w[s : s + step], experiments, payoffs).max(axis=3).sum(axis=2)
    return out


def best_actions(w: np.ndarray, experiment: np.ndarray, payoffs: np.ndarray, tol: float = TIE_TOL) -> np.ndarray:
    """``(B, G)``: each type's best action on each signal of its own experiment ``(B, G, S)``
    (ties within ``tol`` of the best: the lowest action index)."""
    q = np.einsum("bs,bgs,as->bga", w, experiment, payoffs, optimize=True)
    return (q >= q.max(axis=2, keepdims=True) - tol).argmax(axis=2)


def garble(experiment: np.ndarray, actions: np.ndarray, n_actions: int) -> np.ndarray:
    """Relabel each signal of ``experiment (B, G, S)`` as ``actions (B, G)``: ``(B, A, S)``."""
    onehot = np.eye(n_actions)[actions]  # (B, G, A)
    return np.einsum("bga,bgs->bas", onehot, experiment)


def choose(utilities: np.ndarray, prices: np.ndarray, tol: float = TIE_TOL) -> np.ndarray:
    """The entry of highest utility; within ``tol`` of it the highest price, then the lowest index."""
    order = np.argsort(-prices, kind="stable")
    u = utilities[:, order]
    return order[(u >= u.max(axis=1, keepdims=True) - tol).argmax(axis=1)]


class _MenuData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    buyer: str
    states: list[str]
    actions: list[str]
    payoffs: list[list[float]]
    type_model: dict[str, Any]
    experiments: list[list[list[float]]]
    prices: list[float]
    shares: list[float] | None = None


@register_artifact
class ExperimentMenuMechanism(Mechanism):
    kind = "datamarket_menu"
    outcome_space = "experiments"
    n_bidders = 1

    def __init__(self, states: list[str], actions: list[str], payoffs: np.ndarray, type_model: ir.BuyerType,
                 experiments: np.ndarray, prices: np.ndarray, *, buyer: str = "buyer",
                 shares: np.ndarray | None = None, meta: ArtifactMeta | None = None) -> None:
        self.states, self.actions, self.buyer = list(states), list(actions), buyer
        self.payoffs = np.asarray(payoffs, float)
        self.type_model = type_model
        self.experiments = np.asarray(experiments, float)
        self.prices = np.asarray(prices, float)
        self.shares = None if shares is None else np.asarray(shares, float)
        self.meta = meta or ArtifactMeta()
        A, S = len(self.actions), len(self.states)
        if (self.experiments.ndim != 3 or self.experiments.shape[2] != S or self.payoffs.shape != (A, S)
                or self.prices.shape != (self.experiments.shape[0],)
                or (self.shares is not None and self.shares.shape != self.prices.shape)):
            raise ValueError("experiments (K, G, S), prices (K,), payoffs (A, S) and the state and action names "
                             "do not agree")

    # ---- evaluation ----

    def weights(self, bids: np.ndarray) -> np.ndarray:
        """``(B, S)``: belief times payoff scale of each report, by the artifact's own type copy."""
        x = np.asarray(bids, float).reshape(len(bids), -1)
        beliefs, scales = weights_for(self.states, self.type_model, x)
        return beliefs * scales[:, None]

    def choose(self, bids: np.ndarray) -> np.ndarray:
        w = self.weights(bids)
        return choose(entry_values(w, self.experiments, self.payoffs) - self.prices[None, :], self.prices)

    def allocate_and_pay(self, bids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = self.weights(bids)
        k = choose(entry_values(w, self.experiments, self.payoffs) - self.prices[None, :], self.prices)
        E = self.experiments[k]
        rec = garble(E, best_actions(w, E, self.payoffs), len(self.actions))
        return rec[:, None], self.prices[k][:, None]

    # ---- verifier hooks ----

    def structure(self) -> ExperimentMenu:
        return ExperimentMenu(self.experiments, self.prices, tie_tol=TIE_TOL)

    def offered_outcomes(self) -> OfferedOutcomes:
        return OfferedOutcomes(experiments=self.experiments, prices=self.prices)

    def world(self) -> WorldFacts:
        return WorldFacts(n_bidders=1, outcome_space="experiments", bidders=[self.buyer], states=self.states,
                          actions=self.actions, payoffs=self.payoffs, type_kind=self.type_model.kind,
                          type_models=[self.type_model.model_dump(mode="json")])

    # ---- listing ----

    def experiments_table(self, decimals: int = 4) -> list[dict[str, Any]]:
        """The distinct (experiment, price) entries by price: ``signal_by_state[g][s]`` and its
        transpose; ``probability`` is the share of test types the backend saw buy the entry
        (the backend's figure, None when it recorded none)."""
        groups: dict[tuple, dict[str, Any]] = {}
        for k in np.argsort(self.prices, kind="stable"):
            E = np.round(self.experiments[k], decimals) + 0.0
            p = round(float(self.prices[k]), decimals) + 0.0
            key = (tuple(E.ravel()), p)
            share = None if self.shares is None else float(self.shares[k])
            if key in groups:
                if share is not None:
                    groups[key]["probability"] = (groups[key]["probability"] or 0.0) + share
                continue
            groups[key] = {"price": p, "signals": [f"signal {g + 1}" for g in range(E.shape[0])],
                           "states": list(self.states), "signal_by_state": E.tolist(), "state_by_signal": E.T.tolist(),
                           "informative": bool(np.ptp(E, axis=1).max() > 10 ** (-decimals)), "entry": int(k),
                           "type_range": "chosen by argmax", "probability": share}
        return sorted(groups.values(), key=lambda g: g["price"])

    # ---- serialisation ----

    def data(self) -> dict[str, Any]:
        return {
            "buyer": self.buyer, "states": self.states, "actions": self.actions, "payoffs": self.payoffs.tolist(),
            "type_model": self.type_model.model_dump(mode="json"), "experiments": self.experiments.tolist(),
            "prices": self.prices.tolist(), "shares": None if self.shares is None else self.shares.tolist(),
            "form": "menu; experiments[k][g][s] = P(signal g | state s); outcome in recommendation form",
            "choice": "argmax of value (best action per signal) minus price; ties: highest price, then lowest index",
        }

    @classmethod
    def from_data(cls, data: dict[str, Any], meta: ArtifactMeta, directory: Path) -> ExperimentMenuMechanism:
        d = validated(_MenuData, data, "data market menu")
        t = validated_type(d.type_model)
        return cls(d.states, d.actions, np.asarray(d.payoffs, float), t, np.asarray(d.experiments, float),
                   np.asarray(d.prices, float), buyer=d.buyer,
                   shares=None if d.shares is None else np.asarray(d.shares, float), meta=meta)

    def describe(self) -> str:
        informative = sum(1 for g in self.experiments_table() if g["informative"])
        return (f"data market menu: {len(self.prices)} entries ({informative} distinct informative) for "
                f"{self.type_model.kind} types, chosen by argmax ({len(self.states)} states, {len(self.actions)} actions)")


def validated_type(data: dict[str, Any]) -> ir.BuyerType:
    """A buyer type read from an artifact (an ``ArtifactError`` when malformed)."""
    from pydantic import ValidationError

    from .base import ArtifactError

    try:
        return _TYPE.validate_python(data)
    except ValidationError as e:
        raise ArtifactError(f"buyer type: {e.errors()[0].get('msg')}") from None

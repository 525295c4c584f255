"""What an artifact exposes to the verifier beyond ``allocate_and_pay``, as plain parameters.

An artifact never reports that a property holds (no "weights positive: true", no "null
element: true"): it hands over the numbers its evaluation uses, and the verifier recomputes
every property from them and from the spec, then confirms on sampled reports that the
artifact's outcomes are the ones the structure prescribes.  The hooks that return these
are declared on ``auctionc.mechanism.base.Mechanism``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneBidderMenu:
    """One bidder picks the element of highest utility from a fixed list.

    ``allocations (K, dim)`` in the outcome space and ``prices (K,)``; ties within
    ``tie_tol`` go to the higher price, then to the lower index.  ``null_by_rule`` is True
    when the evaluation always offers a null element (nothing, price 0) besides the list
    (bundle menus); otherwise a null element must be in the list itself.  For reports that
    are not arrays (CATS bid lists) element ``k`` is a lottery over the bundles
    ``supports[k, s]`` (0/1 rows over the items) with probabilities ``probs[k, s]``."""

    allocations: np.ndarray | None
    prices: np.ndarray
    null_by_rule: bool = False
    tie_tol: float = 1e-9
    supports: np.ndarray | None = None
    probs: np.ndarray | None = None


@dataclass(frozen=True)
class PostedItemPrices:
    """One bidder buys the bundle of highest value minus the sum of its items' ``prices
    (m,)``, or nothing; ties within ``tie_tol`` go to the dearer bundle.  It is the menu of
    all 2^m bundles at additive prices, given by its prices because at many items the list
    cannot be written out."""

    prices: np.ndarray
    tie_tol: float = 1e-9


@dataclass(frozen=True)
class AffineMaximizer:
    """Choose the outcome ``k`` maximising ``sum_i weights[i] * v_i . outcomes[k, i] + boosts[k]``
    (ties: lowest index) and charge bidder ``i`` the weighted Clarke payment
    ``(max_k A_-i(k) - A_-i(k*)) / weights[i]``, ``A_-i`` the affine welfare without ``i``."""

    outcomes: np.ndarray
    weights: np.ndarray
    boosts: np.ndarray


@dataclass(frozen=True)
class MenusOfOthers:
    """Each bidder takes its favourite element (ties within ``tie_tol`` to the higher price)
    or nothing from a menu that depends only on the others' reports.  The menus come from
    ``Mechanism.bidder_menus`` and the proof that every combination of favourite elements is
    feasible from ``Mechanism.compatibility_proof``."""

    tie_tol: float = 1e-9


@dataclass(frozen=True)
class ExperimentMenu:
    """One data buyer picks, by argmax, the entry of highest value net of price from a fixed
    list of experiments ``experiments (K, G, S)`` (``P(signal g | state s)``) with ``prices
    (K,)``; its value for an entry is its expected payoff when it takes, on each signal, the
    action best under its posterior.  Ties within ``tie_tol`` go to the higher price, then to
    the lower index.  The outcome is written in recommendation form: the chosen experiment
    with each signal relabelled as the reporting type's best action on it (ties: the lowest
    action index), which keeps the type's value and makes obeying optimal.  A null entry
    (the same distribution of signals in every state, price 0) gives IR."""

    experiments: np.ndarray
    prices: np.ndarray
    tie_tol: float = 1e-9


Structure = OneBidderMenu | PostedItemPrices | AffineMaximizer | MenusOfOthers | ExperimentMenu


@dataclass(frozen=True)
class OfferedOutcomes:
    """Every outcome the mechanism can produce, where that is a finite list.

    Auctions: ``allocations (K, n, dim)`` with ``payments (K, n)`` (None where payments are
    computed from the reports).  Bundle lotteries: ``lotteries (K, S)`` probabilities over the
    support rows (each row must be a distribution).  Data markets: ``experiments (K, A, S)``
    (``P(signal a | state s)``) with ``prices (K,)``."""

    allocations: np.ndarray | None = None
    payments: np.ndarray | None = None
    lotteries: np.ndarray | None = None
    experiments: np.ndarray | None = None
    prices: np.ndarray | None = None


@dataclass(frozen=True)
class WorldFacts:
    """The facts about the world an artifact carries.  The verifier never uses them: it
    compares each one that is given with the same fact computed from the spec and refuses
    the artifact on a disagreement.

    Per bidder lists: ``type_values[i] (T_i, dim)``, ``type_probs[i] (T_i,)`` and
    ``type_grids[i]`` (per-coordinate grids, or None) for finite-type artifacts; data
    markets give ``states``, ``actions``, ``payoffs (A, S)``, ``type_kind``,
    ``type_points (T,)``, ``type_probs`` (one list), ``beliefs (T, S)`` and ``scales (T,)``."""

    n_bidders: int
    outcome_space: str
    dim: int | None = None
    n_items: int | None = None
    items: list[str] | None = None
    bidders: list[str] | None = None
    valuations: list[str] | None = None
    format: dict | None = None
    """A standard format's rule and parameters (name, reserve, entry fee, prices...), as JSON."""
    type_values: list[np.ndarray] | None = None
    type_probs: list[np.ndarray] | None = None
    type_grids: list[list[np.ndarray] | None] | None = None
    states: list[str] | None = None
    actions: list[str] | None = None
    payoffs: np.ndarray | None = None
    type_kind: str | None = None
    type_points: np.ndarray | None = None
    beliefs: np.ndarray | None = None
    scales: np.ndarray | None = None
    type_models: list[dict] | None = None
    """Data markets priced on the continuum: each buyer's type as the IR writes it (JSON)."""
    buyer_actions: list[list[str]] | None = None
    buyer_payoffs: list[np.ndarray] | None = None
    """Data markets with several buyers: each buyer's actions and payoffs ``(A, S)``."""
    externality: float | None = None

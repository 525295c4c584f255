"""The "affine_maximizer" artifact: a lottery affine maximizer auction (lottery AMA).

A fixed list of K outcomes (each a feasible lottery allocation to every bidder), bidder
weights ``w > 0`` and outcome boosts ``lam``.  The mechanism picks the outcome that
maximises the affine welfare ``sum_i w_i v_i . x_k^i + lam_k`` (ties: lowest index) and
charges weighted Clarke payments

    p_i = (max_k A_-i(k) - A_-i(k*)) / w_i,   A_-i(k) = sum_{j != i} w_j v_j . x_k^j + lam_k.

Seen from bidder i it is a menu that depends only on the others' reports: outcome k's
allocation to i at price ``(max A_-i - A_-i(k)) / w_i``; the bidder's utility is the affine
welfare divided by ``w_i`` minus a constant, so every bidder's best element is the
mechanism's outcome and the menus are compatible by construction.  Hence dominant-strategy
IC, feasibility (every outcome is feasible) and, for nonnegative values, ex-post IR
(``u_i = (max_k total - max_k A_-i) / w_i >= 0``).  Numpy (float64) evaluation; a torch
path for gradient-ascent misreports.  ``structure()`` hands the verifier the outcomes, weights
and boosts: it checks the conditions itself and recomputes choices and payments from them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from auctionc.mechanism.base import ArtifactMeta, Mechanism, register_artifact, validated
from auctionc.mechanism.structures import AffineMaximizer, OfferedOutcomes, WorldFacts
from pydantic import BaseModel, ConfigDict


class _AmaData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    items: list[str]
    outcomes: list[list[list[float]]]
    weights: list[float]
    boosts: list[float]
    architecture: dict[str, Any] | None = None


@register_artifact
class AffineMaximizerMechanism(Mechanism):
    kind = "affine_maximizer"
    outcome_space = "items"
    differentiable = True

    def __init__(
        self,
        outcomes: np.ndarray,
        weights: np.ndarray,
        boosts: np.ndarray,
        items: list[str],
        meta: ArtifactMeta | None = None,
        architecture: dict[str, Any] | None = None,
    ) -> None:
        x = np.asarray(outcomes, dtype=float)
        w = np.asarray(weights, dtype=float)
        lam = np.asarray(boosts, dtype=float)
        if x.ndim != 3 or w.shape != (x.shape[1],) or lam.shape != (x.shape[0],):
            raise ValueError("outcomes must be (K, n, m), weights (n,) and boosts (K,)")
        if len(items) != x.shape[2]:
            raise ValueError(f"{len(items)} item names for outcomes over {x.shape[2]} items")
        self.outcomes, self.weights, self.boosts = x, w, lam
        self.n_bidders = x.shape[1]
        self.items = list(items)
        self.meta = meta or ArtifactMeta()
        self.architecture = architecture or {}

    # ---- evaluation ----

    def _terms(self, bids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(B, K, n)`` weighted values of each outcome and ``(B, K)`` affine welfare."""
        # one matrix product per bidder (BLAS) rather than an einsum over four indices
        wv = np.stack([bids[:, i, :] @ self.outcomes[:, i, :].T for i in range(self.n_bidders)], axis=-1)
        wv *= self.weights
        return wv, wv.sum(-1) + self.boosts

    def choose_and_pay(self, bids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of the chosen outcome per profile (ties: lowest index) and ``(B, n)``
        payments."""
        bids = np.asarray(bids, dtype=float)
        wv, total = self._terms(bids)
        k = total.argmax(1)
        rows = np.arange(len(bids))
        pay = np.empty((len(bids), self.n_bidders))
        for i in range(self.n_bidders):
            others = total - wv[..., i]
            pay[:, i] = (others.max(1) - others[rows, k]) / self.weights[i]
        return k, pay

    def allocate_and_pay(self, bids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k, pay = self.choose_and_pay(bids)
        return self.outcomes[k], pay

    def allocate_and_pay_torch(self, bids: Any) -> tuple[Any, Any]:
        """The same mechanism on a torch tensor: the outcome is an argmax, the payments are
        differentiable in the others' reports."""
        import torch

        x = torch.as_tensor(self.outcomes, dtype=bids.dtype, device=bids.device)
        w = torch.as_tensor(self.weights, dtype=bids.dtype, device=bids.device)
        lam = torch.as_tensor(self.boosts, dtype=bids.dtype, device=bids.device)
        wv = torch.einsum("bim,kim->bki", bids, x) * w
        total = wv.sum(-1) + lam
        k = total.argmax(1)
        rows = torch.arange(len(bids), device=bids.device)
        pays = []
        for i in range(self.n_bidders):
            others = total - wv[..., i]
            pays.append((others.max(1).values - others[rows, k]) / w[i])
        return x[k], torch.stack(pays, 1)

    # ---- verifier hooks ----

    def structure(self) -> AffineMaximizer:
        return AffineMaximizer(self.outcomes, self.weights, self.boosts)

    def offered_outcomes(self) -> OfferedOutcomes:
        return OfferedOutcomes(allocations=self.outcomes)

    def world(self) -> WorldFacts:
        return WorldFacts(n_bidders=self.n_bidders, outcome_space=self.outcome_space,
                          dim=int(self.outcomes.shape[2]), items=list(self.items))

    # ---- persistence ----

    def data(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "outcomes": self.outcomes.tolist(),
            "weights": self.weights.tolist(),
            "boosts": self.boosts.tolist(),
            "architecture": self.architecture,
            "rule": "choose the outcome k maximising sum_i weights[i] * (report_i . outcomes[k][i]) + boosts[k]",
            "tie_rule": "lowest outcome index",
            "payments": "bidder i pays (max_k A_-i(k) - A_-i(k*)) / weights[i], A_-i(k) = the affine "
            "welfare of outcome k without bidder i's term",
        }

    @classmethod
    def from_data(cls, data: dict[str, Any], meta: ArtifactMeta, directory: Path) -> AffineMaximizerMechanism:
        d = validated(_AmaData, data, "affine maximizer data")
        return cls(np.asarray(d.outcomes, dtype=float), np.asarray(d.weights, dtype=float),
                   np.asarray(d.boosts, dtype=float), d.items, meta, d.architecture)

    def describe(self) -> str:
        return (f"lottery affine maximizer: {self.n_bidders} bidders, {len(self.outcomes)} outcomes "
                f"over {len(self.items)} items")

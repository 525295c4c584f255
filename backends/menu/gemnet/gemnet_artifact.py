"""The "gemnet" artifact: one menu network per bidder (input: the others' reports), argmax
choice with a null element, plus the price surcharges of the compatibility transform.

Evaluation is numpy (float64) so the artifact loads without torch; the torch path exists for
gradient-ascent misreports.  Weights and surcharges live in a side file (``numpy.load`` with
``allow_pickle=False``, confined to the artifact folder).

For the verifier: ``structure()`` says each bidder chooses from a menu of the others' reports,
``bidder_menus`` gives those menus, and ``compatibility_proof`` re-runs the proof that every
combination of choices is feasible from the weights, grids, surcharges, caps and factors the
evaluation itself uses (which transform, cells / scaling / surcharge, is read from those
parameters, never from the backend's claim).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from auctionc.backends.menu.gemnet.cells import menu_table as cell_menu_table
from auctionc.backends.menu.gemnet.cells import recheck_cells
from auctionc.backends.menu.gemnet.edge_grid import EdgeGrid
from auctionc.backends.menu.gemnet.network_bounds import (
    CLIP_STRETCH,
    TIE_TOL,
    NetWeights,
    forward,
    head_width,
)
from auctionc.backends.menu.gemnet.scale import refine
from auctionc.backends.menu.gemnet.surcharge import Grid, recheck_surcharge
from auctionc.mechanism.base import ArtifactMeta, Mechanism, register_artifact, side_file, validated
from auctionc.mechanism.structures import MenusOfOthers, WorldFacts
from pydantic import BaseModel, ConfigDict

WEIGHTS_FILE = "gemnet_weights.npz"
TIE_TOL = TIE_TOL
DEFAULT_CELL_DEPTH = 3
"""Refinement depth of the cells proof when the artifact records no ``cell_depth`` option."""
DEFAULT_REFINE_BUDGET = 1_000_000
"""Boxes of the scaling proof's refinement when the artifact records no ``refine_budget``."""


class _MenuSpec(BaseModel):
    model_config = ConfigDict(extra="ignore")
    head: str
    elements: int
    hidden_layers: int


class _GemNetData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    weights_file: str
    items: list[str]
    value_scale: float
    menus: list[_MenuSpec]
    architecture: dict[str, Any] | None = None
    grid: dict[str, Any] | None = None
    surcharges: bool = False
    edge_grid: dict[str, Any] | None = None
    factors: bool = False
    margin: float = 0.0
    cells: bool = False
    caps: bool = False


@register_artifact
class GemNetMechanism(Mechanism):
    kind = "gemnet"
    outcome_space = "items"
    differentiable = True

    def __init__(
        self,
        nets: list[NetWeights],
        scale: float,
        items: list[str],
        grid: Grid | None = None,
        surcharge: list[np.ndarray] | None = None,
        meta: ArtifactMeta | None = None,
        architecture: dict[str, Any] | None = None,
        edge_grid: EdgeGrid | None = None,
        factors: list[np.ndarray] | None = None,
        margin: float = 0.0,
        cells: bool = False,
        caps: list[np.ndarray] | None = None,
    ) -> None:
        self.nets = nets
        self.n_bidders = len(nets)
        self.scale = float(scale)
        self.items = list(items)
        self.grid = grid
        self.surcharge = surcharge
        self.meta = meta or ArtifactMeta()
        self.architecture = architecture or {}
        # the scaling transform: the networks see the others' reports clipped at the grid's
        # last finite edge (tails), and bidder i's menu is multiplied by factors[i][cell of
        # the others' reports]
        self.edge_grid = edge_grid
        self.factors = factors
        self.cap = edge_grid.input_cap() if edge_grid is not None else None
        # per-unit surcharge: every element costs margin * (items it allocates) more
        self.margin = float(margin)
        # the cells transform: bidder i's menu is the network at the representative point of
        # the others' edge_grid cell, i.e. a finite table of menus
        self.cells = bool(cells) and edge_grid is not None
        if self.cells:
            # menus are constant on each others-cell: no gradient for a misreport search
            self.differentiable = False
        # the cells repair's allocation caps per (others-cell, element, item)
        self.caps = caps
        self._table: list[tuple[np.ndarray, np.ndarray]] | None = None

    # ---- evaluation ----

    def _inputs(self, bids: np.ndarray, i: int) -> np.ndarray:
        others = [j for j in range(self.n_bidders) if j != i]
        x = bids[:, others, :]
        if self.cap is not None:
            x = np.minimum(x, self.cap[None, others, :])
        return x.reshape(len(bids), -1) / self.scale

    def _factors(self, bids: np.ndarray) -> np.ndarray | None:
        """``(B, n)`` menu scale factor of each bidder (None: no scaling)."""
        if self.factors is None or self.edge_grid is None:
            return None
        own = self.edge_grid.own_index(bids)
        return np.stack([self.factors[i][self.edge_grid.others_index(own, i)] for i in range(self.n_bidders)], 1)

    def _surcharge(self, bids: np.ndarray) -> list[np.ndarray | None]:
        if self.surcharge is None or self.grid is None:
            return [None] * self.n_bidders
        own = self.grid.cell_of(bids)
        return [self.surcharge[i][self.grid.others_index(own, i)] for i in range(self.n_bidders)]

    def menus(self, bids: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each bidder's menu at these reports, null element excluded: allocations
        ``(B, K, m)`` and prices ``(B, K)`` in value units, surcharges and scale factors
        included."""
        bids = np.asarray(bids, dtype=float)
        f = self._factors(bids)
        out = self._raw_menus(bids)
        if f is None:
            return out
        return [(a * f[:, i, None, None], p * f[:, i, None]) for i, (a, p) in enumerate(out)]

    def _raw_menus(self, bids: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """The menus before scaling: scaling by a positive factor keeps every choice, so
        choices are made here (the tie tolerance then does not depend on the factor)."""
        if self.cells:
            own = self.edge_grid.own_index(bids)
            cells = [self.edge_grid.others_index(own, i) for i in range(self.n_bidders)]
            return [(a[c], p[c]) for c, (a, p) in zip(cells, self.menu_table(), strict=True)]
        extra = self._surcharge(bids)
        out = []
        for i, net in enumerate(self.nets):
            a, p = forward(net, self._inputs(bids, i))
            p = p * self.scale + self.margin * a.sum(-1)
            if extra[i] is not None:
                p = p + extra[i]
            out.append((a, p))
        return out

    def menu_table(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Cells transform: every menu the mechanism offers, per bidder and others-cell
        (before the scale factors); the certificate checks exactly these numbers."""
        if self._table is None:
            self._table = cell_menu_table(self.nets, self.scale, self.edge_grid, self.surcharge, self.caps)
        return self._table

    def choices(self, bids: np.ndarray) -> np.ndarray:
        """``(B, n)`` chosen element per bidder; ``K`` is the null element."""
        bids = np.asarray(bids, dtype=float)
        out = []
        for i, (a, p) in enumerate(self._raw_menus(bids)):
            u = np.einsum("bm,bkm->bk", bids[:, i, :], a) - p
            u = np.concatenate([u, np.zeros((len(u), 1))], axis=1)
            price = np.concatenate([p, np.zeros((len(p), 1))], axis=1)
            tied = u >= u.max(1, keepdims=True) - TIE_TOL
            out.append(np.where(tied, price, -np.inf).argmax(1))
        return np.stack(out, axis=1)

    def allocate_and_pay(self, bids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bids = np.asarray(bids, dtype=float)
        B, n, m = bids.shape
        alloc = np.zeros((B, n, m))
        pay = np.zeros((B, n))
        ch = self.choices(bids)
        rows = np.arange(B)
        f = self._factors(bids)
        for i, (a, p) in enumerate(self._raw_menus(bids)):
            take = ch[:, i] < a.shape[1]
            k = np.minimum(ch[:, i], a.shape[1] - 1)
            alloc[:, i, :] = np.where(take[:, None], a[rows, k], 0.0)
            pay[:, i] = np.where(take, p[rows, k], 0.0)
            if f is not None:
                alloc[:, i, :] *= f[:, i, None]
                pay[:, i] *= f[:, i]
        return alloc, pay

    def allocate_and_pay_torch(self, bids: Any) -> tuple[Any, Any]:
        """The same mechanism on a torch tensor; gradients flow through the others' menus
        (the choice itself is an argmax, as in the numpy path)."""
        import torch

        B, n, m = bids.shape
        bids_np = bids.detach().cpu().double().numpy()
        if self.cells:
            # menus are constant on each others-cell: nothing to differentiate through
            alloc, pay = self.allocate_and_pay(bids_np)
            return (torch.as_tensor(alloc, dtype=bids.dtype, device=bids.device),
                    torch.as_tensor(pay, dtype=bids.dtype, device=bids.device))
        extra = self._surcharge(bids_np)
        f = self._factors(bids_np)
        allocs, pays = [], []
        for i, net in enumerate(self.nets):
            others = [j for j in range(n) if j != i]
            x = bids[:, others, :]
            if self.cap is not None:
                x = torch.minimum(x, torch.as_tensor(self.cap[others], dtype=x.dtype, device=x.device))
            h = x.reshape(B, -1) / self.scale
            for W, b in net["trunk"]:
                h = torch.tanh(h @ torch.as_tensor(W, dtype=h.dtype).T + torch.as_tensor(b, dtype=h.dtype))
            Wa, ba = (torch.as_tensor(x, dtype=h.dtype) for x in net["alloc"])
            logits = (h @ Wa.T + ba).reshape(B, net["K"], head_width(net["head"], m))
            if net["head"] == "additive":
                a = torch.sigmoid(logits)
            elif net["head"] == "additive_clipped":
                st = CLIP_STRETCH
                a = torch.clamp((1 + 2 * st) * torch.sigmoid(logits) - st, 0.0, 1.0)
            else:
                a = torch.softmax(logits, -1)
                a = a[..., :-1] if net["head"] == "unit_demand" else a
            Wp, bp = (torch.as_tensor(x, dtype=h.dtype) for x in net["price"])
            p = (h @ Wp.T + bp) * self.scale + self.margin * a.sum(-1)
            if extra[i] is not None:
                p = p + torch.as_tensor(extra[i], dtype=h.dtype, device=p.device)
            u = torch.einsum("bm,bkm->bk", bids[:, i, :], a) - p
            zero = torch.zeros_like(u[:, :1])
            u = torch.cat([u, zero], 1)
            price = torch.cat([p, zero], 1)
            tied = u >= u.max(1, keepdim=True).values - TIE_TOL
            k = torch.where(tied, price, torch.full_like(price, -torch.inf)).argmax(1)
            a_full = torch.cat([a, torch.zeros_like(a[:, :1])], 1)
            ai, pi = a_full[torch.arange(B), k], price[torch.arange(B), k]
            if f is not None:
                fi = torch.as_tensor(f[:, i], dtype=ai.dtype, device=ai.device)
                ai, pi = ai * fi[:, None], pi * fi
            allocs.append(ai)
            pays.append(pi)
        return torch.stack(allocs, 1), torch.stack(pays, 1)

    # ---- verifier hooks ----

    def structure(self) -> MenusOfOthers:
        return MenusOfOthers(tie_tol=TIE_TOL)

    def bidder_menus(self, bids: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        return self.menus(bids)

    def world(self) -> WorldFacts:
        return WorldFacts(n_bidders=self.n_bidders, outcome_space="items", dim=len(self.items), items=list(self.items))

    def compatibility_proof(self, value_box: np.ndarray) -> dict[str, Any] | None:
        """Re-run the proof of the transform whose parameters the artifact carries: the
        cells table (``cells`` with factors), the menu scale factors (``factors``), or the
        price surcharges on a uniform grid; None when it carries none (an uncertified
        GemNet).  Refinement depth and box budget are search budgets taken from the recorded
        options: a different value can make the proof fail, never pass wrongly."""
        opts = self.meta.options or {}
        if self.cells and self.factors is not None:
            out = recheck_cells(self.nets, self.scale, self.edge_grid, self.factors,
                                int(opts.get("cell_depth", DEFAULT_CELL_DEPTH)), self.surcharge, self.caps)
            out["transform"] = "cells"
            return self._covers(value_box, out)
        if self.factors is not None and self.edge_grid is not None:
            # refine while boxes fail and the budget allows (as the certification did), then
            # every box left must be compatible
            ref = refine(self.nets, self.scale, self.edge_grid, self.factors, margin=self.margin,
                         budget=int(opts.get("refine_budget", DEFAULT_REFINE_BUDGET)))
            out = {"ok": bool(len(ref.lo) == 0), "failed_boxes": int(len(ref.lo)),
                   "checked_boxes": int(sum(ref.boxes_per_level)), "depth": ref.depth, "margin": self.margin}
            if not out["ok"]:
                out["reason"] = f"{out['failed_boxes']} boxes of the refinement are not compatible"
            if any(f.min(initial=1.0) < 0 or f.max(initial=0.0) > 1 for f in self.factors):
                out["ok"], out["reason"] = False, "a menu scale factor lies outside [0, 1]"
            out["transform"] = "scaling"
            return self._covers(value_box, out)
        if self.grid is not None and self.surcharge is not None:
            out = recheck_surcharge(self.nets, self.grid, self.scale, self.surcharge)
            out["transform"] = "surcharge"
            covers = bool(
                value_box.shape == self.grid.box.shape
                and (value_box[..., 0] >= self.grid.box[..., 0] - 1e-9).all()
                and (value_box[..., 1] <= self.grid.box[..., 1] + 1e-9).all()
            )
            out["covers_value_space"] = covers
            if not covers:
                out["ok"], out["reason"] = False, "the certified grid does not cover the spec's value space"
            return out
        return None

    def _covers(self, value_box: np.ndarray, out: dict[str, Any]) -> dict[str, Any]:
        """The proof holds on the edge grid: it must cover the spec's value space."""
        covers = bool(value_box.shape[:2] == (self.n_bidders, len(self.items)) and self.edge_grid.covers(value_box))
        out["covers_value_space"] = covers
        if not covers:
            out["ok"], out["reason"] = False, "the certified grid does not cover the spec's value space"
        return out

    # ---- persistence ----

    def save_side_files(self, directory: Path) -> None:
        arrays: dict[str, np.ndarray] = {}
        for i, net in enumerate(self.nets):
            for ell, (W, b) in enumerate(net["trunk"]):
                arrays[f"b{i}_trunk{ell}_W"], arrays[f"b{i}_trunk{ell}_b"] = W, b
            arrays[f"b{i}_alloc_W"], arrays[f"b{i}_alloc_b"] = net["alloc"]
            arrays[f"b{i}_price_W"], arrays[f"b{i}_price_b"] = net["price"]
            if self.surcharge is not None:
                arrays[f"b{i}_surcharge"] = self.surcharge[i]
            if self.factors is not None:
                arrays[f"b{i}_factors"] = self.factors[i]
            if self.caps is not None:
                arrays[f"b{i}_caps"] = self.caps[i]
        np.savez(Path(directory) / WEIGHTS_FILE, **arrays)

    def data(self) -> dict[str, Any]:
        return {
            "weights_file": WEIGHTS_FILE,
            "items": self.items,
            "value_scale": self.scale,
            "menus": [
                {"head": net["head"], "elements": net["K"], "hidden_layers": len(net["trunk"]),
                 "hidden": int(net["trunk"][0][0].shape[0]) if net["trunk"] else 0}
                for net in self.nets
            ],
            "architecture": self.architecture,
            "input": "the other bidders' reports in bidder order, items within, divided by value_scale",
            "choice": "argmax; a null element (zero allocation, zero price) is always offered",
            "tie_rule": "highest price, then lowest index",
            "grid": self.grid.to_json() if self.grid is not None else None,
            "surcharges": self.surcharge is not None,
            "edge_grid": self.edge_grid.to_json() if self.edge_grid is not None else None,
            "factors": self.factors is not None,
            "margin": self.margin,
            "cells": self.cells,
            "caps": self.caps is not None,
            "cells_meaning": "when true, bidder i's menu is the network evaluated at the representative "
            "point of the edge_grid cell of the others' reports (cell centre; the lower edge of a tail cell), "
            "with the price surcharges and allocation caps (per others-cell and element) of the repair",
            "scaling": "bidder i's menu (allocations and prices) is multiplied by its factor for the "
            "edge_grid cell of the others' reports; the networks see the others' reports clipped at "
            "the last finite edge",
        }

    @classmethod
    def from_data(cls, data: dict[str, Any], meta: ArtifactMeta, directory: Path) -> GemNetMechanism:
        d = validated(_GemNetData, data, "gemnet data")
        with np.load(side_file(directory, d.weights_file), allow_pickle=False) as npz:
            z = {k: npz[k] for k in npz.files}
        nets = []
        surcharge = [] if d.surcharges else None
        m = len(d.items)
        for i, spec in enumerate(d.menus):
            trunk = [(z[f"b{i}_trunk{ell}_W"], z[f"b{i}_trunk{ell}_b"]) for ell in range(spec.hidden_layers)]
            nets.append({
                "trunk": trunk,
                "alloc": (z[f"b{i}_alloc_W"], z[f"b{i}_alloc_b"]),
                "price": (z[f"b{i}_price_W"], z[f"b{i}_price_b"]),
                "head": spec.head,
                "K": spec.elements,
                "m": m,
            })
            if surcharge is not None:
                surcharge.append(z[f"b{i}_surcharge"])
        g = d.grid
        grid = Grid(np.asarray(g["box"], dtype=float), int(g["cells_per_coordinate"])) if g else None
        eg = EdgeGrid.from_json(d.edge_grid) if d.edge_grid else None
        factors = [z[f"b{i}_factors"] for i in range(len(nets))] if d.factors else None
        return cls(nets, d.value_scale, d.items, grid, surcharge, meta, d.architecture,
                   edge_grid=eg, factors=factors, margin=d.margin, cells=d.cells,
                   caps=[z[f"b{i}_caps"] for i in range(len(nets))] if d.caps else None)

    def describe(self) -> str:
        K = self.nets[0]["K"] if self.nets else 0
        return f"GemNet: {self.n_bidders} bidders, menus of {K} elements over {len(self.items)} items"

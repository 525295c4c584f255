"""The "gemnet" artifact: one menu network per bidder (input: the others' reports), argmax
choice with a null element, plus the price surcharges of the compatibility transform.

Evaluation is numpy (float64) so the artifact loads without torch; the torch path exists for
the verifier's gradient-ascent misreports.  Weights and surcharges live in a side file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from auctionc.mechanism.base import ArtifactMeta, Mechanism, register_artifact

from . import certify as C

WEIGHTS_FILE = "gemnet_weights.npz"
TIE_TOL = 1e-9


@register_artifact
class GemNetMechanism(Mechanism):
    kind = "gemnet"
    outcome_space = "items"
    differentiable = True

    def __init__(
        self,
        nets: list[C.NetWeights],
        scale: float,
        items: list[str],
        grid: C.Grid | None = None,
        surcharge: list[np.ndarray] | None = None,
        meta: ArtifactMeta | None = None,
        architecture: dict[str, Any] | None = None,
    ) -> None:
        self.nets = nets
        self.n_bidders = len(nets)
        self.scale = float(scale)
        self.items = list(items)
        self.grid = grid
        self.surcharge = surcharge
        self.meta = meta or ArtifactMeta()
        self.architecture = architecture or {}

    # ---- evaluation ----

    def _inputs(self, bids: np.ndarray, i: int) -> np.ndarray:
        others = [j for j in range(self.n_bidders) if j != i]
        return bids[:, others, :].reshape(len(bids), -1) / self.scale

    def _surcharge(self, bids: np.ndarray) -> list[np.ndarray | None]:
        if self.surcharge is None or self.grid is None:
            return [None] * self.n_bidders
        own = self.grid.cell_of(bids)
        return [self.surcharge[i][self.grid.others_index(own, i)] for i in range(self.n_bidders)]

    def menus(self, bids: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each bidder's menu at these reports, null element excluded: allocations
        ``(B, K, m)`` and prices ``(B, K)`` in value units, surcharges included."""
        bids = np.asarray(bids, dtype=float)
        extra = self._surcharge(bids)
        out = []
        for i, net in enumerate(self.nets):
            a, p = C.forward(net, self._inputs(bids, i))
            p = p * self.scale
            if extra[i] is not None:
                p = p + extra[i]
            out.append((a, p))
        return out

    def choices(self, bids: np.ndarray) -> np.ndarray:
        """``(B, n)`` chosen element per bidder; ``K`` is the null element."""
        bids = np.asarray(bids, dtype=float)
        out = []
        for i, (a, p) in enumerate(self.menus(bids)):
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
        for i, (a, p) in enumerate(self.menus(bids)):
            take = ch[:, i] < a.shape[1]
            k = np.minimum(ch[:, i], a.shape[1] - 1)
            alloc[:, i, :] = np.where(take[:, None], a[rows, k], 0.0)
            pay[:, i] = np.where(take, p[rows, k], 0.0)
        return alloc, pay

    def allocate_and_pay_torch(self, bids: Any) -> tuple[Any, Any]:
        """The same mechanism on a torch tensor; gradients flow through the others' menus
        (the choice itself is an argmax, as in the numpy path)."""
        import torch

        B, n, m = bids.shape
        extra = self._surcharge(bids.detach().cpu().double().numpy())
        allocs, pays = [], []
        for i, net in enumerate(self.nets):
            others = [j for j in range(n) if j != i]
            h = bids[:, others, :].reshape(B, -1) / self.scale
            for W, b in net["trunk"]:
                h = torch.tanh(h @ torch.as_tensor(W, dtype=h.dtype).T + torch.as_tensor(b, dtype=h.dtype))
            Wa, ba = (torch.as_tensor(x, dtype=h.dtype) for x in net["alloc"])
            logits = (h @ Wa.T + ba).reshape(B, net["K"], C.head_width(net["head"], m))
            if net["head"] == "additive":
                a = torch.sigmoid(logits)
            else:
                a = torch.softmax(logits, -1)
                a = a[..., :-1] if net["head"] == "unit_demand" else a
            Wp, bp = (torch.as_tensor(x, dtype=h.dtype) for x in net["price"])
            p = (h @ Wp.T + bp) * self.scale
            if extra[i] is not None:
                p = p + torch.as_tensor(extra[i], dtype=h.dtype, device=p.device)
            u = torch.einsum("bm,bkm->bk", bids[:, i, :], a) - p
            zero = torch.zeros_like(u[:, :1])
            u = torch.cat([u, zero], 1)
            price = torch.cat([p, zero], 1)
            tied = u >= u.max(1, keepdim=True).values - TIE_TOL
            k = torch.where(tied, price, torch.full_like(price, -torch.inf)).argmax(1)
            a_full = torch.cat([a, torch.zeros_like(a[:, :1])], 1)
            allocs.append(a_full[torch.arange(B), k])
            pays.append(price[torch.arange(B), k])
        return torch.stack(allocs, 1), torch.stack(pays, 1)

    # ---- verifier hooks ----

    def recheck_certificate(self, spec: Any) -> dict[str, Any] | None:
        cert = self.meta.certificate or {}
        if cert.get("kind") != "exact_by_menu_compatibility":
            return None
        if self.grid is None:
            return {"ok": False, "reason": "the artifact has no certification grid"}
        out = C.check(self.nets, self.grid, self.scale, self.surcharge)
        covers = True
        if spec is not None and getattr(spec, "kind", None) == "auction":
            from auctionc import valuation as V

            need = V.value_bounds(spec)
            covers = bool(
                need.shape == self.grid.box.shape
                and (need[..., 0] >= self.grid.box[..., 0] - 1e-9).all()
                and (need[..., 1] <= self.grid.box[..., 1] + 1e-9).all()
            )
            out["covers_value_space"] = covers
            if not covers:
                out["reason"] = "the certified grid does not cover the spec's value space"
        out["ok"] = bool(out["ok"] and covers)
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
        }

    @classmethod
    def from_data(cls, data: dict[str, Any], meta: ArtifactMeta, directory: Path) -> GemNetMechanism:
        z = np.load(Path(directory) / data["weights_file"])
        nets = []
        has_sur = bool(data.get("surcharges"))
        surcharge = [] if has_sur else None
        m = len(data["items"])
        for i, spec in enumerate(data["menus"]):
            trunk = [
                (z[f"b{i}_trunk{ell}_W"], z[f"b{i}_trunk{ell}_b"]) for ell in range(spec["hidden_layers"])
            ]
            nets.append({
                "trunk": trunk,
                "alloc": (z[f"b{i}_alloc_W"], z[f"b{i}_alloc_b"]),
                "price": (z[f"b{i}_price_W"], z[f"b{i}_price_b"]),
                "head": spec["head"],
                "K": spec["elements"],
                "m": m,
            })
            if surcharge is not None:
                surcharge.append(z[f"b{i}_surcharge"])
        g = data.get("grid")
        grid = C.Grid(np.asarray(g["box"], dtype=float), int(g["cells_per_coordinate"])) if g else None
        return cls(nets, data["value_scale"], data["items"], grid, surcharge, meta, data.get("architecture"))

    def describe(self) -> str:
        K = self.nets[0]["K"] if self.nets else 0
        return f"GemNet: {self.n_bidders} bidders, menus of {K} elements over {len(self.items)} items"

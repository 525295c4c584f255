"""The grid of GemNet's "cells" and "scale" transforms: per bidder and item, increasing cell
edges over the value box (the last edge may be +infinity for an unbounded prior, whose tail
is one extra cell), with the lookups both transforms and the artifact need."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

# --------------------------------------------------------------------------


@dataclass
class EdgeGrid:
    """Cells per bidder and item given by increasing ``edges[i][j]``; a last edge ``inf``
    makes the final cell an unbounded tail."""

    edges: list[list[np.ndarray]]

    @property
    def n(self) -> int:
        return len(self.edges)

    @property
    def m(self) -> int:
        return len(self.edges[0])

    def counts(self, i: int) -> tuple[int, ...]:
        return tuple(len(e) - 1 for e in self.edges[i])

    def own_count(self, i: int) -> int:
        return int(np.prod(self.counts(i)))

    def others(self, i: int) -> list[int]:
        return [j for j in range(self.n) if j != i]

    def others_count(self, i: int) -> int:
        return int(np.prod([self.own_count(j) for j in self.others(i)], dtype=np.int64))

    @property
    def full_cells(self) -> int:
        return int(np.prod([self.own_count(i) for i in range(self.n)], dtype=np.int64))

    def input_cap(self) -> np.ndarray:
        """``(n, m)``: where the networks clip the others' reports (``inf``: no clipping)."""
        cap = np.full((self.n, self.m), np.inf)
        for i in range(self.n):
            for j in range(self.m):
                e = self.edges[i][j]
                if not np.isfinite(e[-1]):
                    cap[i, j] = e[-2]
        return cap

    def own_index(self, values: np.ndarray) -> np.ndarray:
        """``(B, n)`` flat own-cell index of each bidder (values outside the edges are put
        in the first or last cell)."""
        out = np.zeros(values.shape[:2], dtype=np.int64)
        for i in range(self.n):
            cols = []
            for j in range(self.m):
                e = self.edges[i][j]
                cols.append(np.clip(np.searchsorted(e, values[:, i, j], side="right") - 1, 0, len(e) - 2))
            out[:, i] = np.ravel_multi_index(tuple(cols), self.counts(i)) if self.m > 1 else cols[0]
        return out

    def others_index(self, own: np.ndarray, i: int) -> np.ndarray:
        cols = [own[:, j] for j in self.others(i)]
        return np.ravel_multi_index(tuple(cols), tuple(self.own_count(j) for j in self.others(i)))

    def own_boxes(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """``(G_i, m)`` corners of bidder i's own cells (row-major over items)."""
        idx = np.stack(np.unravel_index(np.arange(self.own_count(i)), self.counts(i)), axis=1)
        lo = np.stack([self.edges[i][j][idx[:, j]] for j in range(self.m)], axis=1)
        hi = np.stack([self.edges[i][j][idx[:, j] + 1] for j in range(self.m)], axis=1)
        return lo, hi

    def full_boxes(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes ``(N, n, m)`` and own indices ``(N, n)`` of flat full-cell indices."""
        own = np.stack(np.unravel_index(cells, tuple(self.own_count(i) for i in range(self.n))), axis=1)
        lo = np.zeros((len(cells), self.n, self.m))
        hi = np.zeros_like(lo)
        for i in range(self.n):
            blo, bhi = self.own_boxes(i)
            lo[:, i], hi[:, i] = blo[own[:, i]], bhi[own[:, i]]
        return lo, hi, own

    def covers(self, box: np.ndarray) -> bool:
        """Whether the cells cover ``box (n, m, 2)``."""
        if box.shape != (self.n, self.m, 2):
            return False
        return all(
            self.edges[i][j][0] <= box[i, j, 0] + 1e-9 and self.edges[i][j][-1] >= box[i, j, 1] - 1e-9
            for i in range(self.n) for j in range(self.m)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "edges": [[[float(x) if np.isfinite(x) else None for x in e] for e in row] for row in self.edges],
            "full_cells": self.full_cells,
            "cells_per_coordinate": [list(self.counts(i)) for i in range(self.n)],
            "tail": "an edge null is +infinity: that last cell is the unbounded tail",
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> EdgeGrid:
        return cls([[np.array([np.inf if x is None else x for x in e], dtype=float) for e in row]
                    for row in d["edges"]])


def make_grid(box: np.ndarray, cells: int, unbounded: np.ndarray, cap: np.ndarray | None = None) -> EdgeGrid:
    """Uniform cells per coordinate over ``box (n, m, 2)``; a coordinate flagged
    ``unbounded`` gets its cells on ``[lo, cap]`` and one tail cell ``[cap, inf)``."""
    n, m = box.shape[:2]
    edges = []
    for i in range(n):
        row = []
        for j in range(m):
            lo, hi = box[i, j]
            if unbounded[i, j]:
                top = float(cap[i, j]) if cap is not None else hi
                row.append(np.append(np.linspace(lo, top, cells + 1), np.inf))
            else:
                row.append(np.linspace(lo, hi, cells + 1))
        edges.append(row)
    return EdgeGrid(edges)




def default_cells(n: int, m: int, budget: int = 200_000) -> int:
    """Coarse cells per coordinate: about ``budget`` full-profile cells."""
    return max(2, int(math.floor(budget ** (1.0 / (n * m)) + 1e-9)))


def default_size(m: int) -> int:
    """GemNet's menu elements per bidder when the spec does not say."""
    return 4 if m == 1 else 8 * m

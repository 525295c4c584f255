"""CATS *Regions* and *Arbitrary* (Leyton-Brown, Pearson, Shoham 2000, sections 4.2-4.3),
following the released CATS 2.x generator (``regions.cpp``, ``arbitrary.cpp``).

Regions places the goods on a floor(sqrt(m)) x floor(sqrt(m)) grid (the released code keeps
the requested m; goods past the square have no neighbours and enter bundles only as the
first good or by a jump), removes each horizontal/vertical edge with probability
``remove_neighbor`` and adds one of the two diagonals with probability
``additional_neighbor``.  Arbitrary uses a complete graph with weights d_ij ~ U(0, 1] and
never jumps.

Per bidder: private values p_g (uniform on [-dev*max, dev*max], or normal), the first good
drawn with probability proportional to p_g + dev*max, more goods added while U <= 0.9
(neighbours weighted by that probability, times d_ij in Arbitrary; a uniform jump with
probability ``jump_prob``); value = sum(c_g + p_g) + |S|^(1 + additivity).  Then one
substitute bundle of the same size grown from each good of S; a substitute is kept when its
value is in [0, budget_factor * value] and its common value >= resale_factor * common value
of S; at most ``max_substitutable_bids`` of them, highest values first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .bidset import BidSet, CatsInstance, _check_progress

DEFAULTS: dict[str, Any] = {
    "max_good_value": 100,
    "max_substitutable_bids": 5,
    "remove_neighbor": 0.1,
    "additional_neighbor": 0.2,
    "additional_location": 0.9,
    "jump_prob": 0.05,
    "additivity": 0.2,
    "deviation": 0.5,
    "budget_factor": 1.5,
    "resale_factor": 0.5,
    "normal_mean": 0.0,
    "normal_stdev": 30.0,
    "prices": "uniform",
    "remove_dominated": True,
}


def _draw(weights: np.ndarray, rng: np.random.Generator) -> int:
    """Index drawn with probability proportional to ``weights`` (CATS's cumulative walk)."""
    c = np.cumsum(weights)
    i = int(np.searchsorted(c, rng.random() * c[-1], side="right"))
    return min(i, len(weights) - 1)


class _Generator:
    def __init__(self, m: int, arbitrary: bool, p: dict[str, Any], rng: np.random.Generator) -> None:
        self.m = m
        self.arbitrary = arbitrary
        self.p = p
        self.rng = rng
        self.jump = 0.0 if arbitrary else float(p["jump_prob"])
        self.adj = self._arbitrary_map() if arbitrary else self._grid_map()

    def _grid_map(self) -> np.ndarray:
        m, rng, p = self.m, self.rng, self.p
        n = int(np.floor(np.sqrt(m)))
        while True:
            adj = np.zeros((m, m))

            def connect(i: int, j: int, x: int, y: int, adj: np.ndarray = adj) -> None:
                if 0 <= i < n and 0 <= x < n and 0 <= j < n and 0 <= y < n:
                    a, b = i * n + j, x * n + y
                    adj[a, b] = adj[b, a] = 1.0

            for i in range(n):
                for j in range(n):
                    if rng.random() > p["remove_neighbor"]:
                        connect(i, j, i + 1, j)
                    if rng.random() > p["remove_neighbor"]:
                        connect(i, j, i, j + 1)
                    if rng.random() < p["additional_neighbor"]:
                        if rng.integers(2) == 0:
                            connect(i, j, i + 1, j + 1)
                        else:
                            connect(i + 1, j, i, j + 1)
            # the released code redraws the map until every grid good has a neighbour
            if n * n == 0 or adj[: n * n].sum(axis=1).min() > 0:
                return adj

    def _arbitrary_map(self) -> np.ndarray:
        m = self.m
        d = np.zeros((m, m))
        iu = np.triu_indices(m, 1)
        # U(0, 1]: CATS redraws exact zeros so that no pair has zero weight
        w = 1.0 - self.rng.random(len(iu[0]))
        d[iu] = w
        return d + d.T

    def add_good(self, bundle: list[int], pn: np.ndarray) -> bool:
        m, rng = self.m, self.rng
        if len(bundle) >= m:
            return False
        if rng.random() < self.jump:
            while True:
                g = int(rng.integers(m))
                if g not in bundle:
                    bundle.append(g)
                    return True
        # weight of a candidate: pn of the candidate times its tie to every good already in
        # the bundle (adjacency in Regions, d_ij in Arbitrary)
        w = pn * self.adj[bundle].sum(axis=0)
        w[bundle] = 0.0
        if w.sum() <= 0:
            return False
        bundle.append(_draw(w, rng))
        return True

    def private_values(self, min_p: list[float]) -> tuple[np.ndarray, np.ndarray]:
        p, rng, m = self.p, self.rng, self.m
        if p["prices"] == "normal":
            priv = rng.normal(p["normal_mean"], p["normal_stdev"], m)
            # the released code shifts by the smallest private value seen so far in the run
            min_p[0] = min(min_p[0], float(priv.min()))
            pn = priv - min_p[0]
        else:
            span = p["deviation"] * p["max_good_value"]
            priv = -span + rng.random(m) * 2 * span
            pn = priv + span
        total = pn.sum()
        pn = pn / total if total > 0 else np.full(m, 1.0 / m)
        return priv, pn

    def run(self, num_bids: int) -> BidSet:
        p, rng, m = self.p, self.rng, self.m
        common = rng.random(m) * (p["max_good_value"] - 1) + 1
        bids = BidSet(m, bool(p["remove_dominated"]))
        add_exp = 1.0 + p["additivity"]
        min_p = [p["normal_mean"] + 1000 * p["normal_stdev"]]
        attempts = 0
        while len(bids) < num_bids:
            _check_progress(bids, num_bids, attempts := attempts + 1)
            while True:
                priv, pn = self.private_values(min_p)
                bundle = [_draw(pn, rng)]
                while rng.random() <= p["additional_location"]:
                    self.add_good(bundle, pn)
                value = float((common[bundle] + priv[bundle]).sum() + len(bundle) ** add_exp)
                if value > 0:
                    break
            c_value = float(common[bundle].sum())
            budget = p["budget_factor"] * value
            min_resale = p["resale_factor"] * c_value
            main = frozenset(bundle)
            subs: list[tuple[float, frozenset[int]]] = []
            for g in bundle:
                sb = [g]
                while len(sb) < len(bundle):
                    # a stuck weighted step is retried (a jump eventually succeeds); with no
                    # jumps (Arbitrary has every pair connected) it cannot get stuck
                    if not self.add_good(sb, pn) and self.jump == 0.0:
                        break
                sv = float((common[sb] + priv[sb]).sum() + len(sb) ** add_exp)
                sc = float(common[sb].sum())
                if 0 <= sv <= budget and sc >= min_resale:
                    subs.append((sv, frozenset(sb)))
            valid = [(v, s) for v, s in subs if s != main]
            if not valid:
                bids.add(sorted(main), value)
                continue
            bids.add_xor(sorted(main), value)
            # highest values first; identical bundles are not substitutes of each other
            valid.sort(key=lambda t: -t[0])
            seen: set[frozenset[int]] = set()
            for v, s in valid:
                if len(seen) >= p["max_substitutable_bids"]:
                    break
                if s in seen:
                    continue
                seen.add(s)
                bids.add_xor(sorted(s), v)
            bids.done_xor()
        return bids


def generate(
    m: int, num_bids: int, rng: np.random.Generator, arbitrary: bool, seed: int | None = None, **options: Any
) -> CatsInstance:
    p = {**DEFAULTS, **options}
    if arbitrary:
        p["jump_prob"] = 0.0
    gen = _Generator(m, arbitrary, p, rng)
    return gen.run(num_bids).instance("arbitrary" if arbitrary else "regions", p, seed)

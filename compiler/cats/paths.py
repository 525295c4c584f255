"""CATS *Paths in space* (Leyton-Brown, Pearson, Shoham 2000, section 4.1; ``paths.cpp``):
goods are the roads of a random planar graph; a bidder wants to ship from city A to city B
and bids XOR on its cheapest routes.

Graph: about 1.2 * m / edge_density cities uniform in the unit square; each city builds
roads to its ``initial_connections`` nearest cities, then random city pairs are joined
until there are edge_density roads per city.  Joining two cities builds the direct road:
the released code searches the shortest route with every edge priced at
``building_penalty`` times its length, which always returns the direct road (the paper's
rule, penalising only new roads, cannot reach 3 roads per city on a plane).  Bids: a bidder draws A != B and d ~ U[1, shipping_cost_factor]
and bids on up to ``max_bid_set_size`` simple routes of length below d * |AB| (a
best-first list whose cut-off drops to the worst kept route once full); every route gets
the same amount, the final cut-off, as in the released code.  Once the routes in bids use
m roads, unused roads are deleted so that later bids use the same goods; goods are then
renumbered to the roads that appear in bids, so the instance can have a few more than m.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .bidset import BidSet, CatsInstance

DEFAULTS: dict[str, Any] = {
    "initial_connections": 2,
    "edge_density": 3.0,
    "building_penalty": 1.7,
    "shipping_cost_factor": 1.5,
    "max_bid_set_size": 5,
    "remove_dominated": True,
}


class _Graph:
    def __init__(self, n: int, rng: np.random.Generator, penalty: float) -> None:  # noqa: ARG002
        self.n = n
        self.pts = rng.random((n, 2))
        self.dist = np.sqrt(((self.pts[:, None] - self.pts[None]) ** 2).sum(-1))
        self.road: dict[tuple[int, int], int] = {}
        self.adj: list[set[int]] = [set() for _ in range(n)]
        self.penalty = penalty

    def has(self, a: int, b: int) -> bool:
        return b in self.adj[a]

    def build(self, a: int, b: int) -> bool:
        """Join a and b.  The released code's shortest-route search prices every edge at
        ``building_penalty`` times its length, so by the triangle inequality the route it
        builds is always the direct road; we build that road directly."""
        if self.has(a, b):
            return False
        self.road[(min(a, b), max(a, b))] = len(self.road)
        self.adj[a].add(b)
        self.adj[b].add(a)
        return True

    def connected(self) -> bool:
        seen = {0}
        stack = [0]
        while stack:
            u = stack.pop()
            for v in self.adj[u]:
                if v not in seen:
                    seen.add(v)
                    stack.append(v)
        return len(seen) == self.n

    def edge(self, u: int, v: int) -> int:
        return self.road[(min(u, v), max(u, v))]

    def remove(self, u: int, v: int) -> None:
        self.adj[u].discard(v)
        self.adj[v].discard(u)


def _best_routes(g: _Graph, a: int, b: int, maxcost: float, k: int) -> tuple[list[tuple[float, list[int]]], float]:
    best: list[tuple[float, list[int]]] = []
    bound = [maxcost]
    path = [a]
    on_path = {a}

    def dfs(cost: float) -> None:
        last = path[-1]
        # nearer neighbours first, as the released code sorts adjacency lists
        for nxt in sorted(g.adj[last], key=lambda c: g.dist[b, c]):
            if nxt in on_path:
                continue
            c = cost + g.dist[last, nxt]
            if c + g.dist[nxt, b] >= bound[0]:
                continue
            path.append(nxt)
            if nxt == b:
                best.append((c, list(path)))
                best.sort(key=lambda t: t[0])
                del best[k:]
                if len(best) == k:
                    bound[0] = best[-1][0]
            else:
                on_path.add(nxt)
                dfs(c)
                on_path.discard(nxt)
            path.pop()

    dfs(0.0)
    return best, bound[0]


def generate(m: int, num_bids: int, rng: np.random.Generator, seed: int | None = None, **options: Any) -> CatsInstance:
    p = {**DEFAULTS, **options}
    n_cities = max(3, int(1.2 * m / p["edge_density"]))
    while True:
        if n_cities > 5 * m:
            raise ValueError(
                f"paths: no road graph of about {m} roads supports {num_bids} bids; ask for more bids or fewer goods"
            )
        g = _Graph(n_cities, rng, p["building_penalty"])
        conn = min(int(p["initial_connections"]), n_cities - 1)
        for i in range(n_cities):
            for j in np.argsort(g.dist[i])[1 : conn + 1]:
                g.build(i, int(j))
        idle = 0
        ok = True
        while len(g.road) < n_cities * p["edge_density"]:
            a = int(rng.integers(n_cities))
            b = int(rng.integers(n_cities - 1))
            b += b >= a
            idle = 0 if g.build(a, b) else idle + 1
            if idle > n_cities:
                ok = False
                break
        if not ok:
            n_cities += 1
            continue
        if not g.connected():
            continue
        inst = _bids(g, m, num_bids, p, rng)
        if inst is not None:
            bids, used = inst
            break
        n_cities += 1
    # renumber goods to the roads used in bids (``BidSet::compact``)
    order = sorted(used)
    new = {e: i for i, e in enumerate(order)}
    n_goods = len(order)
    # as in the released code: with several routes per bidder no route can dominate another
    out = BidSet(n_goods, bool(p["remove_dominated"]) and int(p["max_bid_set_size"]) == 1)
    groups: dict[int, list[tuple[list[int], float]]] = {}
    singles: list[tuple[list[int], float]] = []
    for goods, amount, group in bids:
        mapped = [new[e] for e in goods]
        if group is None:
            singles.append((mapped, amount))
        else:
            groups.setdefault(group, []).append((mapped, amount))
    for goods, amount in singles:
        out.add(goods, amount)
    for _, members in sorted(groups.items()):
        for goods, amount in members:
            out.add_xor(goods, amount)
        out.done_xor()
    return out.instance("paths", {**p, "cities": g.n}, seed)


def _bids(
    g: _Graph, m: int, num_bids: int, p: dict[str, Any], rng: np.random.Generator
) -> tuple[list[tuple[list[int], float, int | None]], set[int]] | None:
    bids: list[tuple[list[int], float, int | None]] = []
    used: set[int] = set()
    pruned = False
    group = 0
    while len(bids) < num_bids:
        a = int(rng.integers(g.n))
        b = int(rng.integers(g.n - 1))
        b += b >= a
        d = rng.random() * (p["shipping_cost_factor"] - 1) + 1
        routes, cut = _best_routes(g, a, b, d * g.dist[a, b], int(p["max_bid_set_size"]))
        if not routes:
            continue
        tag = None if len(routes) == 1 else group
        group += tag is not None
        for _, route in routes:
            goods = [g.edge(u, v) for u, v in zip(route, route[1:], strict=False)]
            used.update(goods)
            bids.append((goods, cut, tag))
        if not pruned and len(used) >= m:
            for (u, v), e in list(g.road.items()):
                if e not in used:
                    g.remove(u, v)
            pruned = True
    return (bids, used) if pruned else None

"""The memory of a BundleFlow training step, estimated without torch: the planner asks it
at ``auctionc check`` and ``plan`` time, which must not import torch."""

from __future__ import annotations


def memory_bytes(m: int, menu: int, support: int, batch: int, bids: int, chunk: int = 4096, hidden: int = 128,
                 dtype_bytes: int = 4) -> int:
    """Peak bytes of one training step (forward and backward), the terms that grow with the
    problem: the per-chunk inclusion test (B*K*chunk products and booleans), the value table
    (B*A), the support points and their flow activations (A*(m + 2*hidden), kept for the
    backward pass), the bundles (A*m) and the batch of bids (B*K*m)."""
    a = menu * support
    c = min(chunk, a)
    inclusion = batch * bids * c * (dtype_bytes + 1) + batch * c * dtype_bytes
    table = 3 * batch * a * dtype_bytes
    flow = a * (3 * m + 4 * hidden) * dtype_bytes
    bundles = 2 * a * m * dtype_bytes
    data = batch * bids * (m + 1) * dtype_bytes
    return int(inclusion + table + flow + bundles + data)


def max_items_for_memory(budget_bytes: float, menu: int, support: int, batch: int, bids: int, chunk: int = 4096) -> int:
    """The largest item count whose training step fits ``budget_bytes`` (by ``memory_bytes``)."""
    lo, hi = 1, 1
    while memory_bytes(hi, menu, support, batch, bids, chunk) <= budget_bytes and hi < 1 << 40:
        hi *= 2
    if memory_bytes(lo, menu, support, batch, bids, chunk) > budget_bytes:
        return 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if memory_bytes(mid, menu, support, batch, bids, chunk) <= budget_bytes:
            lo = mid
        else:
            hi = mid
    return lo

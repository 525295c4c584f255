"""CATS *Scheduling* (Leyton-Brown, Pearson, Shoham 2000, section 4.4; ``scheduling.cpp``).

Goods are m time slots of one machine.  A bidder needs a job of length l ~ U{1..max_length}
finished by a first deadline d_1 ~ U{l-1..m-1}; with probability ``prob_additional_deadline``
it also accepts later deadlines d > d_1, worth less.  For each deadline d it bids, XOR, on
every window [s, s+l-1] that ends by d and after the previous deadline, with value
dev * l^(1+additivity) * d_1 / d, dev ~ U[1-deviation, 1+deviation].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .bidset import BidSet, CatsInstance, _check_progress

DEFAULTS: dict[str, Any] = {
    "max_length": 10,
    "deviation": 0.5,
    "prob_additional_deadline": 0.7,
    "additivity": 0.2,
    "remove_dominated": True,
}


def generate(m: int, num_bids: int, rng: np.random.Generator, seed: int | None = None, **options: Any) -> CatsInstance:
    p = {**DEFAULTS, **options}
    bids = BidSet(m, bool(p["remove_dominated"]))
    # the released code assumes max_length <= m (its modulo goes negative otherwise)
    max_len = max(1, min(int(p["max_length"]), m))
    attempts = 0
    while len(bids) < num_bids:
        _check_progress(bids, num_bids, attempts := attempts + 1)
        length = 1 + int(rng.integers(max_len))
        d1 = length - 1 + int(rng.integers(m - length + 1))
        dev = 1 - p["deviation"] + 2 * rng.random() * p["deviation"]
        cur_max = -1
        new_d = d1
        while True:
            value = dev * length ** (1 + p["additivity"]) * d1 / new_d if new_d > 0 else dev * length ** (1 + p["additivity"])
            for start in range(m):
                end = start + length - 1
                if end <= new_d and cur_max < end:
                    bids.add_xor(list(range(start, end + 1)), value)
            cur_max = new_d
            if cur_max == m - 1:
                break
            new_d = cur_max + 1 + int(rng.integers(m - cur_max - 1))
            if not rng.random() <= p["prob_additional_deadline"]:
                break
        bids.done_xor()
    return bids.instance("scheduling", p, seed)

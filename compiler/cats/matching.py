"""CATS *Matching* (Leyton-Brown, Pearson, Shoham 2000, section 4.5; ``matching.cpp``):
takeoff/landing slots at four airports (the FAA's Chicago, Washington National, LaGuardia
and JFK; no flights between the two New York airports).

Good (t-1)*4 + c is time slot t at airport c, t = 1..m/4.  A bidder flies between two
connected airports with a minimum flight time proportional to their distance, wants to
leave at a start time s, and bids XOR on every (takeoff, landing) pair with takeoff in
[s - early_takeoff_deviation, s + late_takeoff_deviation] and landing in
[takeoff + flight time, s + flight time + late_land_deviation], worth
dev * (cost_1 + cost_2) * delay_coeff^delay * amount_late_coeff^late, with airport costs
~ U[0, max_airport_price].  The released code computes ``late`` with ``min(..., 0)``, which
rewards early landings; we follow the paper's definition, max(landing - (s + flight time), 0).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .bidset import BidSet, CatsInstance, _check_progress

DEFAULTS: dict[str, Any] = {
    "max_airport_price": 5,
    "early_takeoff_deviation": 1,
    "late_takeoff_deviation": 2,
    "early_land_deviation": 1,
    "late_land_deviation": 2,
    "deviation": 0.5,
    "delay_coeff": 0.9,
    "amount_late_coeff": 0.75,
    "remove_dominated": True,
}

CITIES = np.array([[-87.75, 41.98333333], [-77.03333333, 38.85], [-73.783333, 40.65], [-73.8666666, 40.76666666]])
MAX_LONGEST_FLIGHT = 10
N_CITIES = 4


def generate(m: int, num_bids: int, rng: np.random.Generator, seed: int | None = None, **options: Any) -> CatsInstance:
    if m % N_CITIES or m < 2 * N_CITIES:
        raise ValueError(f"the matching distribution needs a multiple of 4 goods (at least 8), not {m}")
    p = {**DEFAULTS, **options}
    dist = np.sqrt(((CITIES[:, None, :] - CITIES[None, :, :]) ** 2).sum(-1))
    connected = ~np.eye(N_CITIES, dtype=bool)
    connected[2, 3] = connected[3, 2] = False
    max_l = float(dist[connected].max())
    num_times = m // N_CITIES
    cost = rng.random(N_CITIES) * p["max_airport_price"]
    longest = min(MAX_LONGEST_FLIGHT, num_times - 1)
    bids = BidSet(m, bool(p["remove_dominated"]))
    attempts = 0
    while len(bids) < num_bids:
        _check_progress(bids, num_bids, attempts := attempts + 1)
        c1 = int(rng.integers(N_CITIES))
        while True:
            c2 = int(rng.integers(N_CITIES))
            if connected[c1, c2]:
                break
        # C's Round: half away from zero
        mfl = int(math.floor(longest * dist[c1, c2] / max_l + 0.5))
        start = 1 if num_times == mfl else 1 + int(rng.integers(num_times - mfl))
        dev = 1 - p["deviation"] + 2 * rng.random() * p["deviation"]
        for takeoff in range(max(1, start - p["early_takeoff_deviation"]), min(num_times, start + p["late_takeoff_deviation"]) + 1):
            for land in range(takeoff + mfl, min(start + mfl + p["late_land_deviation"], num_times) + 1):
                late = max(land - (start + mfl), 0)
                delay = max(land - takeoff - mfl, 0)
                value = dev * (cost[c1] + cost[c2]) * p["delay_coeff"] ** delay * p["amount_late_coeff"] ** late
                bids.add_xor([(takeoff - 1) * N_CITIES + c1, (land - 1) * N_CITIES + c2], value)
        bids.done_xor()
    return bids.instance("matching", p, seed)

"""Backend ``lp``: optimal randomised mechanisms over finite type spaces (HiGHS)."""

from __future__ import annotations

from auctionc.backends.exact.common import ExactBackend
from auctionc.plugins import Capabilities


class LPBackend(ExactBackend):
    name = "lp"
    summary = "exact LP over finite (or discretised) type spaces: menus, direct mechanisms, data markets"
    capabilities = Capabilities(
        spec_kinds=frozenset({"auction", "market"}),
        valuations=frozenset({"additive", "unit_demand", "single", "xor"}),
        constraints=frozenset({"IC", "IR", "obedience"}),
        objectives=frozenset({"revenue", "welfare"}),
        method="exact",
    )
    deterministic = False

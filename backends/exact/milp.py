"""Backend ``milp``: optimal deterministic mechanisms over finite type spaces (pulp: CBC or HiGHS)."""

from __future__ import annotations

from auctionc.backends.exact.common import EXACT_OPTIONS, ExactBackend
from auctionc.plugins import Capabilities, OptionSpec


class MILPBackend(ExactBackend):
    name = "milp"
    summary = "exact MILP for `require deterministic` over finite (or discretised) type spaces"
    capabilities = Capabilities(
        spec_kinds=frozenset({"auction"}),
        valuations=frozenset({"additive", "unit_demand", "single", "xor"}),
        constraints=frozenset({"IC", "IR", "deterministic"}),
        objectives=frozenset({"revenue", "welfare"}),
        method="exact",
    )
    options = {
        **EXACT_OPTIONS,
        "solver": OptionSpec(str, "cbc", "MILP solver behind pulp", choices=("cbc", "highs")),
        "max_variables": OptionSpec(int, 20_000, "refuse models with more variables than this", min=1),
    }
    deterministic = True

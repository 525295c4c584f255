"""The work a simulation would do, estimated before it starts: rounds (each kept in memory
as a record for the metrics) and clock ticks (each a decision of every active bidder).

A spec from someone else can ask for ``rounds 1e9`` or a clock with ``increment = 1e-9``; the
planner refuses such a run at ``check``/``plan`` time with the estimate, the limit and the
option that raises it, and ``run_simulation`` checks again with the rounds actually run
(``--rounds`` may differ from the spec's).
"""

from __future__ import annotations

import math
from typing import Any

from auctionc import ir
from auctionc.diagnostics import Diagnostic

BYTES_PER_ROUND = 7_000
"""Peak memory per simulated round, measured with tracemalloc on 20,000 first-price rounds
of 3 and of 10 truthful bidders (6.9 KB and 7.6 KB): the round records the metrics are
computed from, and the summary's working copies."""
MAX_ROUNDS = 200_000
"""Default limit on rounds x repetitions (option ``rounds_limit``): about 1.3 GiB of records."""
MAX_TICKS = 10_000_000
"""Default limit on clock ticks in a run, ticks a round x rounds (option ``ticks_limit``)."""
DRAW_CHUNK = 10_000
"""Rounds whose values are drawn at once: a long simulation draws them chunk by chunk
instead of all up front (``engine.draw_chunks``)."""


def clock_ticks(spec: ir.AuctionSpec) -> float:
    """The most ticks one round of the spec's clock can take (``rules.clock_rules``), as a
    float: infinite when the increment is too small to step over the value range."""
    fmt = spec.mechanism
    if fmt is None or fmt.name not in ("ascending_clock", "dutch"):
        return 1.0
    from auctionc import valuation as V

    bounds = V.value_bounds(spec)[:, 0, :]
    lo, hi = float(bounds[:, 0].min()), float(bounds[:, 1].max())
    if spec.common:
        sig = [V.expr_support(b.signal, spec) for b in spec.bidders if b.signal is not None]
        if sig:
            hi = max(hi, max(s[1] for s in sig))
    span = max(hi - lo, 1e-9)
    inc = fmt.increment if fmt.increment else (1.0 if span >= 20 else span / 100)
    start = fmt.start if fmt.start is not None else (hi if fmt.name == "dutch" else fmt.reserve)
    reach = abs((start - fmt.reserve) if fmt.name == "dutch" else (max(hi, start) - start))
    with_steps = reach / inc if inc > 0 else math.inf
    return with_steps + 2 if math.isfinite(with_steps) else math.inf


def check_work(spec: ir.AuctionSpec, options: dict[str, Any], rounds: int | None = None) -> Diagnostic | None:
    """The first estimate past its limit, as a diagnostic (E0815); None when the run fits."""
    sim = spec.simulate or ir.Simulate()
    r = int(rounds if rounds is not None else sim.rounds)
    total = r * int(sim.repetitions)
    if total > options["rounds_limit"]:
        return Diagnostic(
            "E0815",
            f"the simulation would play {total:,} rounds ({r:,} rounds x {sim.repetitions:,} repetitions), keeping "
            f"about {total * BYTES_PER_ROUND / 2**30:,.1f} GiB of round records, more than rounds_limit = "
            f"{options['rounds_limit']:,}",
            help="lower simulate { rounds } or repetitions, or raise it with -o rounds_limit=N",
            where="simulate.rounds",
        ).with_span(spec)
    ticks = clock_ticks(spec)
    if ticks * total > options["ticks_limit"]:
        shown = "an unbounded number of" if not math.isfinite(ticks) else f"up to {ticks:,.0f}"
        fmt = spec.mechanism
        return Diagnostic(
            "E0815",
            f"the {fmt.name} clock takes {shown} ticks a round (increment {fmt.increment or 'default'} over the "
            f"value range), {ticks * total:,.3g} ticks in {total:,} rounds, more than ticks_limit = {options['ticks_limit']:,}",
            help=f"raise {fmt.name}(increment = ...), lower the rounds, or raise it with -o ticks_limit=N",
            where="mechanism",
        ).with_span(spec)
    return None

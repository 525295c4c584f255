"""Terminal views of simulations, on stderr: the dry run's estimate (``auctionc simulate
--dry-run``) and the metrics of another tool's logs (``auctionc analyze``)."""

from __future__ import annotations

import sys
from typing import Any


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def print_dry_run(est: dict[str, Any]) -> None:
    """The dry run's estimate on the terminal: calls, tokens, cost and time by model (time at
    the rate measured on this machine; none for a model never run here)."""
    def secs(t: float | None) -> str:
        return "not measured here" if t is None else f"{t:,.0f} s ({t / 3600:.2f} h)"

    _err(f"dry run: {est.get('calls', 0):,} model calls, {est.get('prompt_tokens', 0):,} prompt + "
         f"{est.get('completion_tokens', 0):,} completion tokens, ${est.get('cost_usd', 0):.4f}, "
         f"time {secs(est.get('time_s'))}")
    for name, m in (est.get("by_model") or {}).items():
        price = "no price known" if m.get("cost_usd") is None else f"${m['cost_usd']:.4f}"
        _err(f"  {name}: {m.get('calls', 0):,} calls, {m.get('prompt_tokens', 0):,} + {m.get('completion_tokens', 0):,} "
             f"tokens, {price}, time {secs(m.get('time_s'))}")


def print_log_metrics(rows: list[dict[str, Any]], path: str) -> None:
    from rich.console import Console
    from rich.table import Table

    def val(x: Any, pct: bool = False) -> str:
        v = x.get("value", x.get("mean")) if isinstance(x, dict) else x
        if v is None:
            return "—"
        return f"{100 * v:.1f}%" if pct else f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"

    table = Table(title=f"auctionc analyze: {path}")
    for col in ("treatment", "format", "n", "auctions", "Σbid/Σvalue", "mean bid/value", "at value", "over", "under",
                "slope", "efficiency", "revenue", "winner profit", "P(loss)", "final-day raises"):
        table.add_column(col, justify="left" if col in ("treatment", "format") else "right")
    for r in rows:
        b, m = r["behaviour"], r["metrics"]
        ratio = b.get("bid_value_ratio") or {}
        timing = b.get("timing") or {}
        table.add_row(r["treatment"].removeprefix("experiment_logs/").removeprefix("V10/"), r["format"] + ("" if r["information"] == "ipv" else f" ({r['information']})"),
                      str(r["bidders"]), str(r["auctions"]), val(ratio.get("ratio_of_sums")), val(ratio.get("mean")),
                      val(b.get("share_at_value"), True), val(b.get("share_over"), True), val(b.get("share_under"), True),
                      val((b.get("regression") or {}).get("slope")), val(m.get("efficiency"), True), val(m.get("revenue")),
                      val(b.get("winner_profit")), val(b.get("p_winner_loses"), True),
                      val(timing.get("share_on_final_day"), True))
    console = Console(stderr=True)
    if not console.is_terminal:
        console = Console(stderr=True, width=220)  # a log or a pipe: the whole table, unwrapped
    console.print(table)

"""The dry run's arithmetic: the calls a run plans, as tokens, money and time by model,
without calling any model.  The caller lists the calls (it knows its prompts); this module
counts their tokens with litellm's tokenizer, prices them with litellm's table, and times
them at the rate measured on this machine for the model (``call_rates``), one call after
another (a local server has one slot)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import call_rates
from .pricing import count_tokens, price_per_token


@dataclass
class CostEstimate:
    """Planned calls by model; ``add`` one kind of call at a time."""

    by_model: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, model: str, messages: list[dict[str, str]], *, calls: int, completion_tokens: int,
            extra_prompt_tokens: int = 0) -> None:
        """``calls`` calls whose prompt is about ``messages`` (counted once, for each call)
        plus ``extra_prompt_tokens`` in all, answered with ``completion_tokens`` in all."""
        m = self.by_model.setdefault(model, {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0})
        m["calls"] += calls
        m["prompt_tokens"] += count_tokens(model, messages) * calls + extra_prompt_tokens
        m["completion_tokens"] += completion_tokens

    def to_json(self, custom_price: tuple[float, float] | None = None,
                identities: dict[str, str] | None = None) -> dict[str, Any]:
        """``identities``: each model's identity (``model_identity``), whose measured rate times
        the calls; a model never measured here has no time."""
        total_cost = 0.0
        unpriced = []
        total_time: float | None = 0.0
        for name, m in self.by_model.items():
            rate = call_rates.fitted_rate((identities or {}).get(name, name))
            m["rate"] = rate
            m["time_s"] = (round(call_rates.estimate_seconds(rate, m["calls"], m["prompt_tokens"], m["completion_tokens"]), 1)
                           if rate is not None else None)
            total_time = None if total_time is None or m["time_s"] is None else total_time + m["time_s"]
            price = price_per_token(name, custom_price)
            if price is None:
                unpriced.append(name)
                m["cost_usd"] = None
                continue
            m["cost_usd"] = m["prompt_tokens"] * price[0] + m["completion_tokens"] * price[1]
            total_cost += m["cost_usd"]
        return {
            "calls": int(sum(m["calls"] for m in self.by_model.values())),
            "prompt_tokens": int(sum(m["prompt_tokens"] for m in self.by_model.values())),
            "completion_tokens": int(sum(m["completion_tokens"] for m in self.by_model.values())),
            "cost_usd": round(total_cost, 6),
            "time_s": round(total_time, 1) if total_time is not None and self.by_model else None,
            "unpriced_models": unpriced,
            "by_model": self.by_model,
        }

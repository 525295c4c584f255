"""The dry run's arithmetic: the calls a run plans, as tokens and money by model, without
calling any model.  The caller lists the calls (it knows its prompts); this module counts
their tokens with litellm's tokenizer and prices them with litellm's table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

    def to_json(self, custom_price: tuple[float, float] | None = None) -> dict[str, Any]:
        total_cost = 0.0
        unpriced = []
        for name, m in self.by_model.items():
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
            "unpriced_models": unpriced,
            "by_model": self.by_model,
        }

"""The hard money cap on model calls.

A call is dispatched only when its worst-case cost (its prompt counted with litellm's
tokenizer, plus a margin, and ``max_tokens`` of completion) and that of every call in flight
fit what is left of ``max_cost``; the calls made and in flight stay within ``max_calls``.  A
model litellm has no price for has an unknown cost: under ``max_cost`` it is refused before
the first call unless the caller prices it or bounds the calls.
"""

from __future__ import annotations

from auctionc.diagnostics import Diagnostic
from auctionc.errors import BackendError

from .pricing import count_tokens, price_per_token

PROMPT_MARGIN = 1.25
"""Prompt tokens are counted before a call with litellm's tokenizer for the model; the worst
case a call is charged against the budget adds this margin (and 32 tokens), since a
provider's own tokenizer may count a few more."""


class BudgetExhausted(Exception):
    """The next call would not fit the budget; ``reason`` is "max_cost" or "max_calls"."""

    def __init__(self, reason: str = "max_cost"):
        super().__init__(reason)
        self.reason = reason


class CallBudget:
    """``max_cost`` (USD) and ``max_calls``, both hard; ``custom_price`` prices models
    litellm's table lacks (never replacing the table's price)."""

    def __init__(self, max_cost: float | None = None, max_calls: int | None = None,
                 custom_price: tuple[float, float] | None = None):
        self.max_cost = max_cost
        self.max_calls = max_calls
        self.custom_price = custom_price
        self.spent = 0.0
        """USD of the calls made."""
        self.calls = 0
        """Calls made (answered)."""
        self.reserved = 0.0
        """The worst-case cost of the calls in flight."""
        self.in_flight = 0

    def price(self, model: str) -> tuple[float, float] | None:
        return price_per_token(model, self.custom_price)

    def check_models(self, models: set[str]) -> None:
        """Refuse to start when ``max_cost`` cannot bound the run: a model without a price has
        an unknown cost, which only ``max_calls`` bounds (E0813)."""
        if self.max_cost is None or self.max_calls is not None:
            return
        unpriced = sorted(m for m in models if self.price(m) is None)
        if unpriced:
            raise BackendError(Diagnostic(
                "E0813",
                f"--max-cost cannot bound model {', '.join(unpriced)}: litellm's price table lacks it, so its cost is unknown",
                help="give its price (simulate { input_cost_per_token 1e-6  output_cost_per_token 2e-6 }) or bound the "
                     "number of calls with --max-calls N",
            ))

    def worst_cost(self, model: str, messages: list[dict[str, str]], max_tokens: int) -> float | None:
        price = self.price(model)
        if price is None:
            return None
        prompt = count_tokens(model, messages) * PROMPT_MARGIN + 32
        return prompt * price[0] + max_tokens * price[1]

    def admit(self, model: str, messages: list[dict[str, str]], max_tokens: int) -> float:
        """Admit one call, or raise ``BudgetExhausted``.  Returns the amount reserved, to hand
        back to ``settle`` when the call ends (answered or failed)."""
        if self.max_calls is not None and self.calls + self.in_flight >= self.max_calls:
            raise BudgetExhausted("max_calls")
        worst = 0.0
        if self.max_cost is not None:
            w = self.worst_cost(model, messages, max_tokens)
            worst = w if w is not None else 0.0  # unpriced: bounded by max_calls (check_models)
            if self.spent + self.reserved + worst > self.max_cost:
                raise BudgetExhausted("max_cost")
        self.reserved += worst
        self.in_flight += 1
        return worst

    def release(self, reserved: float) -> None:
        """A call admitted with ``reserved`` has ended (its cost, if any, is ``charge``d)."""
        self.reserved -= reserved
        self.in_flight -= 1

    def charge(self, cost: float) -> None:
        self.calls += 1
        self.spent += cost

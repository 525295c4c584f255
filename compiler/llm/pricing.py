"""What a model call costs: litellm's price table and tokenizer.

litellm is imported on the first use only: ``auctionc plan`` and backends that never call a
model must stay cheap to import.
"""

from __future__ import annotations

import os
from typing import Any


def litellm_module() -> Any:
    """litellm, set up for reproducible offline use."""
    # The remote price map would be fetched at import time: offline machines wait for a
    # timeout, and results would depend on the day; the bundled map is reproducible.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    litellm.drop_params = True
    return litellm


def price_per_token(model: str, custom: tuple[float, float] | None = None) -> tuple[float, float] | None:
    """(input, output) USD per token from litellm's price table; for a model the table lacks,
    ``custom`` (a price the caller was given, e.g. a spec's input_cost_per_token and
    output_cost_per_token); None if neither.  A custom price never replaces the table's: a
    spec cannot make a priced model look free."""
    litellm = litellm_module()
    for name in (model, model.split("/", 1)[-1]):
        try:
            p, c = litellm.cost_per_token(model=name, prompt_tokens=1_000_000, completion_tokens=1_000_000)
            return p / 1e6, c / 1e6
        except Exception:
            continue
    return custom


def count_tokens(model: str, messages: list[dict[str, str]]) -> int:
    """Prompt tokens of ``messages`` by litellm's tokenizer for ``model``."""
    return int(litellm_module().token_counter(model=model, messages=messages))


def supports_schema(model: str) -> bool:
    """Whether litellm says the provider enforces a reply schema for ``model``."""
    try:
        return bool(litellm_module().supports_response_schema(model))
    except Exception:
        return False

"""The LLM engine: how auctionc calls language models, shared by every backend that has
model-played agents (the simulation's bidders, the course-allocation students...).

A backend keeps its prompts and what a reply means; this package keeps how a model is
called.  The interface::

    from auctionc.llm import LLMEngine, ModelConfig, CallBudget, BudgetExhausted

    cfg = ModelConfig("openai/gpt-4o-mini", temperature=0.5, max_tokens=200)
    with LLMEngine.open(out / "llm_cache.sqlite", out / "transcript.jsonl",
                        budget=CallBudget(max_cost=1.0), concurrency=4) as engine:
        engine.check_budget({cfg.model})          # E0813 before any call
        reply, convo = await engine.ask(cfg, messages, name="bid", schema=schema,
                                        replicate={"run": "x", "round": 3, "agent": 1})

* ``LLMEngine.ask`` sends the messages (the last one gets a format instruction), reads the
  reply against a flat JSON object schema (``reply_text.read_reply``: JSON, a fenced block
  or ``<key>`` tags; amounts as plain numbers, ``amounts``), asks again after an unreadable
  reply, and returns what it read (or None) with the conversation so far.
* Replies are cached (``reply_cache``: sqlite, keyed by model, parameters, messages and the
  caller's ``replicate`` id) and every call is written to the transcript (``transcript``),
  never with a key.
* ``CallBudget`` is the hard cap: a call is dispatched only when its worst case and every
  call in flight fit ``max_cost``, and the calls stay within ``max_calls``.
* ``endpoints`` decides which servers get the user's credentials (loopback gets none; an
  endpoint only a spec names is refused unless trusted); ``local_server`` runs the bundled
  llama.cpp model (``serve_local_model``, ``find_local_gguf``); ``cost_estimate`` prices
  the calls a dry run plans; ``pricing`` wraps litellm's price table and tokenizer.

Imports are lazy: importing ``auctionc.llm`` loads neither litellm nor llama.cpp.
"""

from __future__ import annotations

from typing import Any

_API = {
    "LLMEngine": "model_calls",
    "ModelConfig": "model_calls",
    "CallStats": "model_calls",
    "LOCAL_KEY": "model_calls",
    "CallBudget": "call_budget",
    "BudgetExhausted": "call_budget",
    "PROMPT_MARGIN": "call_budget",
    "ResponseCache": "reply_cache",
    "cache_key": "reply_cache",
    "TranscriptWriter": "transcript",
    "read_reply": "reply_text",
    "object_schema": "reply_text",
    "read_amount": "amounts",
    "CostEstimate": "cost_estimate",
    "price_per_token": "pricing",
    "count_tokens": "pricing",
    "check_endpoint": "endpoints",
    "is_loopback": "endpoints",
    "serve_local_model": "local_server",
    "find_local_gguf": "local_server",
    "free_port": "local_server",
    "LocalServer": "local_server",
    "DEFAULT_LOCAL_MODEL": "local_server",
    "DEFAULT_API_BASE": "local_server",
}


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    raise AttributeError(name)


__all__ = list(_API)

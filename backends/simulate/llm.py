"""LLM bidders' call configuration: what an ``agent llm(...)`` of the spec becomes.  The
calls themselves go through the compiler's shared engine (``auctionc.llm``); the prompt
templates are in ``templates``, the reply schemas and parser in ``replies``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auctionc import ir
from auctionc.backends.simulate.prompt_set import INTERVENTIONS, language_code
from auctionc.diagnostics import Diagnostic
from auctionc.errors import BackendError
from auctionc.llm.endpoints import is_loopback
from auctionc.llm.local_server import DEFAULT_API_BASE, DEFAULT_LOCAL_MODEL
from auctionc.llm.model_calls import ModelConfig
from auctionc.llm.pricing import supports_schema


@dataclass(frozen=True)
class LLMConfig:
    """An LLM bidder: how its calls are made (``call``) and how it is prompted."""

    call: ModelConfig
    reasoning: str
    prompt: str
    language: str
    currency: str
    prompt_text: str | None = None
    """The text of a prompt file the spec names, as the front end read it (None for the
    bundled prompts)."""

    @property
    def model(self) -> str:
        return self.call.model

    @property
    def api_base(self) -> str | None:
        return self.call.api_base

    @property
    def structured(self) -> bool:
        return self.call.structured

    @property
    def max_tokens(self) -> int:
        return self.call.max_tokens


BUNDLED_PROMPTS = ("default", *INTERVENTIONS)


def llm_config(agent: ir.LLMAgent, model: str | None, api_base: str | None, max_tokens: int | None,
               response_format: str = "auto", prompt_texts: dict[str, str] | None = None) -> LLMConfig:
    """The call configuration of an LLM agent.  ``response_format``: "json_schema" (the
    provider enforces the reply schema), "text" (tags or JSON read from free text) or "auto"
    (a schema where litellm says the model supports one, and for loopback servers)."""
    m = model or agent.model or DEFAULT_LOCAL_MODEL
    base = api_base or agent.api_base or (DEFAULT_API_BASE if m == DEFAULT_LOCAL_MODEL else None)
    if response_format == "auto":
        structured = is_loopback(base) or supports_schema(m)
    else:
        structured = response_format == "json_schema"
    mt = max_tokens or (700 if agent.reasoning == "cot" else 200)
    text = None
    if agent.prompt not in BUNDLED_PROMPTS:
        text = (prompt_texts or {}).get(agent.prompt)
        if text is None:
            raise BackendError(Diagnostic(
                "E0808", f"prompt '{agent.prompt}' was not read from the spec's folder",
                help="a prompt file is named in a .auction file and read, beside it, when the spec is loaded; "
                     "a spec from JSON (an artifact's spec.json) can use only the bundled prompts: "
                     + ", ".join(BUNDLED_PROMPTS)))
    call = ModelConfig(m, base, agent.temperature, mt, structured)
    return LLMConfig(call, agent.reasoning, agent.prompt, language_code(agent.language), agent.currency, text)


def call_params(cfg: LLMConfig, step: Any, seed: int) -> dict[str, Any]:
    """The parameters of one call of ``step`` (the cache key's part that shapes the reply)."""
    return cfg.call.params(step.name, step.schema, seed)

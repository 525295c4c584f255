"""LLM bidders: each agent's call configuration and the call engine (litellm, a
content-addressed sqlite cache, a JSONL transcript, retries, cost and a hard budget).  The
prompt templates are in ``templates``, the reply schemas and parser in ``replies``.

litellm is imported on the first real call only: the backend must stay cheap to
import for ``auctionc plan``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auctionc import ir
from auctionc.backends.simulate.local_llm import (
    DEFAULT_API_BASE,
    DEFAULT_LOCAL_MODEL,
    is_loopback,
    server_reachable,
)
from auctionc.backends.simulate.replies import (  # noqa: F401 - re-exported: the public names of LLM replies
    MAX_REPLY_CHARS,
    Step,
    format_instruction,
    make_step,
    parse_reply,
)
from auctionc.backends.simulate.templates import currency_name, money, prompt_text, render  # noqa: F401
from auctionc.diagnostics import Diagnostic
from auctionc.errors import BackendError

_LOCAL_KEY = "sk-local-no-key"
"""Loopback servers need no key, but the OpenAI client insists on one; never a real key."""


# --------------------------------------------------------------------------
# Prompts
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Agent configuration
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class LLMConfig:
    model: str
    api_base: str | None
    temperature: float
    reasoning: str
    prompt: str
    language: str
    currency: str
    max_tokens: int
    structured: bool
    prompt_text: str | None = None
    """The text of a prompt file the spec names, as the front end read it (None for the
    bundled prompts)."""

    def params(self, step: Step, seed: int) -> dict[str, Any]:
        """The call parameters that shape the reply (part of the cache key)."""
        p: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": seed}
        if self.structured:
            p["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": step.name, "schema": step.schema, "strict": True},
            }
        return p


BUNDLED_PROMPTS = ("default", "nash_deviation", "dominant_strategy")


def llm_config(agent: ir.LLMAgent, model: str | None, api_base: str | None, max_tokens: int | None,
               response_format: str = "auto", prompt_texts: dict[str, str] | None = None) -> LLMConfig:
    """The call configuration of an LLM agent.  ``response_format``: "json_schema" (the
    provider enforces the reply schema), "text" (tags or JSON read from free text) or "auto"
    (a schema where litellm says the model supports one, and for loopback servers)."""
    m = model or agent.model or DEFAULT_LOCAL_MODEL
    base = api_base or agent.api_base or (DEFAULT_API_BASE if m == DEFAULT_LOCAL_MODEL else None)
    if response_format == "auto":
        structured = is_loopback(base) or _supports_schema(m)
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
    return LLMConfig(m, base, agent.temperature, agent.reasoning, agent.prompt, agent.language, agent.currency, mt,
                     structured, text)


def _supports_schema(model: str) -> bool:
    try:
        litellm = _litellm()
        return bool(litellm.supports_response_schema(model))
    except Exception:
        return False


def _litellm():
    # The remote price map would be fetched at import time: offline machines wait for a
    # timeout, and results would depend on the day; the bundled map is reproducible.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    litellm.drop_params = True
    return litellm


def price_per_token(model: str, custom: tuple[float, float] | None = None) -> tuple[float, float] | None:
    """(input, output) USD per token from litellm's price table; for a model the table lacks,
    ``custom`` (the input_cost_per_token/output_cost_per_token options); None if neither.
    A custom price never replaces the table's: a spec cannot make a priced model look free."""
    litellm = _litellm()
    for name in (model, model.split("/", 1)[-1]):
        try:
            p, c = litellm.cost_per_token(model=name, prompt_tokens=1_000_000, completion_tokens=1_000_000)
            return p / 1e6, c / 1e6
        except Exception:
            continue
    return custom


def count_tokens(model: str, messages: list[dict[str, str]]) -> int:
    return int(_litellm().token_counter(model=model, messages=messages))


# --------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------


def cache_key(model: str, params: dict[str, Any], messages: list[dict[str, str]], replicate: dict[str, Any]) -> str:
    doc = {"model": model, "params": params, "messages": messages, "replicate": replicate}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class ResponseCache:
    """sqlite, one row per reply, committed at once so an interruption loses nothing paid."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path))
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, model TEXT, content TEXT,"
            " prompt_tokens INTEGER, completion_tokens INTEGER, cost REAL, latency REAL, created REAL)"
        )
        self.db.commit()

    def get(self, key: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT content, prompt_tokens, completion_tokens, cost, latency FROM replies WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        return {"content": row[0], "prompt_tokens": row[1], "completion_tokens": row[2], "cost": row[3], "latency": row[4]}

    def put(self, key: str, model: str, content: str, pt: int, ct: int, cost: float, latency: float) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, model, content, pt, ct, cost, latency, time.time()),
        )
        self.db.commit()

    def close(self) -> None:
        self.db.close()


# --------------------------------------------------------------------------
# The call engine
# --------------------------------------------------------------------------


class BudgetExhausted(Exception):
    """The next call would not fit the budget; ``reason`` is "max_cost" or "max_calls"."""

    def __init__(self, reason: str = "max_cost"):
        super().__init__(reason)
        self.reason = reason


PROMPT_MARGIN = 1.25
"""Prompt tokens are counted before a call with litellm's tokenizer for the model; the worst
case a call is charged against the budget adds this margin (and 32 tokens), since a
provider's own tokenizer may count a few more."""


@dataclass
class CallStats:
    model_calls: int = 0
    cache_hits: int = 0
    failed_parses: int = 0
    failed_calls: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    unpriced_models: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {
            "model_calls": self.model_calls,
            "cache_hits": self.cache_hits,
            "failed_parses": self.failed_parses,
            "failed_calls": self.failed_calls,
            "retries": self.retries,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost_usd, 8),
            "seconds_per_model_call": round(self.latency_s / self.model_calls, 4) if self.model_calls else None,
            "unpriced_models": sorted(self.unpriced_models),
        }


def _diag(code: str, message: str, help: str) -> BackendError:
    return BackendError(Diagnostic(code, message, help=help))


def _unreachable(cfg: LLMConfig) -> BackendError:
    where = cfg.api_base or "the provider"
    hint = ("start the local model with `auctionc serve-model` (or pass --api-base)" if is_loopback(cfg.api_base)
            else "check the network and --api-base")
    return _diag("E0804", f"could not reach the model server at {where}", hint)


class LLMEngine:
    """Makes (or replays) every model call of a simulation."""

    def __init__(
        self,
        cache: ResponseCache,
        transcript: Path,
        *,
        concurrency: int = 4,
        max_cost: float | None = None,
        max_calls: int | None = None,
        parse_retries: int = 2,
        api_retries: int = 3,
        timeout: float = 120.0,
        custom_price: tuple[float, float] | None = None,
        logged_keys: set[str] | None = None,
        backoff: float = 2.0,
    ):
        self.cache = cache
        self.transcript_path = transcript
        transcript.parent.mkdir(parents=True, exist_ok=True)
        self._fh = transcript.open("a", encoding="utf-8")
        self.sem = asyncio.Semaphore(max(1, concurrency))
        self.max_cost = max_cost
        self.max_calls = max_calls
        self.reserved = 0.0
        """The worst-case cost of the calls in flight."""
        self.in_flight = 0
        self.parse_retries = parse_retries
        self.api_retries = api_retries
        self.timeout = timeout
        self.custom_price = custom_price
        self.logged = logged_keys if logged_keys is not None else set()
        self.backoff = backoff
        self.stats = CallStats()
        self._checked_env: set[str] = set()

    def close(self) -> None:
        self._fh.close()

    def _log(self, line: dict[str, Any]) -> None:
        self._fh.write(json.dumps(line, default=str) + "\n")
        self._fh.flush()

    def check_budget(self, models: set[str]) -> None:
        """Refuse to start when ``--max-cost`` cannot bound the run: a model without a price
        (litellm's table lacks it and no input_cost_per_token/output_cost_per_token is given)
        has an unknown cost, which only ``--max-calls`` bounds."""
        if self.max_cost is None or self.max_calls is not None:
            return
        unpriced = sorted(m for m in models if price_per_token(m, self.custom_price) is None)
        if unpriced:
            raise _diag(
                "E0813",
                f"--max-cost cannot bound model {', '.join(unpriced)}: litellm's price table lacks it, so its cost is unknown",
                "give its price (simulate { input_cost_per_token 1e-6  output_cost_per_token 2e-6 }) or bound the "
                "number of calls with --max-calls N",
            )

    def _worst_cost(self, cfg: LLMConfig, msgs: list[dict[str, str]]) -> float | None:
        price = price_per_token(cfg.model, self.custom_price)
        if price is None:
            return None
        prompt = count_tokens(cfg.model, msgs) * PROMPT_MARGIN + 32
        return prompt * price[0] + cfg.max_tokens * price[1]

    def _reserve(self, cfg: LLMConfig, msgs: list[dict[str, str]]) -> float:
        """Admit one call, or raise ``BudgetExhausted``: a call is dispatched only when its
        worst-case cost and that of every call in flight fit what is left of --max-cost, and
        the calls made and in flight stay within --max-calls.  Returns the amount reserved."""
        if self.max_calls is not None and self.stats.model_calls + self.in_flight >= self.max_calls:
            raise BudgetExhausted("max_calls")
        worst = 0.0
        if self.max_cost is not None:
            w = self._worst_cost(cfg, msgs)
            worst = w if w is not None else 0.0  # unpriced: bounded by --max-calls (check_budget)
            if self.stats.cost_usd + self.reserved + worst > self.max_cost:
                raise BudgetExhausted("max_cost")
        self.reserved += worst
        self.in_flight += 1
        return worst

    def _check_env(self, cfg: LLMConfig) -> None:
        if cfg.model in self._checked_env or is_loopback(cfg.api_base):
            return
        env = _litellm().validate_environment(model=cfg.model)
        if not env.get("keys_in_environment", True):
            missing = ", ".join(env.get("missing_keys", [])) or "the provider's API key"
            raise _diag(
                "E0801",
                f"no API key for model {cfg.model}: {missing} is not set",
                f"export {missing.split(',')[0]}=... (keys are read from the environment and never written to transcripts), or use the local model: auctionc serve-model",
            )
        self._checked_env.add(cfg.model)

    async def ask(
        self, cfg: LLMConfig, messages: list[dict[str, str]], step: Step, replicate: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
        """Ask until the reply parses (bounded); returns (parsed or None, messages
        extended with the exchange, for the next step of the same turn)."""
        msgs = list(messages)
        msgs[-1] = {"role": "user", "content": msgs[-1]["content"] + "\n" + format_instruction(step, cfg.structured)}
        for attempt in range(self.parse_retries + 1):
            rep = {**replicate, "step": step.name, "attempt": attempt}
            raw = await self._call(cfg, msgs, step, rep)
            parsed = parse_reply(step, raw)
            if parsed is not None:
                msgs = msgs + [{"role": "assistant", "content": raw or ""}]
                return parsed, msgs
            self.stats.failed_parses += 1
            msgs = msgs + [
                {"role": "assistant", "content": raw or ""},
                {"role": "user", "content": render("reminder", format=format_instruction(step, cfg.structured))},
            ]
        return None, msgs

    async def _call(self, cfg: LLMConfig, msgs: list[dict[str, str]], step: Step, rep: dict[str, Any]) -> str | None:
        seed = int(hashlib.sha256(json.dumps(rep, sort_keys=True).encode()).hexdigest()[:8], 16) % (2**31)
        params = cfg.params(step, seed)
        key = cache_key(cfg.model, params, msgs, rep)
        hit = self.cache.get(key)
        line = {"key": key, **rep, "model": cfg.model, "messages": msgs, "retry": rep["attempt"] > 0}
        if hit is not None:
            self.stats.cache_hits += 1
            if key not in self.logged:
                self.logged.add(key)
                parsed = parse_reply(step, hit["content"])
                self._log({**line, "raw": hit["content"], "parsed": parsed, "prompt_tokens": hit["prompt_tokens"],
                           "completion_tokens": hit["completion_tokens"], "cost_usd": 0.0,
                           "original_cost_usd": hit["cost"], "latency_s": 0.0, "cache_hit": True})
            return hit["content"]
        self._check_env(cfg)
        async with self.sem:
            reserved = self._reserve(cfg, msgs)
            try:
                content, pt, ct, latency = await self._complete(cfg, msgs, params, line)
            finally:
                self.reserved -= reserved
                self.in_flight -= 1
        price = price_per_token(cfg.model, self.custom_price)
        if price is None:
            self.stats.unpriced_models.add(cfg.model)
            cost = 0.0
        else:
            cost = pt * price[0] + ct * price[1]
        self.stats.model_calls += 1
        self.stats.retries += rep["attempt"] > 0
        self.stats.prompt_tokens += pt
        self.stats.completion_tokens += ct
        self.stats.cost_usd += cost
        self.stats.latency_s += latency
        self.cache.put(key, cfg.model, content, pt, ct, cost, latency)
        self.logged.add(key)
        self._log({**line, "raw": content, "parsed": parse_reply(step, content), "prompt_tokens": pt,
                   "completion_tokens": ct, "cost_usd": cost, "latency_s": round(latency, 4), "cache_hit": False})
        return content

    async def _complete(
        self, cfg: LLMConfig, msgs: list[dict[str, str]], params: dict[str, Any], line: dict[str, Any]
    ) -> tuple[str, int, int, float]:
        litellm = _litellm()
        kwargs: dict[str, Any] = {"model": cfg.model, "messages": msgs, "timeout": self.timeout, **params}
        if cfg.api_base:
            kwargs["api_base"] = cfg.api_base
        if is_loopback(cfg.api_base):
            kwargs["api_key"] = _LOCAL_KEY
            if cfg.model == DEFAULT_LOCAL_MODEL:
                # llama.cpp reuses the KV cache of a shared prompt prefix by default, and a
                # prefix processed in another batch size gives other logits: with the reuse a
                # seeded rerun is not reproducible (seen in CI: one bid in 18 differed)
                kwargs["extra_body"] = {"cache_prompt": False}
        last: Exception | None = None
        for k in range(self.api_retries + 1):
            t0 = time.perf_counter()
            try:
                resp = await litellm.acompletion(**kwargs)
            except (litellm.RateLimitError, litellm.Timeout, litellm.ServiceUnavailableError,
                    litellm.InternalServerError) as e:
                last = e
                self.stats.failed_calls += 1
                if cfg.api_base and not server_reachable(cfg.api_base):
                    # litellm reports a refused connection as a server error; retrying cannot help.
                    self._log({**line, "error": "unreachable", "api_attempt": k, "cache_hit": False})
                    raise _unreachable(cfg) from e
                self._log({**line, "error": type(e).__name__, "api_attempt": k, "cache_hit": False})
                if k < self.api_retries:
                    await asyncio.sleep(self.backoff * 2**k)
                continue
            except litellm.AuthenticationError as e:
                raise _diag("E0801", f"the provider rejected the API key for model {cfg.model}",
                            "check the key in your environment (it is never written to transcripts)") from e
            except litellm.APIConnectionError as e:
                raise _unreachable(cfg) from e
            except (litellm.NotFoundError, litellm.BadRequestError) as e:
                raise _diag("E0806", f"the provider refused the request for model {cfg.model}: {str(e)[:200]}",
                            "check the model name (e.g. openai/gpt-4o-mini) and --api-base") from e
            latency = time.perf_counter() - t0
            content = resp.choices[0].message.content or ""
            usage = getattr(resp, "usage", None)
            pt = int(getattr(usage, "prompt_tokens", 0) or 0)
            ct = int(getattr(usage, "completion_tokens", 0) or 0)
            return content, pt, ct, latency
        if last is not None and isinstance(last, litellm.RateLimitError):
            raise _diag("E0802", f"the provider kept rate-limiting model {cfg.model} after {self.api_retries + 1} tries",
                        "wait and rerun with --resume (finished calls are cached), or lower --concurrency") from last
        raise _diag("E0803", f"model {cfg.model} timed out or failed {self.api_retries + 1} times in a row",
                    "rerun with --resume (finished calls are cached); a local server may need fewer concurrent calls") from last

"""The model-calling engine every LLM feature shares: ``LLMEngine.ask`` sends a conversation
to a model through litellm, reads the reply against a JSON schema (asking again, bounded,
when it is unreadable), replays replies from the cache, writes the transcript, and keeps
the hard budget and the call statistics.

The caller owns the prompts and what a reply means; the engine owns how a model is called.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auctionc.diagnostics import Diagnostic
from auctionc.errors import BackendError

from . import call_rates
from .call_budget import BudgetExhausted, CallBudget
from .endpoints import is_loopback, server_reachable
from .local_server import DEFAULT_LOCAL_MODEL
from .model_identity import model_identity
from .pricing import litellm_module
from .reply_cache import ResponseCache, cache_key
from .reply_text import default_instruction, read_reply
from .transcript import TranscriptWriter

LOCAL_KEY = "sk-local-no-key"
"""Loopback servers need no key, but the OpenAI client insists on one; never a real key."""


@dataclass(frozen=True)
class ModelConfig:
    """How one caller's calls are made: the model (a litellm name), where it is served, and
    the parameters that shape a reply.  ``structured``: the reply schema is sent as
    ``response_format`` for the provider to enforce."""

    model: str
    api_base: str | None = None
    temperature: float = 0.5
    max_tokens: int = 200
    structured: bool = False

    def params(self, name: str, schema: dict[str, Any], seed: int) -> dict[str, Any]:
        """The call parameters that shape the reply (part of the cache key)."""
        p: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": seed}
        if self.structured:
            p["response_format"] = {"type": "json_schema",
                                    "json_schema": {"name": name, "schema": schema, "strict": True}}
        return p


@dataclass
class CallStats:
    model_calls: int = 0
    cache_hits: int = 0
    stale_version_hits: int = 0
    failed_parses: int = 0
    failed_calls: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    """Seconds the model worked on the calls (a llama.cpp server's own timings; else the time
    from sending a call to its reply), without any wait in a queue."""
    queue_s: float = 0.0
    """Seconds calls waited: for a free slot here (``concurrency``) and, on a local server
    that reports its timings, for the server."""
    unpriced_models: set[str] = field(default_factory=set)
    served: dict[str, set[str]] = field(default_factory=dict)
    """The versions each provider said served each model."""

    def to_json(self) -> dict[str, Any]:
        n = self.model_calls
        return {
            "model_calls": n,
            "cache_hits": self.cache_hits,
            "stale_version_hits": self.stale_version_hits,
            "failed_parses": self.failed_parses,
            "failed_calls": self.failed_calls,
            "retries": self.retries,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost_usd, 8),
            "seconds_per_model_call": round(self.latency_s / n, 4) if n else None,
            "queue_seconds_per_model_call": round(self.queue_s / n, 4) if n else None,
            "served_models": {k: sorted(v) for k, v in self.served.items()},
            "unpriced_models": sorted(self.unpriced_models),
        }


def _diag(code: str, message: str, help: str) -> BackendError:
    return BackendError(Diagnostic(code, message, help=help))


def _unreachable(cfg: ModelConfig) -> BackendError:
    where = cfg.api_base or "the provider"
    hint = ("start the local model with `auctionc serve-model` (or pass --api-base)" if is_loopback(cfg.api_base)
            else "check the network and --api-base")
    return _diag("E0804", f"could not reach the model server at {where}", hint)


Parse = Callable[[str | None], dict[str, Any] | None]


class LLMEngine:
    """Makes (or replays) every model call of a run.

    ``cache``: the reply cache; ``transcript``: where each call is logged; ``budget``: the
    hard cap (``CallBudget``); ``concurrency``: calls at once; ``parse_retries``: re-asks
    after an unreadable reply; ``api_retries``: retries after rate limits and timeouts."""

    def __init__(
        self,
        cache: ResponseCache,
        transcript: TranscriptWriter,
        *,
        budget: CallBudget | None = None,
        concurrency: int = 4,
        parse_retries: int = 2,
        api_retries: int = 3,
        timeout: float = 120.0,
        backoff: float = 2.0,
    ):
        self.cache = cache
        self.transcript = transcript
        self.budget = budget or CallBudget()
        self.sem = asyncio.Semaphore(max(1, concurrency))
        self.parse_retries = parse_retries
        self.api_retries = api_retries
        self.timeout = timeout
        self.backoff = backoff
        self.stats = CallStats()
        self._checked_env: set[str] = set()
        self._identity: dict[tuple[str, str | None], str] = {}
        self._served: dict[str, str] = {}
        """The version each requested model is served as in this run (from its first call)."""
        self._timings: dict[str, list[tuple[int, int, float]]] = {}
        self.record_rates = True
        """Whether this run's compute times are kept for dry-run time estimates (``call_rates``)."""

    @classmethod
    def open(cls, cache_path: Path, transcript_path: Path, *, resume: bool = False, **kw: Any) -> LLMEngine:
        """An engine with its cache and transcript opened (``close`` closes both)."""
        return cls(ResponseCache(cache_path), TranscriptWriter.open(transcript_path, resume), **kw)

    def close(self) -> None:
        if self.record_rates:
            call_rates.record(self._timings)
        self._timings = {}
        self.transcript.close()
        self.cache.close()

    def identity(self, cfg: ModelConfig) -> str:
        """The model's identity in cache keys (``model_identity``), looked up once per run."""
        key = (cfg.model, cfg.api_base)
        if key not in self._identity:
            self._identity[key] = model_identity(cfg.model, cfg.api_base)
        return self._identity[key]

    def __enter__(self) -> LLMEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_budget(self, models: set[str]) -> None:
        """Refuse before any call a budget that cannot bound these models (E0813)."""
        self.budget.check_models(models)

    def _check_env(self, cfg: ModelConfig) -> None:
        if cfg.model in self._checked_env or is_loopback(cfg.api_base):
            return
        env = litellm_module().validate_environment(model=cfg.model)
        if not env.get("keys_in_environment", True):
            missing = ", ".join(env.get("missing_keys", [])) or "the provider's API key"
            raise _diag(
                "E0801",
                f"no API key for model {cfg.model}: {missing} is not set",
                f"export {missing.split(',')[0]}=... (keys are read from the environment and never written to transcripts), or use the local model: auctionc serve-model",
            )
        self._checked_env.add(cfg.model)

    async def ask(
        self,
        cfg: ModelConfig,
        messages: list[dict[str, str]],
        *,
        schema: dict[str, Any],
        name: str,
        replicate: dict[str, Any],
        parse: Parse | None = None,
        instruction: str | None = None,
        reminder: str | None = None,
        language: str = "en",
    ) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
        """Ask until the reply parses (at most ``parse_retries`` re-asks).

        ``schema``: the reply's flat JSON object schema; ``name``: what is asked (transcripts,
        ``response_format``); ``replicate``: the caller's id of this draw (part of the cache
        key: which run, round, agent...); ``parse``: reads a reply (default: ``read_reply``
        against the schema, amounts in ``language``'s conventions); ``instruction``: appended to the last message (default: an
        English format instruction); ``reminder``: sent after an unreadable reply.  Returns
        (what was read or None, the messages extended with the exchange, for a follow-up
        question in the same conversation).  Raises ``BudgetExhausted`` when the next call
        would pass the budget, ``BackendError`` (E0801-E0806) when the provider fails."""
        read = parse or (lambda raw: read_reply(schema, raw, language))
        how = instruction if instruction is not None else default_instruction(schema, cfg.structured)
        again = reminder if reminder is not None else f"Your reply could not be read. {how}"
        msgs = list(messages)
        msgs[-1] = {"role": "user", "content": msgs[-1]["content"] + "\n" + how}
        for attempt in range(self.parse_retries + 1):
            rep = {**replicate, "step": name, "attempt": attempt}
            raw = await self._call(cfg, msgs, name, schema, rep, read)
            parsed = read(raw)
            if parsed is not None:
                return parsed, msgs + [{"role": "assistant", "content": raw or ""}]
            self.stats.failed_parses += 1
            msgs = msgs + [{"role": "assistant", "content": raw or ""}, {"role": "user", "content": again}]
        return None, msgs

    async def _call(self, cfg: ModelConfig, msgs: list[dict[str, str]], name: str, schema: dict[str, Any],
                    rep: dict[str, Any], read: Parse) -> str | None:
        seed = int(hashlib.sha256(json.dumps(rep, sort_keys=True).encode()).hexdigest()[:8], 16) % (2**31)
        params = cfg.params(name, schema, seed)
        identity = self.identity(cfg)
        key = cache_key(identity, params, msgs, rep)
        hit = self.cache.get(key)
        line = {"key": key, **rep, "model": cfg.model, "messages": msgs, "retry": rep["attempt"] > 0}
        if identity != cfg.model:
            line["model_identity"] = identity
        served_now = self._served.get(cfg.model)
        if hit is not None and served_now is not None and hit.get("served_model") not in (None, served_now):
            self.stats.stale_version_hits += 1  # another version answered this prompt: ask again
            hit = None
        if hit is not None:
            self.stats.cache_hits += 1
            if key not in self.transcript.logged:
                self.transcript.logged.add(key)
                self.transcript.write({**line, "raw": hit["content"], "parsed": read(hit["content"]),
                                       "prompt_tokens": hit["prompt_tokens"], "completion_tokens": hit["completion_tokens"],
                                       "cost_usd": 0.0, "original_cost_usd": hit["cost"], "latency_s": 0.0,
                                       "cache_hit": True})
            return hit["content"]
        self._check_env(cfg)
        waited = time.perf_counter()
        async with self.sem:
            waited = time.perf_counter() - waited
            reserved = self.budget.admit(cfg.model, msgs, cfg.max_tokens)
            try:
                content, pt, ct, latency, server_wait, served = await self._complete(cfg, msgs, params, line)
            finally:
                self.budget.release(reserved)
        if served:
            self._served.setdefault(cfg.model, served)
            self.stats.served.setdefault(cfg.model, set()).add(served)
        self.stats.queue_s += waited + server_wait
        self._timings.setdefault(identity, []).append((pt, ct, round(latency, 4)))
        price = self.budget.price(cfg.model)
        if price is None:
            self.stats.unpriced_models.add(cfg.model)
            cost = 0.0
        else:
            cost = pt * price[0] + ct * price[1]
        self.budget.charge(cost)
        self.stats.model_calls += 1
        self.stats.retries += rep["attempt"] > 0
        self.stats.prompt_tokens += pt
        self.stats.completion_tokens += ct
        self.stats.cost_usd += cost
        self.stats.latency_s += latency
        self.cache.put(key, cfg.model, content, pt, ct, cost, latency, served)
        self.transcript.logged.add(key)
        self.transcript.write({**line, "raw": content, "parsed": read(content), "prompt_tokens": pt,
                               "completion_tokens": ct, "cost_usd": cost, "latency_s": round(latency, 4),
                               "queue_s": round(waited + server_wait, 4), "served_model": served, "cache_hit": False})
        return content

    async def _complete(
        self, cfg: ModelConfig, msgs: list[dict[str, str]], params: dict[str, Any], line: dict[str, Any]
    ) -> tuple[str, int, int, float, float, str | None]:
        """(reply, prompt tokens, completion tokens, seconds of work, seconds the server kept the
        call waiting, the version the provider says served it)."""
        litellm = litellm_module()
        kwargs: dict[str, Any] = {"model": cfg.model, "messages": msgs, "timeout": self.timeout, **params}
        if cfg.api_base:
            kwargs["api_base"] = cfg.api_base
        if is_loopback(cfg.api_base):
            kwargs["api_key"] = LOCAL_KEY
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
                    self.transcript.write({**line, "error": "unreachable", "api_attempt": k, "cache_hit": False})
                    raise _unreachable(cfg) from e
                self.transcript.write({**line, "error": type(e).__name__, "api_attempt": k, "cache_hit": False})
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
            wall = time.perf_counter() - t0
            content = resp.choices[0].message.content or ""
            usage = getattr(resp, "usage", None)
            pt = int(getattr(usage, "prompt_tokens", 0) or 0)
            ct = int(getattr(usage, "completion_tokens", 0) or 0)
            work = _server_work_seconds(resp)
            latency = min(work, wall) if work is not None else wall
            served = getattr(resp, "model", None)
            return content, pt, ct, latency, wall - latency, served if isinstance(served, str) else None
        if last is not None and isinstance(last, litellm.RateLimitError):
            raise _diag("E0802", f"the provider kept rate-limiting model {cfg.model} after {self.api_retries + 1} tries",
                        "wait and rerun with --resume (finished calls are cached), or lower --concurrency") from last
        raise _diag("E0803", f"model {cfg.model} timed out or failed {self.api_retries + 1} times in a row",
                    "rerun with --resume (finished calls are cached); a local server may need fewer concurrent calls") from last


def _server_work_seconds(resp: Any) -> float | None:
    """The seconds a llama.cpp server says it spent on the prompt and the reply (its
    ``timings``), which leave out the time the call waited for a free slot; None for
    providers that do not say."""
    extra = getattr(resp, "model_extra", None) or {}
    t = extra.get("timings") if isinstance(extra, dict) else None
    if not isinstance(t, dict):
        return None
    try:
        return (float(t.get("prompt_ms", 0.0)) + float(t.get("predicted_ms", 0.0))) / 1000.0
    except (TypeError, ValueError):
        return None


__all__ = ["LLMEngine", "ModelConfig", "CallStats", "BudgetExhausted", "CallBudget", "LOCAL_KEY"]

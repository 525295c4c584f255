"""Setting up the LLM proxy for a run: which proxy (the spec's ``proxy llm(...)``, or the
defaults under ``--llm``), how its calls are made (``ModelConfig``: the model, the server, the
reply format), the engine with its reply cache, transcript and hard budget, and the dry run's
call and token estimate.  Everything model-related goes through ``auctionc.llm``; the calls
themselves are made in ``llm_proxy``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from auctionc import ir
from auctionc.diagnostics import Diagnostic
from auctionc.errors import PlanError

from .llm_proxy import LLMSession, ProxySettings

COT_MAX_TOKENS = 600
"""Completion tokens of a chain-of-thought vote (reasoning, then the JSON answer)."""
PLAIN_MAX_TOKENS = 120
"""Completion tokens of a plain vote (the JSON answer alone)."""


def llm_proxy_of(spec: ir.AssignmentSpec, llm: bool) -> ir.LLMProxy | None:
    """The run's LLM proxy: the spec's, or with ``--llm`` the default one in place of the
    spec's oracle (or of no proxy); None when the run has no LLM proxy."""
    proxy = spec.students.proxy
    if proxy is not None and proxy.kind == "llm":
        return proxy
    return ir.LLMProxy() if llm else None


def model_config(proxy: ir.LLMProxy, model: str | None, api_base: str | None, options: dict[str, Any]) -> Any:
    """How the proxy's calls are made: ``--model``/``--api-base`` over the spec's, else the
    bundled local model; replies under a JSON schema where the provider enforces one (every
    loopback server, and models litellm says support it) unless ``response_format`` says."""
    from auctionc.llm import DEFAULT_API_BASE, DEFAULT_LOCAL_MODEL, ModelConfig, is_loopback
    from auctionc.llm.pricing import supports_schema

    name = model or proxy.model or DEFAULT_LOCAL_MODEL
    base = api_base or proxy.api_base or (DEFAULT_API_BASE if name == DEFAULT_LOCAL_MODEL else None)
    how = options.get("response_format", "auto")
    structured = (is_loopback(base) or supports_schema(name)) if how == "auto" else how == "json_schema"
    tokens = options.get("max_tokens") or (COT_MAX_TOKENS if proxy.reasoning == "cot" else PLAIN_MAX_TOKENS)
    return ModelConfig(name, base, proxy.temperature, int(tokens), structured)


def proxy_settings(proxy: ir.LLMProxy, cfg: Any) -> ProxySettings:
    return ProxySettings(votes=proxy.votes, reasoning=proxy.reasoning, description=proxy.description,
                         omit=proxy.omit, structured=cfg.structured, interface=proxy.interface)


def _cache_file(out_dir: Path, name: Any, user_path: str | Path | None, spec: Any) -> Path:
    """The reply cache (``cache_location``); a spec's file outside the output directory is E0853."""
    from auctionc.confine import OutsideFolder
    from auctionc.llm.reply_cache import cache_location

    try:
        return cache_location(out_dir, name, user_path)
    except OutsideFolder as e:
        raise PlanError(Diagnostic(
            "E0853", f"{e}: the spec's cache file must lie in the output directory",
            help="write a file name such as cache \"replies.sqlite\", or pass the path on the command line with "
                 "--cache PATH", where="simulate.cache",
        ).with_span(spec)) from None


@contextmanager
def llm_session(spec: ir.AssignmentSpec, proxy: ir.LLMProxy, cfg: Any, options: dict[str, Any], out_dir: Path, *,
                cli_api_base: str | None, max_cost: float | None, max_calls: int | None,
                cache_path: str | Path | None, concurrency: int, resume: bool) -> Iterator[LLMSession]:
    """The engine (reply cache, ``transcript.jsonl`` in ``out_dir``, hard budget) and the
    session the instances' proxies share; both closed on exit."""
    from auctionc.llm import CallBudget, LLMEngine
    from auctionc.llm.endpoints import check_endpoint

    # an endpoint only the spec names gets no credentials: refused unless trusted
    check_endpoint(proxy.api_base, cli_api_base, who="the students' llm proxy")
    custom_price = None
    if options.get("input_cost_per_token") or options.get("output_cost_per_token"):
        custom_price = (float(options.get("input_cost_per_token") or 0.0),
                        float(options.get("output_cost_per_token") or 0.0))
    out_dir.mkdir(parents=True, exist_ok=True)
    engine = LLMEngine.open(
        _cache_file(out_dir, options.get("cache"), cache_path, spec), out_dir / "transcript.jsonl", resume=resume,
        budget=CallBudget(max_cost, max_calls, custom_price), concurrency=concurrency,
        parse_retries=int(options.get("parse_retries", 2)), api_retries=int(options.get("api_retries", 3)),
        timeout=float(options.get("timeout", 120.0)),
    )
    try:
        engine.check_budget({cfg.model})
        with LLMSession(engine, cfg, proxy_settings(proxy, cfg), run=spec.name) as session:
            yield session
    finally:
        engine.close()


def estimate(spec: ir.AssignmentSpec, proxy: ir.LLMProxy, cfg: Any, options: dict[str, Any]) -> dict[str, Any]:
    """The dry run's figures for the proxy's calls, without calling a model: instances x
    students x queries x votes calls (plus instances x students x votes for the interface
    report with ``interface``; re-asks after unreadable replies come on top), their
    prompt tokens counted on each student's own description with two schedules of her
    demand, and at most ``max_tokens`` completion tokens each (so the cost is an upper
    bound for the completions)."""
    from auctionc.llm import CostEstimate

    from .descriptions import describe
    from .llm_proxy import DESCRIPTION_STREAM
    from .preferences import generate_instance
    from .prompting import interface_messages, query_messages

    sim = spec.simulate
    est = CostEstimate()
    per_student = sim.queries * proxy.votes
    for k in range(sim.instances):
        seed = sim.seed + k
        inst = generate_instance(spec, seed)
        d = inst.demand
        for j, p in enumerate(inst.students):
            text = describe(p, d, proxy.description, proxy.omit,
                            np.random.default_rng([seed, DESCRIPTION_STREAM, j])).text
            order = [int(c) for c in np.argsort(-p.base, kind="stable")]
            msgs = query_messages(text, inst.names, tuple(order[:d]), tuple(order[d:2 * d]), proxy.reasoning,
                                  structured=cfg.structured)
            est.add(cfg.model, msgs, calls=per_student, completion_tokens=per_student * cfg.max_tokens)
            if proxy.interface:
                # the interface report: one call per vote, about 4 tokens per course's value
                est.add(cfg.model, interface_messages(text, inst.names), calls=proxy.votes,
                        completion_tokens=proxy.votes * (8 + 8 * len(inst.names)))
    custom = None
    if options.get("input_cost_per_token") or options.get("output_cost_per_token"):
        custom = (float(options.get("input_cost_per_token") or 0.0), float(options.get("output_cost_per_token") or 0.0))
    out = est.to_json(custom)
    out["completion_tokens_at_most"] = out.pop("completion_tokens")
    out["cost_usd_at_most"] = out.pop("cost_usd")
    return out

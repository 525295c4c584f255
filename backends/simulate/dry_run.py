"""The dry run of a simulation: the model calls, tokens, cost and time a run would need,
without calling any model."""

from __future__ import annotations

import asyncio
from typing import Any

from auctionc import ir
from auctionc.backends.simulate import rules as format_rules
from auctionc.backends.simulate.llm_agent import LLMAgent
from auctionc.backends.simulate.strategies import Agent, RoundView, RuleAgent
from auctionc.backends.simulate.theory import info_model

COMPLETION_TOKENS = {"reflection": 80, "plan": 80, "bid": 12, "bid_only": 12, "combined": 150}
"""Completion tokens a plain (not chain-of-thought) step is assumed to take; chain of thought
triples them."""


def _identity(a: LLMAgent) -> str:
    from auctionc.llm.endpoints import is_loopback
    from auctionc.llm.local_server import DEFAULT_LOCAL_MODEL, find_local_gguf
    from auctionc.llm.model_identity import model_identity

    if a.cfg.model == DEFAULT_LOCAL_MODEL and is_loopback(a.cfg.api_base):
        gguf = find_local_gguf()  # the bundled model the run would start
        return model_identity(a.cfg.model, None, gguf) if gguf is not None else a.cfg.model
    return model_identity(a.cfg.model, a.cfg.api_base)


def estimate_calls(
    spec: ir.AuctionSpec, agents: list[Agent], draws: list, rules: format_rules.ClockRules | None, R: int, S: int,
    custom_price: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Calls, tokens, cost and time a run would need, without calling any model.

    Sealed formats: the exact number of calls (retries aside).  Clocks and eBay: the ticks or
    days the same auctions take with value-bidding (truthful proxies) in place of every LLM
    agent, one call per active LLM bidder per tick or day."""
    from auctionc.backends.simulate.engine import RoundRecord, _play_round, history_for
    from auctionc.llm.cost_estimate import CostEstimate

    fmt = spec.mechanism
    assert fmt is not None
    llm_idx = [i for i, a in enumerate(agents) if isinstance(a, LLMAgent)]
    est = CostEstimate()
    if not llm_idx:
        return est.to_json()
    proxies = [a if not a.is_llm else RuleAgent(ir.Truthful(), fmt, info_model(spec), S) for a in agents]
    for e, (values, obs, common) in enumerate(draws):
        fake: list[RoundRecord] = []
        for r in range(R):
            rec = asyncio.run(_play_round(spec, proxies, e, r, values[r], obs[r],
                                          None if common is None else float(common[r]), fake, S, rules, R))
            for i in llm_idx:
                a = agents[i]
                assert isinstance(a, LLMAgent)
                view = RoundView(e, r, i, float(obs[r][i]), history_for(fake, i, fmt))
                if fmt.name in format_rules.SEALED_NAMES:
                    steps = a.sealed_steps(r)
                    msgs = [{"role": "system", "content": a.system},
                            {"role": "user", "content": a.history_text(view) + a.observation(view)}]
                    n_calls = len(steps)
                    out_tok = sum(COMPLETION_TOKENS[s.name] for s in steps)
                else:
                    msgs = [{"role": "system", "content": a.system},
                            {"role": "user", "content": a.history_text(view) + a.observation(view) + " tick"}]
                    if fmt.name == "ascending_clock":
                        quit_tick = rec.ticks if rec.bids[i] is None else next(
                            k for k in range(rec.ticks + 1) if rules is not None and rules.price(k) >= rec.bids[i] - 1e-9)
                        n_calls = min(quit_tick + 1, rec.ticks)
                        out_tok = 12 * n_calls
                    elif fmt.name == "ebay":
                        n_calls = rec.ticks  # one turn a day
                        out_tok = 80 * n_calls  # a plan and the action
                    else:
                        n_calls = rec.ticks
                        out_tok = 12 * n_calls
                if a.cfg.reasoning == "cot":
                    out_tok *= 3
                # each call also carries the format instruction (about 40 tokens); later calls
                # of a turn carry the earlier exchange (about 60)
                extra = 40 * n_calls + (60 * n_calls if n_calls > 1 and fmt.name in format_rules.SEALED_NAMES else 0)
                est.add(a.cfg.model, msgs, calls=n_calls, completion_tokens=out_tok, extra_prompt_tokens=extra)
            fake.append(rec)
    identities = {a.cfg.model: _identity(a) for a in agents if isinstance(a, LLMAgent)}
    return est.to_json(custom_price, identities)

"""The dry run of a simulation: the model calls, tokens and cost a run would need,
without calling any model."""

from __future__ import annotations

import asyncio
from typing import Any

from auctionc import ir
from auctionc.backends.simulate import rules as format_rules
from auctionc.backends.simulate.agents import Agent, LLMAgent, RoundView, RuleAgent
from auctionc.backends.simulate.theory import info_model


def estimate_calls(
    spec: ir.AuctionSpec, agents: list[Agent], draws: list, rules: format_rules.ClockRules | None, R: int, S: int,
) -> dict[str, Any]:
    """Calls, tokens and cost a run would need, without calling any model.

    Sealed formats: the exact number of calls (retries aside).  Clocks: the ticks
    the same auctions take with value-bidding in place of every LLM agent."""
    from auctionc.backends.simulate.engine import RoundRecord, _play_round, history_for
    from auctionc.llm.cost_estimate import CostEstimate

    fmt = spec.mechanism
    assert fmt is not None
    llm_idx = [i for i, a in enumerate(agents) if isinstance(a, LLMAgent)]
    if not llm_idx:
        return CostEstimate().to_json()
    est = CostEstimate()
    proxies = [a if not a.is_llm else RuleAgent(ir.Truthful(), fmt, info_model(spec), S) for a in agents]
    for e, (values, obs, common) in enumerate(draws):
        fake: list[RoundRecord] = []
        for r in range(R):
            rec = asyncio.run(_play_round(spec, proxies, e, r, values[r], obs[r],
                                          None if common is None else float(common[r]), fake, S, rules))
            for i in llm_idx:
                a = agents[i]
                assert isinstance(a, LLMAgent)
                view = RoundView(e, r, i, float(obs[r][i]), history_for(fake, i, fmt))
                if fmt.name in format_rules.SEALED_NAMES:
                    steps = a.sealed_steps(r)
                    msgs = [{"role": "system", "content": a.system},
                            {"role": "user", "content": a.history_text(view) + a.observation(view)}]
                    n_calls = len(steps)
                    out_tok = sum({"reflection": 80, "plan": 80, "bid": 12, "combined": 150}[s.name] for s in steps)
                else:
                    msgs = [{"role": "system", "content": a.system},
                            {"role": "user", "content": a.history_text(view) + a.observation(view) + " tick"}]
                    if fmt.name == "ascending_clock":
                        quit_tick = rec.ticks if rec.bids[i] is None else next(
                            k for k in range(rec.ticks + 1) if rules is not None and format_rules.price(k) >= rec.bids[i] - 1e-9)
                        n_calls = min(quit_tick + 1, rec.ticks)
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
    return est.to_json()

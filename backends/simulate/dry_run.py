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
    from auctionc.backends.simulate.llm import count_tokens, price_per_token

    fmt = spec.mechanism
    assert fmt is not None
    llm_idx = [i for i, a in enumerate(agents) if isinstance(a, LLMAgent)]
    if not llm_idx:
        return {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0, "by_model": {}}
    by_model: dict[str, dict[str, float]] = {}
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
                m = by_model.setdefault(a.cfg.model, {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0})
                base = count_tokens(a.cfg.model, msgs) + 40
                m["calls"] += n_calls
                m["prompt_tokens"] += base * n_calls + (60 * n_calls if n_calls > 1 and fmt.name in format_rules.SEALED_NAMES else 0)
                m["completion_tokens"] += out_tok
            fake.append(rec)
    total_cost = 0.0
    unpriced = []
    for name, m in by_model.items():
        price = price_per_token(name)
        if price is None:
            unpriced.append(name)
            m["cost_usd"] = None  # type: ignore[assignment]
            continue
        m["cost_usd"] = m["prompt_tokens"] * price[0] + m["completion_tokens"] * price[1]
        total_cost += m["cost_usd"]
    return {
        "calls": int(sum(m["calls"] for m in by_model.values())),
        "prompt_tokens": int(sum(m["prompt_tokens"] for m in by_model.values())),
        "completion_tokens": int(sum(m["completion_tokens"] for m in by_model.values())),
        "cost_usd": round(total_cost, 6),
        "unpriced_models": unpriced,
        "by_model": by_model,
    }

"""Who plays each bidder: the spec's agents, with what the command line changes.

``--model M`` and ``--llm`` change the model and nothing else: an LLM agent keeps its
reasoning, prompt, prompt folder, temperature, language and currency (an endpoint the spec
named for its own model is dropped with it).  ``--llm`` also gives every bidder without an
LLM agent a default one.  Without ``--model``, ``--llm`` means the bundled local model.
"""

from __future__ import annotations

from typing import Any

from auctionc import ir
from auctionc.backends.simulate.ebay import EbayRules
from auctionc.backends.simulate.llm import llm_config
from auctionc.backends.simulate.llm_agent import LLMAgent, Setting
from auctionc.backends.simulate.prompt_set import PromptSet, check_intervention, folder_files
from auctionc.backends.simulate.strategies import Agent, RuleAgent
from auctionc.backends.simulate.theory import InfoModel, NoClosedForm
from auctionc.diagnostics import Diagnostic
from auctionc.errors import PlanError


def agent_of(b: ir.Bidder, llm: bool, model: str | None) -> ir.Agent | None:
    """The bidder's agent after ``--llm`` / ``--model``."""
    a = b.agent
    if isinstance(a, ir.LLMAgent):
        if model is not None:
            return a if model == a.model else a.model_copy(update={"model": model, "api_base": None})
        if llm:
            return a.model_copy(update={"model": None, "api_base": None})
        return a
    if llm:
        return ir.LLMAgent(model=model)
    return a


def make_agent(b: ir.Bidder, i: int, spec: ir.AuctionSpec, info: InfoModel, seed: int,
               ctx: dict[str, Any]) -> tuple[Agent, str | None]:
    """The agent playing bidder ``b`` and, when it had to be chosen for it, a note why."""
    fmt = spec.mechanism
    assert fmt is not None
    a = agent_of(b, ctx["llm"], ctx["model"])
    where = f"bidders.{b.name}.agent"
    if a is None:
        try:
            return RuleAgent(ir.BNE(), fmt, info, seed), None
        except NoClosedForm as e:
            note = f"{b.name} has no agent and bne has none here ({e}): it bids truthfully"
            return RuleAgent(ir.Truthful(), fmt, info, seed), note
    if isinstance(a, ir.LLMAgent):
        return make_llm_agent(a, b, i, spec, info, ctx, where), None
    try:
        return RuleAgent(a, fmt, info, seed), None
    except NoClosedForm as e:
        raise PlanError(Diagnostic(
            "E0809", f"agent {a.kind} of {b.name} has no strategy here: {e}",
            help="use truthful, random or llm agents for this format", where=where).with_span(spec)) from e


def make_llm_agent(a: ir.LLMAgent, b: ir.Bidder, i: int, spec: ir.AuctionSpec, info: InfoModel,
                   ctx: dict[str, Any], where: str) -> LLMAgent:
    fmt = spec.mechanism
    assert fmt is not None
    sim = spec.simulate
    overlays = []
    if a.prompts:
        overlays.append((f"prompt folder '{a.prompts}'", folder_files(spec, a.prompts, f"{where}.prompts")))
    if sim is not None and sim.prompts:
        overlays.append((f"prompt folder '{sim.prompts}'", folder_files(spec, sim.prompts, "simulate.prompts")))
    prompts = PromptSet(a.language, tuple(overlays))
    prompts.check_language("rules_" + {"vcg": "second_price"}.get(fmt.name, fmt.name), where, spec)
    intervention = check_intervention(a.prompt, fmt.name, info.kind, f"{where}.prompt", spec)
    if intervention is not None:  # the bundled interventions are English: a translation must be supplied
        prompts.check_language(f"interventions/{a.prompt}", f"{where}.prompt", spec)
    cfg = llm_config(a, ctx["model"], ctx["api_base"], ctx["max_tokens"], ctx["response_format"],
                     getattr(spec, "_prompt_texts", None))
    setting = Setting(
        name=f"Bidder {i + 1}", n=spec.n_bidders, fmt=fmt, information=info.kind, value_range=ctx["obs_range"],
        signal=ctx["signal"], experiment_id=ctx["experiment_id"], steps=ctx["steps"],
        clock_start=ctx["clock"].start, clock_increment=ctx["clock"].increment, integer_bids=ctx["integer"],
        ebay=EbayRules.of(fmt) if fmt.name == "ebay" else None,
    )
    return LLMAgent(cfg, ctx["engine"], prompts, setting, intervention)

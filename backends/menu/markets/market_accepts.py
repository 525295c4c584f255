"""Which data markets the ``menu`` backend's market architectures take, and their defaults.

Light on purpose (no torch): ``auctionc plan`` imports it to ask ``accepts``.
"""

from __future__ import annotations

from typing import Any

from auctionc import ir
from auctionc.plugins import Verdict

MARKET_DEFAULTS: dict[str, dict[str, Any]] = {
    # one buyer: a menu of 128 experiments; the softmax choice anneals from 0.05 to 1e-4 of the
    # largest value (the released code holds 0.005 fixed with 1,000 entries).  Measured on the
    # beta mixture discretised on 200 types (2,000 steps, seed 0): 32 entries stop at full
    # information alone (0.1533, 9% under the LP's 0.16918), 128 entries find the partial
    # experiment (0.1666 with a final temperature of 1e-3, 0.1686 = LP - 0.33% with 1e-4)
    "experiments": {"size": 128, "steps": 2000, "temperature": 0.05, "temperature_final": 1e-4},
    # several buyers: the network's experiments are a softmax at a fixed temperature of 1 over
    # logits; "temperature" is unused but recorded; rho grows from 10 to 1,000.  Measured on
    # examples/externality_market.auction (seed 0, the verifier's figures): rho 1 -> 100 over
    # 3,000 steps left revenue 0.2921 with mean regret 0.0012 per buyer (7.8% above 13/48);
    # rho 10 -> 1,000 over 1,500 steps gives 0.2725 with 0.00058 (0.6% above)
    "experiment_network": {"size": 1, "steps": 1500, "temperature": 1.0, "temperature_final": 1.0,
                           "penalty": 10.0, "penalty_final": 1000.0},
}


def accepts_market(spec: ir.MarketSpec, architecture: str, code: str) -> Verdict:
    if architecture not in MARKET_DEFAULTS:
        return Verdict.no(f"architecture = \"{architecture}\" of backend menu designs auctions, not data markets",
                          "leave `architecture` unset: markets take \"experiments\" (one buyer) or "
                          "\"experiment_network\" (several buyers)", code=code)
    if spec.objective is not None and any(t != "revenue" for t in spec.objective.terms):
        return Verdict.no("backend menu maximises revenue only", "`maximize revenue`, or use `lp` for welfare terms",
                          code=code)
    n = spec.n_bidders
    if architecture == "experiments":
        if n != 1:
            return Verdict.no(f"architecture = \"experiments\" sells a menu to one buyer, not {n}",
                              "use architecture = \"experiment_network\" for several buyers", code=code)
        if len(spec.buyers[0].actions) < 2:
            return Verdict.no("a buyer with one action has no use for information", "give the buyer two actions or more",
                              code=code)
        return Verdict.yes(0.5, "a learned menu of experiments for one buyer: IC, IR and obedience by construction")
    if n < 2:
        return Verdict.no("architecture = \"experiment_network\" is for several buyers",
                          "use architecture = \"experiments\" for one buyer", code=code)
    ic = spec.requirement("IC")
    if ic is not None and ic.mode == "bayesian":
        return Verdict.no("the market network of backend menu is ex post IC (each profile, the others truthful); "
                          "Bayesian IC is not built", "require IC (dominant), which implies Bayesian IC", code=code)
    ir_req = spec.requirement("IR")
    if ir_req is not None and ir_req.mode == "interim":
        return Verdict.no("the market network of backend menu is ex post IR; interim IR is not built",
                          "require IR (ex post), which implies interim IR", code=code)
    types = [b.type for b in spec.buyers]
    if not all(isinstance(t, ir.ScaleType) for t in types):
        kinds = sorted({t.kind for t in types if not isinstance(t, ir.ScaleType)})
        return Verdict.no(f"the market network of backend menu takes value types with a common prior, not "
                          f"{', '.join(kinds)} types", "write `type value ~ ...` with a market-level `prior { ... }`",
                          code=code)
    priors = {tuple(t.prior) for t in types}  # type: ignore[union-attr]
    if len(priors) != 1:
        return Verdict.no("the buyers' priors over the states differ; the market network needs a common prior",
                          "give one market-level `prior { ... }`", code=code)
    if len({len(b.actions) for b in spec.buyers}) != 1:
        return Verdict.no("the buyers have different numbers of actions", "give every buyer the same number of actions",
                          code=code)
    return Verdict.yes(0.4, "a network of experiments and payments for several buyers with an externality: regret "
                       "and disobedience penalised in training, the certificate is estimated")

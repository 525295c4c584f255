"""The simulation engine: rounds of a single-item format played by a population of
agents, with values redrawn every round, checkpoints, resume, a budget and a
dry-run estimate.  ``run_simulation`` is the public entry point.

Randomness comes from independent seeded streams, so a rerun is identical and
agents cannot shift the value draws: values ``[seed, 0, experiment, block]``
(``value_draws``; or Python's ``random`` as Shah et al. drew them), random agents
``[seed, 1, experiment, round, bidder]``, tie draws ``[seed, 2, experiment,
round]``, eBay's daily orders ``[seed, 4, experiment, round]``; model calls carry a
seed derived from their replicate id.  Prompts do not depend on the number of
rounds, so a finished experiment extended with more rounds (``--rounds``, with or
without ``--resume``) replays its earlier rounds' calls from the cache.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from auctionc import ir
from auctionc import valuation as V
from auctionc.backends.simulate import rules as format_rules
from auctionc.backends.simulate import value_draws
from auctionc.backends.simulate.ebay import EbayRules, play_ebay
from auctionc.backends.simulate.llm_agent import LLMAgent
from auctionc.backends.simulate.population import make_agent
from auctionc.backends.simulate.records import RoundRecord, SimulationResult
from auctionc.backends.simulate.strategies import Agent, RoundView, RuleAgent
from auctionc.backends.simulate.theory import SUPPORTED_FORMATS, InfoModel, info_model
from auctionc.backends.simulate.workload import MAX_ROUNDS, MAX_TICKS, check_work
from auctionc.diagnostics import Diagnostic
from auctionc.errors import BackendError, PlanError
from auctionc.llm.endpoints import check_endpoint
from auctionc.mechanism.base import package_versions

CHECKPOINT_VERSION = 1


def _err(code: str, message: str, help: str, where: str | None = None, spec: Any = None) -> Diagnostic:
    return Diagnostic(code, message, help=help, where=where).with_span(spec)


def check_spec(spec: ir.AuctionSpec) -> InfoModel:
    """The spec must be a single-item auction running a supported format."""
    if spec.kind != "auction":
        raise PlanError(_err("E0808", "simulation runs auctions, not data markets", "use an auction spec with a mechanism"))
    if spec.mechanism is None:
        raise PlanError(_err("E0808", "the spec names no format to simulate",
                             "add a line like `mechanism first_price` to the spec", "mechanism", spec))
    if spec.mechanism.name not in SUPPORTED_FORMATS:
        raise PlanError(_err("E0808", f"the simulator does not play {spec.mechanism.name}",
                             "simulated formats: " + ", ".join(SUPPORTED_FORMATS), "mechanism", spec))
    if spec.n_items != 1 or any(not isinstance(b.valuation, ir.Single) for b in spec.bidders):
        raise PlanError(_err("E0808", "the simulator plays single-item auctions only",
                             "use `items 1` and one value per bidder", "items", spec))
    if spec.n_bidders < 2:
        raise PlanError(_err("E0808", "an auction simulation needs at least 2 bidders", "add bidders", "bidders", spec))
    value_draws.check_python_draws(spec)
    return info_model(spec)


STEPS = ("separate", "combined", "no_plan")
"""A sealed-bid turn: reflection, plan and bid calls (Shah et al.'s loop), one combined call,
or the bid alone (their out-of-the-box baseline, with no plan)."""


def run_hash(spec: ir.AuctionSpec) -> str:
    """The spec's hash with its number of rounds left out: a checkpoint of an experiment may
    be extended with more rounds."""
    sim = spec.simulate or ir.Simulate()
    return spec.model_copy(update={"simulate": sim.model_copy(update={"rounds": 0})}).spec_hash()


draw_values = value_draws.draw_values
draw_chunks = value_draws.draw_chunks


def history_for(records: list[RoundRecord], i: int, fmt: ir.Format) -> list[dict[str, Any]]:
    out = []
    for r in records:
        shown = [b for b in r.bids if b is not None]
        out.append({
            "round": r.round, "obs": r.obs[i], "bid": r.bids[i], "won": r.winner == i,
            "profit": r.profits[i], "value": r.common, "sold": r.winner is not None,
            "all_bids": sorted(shown, reverse=True), "price": r.price,
        })
    return out


def _finish(values: np.ndarray, winner: int | None, payments: list[float]) -> list[float]:
    prof = [-p for p in payments]
    if winner is not None:
        prof[winner] += float(values[winner])
    return prof


async def _settled(coros) -> list:
    """gather(), but when one coroutine fails (a budget reached) the others still finish: a
    model call in flight is paid for, so it is awaited and cached, never cancelled; then the
    first failure is raised."""
    out = await asyncio.gather(*coros, return_exceptions=True)
    for r in out:
        if isinstance(r, BaseException):
            raise r
    return list(out)


async def _all(coros: list, concurrent: bool) -> list:
    """gather() wraps each coroutine in a task; rule agents never wait, so awaiting them
    in turn is the same answer at a fraction of the cost (clocks ask at every tick)."""
    if concurrent:
        return await _settled(coros)
    return [await c for c in coros]


async def _play_round(
    spec: ir.AuctionSpec, agents: list[Agent], e: int, r: int, values: np.ndarray, obs: np.ndarray,
    common: float | None, records: list[RoundRecord], seed: int, rules: format_rules.ClockRules | None,
    rounds: int = 1,
) -> RoundRecord:
    fmt = spec.mechanism
    assert fmt is not None
    n = len(agents)
    views = [RoundView(e, r, i, float(obs[i]), history_for(records, i, fmt) if agents[i].is_llm else [])
             for i in range(n)]
    tie_rng = np.random.default_rng([seed, 2, e, r])
    failed = [False] * n
    texts: list[dict[str, str]] = [{} for _ in range(n)]
    if fmt.name == "ebay":
        names = [f"Bidder {i + 1}" for i in range(n)]

        async def act(i: int, day: Any) -> tuple[str, float | None, bool]:
            action, amount, bad, said = await agents[i].ebay_turn(views[i], day, names)
            if said:
                texts[i][f"day {day.day + 1}"] = said.get("plan", "")
            return action, amount, bad

        order = value_draws.ebay_orders(spec, rounds, seed, e, r, n)
        state = await play_ebay(EbayRules.of(fmt), n, act, order)
        winner, price = state.outcome()
        pay = [0.0] * n
        if winner is not None:
            pay[winner] = price
        maxes: list[float | None] = [m if m > 0 else None for m in state.maxes]
        return RoundRecord(e, r, values.tolist(), obs.tolist(), common, maxes, winner, price, pay,
                           _finish(values, winner, pay), state.days, state.failed, texts,  # type: ignore[attr-defined]
                           events=state.events)
    if fmt.name in format_rules.SEALED_NAMES:
        turns = await _settled(a.sealed(v) for a, v in zip(agents, views))
        bids = np.array([t.bid if t.bid is not None else math.nan for t in turns], float)
        out = format_rules.sealed_outcomes(fmt, spec, bids[None, :], lambda _: tie_rng)[0]
        failed = [t.failed for t in turns]
        texts = [t.texts for t in turns]
        shown: list[float | None] = [None if math.isnan(b) else float(b) for b in bids]
        return RoundRecord(e, r, values.tolist(), obs.tolist(), common, shown, out.winner, out.price,
                           out.payments, _finish(values, out.winner, out.payments), 1, failed, texts)
    assert rules is not None
    llm = any(a.is_llm for a in agents)
    if fmt.name == "ascending_clock":
        async def decide(tick: int, price: float, active: list[int], log: list) -> dict[int, bool]:
            seen = [p for (_, p, who) in log for _ in who] if fmt.announce_dropouts else []
            res = await _all([agents[i].stays(views[i], tick, price, len(active), seen) for i in active], llm)
            for i, (_, bad) in zip(active, res):
                failed[i] = failed[i] or bad
            return {i: s for i, (s, _) in zip(active, res)}

        res = await format_rules.play_ascending(rules, n, decide, tie_rng)
    else:
        async def decide(tick: int, price: float, active: list[int], log: list) -> dict[int, bool]:
            res = await _all([agents[i].buys(views[i], tick, price) for i in active], llm)
            for i, (_, bad) in zip(active, res):
                failed[i] = failed[i] or bad
            return {i: s for i, (s, _) in zip(active, res)}

        res = await format_rules.play_dutch(rules, n, decide, tie_rng)
    pay = format_rules.clock_payments(fmt, res, n)
    return RoundRecord(e, r, values.tolist(), obs.tolist(), common, res.drops, res.winner, res.price, pay,
                       _finish(values, res.winner, pay), res.ticks, failed, texts)


def _rule_sealed_batch(
    spec: ir.AuctionSpec, agents: list[Agent], e: int, values: np.ndarray, obs: np.ndarray,
    common: np.ndarray | None, seed: int, first: int = 0,
) -> list[RoundRecord]:
    """A block of rounds (from round ``first``) of a rule-only sealed-bid experiment at once
    (no history needed)."""
    fmt = spec.mechanism
    assert fmt is not None
    R, n = values.shape
    bids = np.stack([a.batch_bids(e, i, obs[:, i], first) for i, a in enumerate(agents) if isinstance(a, RuleAgent)],
                    axis=1)
    outs = format_rules.sealed_outcomes(fmt, spec, bids, lambda r: np.random.default_rng([seed, 2, e, first + r]))
    recs = []
    for k, out in enumerate(outs):
        r = first + k
        shown = [None if math.isnan(b) else float(b) for b in bids[k]]
        recs.append(RoundRecord(e, r, values[k].tolist(), obs[k].tolist(),
                                None if common is None else float(common[k]), shown, out.winner, out.price,
                                out.payments, _finish(values[k], out.winner, out.payments), 1, [False] * n,
                                [{} for _ in range(n)]))
    return recs


class _Checkpoint:
    def __init__(self, path: Path, header: dict[str, Any]):
        self.path = path
        self.header = header
        self.records: dict[int, list[dict[str, Any]]] = {}

    def load(self) -> dict[int, list[RoundRecord]]:
        doc = json.loads(self.path.read_text())
        for k in ("run_hash", "seed", "experiments", "agents"):
            if doc.get(k) != self.header.get(k):
                raise BackendError(Diagnostic(
                    "E0810", f"the checkpoint in {self.path.parent} was made by a different run ({k} differs)",
                    help="rerun without --resume to start over (cached replies are still reused), or use another --out"))
        # an experiment extended with more rounds continues; one cut to fewer keeps its first rounds
        rounds = int(self.header["rounds"])
        self.records = {int(k): [x for x in v if x["round"] < rounds] for k, v in doc["records"].items()}
        return {k: [RoundRecord.from_json(x) for x in v] for k, v in self.records.items()}

    def save(self, e: int, rec: RoundRecord) -> None:
        self.records.setdefault(e, []).append(asdict(rec))
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**self.header, "version": CHECKPOINT_VERSION, "records": self.records}))
        tmp.replace(self.path)


def run_simulation(
    spec: ir.AuctionSpec,
    *,
    llm: bool = False,
    model: str | None = None,
    api_base: str | None = None,
    rounds: int | None = None,
    seed: int | None = None,
    out_dir: Path,
    resume: bool = False,
    max_cost: float | None = None,
    max_calls: int | None = None,
    concurrency: int = 4,
    dry_run: bool = False,
    progress: bool = True,
    options: dict[str, Any] | None = None,
    cache_path: str | Path | None = None,
) -> SimulationResult:
    """Play the spec's format for ``rounds`` rounds (times ``simulate { repetitions }``)
    and write the transcript, checkpoint, report and plot under ``out_dir``.

    ``llm``: every bidder becomes an LLM agent of ``model`` (default: the local
    model served by ``auctionc serve-model``).  ``options`` (also read from
    ``simulate { }``): ``steps`` ("separate": reflection, plan, bid calls as in
    the seed experiments; "combined": one call), ``max_tokens``, ``parse_retries``,
    ``api_retries``, ``timeout``, ``cache`` (a file name inside ``out_dir``),
    ``input_cost_per_token``/``output_cost_per_token`` (price a model the table
    lacks), ``response_format``, ``report`` (false: skip markdown and PNG).
    ``cache_path`` (the caller's, e.g. ``--cache``) puts the reply cache anywhere, to share
    it across runs.  ``max_cost`` (USD) and ``max_calls`` are hard caps: a call is made only
    when its worst-case cost, with every call in flight, fits what is left.  Raises
    PlanError/BackendError with E08xx diagnostics; a spent budget returns a partial result
    (``complete`` false, ``stop_reason`` "max_cost" or "max_calls") after saving the
    checkpoint; a run in which no LLM turn gave a valid action is incomplete too
    (``stop_reason`` "no_valid_action")."""
    t_start = time.perf_counter()
    model_info = check_spec(spec)
    fmt = spec.mechanism
    assert fmt is not None
    sim = spec.simulate or ir.Simulate()
    opts = {**sim.options, **(options or {})}
    R = int(rounds if rounds is not None else sim.rounds)
    S = int(seed if seed is not None else sim.seed)
    E = int(sim.repetitions)
    integer = bool(sim.integer_values) or value_draws.uses_python_random(spec)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    bounds = V.value_bounds(spec)[:, 0, :]
    lo, hi = float(bounds[:, 0].min()), float(bounds[:, 1].max())
    obs_lo, obs_hi = lo, hi
    signal = None
    if model_info.kind == "common":
        sig_b = [V.expr_support(b.signal, spec) for b in spec.bidders if b.signal is not None]
        obs_lo, obs_hi = min(s[0] for s in sig_b), max(s[1] for s in sig_b)
        if model_info.noise is not None:
            signal = (lo, hi, model_info.noise)
    rules = format_rules.clock_rules(fmt, obs_hi if model_info.kind == "common" else hi, lo) if fmt.name in format_rules.DYNAMIC_NAMES else None
    limits = {"rounds_limit": int(opts.get("rounds_limit", MAX_ROUNDS)), "ticks_limit": int(opts.get("ticks_limit", MAX_TICKS))}
    too_much = check_work(spec, limits, R)
    if too_much is not None:
        raise PlanError(too_much)
    experiment_id = f"{spec.name}:seed{S}"
    transcript = out_dir / "transcript.jsonl"
    ckpt_path = out_dir / "checkpoint.json"
    steps = str(opts.get("steps", "separate"))
    if steps not in STEPS:
        raise PlanError(_err("E0604", f"option 'steps' must be one of {', '.join(STEPS)}, not {steps!r}",
                             "steps: separate (reflection, plan, bid), combined (one call) or no_plan (the bid alone)",
                             "simulate.options.steps", spec))
    custom_price = None
    if "input_cost_per_token" in opts or "output_cost_per_token" in opts:
        custom_price = (float(opts.get("input_cost_per_token", 0.0)), float(opts.get("output_cost_per_token", 0.0)))
    ctx: dict[str, Any] = {
        "llm": llm, "model": model, "api_base": api_base, "max_tokens": opts.get("max_tokens"), "rounds": R,
        "response_format": str(opts.get("response_format", "auto")),
        "obs_range": (obs_lo, obs_hi), "signal": signal, "experiment_id": experiment_id,
        "steps": steps, "integer": integer, "clock": rules or format_rules.ClockRules(0.0, 1.0, 1, False), "engine": None,
    }
    agents: list[Agent] = []
    notes: list[str] = []
    for i, b in enumerate(spec.bidders):
        a, note = make_agent(b, i, spec, model_info, S, ctx)
        agents.append(a)
        if note:
            notes.append(note)
    any_llm = any(a.is_llm for a in agents)
    header = {"spec_hash": spec.spec_hash(), "run_hash": run_hash(spec), "seed": S, "rounds": R, "experiments": E,
              "agents": [a.describe() for a in agents]}
    run_opts = {"rounds": R, "seed": S, "experiments": E, "integer_values": integer, "steps": steps,
                "concurrency": concurrency, "max_cost": max_cost, "max_calls": max_calls, "llm": llm, "model": model,
                "api_base": api_base, **{k: v for k, v in opts.items() if k != "cache"}}
    if dry_run:
        from auctionc.backends.simulate.dry_run import estimate_calls

        est = estimate_calls(spec, agents, [draw_values(spec, R, S, e, integer) for e in range(E)], rules, R, S,
                             custom_price)
        res = SimulationResult(spec.name, spec.spec_hash(), fmt.name, S, R, E, header["agents"], [], {}, {}, {},
                               {"model_calls": 0, "cache_hits": 0, "failed_parses": 0, "cost_usd": 0.0},
                               dry_run=est, options=run_opts, versions=package_versions("litellm"))
        return res

    engine = None
    if any_llm:
        from auctionc.llm.call_budget import CallBudget
        from auctionc.llm.model_calls import LLMEngine

        for i, a in enumerate(agents):
            if isinstance(a, LLMAgent):
                # an endpoint only the spec names gets no credentials: refused unless trusted
                check_endpoint(a.cfg.api_base, api_base, who=f"{spec.bidders[i].name}'s llm agent")
        engine = LLMEngine.open(
            _cache_file(out_dir, opts.get("cache"), cache_path, spec), transcript, resume=resume,
            budget=CallBudget(max_cost, max_calls, custom_price), concurrency=concurrency,
            parse_retries=int(opts.get("parse_retries", 2)), api_retries=int(opts.get("api_retries", 3)),
            timeout=float(opts.get("timeout", 120.0)),
        )
        for a in agents:
            if isinstance(a, LLMAgent):
                a.engine = engine
        try:
            engine.check_budget({a.cfg.model for a in agents if isinstance(a, LLMAgent)})
        except BackendError:
            engine.close()
            raise
    ckpt = _Checkpoint(ckpt_path, header)
    done: dict[int, list[RoundRecord]] = {}
    if resume and ckpt_path.exists():
        done = ckpt.load()
    elif ckpt_path.exists():
        ckpt_path.unlink()

    stop_reason: str | None = None
    bar = _Progress(progress, E * R, sum(len(v) for v in done.values()))

    async def experiment(e: int) -> list[RoundRecord]:
        nonlocal stop_reason
        recs = list(done.get(e, []))
        # the draws stream in chunks of rounds: memory holds the records, not every draw
        for first, values, obs, common in draw_chunks(spec, R, S, e, integer):
            n_here = len(values)
            if first + n_here <= len(recs):
                continue  # rounds a resumed run has already played
            if not any_llm and fmt.name in format_rules.SEALED_NAMES:
                recs += _rule_sealed_batch(spec, agents, e, values, obs, common, S, first)
                bar.advance(n_here)
                continue
            for i, a in enumerate(agents):
                if isinstance(a, RuleAgent):
                    a.prime(e, i, obs[:, i], first)
            for r in range(max(len(recs), first), first + n_here):
                k = r - first
                try:
                    rec = await _play_round(spec, agents, e, r, values[k], obs[k],
                                            None if common is None else float(common[k]), recs, S, rules, R)
                except _budget_error() as exc:
                    stop_reason = exc.reason
                    return recs
                recs.append(rec)
                if any_llm:
                    ckpt.save(e, rec)
                bar.advance(1)
        return recs

    async def main() -> list[list[RoundRecord]]:
        return await asyncio.gather(*(experiment(e) for e in range(E)))

    t_play = time.perf_counter()
    try:
        per_exp = asyncio.run(main())
    finally:
        bar.close()
        if engine is not None:
            engine.close()
    t_done = time.perf_counter()
    records = [r for recs in per_exp for r in recs]

    from auctionc.backends.simulate.behaviour import summarise, write_report

    risk = float(opts.get("risk_aversion", 0.0))
    metrics, behaviour, theory = summarise(spec, model_info, fmt, records, rules, S, risk)
    warnings = [Diagnostic("E0807", n, severity="warning") for n in notes]
    calls = engine.stats.to_json() if engine is not None else {
        "model_calls": 0, "cache_hits": 0, "failed_parses": 0, "cost_usd": 0.0}
    if stop_reason == "max_cost":
        warnings.append(Diagnostic(
            "E0805", f"the cost budget of ${max_cost:g} was spent; {len(records)} of {E * R} rounds are done",
            help="rerun with --resume and a higher --max-cost: finished calls are cached and not paid again",
            severity="warning"))
    elif stop_reason == "max_calls":
        warnings.append(Diagnostic(
            "E0805", f"the {max_calls} model calls of --max-calls are made; {len(records)} of {E * R} rounds are done",
            help="rerun with --resume and a higher --max-calls: finished calls are cached and not made again",
            severity="warning"))
    llm_turns = [f for r in records for i, f in enumerate(r.failed) if agents[i].is_llm]
    if any_llm and stop_reason is None and llm_turns and all(llm_turns):
        stop_reason = "no_valid_action"
        warnings.append(Diagnostic(
            "E0814", f"no reply of the LLM agents gave a valid action: all {len(llm_turns)} turns failed to parse",
            help="see the transcript for the replies; try response_format \"json_schema\" or another model",
            severity="error"))
    result = SimulationResult(
        spec.name, spec.spec_hash(), fmt.name, S, R, E, header["agents"], records, metrics, behaviour, theory,
        calls, complete=stop_reason is None, stop_reason=stop_reason, warnings=warnings,
        transcript_path=transcript if any_llm else None, checkpoint_path=ckpt_path if any_llm else None,
        options=run_opts, versions=package_versions("litellm", "xllamacpp") if any_llm else package_versions(),
    )
    if opts.get("report", True) and records:
        result.report_path, result.plot_path, result.rounds_plot_path = write_report(
            result, spec, model_info, rules, out_dir, risk)
    (out_dir / "result.json").write_text(json.dumps(result.to_json(), indent=1, default=str))
    result.timings = {"setup_s": round(t_play - t_start, 4), "play_s": round(t_done - t_play, 4),
                      "total_s": round(time.perf_counter() - t_start, 4)}
    return result


def _cache_file(out_dir: Path, name: Any, user_path: str | Path | None, spec: Any) -> Path:
    """The reply cache (``cache_location``); a spec's file outside the output directory is E0808."""
    from auctionc.confine import OutsideFolder
    from auctionc.llm.reply_cache import cache_location

    try:
        return cache_location(out_dir, name, user_path)
    except OutsideFolder as e:
        raise PlanError(_err("E0808", f"{e}: the spec's cache file must lie in the output directory",
                             "write a file name such as cache \"replies.sqlite\", or pass the path on the command "
                             "line with --cache PATH", "simulate.cache", spec)) from None


def _budget_error() -> type[Exception]:
    from auctionc.llm.call_budget import BudgetExhausted

    return BudgetExhausted


class _Progress:
    """The rounds played, through auctionc's one progress reporter (a bar on a terminal,
    plain lines at a steady rate in a log)."""

    def __init__(self, on: bool, total: int, done: int):
        from auctionc.progress import Progress

        self.task = Progress.auto(on and total > 0).task("simulate: rounds", total, done)

    def advance(self, k: int) -> None:
        self.task.update(advance=k)

    def close(self) -> None:
        self.task.close()

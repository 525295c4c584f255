"""Simulation backend benchmarks: rule-based throughput, LLM calls and cost per
experiment from litellm's price table, and the local model's seconds per call.

    .venv/bin/python benchmarks/simulate.py [--model gpt-4o-mini] [--no-local]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from auctionc import ir
from auctionc.backends.simulate import find_local_gguf, run_simulation, serve_local_model
from auctionc.llm.local_server import free_port

FORMATS = ["first_price", "second_price", "third_price", "all_pay", "ascending_clock", "dutch"]


def U(a: float, b: float) -> ir.ValueExpr:
    return ir.ValueExpr(terms=(ir.Draw(dist=ir.Uniform(low=a, high=b)),), coefs=(1.0,))


def spec(fmt: str, agent: ir.Agent, rounds: int, hi: float = 99, n: int = 3) -> ir.AuctionSpec:
    bidders = tuple(ir.Bidder(name=f"bidder_{i + 1}", group="b", valuation=ir.Single(value=U(0, hi)), agent=agent)
                    for i in range(n))
    return ir.AuctionSpec(name=f"bench_{fmt}", items=("item",), bidders=bidders,
                          mechanism=ir.Format(name=fmt, increment=1.0),
                          simulate=ir.Simulate(rounds=rounds, seed=0, integer_values=True, options={"report": False}))


def main() -> None:
    import torch

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="gpt-4o-mini")
    ap.add_argument("--no-local", action="store_true")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    print("\n1,000 auctions, 3 bne bidders, U[0,99] integers (target: < 5 s each)")
    print(f"| {'format':<16}| {'seconds':>8} | {'revenue':>8} | {'RNNE 49.5 (cont.)':>18} |")
    print("|" + "-" * 17 + "|" + "-" * 10 + "|" + "-" * 10 + "|" + "-" * 20 + "|")
    for fmt in FORMATS:
        t = time.perf_counter()
        r = run_simulation(spec(fmt, ir.BNE(), 1000), out_dir=tmp / fmt, progress=False)
        dt = time.perf_counter() - t
        print(f"| {fmt:<16}| {dt:>8.2f} | {r.metrics['revenue']['value']:>8.2f} | {49.5:>18} |")

    print(f"\nOne seed experiment (3 LLM bidders x 15 rounds, separate reflection/plan/bid calls) with {a.model}")
    print("(published: about 132 calls per 15-round experiment; '1,000+ auctions for under $400' with GPT-4-class models)")
    print(f"| {'format':<16}| {'calls':>6} | {'calls/auction':>13} | {'prompt tok':>10} | {'USD/experiment':>14} | {'USD/auction':>11} |")
    print("|" + "-" * 17 + "|" + "-" * 8 + "|" + "-" * 15 + "|" + "-" * 12 + "|" + "-" * 16 + "|" + "-" * 13 + "|")
    for fmt in FORMATS:
        r = run_simulation(spec(fmt, ir.LLMAgent(model=a.model), 15), dry_run=True, out_dir=tmp / ("d" + fmt),
                           progress=False)
        d = r.dry_run
        cost = d["cost_usd"]
        print(f"| {fmt:<16}| {d['calls']:>6} | {d['calls'] / 15:>13.1f} | {d['prompt_tokens']:>10} | "
              f"{cost:>14.4f} | {cost / 15:>11.5f} |")

    if a.no_local or find_local_gguf() is None:
        print("\nlocal model: skipped (run tests/setup_local_llm.sh)")
        return
    port = free_port()
    with serve_local_model(port=port, threads=1) as srv:
        s = spec("first_price", ir.LLMAgent(), 2, n=3)
        s = s.model_copy(update={"simulate": s.simulate.model_copy(update={"options": {"steps": "combined", "report": False}})})
        t = time.perf_counter()
        r = run_simulation(s, llm=True, api_base=srv.api_base, out_dir=tmp / "local", progress=False, concurrency=1)
        dt = time.perf_counter() - t
        c = r.calls
        print("\nlocal model (SmolLM2-135M Q4_1, llama.cpp via xllamacpp, 1 thread, JSON-schema replies)")
        print("| calls | seconds/call | prompt tok/call | completion tok/call | failed parses | wall s |")
        print("|---|---|---|---|---|---|")
        print(f"| {c['model_calls']} | {c['seconds_per_model_call']:.2f} | {c['prompt_tokens'] / c['model_calls']:.0f} | "
              f"{c['completion_tokens'] / c['model_calls']:.0f} | {c['failed_parses']} | {dt:.1f} |")


if __name__ == "__main__":
    main()

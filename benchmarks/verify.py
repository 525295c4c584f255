"""Cost and quality of the verifier, beside the figures before the verifier package (issue 13)
and the targets.

Costs (wall seconds of the commands a user runs, one BLAS/torch thread):

* the 20x20 LP example end to end (``auctionc compile examples/manelli_vincent.auction
  -b lp -o grid=20``, verification included): target under 5 s;
* a 2x2 lottery AMA (``examples/two_by_two.auction``) verified in under 20 s and in under
  half its training time;
* the Manelli-Vincent example (a RochetNet menu) verified in under 3 s;
* the estimated-regret search on a differentiable 2x2 mechanism with no structure
  (10,000 samples x 20 restarts x 200 gradient steps): target under 60 s.

Quality: the regret and revenue figures of standard formats against their closed forms.

    .venv/bin/python benchmarks/verify.py [--skip-training] [--samples 10000 --restarts 20 --steps 200]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from auctionc import ir
from auctionc.mechanism.base import ArtifactMeta, Mechanism
from auctionc.mechanism.format_mechanism import format_mechanism
from auctionc.verifier import verify

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class TinyNeural2x2(Mechanism):
    """A RegretNet-shaped mechanism: an MLP maps the bid profile to per-item softmax
    allocations (with a dummy 'keep' row) and payment fractions of each bidder's bid value."""

    kind = "tiny_neural"
    outcome_space = "items"
    differentiable = True

    def __init__(self, n: int = 2, m: int = 2, hidden: int = 32, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.n_bidders, self.m = n, m
        self.net = torch.nn.Sequential(
            torch.nn.Linear(n * m, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
            torch.nn.Linear(hidden, (n + 1) * m + n),
        )
        self.meta = ArtifactMeta(backend="benchmark", seed=seed)

    def allocate_and_pay_torch(self, bids):
        B = bids.shape[0]
        out = self.net(bids.reshape(B, -1))
        n, m = self.n_bidders, self.m
        alloc = torch.softmax(out[:, : (n + 1) * m].reshape(B, n + 1, m), dim=1)[:, :n]
        frac = torch.sigmoid(out[:, (n + 1) * m :])
        pay = frac * (alloc * bids).sum(-1)  # IR by construction
        return alloc, pay

    def allocate_and_pay(self, bids):
        with torch.no_grad():
            a, p = self.allocate_and_pay_torch(torch.as_tensor(bids, dtype=torch.float32))
        return a.double().numpy(), p.double().numpy()

    def data(self):
        return {}

    @classmethod
    def from_data(cls, data, meta, directory):
        raise NotImplementedError


def additive_spec(n: int, m: int) -> ir.AuctionSpec:
    u = ir.ValueExpr(terms=(ir.Draw(dist=ir.Uniform(low=0, high=1)),), coefs=(1.0,))
    return ir.AuctionSpec(
        name=f"{n}x{m}", items=tuple(f"i{j}" for j in range(m)),
        bidders=tuple(ir.Bidder(name=f"b{i}", valuation=ir.Additive(values=(u,) * m)) for i in range(n)),
        requirements=(ir.IC(), ir.IR()), objective=ir.Objective(terms=("revenue",), weights=(1.0,)),
    )


def compile_cli(example: str, *args: str) -> tuple[float, float, dict]:
    """Wall and CPU seconds of ``auctionc compile`` (a fresh process) and its JSON result.  On
    a shared machine wall time includes waiting for a core: CPU seconds are printed too."""
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "auctionc", "compile", f"examples/{example}.auction", "--json",
                               "--quiet", "--out", out, *args], cwd=ROOT, capture_output=True, text=True, env=ENV)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not proc.stdout.strip().startswith("{"):
        raise SystemExit(f"compile {example} failed:\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(proc.stdout)


def cost_rows(skip_training: bool) -> list[tuple[str, str, str, str]]:
    rows = []
    wall, cpu, doc = compile_cli("manelli_vincent", "-b", "lp", "-o", "grid=20")
    t = doc["timings"]
    rows.append(("20x20 LP (manelli_vincent -b lp -o grid=20): compile end to end", "118 s of verification",
                 f"{wall:.2f} s wall, {cpu:.2f} s CPU (solve {t['solve_s']:.2f} s, verify {t['verify_s']:.2f} s, "
                 f"{doc['certificate']['kind']}, ok {doc['ok']})", _met(wall < 5, "< 5 s")))
    if skip_training:
        return rows
    _, _, doc = compile_cli("two_by_two")
    t = doc["timings"]
    ok = t["verify_s"] < 20 and t["verify_s"] < 0.5 * t["solve_s"]
    rows.append(("2x2 lottery AMA (two_by_two): verify", "547 s (training 151 s)",
                 f"{t['verify_s']:.2f} s (training {t['solve_s']:.1f} s, {doc['certificate']['kind']}, "
                 f"revenue {doc['metrics']['revenue']['value']:.4f} +- "
                 f"{_half(doc['metrics']['revenue']):.4f})", _met(ok, "< 20 s and < half the training")))
    _, _, doc = compile_cli("manelli_vincent")
    t = doc["timings"]
    rows.append(("Manelli-Vincent (RochetNet menu): verify", "13 s (training 15 s)",
                 f"{t['verify_s']:.2f} s (training {t['solve_s']:.1f} s, {doc['certificate']['kind']}, "
                 f"revenue {doc['metrics']['revenue']['value']:.4f})", _met(t["verify_s"] < 3, "< 3 s")))
    return rows


def _half(m: dict) -> float:
    return (m["ci95"][1] - m["ci95"][0]) / 2 if m.get("ci95") else 0.0


def _met(ok: bool, target: str) -> str:
    return f"{target}: {'met' if ok else 'NOT met'}"


def quality_rows(args) -> list[tuple[str, str, str, str]]:
    rows = []
    spec = additive_spec(2, 2)
    t, cpu = time.perf_counter(), time.process_time()
    c = verify(TinyNeural2x2(), spec, samples=args.samples, restarts=args.restarts, steps=args.steps, interim=False)
    secs, cpu = time.perf_counter() - t, time.process_time() - cpu
    rows.append((f"2x2 tiny MLP, estimated: {args.samples} samples x {args.restarts} restarts x {args.steps} steps",
                 "38.9 s", f"{secs:.1f} s wall, {cpu:.1f} s CPU (regret mean {c.mean_regret:.3f}; revenue "
                 f"{c.metrics['revenue']['samples']:,} profiles)", _met(secs < 60, "< 60 s")))
    u = ir.ValueExpr(terms=(ir.Draw(dist=ir.Uniform(low=0, high=1)),), coefs=(1.0,))
    for n in (2, 3):
        s = ir.AuctionSpec(name="fp", items=("x",),
                           bidders=tuple(ir.Bidder(name=f"b{i}", valuation=ir.Single(value=u)) for i in range(n)),
                           mechanism=ir.Format(name="first_price"))
        t = time.perf_counter()
        c = verify(format_mechanism(s.mechanism, s), s, samples=args.samples, interim_types=300, interim_others=1000)
        exact = (n - 1) ** (n - 1) / (n**n * (n + 1))
        rows.append((f"first price n={n}: interim regret (truthful, U[0,1])", "",
                     f"{c.interim['mean']:.4f} +- {1.96 * c.interim['se']:.4f} ({time.perf_counter() - t:.1f} s)",
                     f"closed form {exact:.4f}"))
        sp = s.model_copy(update={"mechanism": ir.Format(name="second_price")})
        c = verify(format_mechanism(sp.mechanism, sp), sp, samples=args.samples, interim=False)
        rev = c.metrics["revenue"]
        rows.append((f"second price n={n}: max regret / revenue", "", f"{c.max_regret:.2g} / {rev['value']:.4f} "
                     f"+- {_half(rev):.4f} ({rev['samples']:,} profiles)", f"0 / {(n - 1) / (n + 1):.4f}"))
    s22 = additive_spec(2, 2).model_copy(update={"mechanism": ir.Format(name="vcg"), "objective": None})
    c = verify(format_mechanism(s22.mechanism, s22), s22, samples=args.samples, interim=False)
    rev = c.metrics["revenue"]
    rows.append(("VCG 2x2 additive U[0,1]: revenue", "", f"{rev['value']:.4f} +- {_half(rev):.4f}",
                 "0.6667 (published figures)"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--restarts", type=int, default=20)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--skip-training", action="store_true", help="Skip the two rows that train a menu first.")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = cost_rows(args.skip_training) + quality_rows(args)
    w = [max(len(r[k]) for r in rows) for k in range(3)]
    print(f"{'setting':<{w[0]}}  {'before (issue 13)':<{w[1]}}  {'now':<{w[2]}}  target / published")
    for r in rows:
        print(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]}")


if __name__ == "__main__":
    main()

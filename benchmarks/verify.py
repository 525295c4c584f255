"""Cost of the estimated-regret certificate: 10,000 samples x 20 restarts x 200 gradient
steps on a 2-bidder 2-item differentiable mechanism (target: under 60 s on 2 CPU cores),
plus the sanity figures of the standard formats against their closed forms.

    .venv/bin/python benchmarks/verify.py [--samples 10000 --restarts 20 --steps 200]
"""

from __future__ import annotations

import argparse
import time

import torch
from auctionc import ir
from auctionc.mechanism.base import ArtifactMeta, Mechanism
from auctionc.mechanism.format_mechanism import format_mechanism
from auctionc.verifier import verify


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--restarts", type=int, default=20)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    rows = []
    spec = additive_spec(2, 2)
    mech = TinyNeural2x2()
    t, cpu = time.perf_counter(), time.process_time()
    c = verify(mech, spec, samples=args.samples, restarts=args.restarts, steps=args.steps, interim=False)
    secs, cpu = time.perf_counter() - t, time.process_time() - cpu
    # on a shared machine wall time includes waiting for a core: CPU seconds are printed too
    rows.append((f"2x2 tiny MLP: {args.samples} samples x {args.restarts} restarts x {args.steps} steps",
                 f"{secs:.1f} s wall, {cpu:.1f} s CPU (regret mean {c.mean_regret:.3f})", "target < 60 s"))

    u = ir.ValueExpr(terms=(ir.Draw(dist=ir.Uniform(low=0, high=1)),), coefs=(1.0,))
    for n in (2, 3):
        s = ir.AuctionSpec(name="fp", items=("x",),
                           bidders=tuple(ir.Bidder(name=f"b{i}", valuation=ir.Single(value=u)) for i in range(n)),
                           mechanism=ir.Format(name="first_price"))
        t = time.perf_counter()
        c = verify(format_mechanism(s.mechanism, s), s, samples=args.samples, interim_types=300, interim_others=1000)
        exact = (n - 1) ** (n - 1) / (n**n * (n + 1))
        rows.append((f"first price n={n}: interim regret (truthful, U[0,1])",
                     f"{c.interim['mean']:.4f} +- {1.96 * c.interim['se']:.4f} ({time.perf_counter() - t:.1f} s)",
                     f"closed form {exact:.4f}"))
        sp = s.model_copy(update={"mechanism": ir.Format(name="second_price")})
        c = verify(format_mechanism(sp.mechanism, sp), sp, samples=args.samples, interim=False)
        rows.append((f"second price n={n}: max regret / revenue", f"{c.max_regret:.2g} / {c.metrics['revenue']['value']:.4f}",
                     f"0 / {(n - 1) / (n + 1):.4f}"))
    s22 = additive_spec(2, 2).model_copy(update={"mechanism": ir.Format(name="vcg"), "objective": None})
    c = verify(format_mechanism(s22.mechanism, s22), s22, samples=args.samples, interim=False)
    rows.append(("VCG 2x2 additive U[0,1]: revenue", f"{c.metrics['revenue']['value']:.4f}", "0.6667 (published figures)"))

    w = max(len(r[0]) for r in rows)
    print(f"{'setting':<{w}}  {'ours':<48}  published / target")
    for r in rows:
        print(f"{r[0]:<{w}}  {r[1]:<48}  {r[2]}")


if __name__ == "__main__":
    main()

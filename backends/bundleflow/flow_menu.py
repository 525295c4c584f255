"""Stage 2 of BundleFlow: a menu of J elements, each a mixture of ``support`` Dirac points
pushed through the frozen flow to a distribution over bundles, with one price per element
and a null element (nothing, price 0) for IR.

Element j's support point k sits at s0 = 0.05 + 0.9 * sigmoid(10 * mu_jk); it flows to the
bundle round(phi(s0)) with probability softmax_k(w_jk - Tr Q(s0) * int eta) (the flow's
density change moves mass between support points, and is the path by which gradients reach
the support positions; the bundles themselves are piecewise constant).  Training maximises
the softmax-relaxed revenue on sampled XOR valuations, with the softmax sharpness growing
geometrically; at test the bidder takes the element of highest expected utility (argmax,
ties to the higher price), so the menu is IC and IR by construction.

Utilities need v(S) for every (valuation, support bundle) pair: a (B*K, m) x (m, A) product
per chunk of A bundles, so memory is bounded by ``chunk`` whatever J * support is.
"""

from __future__ import annotations

import torch
from auctionc.backends.bundleflow.flow import FlowField
from auctionc.backends.bundleflow.sizes import max_items_for_memory, memory_bytes  # noqa: F401 - re-exported
from torch import nn

START, RANGE = 0.05, 0.9


def bundle_values(bids: torch.Tensor, values: torch.Tensor, bundles: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """``(B, A)`` XOR values: ``bids`` (B, K, m) 0/1, ``values`` (B, K), ``bundles`` (A, m) 0/1."""
    b, k, m = bids.shape
    flat = bids.reshape(b * k, m)
    out = []
    for a in range(0, bundles.shape[0], chunk):
        outside = flat @ (1.0 - bundles[a : a + chunk]).T
        inside = (outside < 0.5).reshape(b, k, -1)
        out.append(torch.where(inside, values[:, :, None], torch.zeros((), dtype=values.dtype)).amax(dim=1))
    return torch.cat(out, dim=1).clamp_min(0.0)


class BundleMenu(nn.Module):
    def __init__(self, flow: FlowField, menu: int, support: int, n_steps: int = 5,
                 init_bundles: torch.Tensor | None = None, init_prices: torch.Tensor | None = None,
                 gen: torch.Generator | None = None) -> None:
        super().__init__()
        m = flow.m
        self.flow = flow
        self.n_steps = n_steps
        self.menu_size, self.support = menu, support
        mu = torch.randn(menu, support, m, generator=gen) * 0.3
        if init_bundles is not None:
            # start each support point at a corner seen in the data: sigmoid(+-3) puts it at
            # 0.095 or 0.905, well inside the basin the flow rounds to that corner
            mu = (init_bundles.reshape(menu, support, m) * 2 - 1) * 0.3 + 0.02 * torch.randn(menu, support, m, generator=gen)
        self.mu = nn.Parameter(mu)
        self.w = nn.Parameter(torch.zeros(menu, support))
        p = init_prices if init_prices is not None else torch.rand(menu, generator=gen)
        self.raw_price = nn.Parameter(p.clone().float())

    def starts(self) -> torch.Tensor:
        return START + RANGE * torch.sigmoid(10 * self.mu)

    def prices(self) -> torch.Tensor:
        return self.raw_price.clamp_min(0.0)

    def distributions(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Support bundles (J, S, m) (no gradient) and their probabilities (J, S)."""
        s0 = self.starts().reshape(-1, self.flow.m)
        end, q, h = self.flow.integrate(s0, self.n_steps)
        bundles = (end.detach() >= 0.5).float().reshape(self.menu_size, self.support, -1)
        logits = self.w - (q.sum(-1) * h).reshape(self.menu_size, self.support)
        return bundles, torch.softmax(logits, dim=1)

    def utilities(self, bids: torch.Tensor, values: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        bundles, probs = self.distributions()
        flat = bundles.reshape(-1, bundles.shape[-1])
        uniq, inv = torch.unique(flat, dim=0, return_inverse=True)
        vals = bundle_values(bids, values, uniq, chunk)[:, inv].reshape(bids.shape[0], self.menu_size, self.support)
        return (vals * probs[None]).sum(-1) - self.prices()[None]

    def soft_revenue(self, bids: torch.Tensor, values: torch.Tensor, lam: float) -> torch.Tensor:
        u = self.utilities(bids, values)
        u = torch.cat([u, torch.zeros(u.shape[0], 1)], dim=1)
        choice = torch.softmax(u * lam, dim=1)[:, :-1]
        return (choice @ self.prices()).mean()

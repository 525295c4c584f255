"""Monotone value networks (MVNN-style, Weissteiner et al. 2022), many trained at once.

Each network maps a schedule (a 0/1 vector over courses) to a value through hidden layers
with non-negative weights, non-positive biases and the bounded ReLU ``min(max(x, 0), 1)``,
and a non-negative output layer without bias.  So every network is monotone (adding a
course never lowers the value: free disposal) and values the empty schedule at 0.  The
constraints are kept by projection after each optimiser step.

All students' networks, and every member of each student's ensemble, are one batched module
(weights of shape (n_nets, in, out)): training them together costs a few batched matrix
products per step instead of a Python loop over thousands of small networks.

Training (``fit``) minimises, per network,

    report_weight * mean squared error on the reported schedules
    + mean loss on the comparison answers
    + l2 * squared weights,

where an answer with vote share y for the first schedule is scored against
p = sigmoid(sharpness * (M(first) - M(second))) by the generalised cross-entropy of Zhang &
Sabuncu (2018), ``y (1 - p^q) / q + (1 - y) (1 - (1 - p)^q) / q`` (robust to wrong answers:
as q -> 0 it is the cross-entropy, at q = 1 the mean absolute error), or by the plain
cross-entropy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


class MonotoneNets(torch.nn.Module):
    def __init__(self, n_nets: int, n_inputs: int, hidden: tuple[int, ...], generator: torch.Generator):
        super().__init__()
        sizes = (n_inputs, *hidden)
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for d_in, d_out in zip(sizes[:-1], sizes[1:], strict=True):
            # inputs of the first layer hold at most a few ones; later layers' inputs are in [0, 1]
            w_scale = 0.6 if d_in == n_inputs else 2.0 / d_in
            self.weights.append(torch.nn.Parameter(torch.rand(n_nets, d_in, d_out, generator=generator) * w_scale))
            self.biases.append(torch.nn.Parameter(-torch.rand(n_nets, 1, d_out, generator=generator) * 0.5))
        self.output = torch.nn.Parameter(torch.rand(n_nets, sizes[-1], 1, generator=generator) * (2.0 / sizes[-1]))

    @property
    def n_nets(self) -> int:
        return int(self.output.shape[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n_nets, n_points, n_inputs) -> (n_nets, n_points)."""
        h = x
        for w, b in zip(self.weights, self.biases, strict=True):
            h = torch.clamp(torch.baddbmm(b, h, w), 0.0, 1.0)
        return torch.bmm(h, self.output).squeeze(-1)

    @torch.no_grad()
    def project(self) -> None:
        for w in self.weights:
            w.clamp_(min=0.0)
        for b in self.biases:
            b.clamp_(max=0.0)
        self.output.clamp_(min=0.0)

    def numpy_net(self, k: int) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """Network k as arrays (hidden weights, hidden biases, output weights), for the MILP."""
        with torch.no_grad():
            return ([w[k].double().numpy() for w in self.weights], [b[k, 0].double().numpy() for b in self.biases],
                    self.output[k, :, 0].double().numpy())


def comparison_loss(diff: torch.Tensor, label: torch.Tensor, loss: str, q: float) -> torch.Tensor:
    """Elementwise loss of answers with soft label ``label`` (share of votes for the first
    schedule) when the model's log-odds for the first schedule are ``diff``."""
    if loss == "ce":
        return torch.nn.functional.binary_cross_entropy_with_logits(diff, label, reduction="none")
    p = torch.sigmoid(diff).clamp(1e-6, 1 - 1e-6)
    return label * (1 - p.pow(q)) / q + (1 - label) * (1 - (1 - p).pow(q)) / q


@dataclass(frozen=True)
class FitSettings:
    epochs: int
    learning_rate: float
    loss: str
    q: float
    sharpness: float
    report_weight: float
    l2: float = 1e-5


def fit(nets: MonotoneNets, card_x: torch.Tensor, card_y: torch.Tensor, card_w: torch.Tensor,
        first: torch.Tensor | None, second: torch.Tensor | None, label: torch.Tensor | None,
        mask: torch.Tensor | None, settings: FitSettings) -> float:
    """Full-batch Adam on every network at once; returns the final mean loss.

    card_x (n_nets, n_card, m), card_y and card_w (n_nets, n_card): reported schedules, their
    reported values and per-network weights (bootstrap weights make ensemble members differ);
    first/second (n_nets, n_pairs, m), label and mask (n_nets, n_pairs): the answers so far."""
    opt = torch.optim.Adam(nets.parameters(), lr=settings.learning_rate)
    has_pairs = first is not None and second is not None and mask is not None and bool(mask.any())
    n_card = card_x.shape[1]
    n_pairs = first.shape[1] if has_pairs else 0  # type: ignore[union-attr]
    # one forward pass over every point a network is trained on
    x = torch.cat([card_x, first, second], dim=1) if has_pairs else card_x  # type: ignore[list-item]
    total = torch.tensor(0.0)
    for _ in range(settings.epochs):
        opt.zero_grad()
        out = nets(x)
        err = (out[:, :n_card] - card_y) ** 2
        total = settings.report_weight * (err * card_w).sum() / card_w.sum()
        if has_pairs:
            diff = settings.sharpness * (out[:, n_card : n_card + n_pairs] - out[:, n_card + n_pairs :])
            lc = comparison_loss(diff, label, settings.loss, settings.q)
            total = total + (lc * mask).sum() / mask.sum()
        if settings.l2:
            total = total + settings.l2 * sum((w**2).sum() for w in nets.weights) / nets.n_nets
        total.backward()
        opt.step()
        nets.project()
    return float(total.detach())


@torch.no_grad()
def predict(nets: MonotoneNets, x: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """Values of shared points x (n_points, m) under every network: (n_nets, n_points)."""
    out = []
    for lo in range(0, x.shape[0], chunk):
        block = x[lo : lo + chunk].unsqueeze(0).expand(nets.n_nets, -1, -1)
        out.append(nets(block))
    return torch.cat(out, dim=1)

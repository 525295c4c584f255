"""GemNet's menu networks in numpy, for the compatibility transforms and the artifact: the
forward pass, sound interval bounds over boxes of inputs and global Lipschitz bounds.
Every transform (``cells``, ``scale``, ``surcharge``) and the artifact evaluate the
networks through this module, so all of them see the same function."""

from __future__ import annotations

from typing import Any

import numpy as np

NetWeights = dict[str, Any]
"""``{"trunk": [(W, b), ...], "alloc": (W, b), "price": (W, b), "head": str, "K": int,
"m": int}``; ``W`` is ``(out, in)`` as in torch; inputs are the others' values / scale."""

TIE_TOL = 1e-9
"""The artifact's tie tolerance (value units): an element within this of the best utility
may be chosen (the tie rule then prefers the highest price), so a sound exclusion must beat
an element by more than this."""

# --------------------------------------------------------------------------
# The menu network in numpy: forward pass, interval bounds, Lipschitz bound
# --------------------------------------------------------------------------


CLIP_STRETCH = 0.01
"""GemNet's additive head ``clip((1 + 2s) sigmoid - s, 0, 1)``: a sigmoid never reaches 0
or 1, so two bidders who both buy something always over-allocate some item by a hair and
no cell could ever be certified; the stretched, clipped sigmoid gives exact zeros and ones."""


def apply_head(logits: np.ndarray, head: str) -> np.ndarray:
    if head == "additive":
        return 1.0 / (1.0 + np.exp(-logits))
    if head == "additive_clipped":
        return np.clip((1 + 2 * CLIP_STRETCH) / (1.0 + np.exp(-logits)) - CLIP_STRETCH, 0.0, 1.0)
    z = logits - logits.max(-1, keepdims=True)
    e = np.exp(z)
    s = e / e.sum(-1, keepdims=True)
    return s[..., :-1] if head == "unit_demand" else s


def head_width(head: str, m: int) -> int:
    return m + 1 if head == "unit_demand" else m


def forward(net: NetWeights, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Menu for inputs ``x (B, d)``: allocations ``(B, K, m)`` and prices ``(B, K)``
    (normalised units)."""
    h = x
    for W, b in net["trunk"]:
        h = np.tanh(h @ W.T + b)
    K, m, head = net["K"], net["m"], net["head"]
    Wa, ba = net["alloc"]
    logits = (h @ Wa.T + ba).reshape(len(x), K, head_width(head, m))
    Wp, bp = net["price"]
    return apply_head(logits, head), h @ Wp.T + bp


def forward_logits(net: NetWeights, x: np.ndarray) -> np.ndarray:
    """The allocation logits ``(B, K * width)`` (normalised units)."""
    h = x
    for W, b in net["trunk"]:
        h = np.tanh(h @ W.T + b)
    Wa, ba = net["alloc"]
    return h @ Wa.T + ba


def affine_box(lo: np.ndarray, hi: np.ndarray, W: np.ndarray, b: np.ndarray):
    mid = (lo + hi) / 2 @ W.T + b
    rad = (hi - lo) / 2 @ np.abs(W).T
    # widen by a few ulps of the magnitudes involved so rounding never makes a bound unsound
    slack = 1e-12 * (np.abs(mid) + rad + 1.0)
    return mid - rad - slack, mid + rad + slack


def interval_bounds(net: NetWeights, lo: np.ndarray, hi: np.ndarray):
    """Sound bounds on allocations ``(B, K, m)`` and prices ``(B, K)`` over boxes ``[lo, hi]``."""
    for W, b in net["trunk"]:
        lo, hi = affine_box(lo, hi, W, b)
        lo, hi = np.tanh(lo), np.tanh(hi)
    K, m, head = net["K"], net["m"], net["head"]
    w = head_width(head, m)
    lL, lU = affine_box(lo, hi, *net["alloc"])
    lL, lU = lL.reshape(len(lo), K, w), lU.reshape(len(lo), K, w)
    if head in ("additive", "additive_clipped"):
        # both heads are increasing in each logit
        aL, aU = apply_head(lL, head), apply_head(lU, head)
    else:
        # softmax_j is increasing in logit j and decreasing in the others
        eL, eU = np.exp(lL - lU.max(-1, keepdims=True)), np.exp(lU - lU.max(-1, keepdims=True))
        sL, sU = eL.sum(-1, keepdims=True), eU.sum(-1, keepdims=True)
        aL = eL / (eL + (sU - eU))
        aU = eU / np.maximum(eU + (sL - eL), 1e-300)
        if head == "unit_demand":
            aL, aU = aL[..., :-1], aU[..., :-1]
    pL, pU = affine_box(lo, hi, *net["price"])
    return np.clip(aL, 0, 1), np.clip(aU, 0, 1), pL, pU


def lipschitz_bounds(net: NetWeights) -> tuple[float, float]:
    """Global Lipschitz constants (sup-norm in, sup-norm out, normalised units) of the
    allocations and of the prices: products of the layers' induced inf-norms (tanh is
    1-Lipschitz, the sigmoid 1/4, a softmax coordinate 1/2)."""
    L = 1.0
    for W, _ in net["trunk"]:
        L *= float(np.abs(W).sum(1).max())
    c = {"additive": 0.25, "additive_clipped": 0.25 * (1 + 2 * CLIP_STRETCH)}.get(net["head"], 0.5)
    La = c * float(np.abs(net["alloc"][0]).sum(1).max()) * L
    Lp = float(np.abs(net["price"][0]).sum(1).max()) * L
    return La, Lp

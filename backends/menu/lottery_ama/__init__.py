"""Lottery affine maximizers (architecture = "lottery_ama"): learned lottery outcomes, bidder
weights and boosts; strategy-proof by construction (``affine_maximizer`` is the artifact)."""

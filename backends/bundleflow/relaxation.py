"""The softmax relaxation's sharpness over training, shared by BundleFlow and the learned
menus it is compared with (Bundle-RochetNet, the fixed-bundle RochetNet), so that every
menu sees the same schedule.

Two schedules:

* ``paper``: the BundleFlow authors' (TonghanWang/BundleFlow ``menu.py``, commit 7e02468e):
  the inverse temperature starts at 0.001 per unit of value and is multiplied by 1.05 every
  200 iterations up to 0.2, in the units of the raw CATS values.  Our menus train on values
  divided by ``scale`` (the mean grand-bundle value of the training set), so the sharpness in
  those units is the raw one times ``scale``.  (The reference code also resets the sharpness
  to 0.05 when its menus' initial points spread out; that rule watches a statistic of its own
  support points that the other menus do not have, and is not copied.)
* ``geometric``: from ``start`` to ``end`` (in scaled units) geometrically over the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PAPER = {"start": 0.001, "factor": 1.05, "every": 200, "cap": 0.2}
"""The reference code's schedule in raw value units (``init_softmax``, ×1.05 every
``menu_print_iterations``, capped at 0.2)."""


@dataclass(frozen=True)
class Schedule:
    kind: str = "paper"
    start: float = 50.0
    """``geometric`` only: sharpness at step 0, in scaled units."""
    end: float = 500.0
    """``geometric`` only: sharpness at the last step, in scaled units."""
    every: int = PAPER["every"]
    """``paper`` only: iterations between multiplications."""
    scale: float = 1.0
    """The value scale the menu trains in (raw value = scaled value * scale)."""

    def at(self, step: int, total: int) -> float:
        if self.kind == "paper":
            raw = min(PAPER["cap"], PAPER["start"] * PAPER["factor"] ** (step // max(1, self.every)))
            return raw * self.scale
        if total <= 1:
            return self.end
        return self.start * math.exp(math.log(self.end / self.start) * min(step, total) / total)

    def cap_step(self) -> int | None:
        """``paper``: the first iteration at which the cap is reached."""
        if self.kind != "paper":
            return None
        k = math.ceil(math.log(PAPER["cap"] / PAPER["start"]) / math.log(PAPER["factor"]))
        return k * self.every

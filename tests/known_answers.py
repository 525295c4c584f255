"""The known-answer table: specs whose optimal revenue is known, run by every backend that
accepts them (tests/test_known_answers.py).

Each entry gives the spec as text, the optimum, where that figure comes from (a section of
docs/published-figures.md) and, per backend, the budget it runs with and the tolerance that
budget earns.  Exact backends are held to the solver's tolerance; learned ones to a
relative tolerance that reflects their training budget and the Monte Carlo noise of their
held-out test revenue.  A backend that accepts a spec must have a budget here (the
table test fails otherwise), so a new backend meets every known answer it claims to handle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

FIGURES = "docs/published-figures.md"


@dataclass(frozen=True)
class Budget:
    """How one backend runs an entry, and how close it must come."""

    tol: float
    """Absolute tolerance on the revenue (see tests/test_known_answers.py for which revenue)."""
    why: str
    """What the tolerance reflects."""
    options: dict[str, Any] = field(default_factory=dict)
    verify: dict[str, Any] = field(default_factory=dict)
    """Verifier settings (``samples``, ``steps``, ``restarts``)."""
    slow: bool = False
    """Over 20 s on the project's 2-core machine: left out of ``scripts/test.sh --quick``."""


@dataclass(frozen=True)
class KnownAnswer:
    name: str
    spec: str
    optimum: float
    source: str
    budgets: dict[str, Budget]


EXACT = Budget(1e-6, "an LP/MILP optimum: the solver's tolerance")


def learned(rel: float, optimum: float, why: str, options: dict[str, Any], *, slow: bool = False) -> Budget:
    """A learned backend's budget: ``rel`` of the optimum, on the backend's test revenue (set
    ``test_samples`` in ``options`` so that its noise stays well inside ``rel``).  The verifier
    only confirms the certificate, on a small sample with a short misreport search: these
    menus are IC by construction, and its search on 100,000 profiles costs minutes."""
    return Budget(rel * optimum, why, options, {"samples": 2000, "steps": 5, "restarts": 1}, slow)


_MENU_ON_TWO_ATOMS = (
    "a known shortfall, not a target: on two belief atoms the learned menu of experiments stops at a "
    "local optimum (measured 2026-11-30 with the defaults: 0.1993 of 0.23, 0.0995 of 0.1429, 0.4040 of "
    "0.417, 0.2491 of 0.25); the budget holds it there so that a regression shows, and the exact lp "
    "backend, which the planner prefers for finite type spaces, solves these cases"
)


def _single_item(n: int, value: str, name: str) -> str:
    who = "bidder b" if n == 1 else f"bidders {n}"
    return f"""auction {name} {{
    items 1
    {who} {{ value ~ {value} }}
    require IC, IR
    maximize revenue
}}"""


def _two_type_market(tl: float, th: float, fh: float) -> tuple[str, float]:
    """A binary-state market with belief types tl < 1/2 < th (P(th) = fh) and its optimum:
    with q = (2 th - 1) / (th - tl), the menu {full information at 1 - th; E_q at tl q} earns
    (1 - fh) tl q + fh (1 - th) when tl <= fh th, else flat pricing earns tl."""
    q = (2 * th - 1) / (th - tl)
    optimum = (1 - fh) * tl * q + fh * (1 - th) if tl <= fh * th else tl
    text = f"""market two_types {{
    states w0, w1
    buyer buyer {{
        actions act0, act1
        payoff act0 {{ w0: 1, w1: 0 }}
        payoff act1 {{ w0: 0, w1: 1 }}
        type belief(w1) ~ Discrete({{{tl}: {1 - fh:.10g}, {th}: {fh}}})
    }}
    require IC, IR, obedience
    maximize revenue
}}"""
    return text, optimum


def _myerson_exponential(n: int, mean: float) -> float:
    """Myerson's optimum for n iid exponential bidders: the virtual value v - mean is affine,
    so the optimum is second price with reserve ``mean``, earning E[(max v - mean)^+]."""
    from scipy.integrate import quad

    return quad(lambda x: 1 - (1 - math.exp(-x / mean)) ** n, mean, math.inf)[0]


_MENU_ON_ATOMS = ("a 50-element menu after 500 steps; prices settle just under the atoms they price "
                  "(test revenue on 100,000 profiles: noise under 0.5%)")
_ON_ATOMS = {"steps": 500, "size": 50, "test_samples": 100_000}
_MEASURED = "test revenue on 100,000 fresh profiles: 95% noise about 0.3%"

KNOWN_ANSWERS: list[KnownAnswer] = [
    KnownAnswer(
        "myerson_grid_2", _single_item(2, "Grid(0, 0.75, 4)", "myerson_grid_2"), 5 / 12 - 1 / (6 * 4**2),
        f"{FIGURES}#single-item-n-bidders-myerson: 5/12 - 1/(6K^2) on the grid k/K, K = 4",
        {"lp": EXACT,
         # an affine maximizer charges Clarke payments (the second bid), not the next atom above
         # it, so its best here is second price with reserve 1/2: 0.390625, 3.8% below the optimum
         "menu": learned(0.06, 0.40625, "a lottery AMA (its best on these atoms is 0.390625) after 800 steps: "
                         "measured 0.3859", {"architecture": "lottery_ama", "steps": 800, "test_samples": 100_000},
                         slow=True)},
    ),
    KnownAnswer(
        "posted_price_atoms", _single_item(1, "Discrete({1: 0.4, 2: 0.3, 3: 0.2, 5: 0.1})", "posted_price_atoms"), 1.2,
        f"{FIGURES}#single-item-n-bidders-myerson: one bidder, the best posted price max_p p P(v >= p) = 2 x 0.6",
        {"lp": EXACT, "menu": learned(0.03, 1.2, _MENU_ON_ATOMS, _ON_ATOMS)},
    ),
    KnownAnswer(
        "xor_pair_atoms",
        """auction xor_pair_atoms {
    items A, B
    bidder b {
        valuation xor {
            {A, B}: Discrete({2: 0.5, 3: 0.5})
            {A}: PointMass(1)
        }
    }
    require IC, IR
    maximize revenue
}""",
        2.0,
        f"{FIGURES}#hand-computed-finite-cases: the pair at 2, or {{A}} at 1 with the pair at 3",
        {"lp": EXACT, "menu": learned(0.03, 2.0, _MENU_ON_ATOMS, _ON_ATOMS)},
    ),
    KnownAnswer(
        "deterministic_two_items",
        """auction deterministic_two_items {
    items A, B
    bidder b {
        valuation additive
        value A ~ Discrete({1: 0.5, 3: 0.5})
        value B ~ Discrete({1: 0.5, 2: 0.5})
    }
    require IC, IR, deterministic
    maximize revenue
}""",
        2.5,
        f"{FIGURES}#hand-computed-finite-cases: A at 3 and B at 2 (a lottery menu earns 2.625)",
        {"milp": EXACT},
    ),
    *[
        KnownAnswer(f"two_types_market_{k}", text, opt,
                    f"{FIGURES}#data-markets: the two-type closed form at (theta_L, theta_H, f_H) = {args}",
                    {"lp": EXACT, "menu": learned(rel, opt, _MENU_ON_TWO_ATOMS, {})})
        for k, (args, rel) in enumerate([((0.2, 0.7, 0.5), 0.15), ((0.1, 0.8, 0.5), 0.32),
                                         ((0.3, 0.55, 0.9), 0.05), ((0.25, 0.6, 0.3), 0.02)])
        for text, opt in [_two_type_market(*args)]
    ],
    KnownAnswer(
        "manelli_vincent",
        """auction manelli_vincent {
    items A, B
    bidder buyer {
        valuation additive
        value A ~ Uniform(0, 1)
        value B ~ Uniform(0, 1)
    }
    require IC, IR
    maximize revenue
}""",
        (12 + 2 * math.sqrt(2)) / 27,
        f"{FIGURES}#single-bidder-menus: Manelli-Vincent, (12 + 2 sqrt 2)/27",
        {"menu": learned(0.01, 0.549201, f"RochetNet at its defaults (200 elements, 2,000 steps); {_MEASURED}", {"test_samples": 100_000},
                         slow=True)},
    ),
    KnownAnswer(
        "unit_demand_uniform",
        """auction unit_demand_uniform {
    items A, B
    bidder buyer {
        valuation unit_demand
        value A ~ Uniform(0, 1)
        value B ~ Uniform(0, 1)
    }
    require IC, IR
    maximize revenue
}""",
        2 / (3 * math.sqrt(3)),
        f"{FIGURES}#single-bidder-menus: each item at 1/sqrt 3, (2/3)/sqrt 3",
        {"menu": learned(0.01, 0.3849, f"RochetNet at its defaults (200 elements, 2,000 steps); {_MEASURED}", {"test_samples": 100_000},
                         slow=True)},
    ),
    KnownAnswer(
        "pavlov",
        """auction pavlov {
    items A, B
    bidder buyer {
        valuation unit_demand
        value A ~ Uniform(2, 3)
        value B ~ Uniform(2, 3)
    }
    require IC, IR
    maximize revenue
}""",
        2.1332,
        f"{FIGURES}#single-bidder-menus: Pavlov's mechanism by Monte Carlo of the released baseline code "
        "(the paper's 2.137 is recalled)",
        {"menu": learned(0.01, 2.1332, f"RochetNet at its defaults (200 elements, 2,000 steps); {_MEASURED}", {"test_samples": 100_000},
                         slow=True)},
    ),
    KnownAnswer(
        "single_minded_pair",
        """auction single_minded_pair {
    items A, B
    bidder b {
        valuation xor {
            {A, B}: Uniform(0, 1)
        }
    }
    require IC, IR
    maximize revenue
}""",
        0.25,
        f"{FIGURES}#single-item-n-bidders-myerson: one bidder, value U[0,1] for the pair: posted price 1/2",
        {"menu": learned(0.02, 0.25, f"a 50-element menu over bundles after 800 steps; {_MEASURED}",
                         {"steps": 800, "size": 50, "test_samples": 100_000})},
    ),
    KnownAnswer(
        "myerson_uniform_2", _single_item(2, "Uniform(0, 1)", "myerson_uniform_2"), 5 / 12,
        f"{FIGURES}#single-item-n-bidders-myerson: (n-1)/(n+1) + 2^-n/(n+1) at n = 2",
        {"menu": learned(0.01, 5 / 12, f"a lottery AMA after 1,500 steps; {_MEASURED}",
                         {"architecture": "lottery_ama", "steps": 1500, "test_samples": 100_000}, slow=True)},
    ),
    KnownAnswer(
        "myerson_exponential_3", _single_item(3, "Exponential(1 / 3)", "myerson_exponential_3"),
        _myerson_exponential(3, 3.0),
        f"{FIGURES}#single-item-n-bidders-myerson: second price with reserve 3, computed in closed form",
        {"menu": learned(0.01, 2.7517, f"a lottery AMA after 2,000 steps; {_MEASURED}",
                         {"architecture": "lottery_ama", "steps": 2000, "test_samples": 100_000}, slow=True)},
    ),
]

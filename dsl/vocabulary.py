"""The words of the language, listed once.

The parser (keyword groups in syntax errors), semantic analysis (did-you-mean, option
tables), the IR (``Literal`` types) and the simulation read them from here; the grammar
spells the same words as literals (so a misspelt kind still parses and gets a
did-you-mean), and ``tests/test_vocabulary.py`` checks that the two agree.
"""

from __future__ import annotations

SPEC_KINDS = ("auction", "market", "assignment")

TOP_KEYWORDS = (
    "param", "items", "common", "bidder", "bidders", "states", "buyer", "buyers", "prior",
    "externality", "require", "maximize", "mechanism", "solve", "simulate", "verify",
    "courses", "students",
)
"""Words that start a statement of an auction, market or assignment block."""
BIDDER_KEYWORDS = ("valuation", "value", "values", "signal", "agent")
BUYER_KEYWORDS = ("actions", "payoff", "type", "prior", "agent")

DISTRIBUTIONS = ("Uniform", "Normal", "Exponential", "Beta", "Discrete", "Grid", "PointMass", "Mixture")
DIST_SIGNATURES: dict[str, tuple[tuple[str, ...], int]] = {
    "Uniform": (("low", "high"), 2),
    "Normal": (("mu", "sigma", "low", "high"), 2),
    "Exponential": (("rate",), 1),
    "Beta": (("a", "b"), 2),
    "Discrete": (("probs",), 1),
    "Grid": (("low", "high", "n"), 3),
    "PointMass": (("value",), 1),
    "Mixture": (("components",), 1),
}
"""Each distribution's parameters (required first) and how many are required."""
BELIEF_DISTRIBUTIONS = ("Dirichlet",)
"""Distributions over belief vectors, written only in a market's ``type belief ~ ...``."""
DIST_EXAMPLES = {
    "Uniform": "Uniform(0, 1)",
    "Normal": "Normal(50, 10), or Normal(50, 10, 0, 100) truncated to [0, 100]",
    "Exponential": "Exponential(0.5)",
    "Beta": "Beta(2, 5)",
    "Discrete": "Discrete({0.2: 0.5, 0.7: 0.5})",
    "Grid": "Grid(0, 1, 11)",
    "PointMass": "PointMass(1)",
    "Mixture": "Mixture({0.5: Beta(8, 30), 0.5: Beta(60, 30)})",
    "crra": "crra(0.5)",
}

VALUATION_KINDS = ("additive", "unit_demand", "single", "xor")
CATS_DISTRIBUTIONS = ("arbitrary", "regions", "paths", "scheduling", "matching")

FORMATS = (
    "first_price", "second_price", "third_price", "vcg", "all_pay", "ascending_clock", "dutch",
    "posted_price", "ebay",
)
SINGLE_ITEM_FORMATS = ("first_price", "second_price", "third_price", "all_pay", "ascending_clock", "dutch", "ebay")
"""Formats defined for one item (VCG and posted prices take several)."""
STRATEGY_PROOF_FORMATS = frozenset({"second_price", "vcg", "ascending_clock", "posted_price"})
"""Formats in which bidding one's value is a dominant strategy (private values)."""
FORMAT_OPTIONS: dict[str, tuple[str, ...]] = {
    "first_price": ("reserve", "entry_fee"),
    "second_price": ("reserve", "entry_fee"),
    "third_price": ("reserve", "entry_fee"),
    "vcg": ("reserve", "entry_fee"),
    "all_pay": ("reserve", "entry_fee"),
    "ascending_clock": ("reserve", "entry_fee", "increment", "start", "announce_dropouts"),
    "dutch": ("reserve", "entry_fee", "increment", "start"),
    "posted_price": ("price", "prices", "entry_fee"),
    "ebay": ("days", "closing", "reserve", "hidden_reserve", "increment", "increments", "start"),
}
SIMULATED_ONLY_FORMATS = frozenset({"ebay"})
"""Formats that exist only as simulations (played day by day; no sealed-report artifact)."""
EBAY_CLOSING = ("hard", "soft")
EBAY_INCREMENTS = ("flat", "ebay")
FORMAT_OPTION_TYPES = {
    "reserve": "number",
    "entry_fee": "number",
    "increment": "number",
    "start": "number",
    "price": "number",
    "prices": "list",
    "announce_dropouts": "bool",
    "days": "number",
    "closing": "string",
    "hidden_reserve": "bool",
    "increments": "string",
}

AGENT_KINDS = ("llm", "truthful", "bne", "crra", "random", "sniper")
LLM_OPTIONS: dict[str, str] = {
    "model": "string",
    "reasoning": "string",
    "prompt": "string",
    "temperature": "number",
    "language": "string",
    "currency": "string",
    "api_base": "string",
    "prompts": "string",
}
REASONING = ("plain", "cot")
PROMPTS = ("default", "menu", "breitmoser", "risk_neutral", "dominant_strategy", "wrong_strategy", "nash_deviation")
"""The prompt interventions that ship with auctionc (the six of Shah et al. 2025, and none);
any other ``prompt`` names a .txt file in the spec's folder."""

CONSTRAINTS = ("IC", "IR", "obedience", "deterministic", "budget_balance")
MODES = ("dominant", "bayesian", "ex_post", "interim")
CONSTRAINT_MODES = {"IC": ("dominant", "bayesian"), "IR": ("ex_post", "interim")}
OBJECTIVE_TERMS = ("revenue", "welfare")

SIMULATE_SETTINGS = {"rounds": "count", "seed": "int", "repetitions": "count", "integer_values": "bool",
                     "prompts": "folder", "draws": "choice"}
"""The typed settings of ``simulate { }``; any other setting is an option of the simulation
backend, checked by the planner."""
DRAWS = ("numpy", "python_random")
"""How a simulation draws values: numpy's generator, or Python's ``random`` module in the
order of Shah et al.'s released code (their value draws, seed for seed)."""
VERIFY_SETTINGS = {"samples": "count", "steps": "count", "restarts": "count", "seed": "int",
                   "tolerance": "positive"}

# ---- assignment specs (course allocation) -----------------------------------

COURSE_KEYWORDS = ("seats", "timetable")
"""Statements of a ``courses N { }`` block."""
STUDENT_KEYWORDS = ("demand", "preferences", "reports", "proxy")
"""Statements of a ``students N { }`` block."""
ASSIGNMENT_MECHANISMS = ("course_match", "a_ceei", "full_information")
ASSIGNMENT_MECHANISM_OPTIONS: dict[str, dict[str, str]] = {
    "course_match": {"budget_spread": "number"},
    "a_ceei": {"budget_spread": "number"},
    "full_information": {},
}
TIMETABLES = ("generated", "none")
TIMETABLE_OPTIONS = {"days": "count", "slots": "count"}
PREFERENCE_GENERATORS = ("simulator",)
SIMULATOR_OPTIONS = {
    "popular": "count",
    "favourites": "number",
    "favourite_values": "range",
    "other_values": "range",
    "complements": "number",
    "substitutes": "number",
    "decay": "number",
    "centres": "int",
    "grid": "range",
}
"""Options of ``preferences simulator(...)``; a "range" is a list of two numbers."""
REPORT_MODELS = ("interface",)
INTERFACE_OPTIONS = {
    "forget_base": "number",
    "forget_adjustments": "number",
    "base_std": "number",
    "adjustment_std": "number",
    "forget_uniform": "number",
}
PROXY_KINDS = ("oracle", "llm")
PROXY_OPTIONS: dict[str, dict[str, str]] = {
    "oracle": {"flip": "number", "votes": "count"},
    "llm": {
        "model": "string",
        "votes": "count",
        "temperature": "number",
        "reasoning": "string",
        "prompt": "string",
        "description": "string",
        "omit": "number",
        "api_base": "string",
        "interface": "bool",
    },
}
DESCRIPTION_STYLES = ("qualitative", "precise")
"""How the text generator words a student's preferences for the LLM proxy."""
ASSIGNMENT_SETTINGS = {"seed": "int", "instances": "count", "queries": "int"}
"""The typed settings of an assignment's ``simulate { }``; any other setting is an option of
the assignment backend, checked by the planner."""

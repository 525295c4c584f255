"""The Spec IR: the only contract between the front end and the backends.

Every model is a frozen pydantic v2 value with ``extra="forbid"``; unions are
discriminated on ``kind`` so the JSON form is self-describing.  Nothing here
knows about the surface syntax: bidder groups are expanded, params are
substituted, item counts are turned into names.

Size: one idea, the contract itself. Auctions, data markets and course allocations each add their
models here so that the whole schema (and the spec hash built on it) is read in one module; the
file passed 600 lines when market types gained Dirichlet beliefs and belief-and-value types.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, ClassVar, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from .dsl.vocabulary import (
    ASSIGNMENT_MECHANISMS,
    CATS_DISTRIBUTIONS,
    DESCRIPTION_STYLES,
    DRAWS,
    EBAY_CLOSING,
    EBAY_INCREMENTS,
    FORMATS,
    REASONING,
    SIMULATED_ONLY_FORMATS,
)

Scalar = Union[bool, int, float, str]


class Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    _LATER_FIELDS: ClassVar[tuple[str, ...]] = ()
    """Fields added after IR version 1 that are written only when set (not None): a spec that
    does not use them keeps the JSON, and so the hash, it had before they existed (stored
    results and checkpoints stay valid)."""

    @model_serializer(mode="wrap")
    def _omit_unset_later_fields(self, handler: SerializerFunctionWrapHandler):
        out = handler(self)
        if self._LATER_FIELDS and isinstance(out, dict):
            for k in self._LATER_FIELDS:
                if out.get(k, 0) is None:
                    del out[k]
        return out


# --------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------


class Uniform(Node):
    kind: Literal["uniform"] = "uniform"
    low: float
    high: float


class Normal(Node):
    """Normal(mu, sigma), truncated to [low, high] when either bound is given."""

    kind: Literal["normal"] = "normal"
    mu: float
    sigma: float
    low: float | None = None
    high: float | None = None


class Exponential(Node):
    kind: Literal["exponential"] = "exponential"
    rate: float


class Beta(Node):
    kind: Literal["beta"] = "beta"
    a: float
    b: float


class Discrete(Node):
    kind: Literal["discrete"] = "discrete"
    values: tuple[float, ...]
    probs: tuple[float, ...]


class Grid(Node):
    """Uniform on n equally spaced points lo, ..., hi (n >= 2) or the single point lo (n = 1)."""

    kind: Literal["grid"] = "grid"
    low: float
    high: float
    n: int


class PointMass(Node):
    kind: Literal["point_mass"] = "point_mass"
    value: float


class Mixture(Node):
    kind: Literal["mixture"] = "mixture"
    weights: tuple[float, ...]
    components: tuple[Distribution, ...]


Distribution = Annotated[
    Union[Uniform, Normal, Exponential, Beta, Discrete, Grid, PointMass, Mixture],
    Field(discriminator="kind"),
]


# --------------------------------------------------------------------------
# Value expressions: a sum of terms, for affiliated values and signals.
# --------------------------------------------------------------------------


class Const(Node):
    kind: Literal["const"] = "const"
    value: float


class CommonRef(Node):
    """A reference to a ``common`` variable, drawn once per auction and shared."""

    kind: Literal["common_ref"] = "common_ref"
    name: str


class Draw(Node):
    """An independent draw for this bidder (and this item)."""

    kind: Literal["draw"] = "draw"
    dist: Distribution


Term = Annotated[Union[Const, CommonRef, Draw], Field(discriminator="kind")]


class ValueExpr(Node):
    """``coef_1 * term_1 + ... + coef_k * term_k``; a plain distribution is one Draw term."""

    terms: tuple[Term, ...]
    coefs: tuple[float, ...]

    @property
    def is_plain(self) -> bool:
        return len(self.terms) == 1 and self.coefs == (1.0,) and isinstance(self.terms[0], Draw)

    @property
    def plain_dist(self) -> Distribution | None:
        return self.terms[0].dist if self.is_plain else None  # type: ignore[union-attr]


class CommonVar(Node):
    name: str
    dist: Distribution


# --------------------------------------------------------------------------
# Valuations
# --------------------------------------------------------------------------


class Additive(Node):
    """v(S) = sum of item values; ``values[i]`` is the value of ``items[i]``."""

    kind: Literal["additive"] = "additive"
    values: tuple[ValueExpr, ...]


class UnitDemand(Node):
    """v(S) = max of item values in S."""

    kind: Literal["unit_demand"] = "unit_demand"
    values: tuple[ValueExpr, ...]


class Single(Node):
    """One item; one value."""

    kind: Literal["single"] = "single"
    value: ValueExpr


class XorBid(Node):
    bundle: tuple[str, ...]
    value: ValueExpr


class Xor(Node):
    """v(S) = max over bids whose bundle is a subset of S (0 if none)."""

    kind: Literal["xor"] = "xor"
    bids: tuple[XorBid, ...]


class Cats(Node):
    """XOR bids drawn from a CATS v2 distribution, one instance per valuation draw."""

    kind: Literal["cats"] = "cats"
    distribution: Literal[CATS_DISTRIBUTIONS]  # type: ignore[valid-type]
    options: dict[str, Scalar] = Field(default_factory=dict)


Valuation = Annotated[
    Union[Additive, UnitDemand, Single, Xor, Cats], Field(discriminator="kind")
]


# --------------------------------------------------------------------------
# Agents (who plays a bidder in simulations)
# --------------------------------------------------------------------------


class LLMAgent(Node):
    kind: Literal["llm"] = "llm"
    model: str | None = None
    reasoning: Literal[REASONING] = "plain"  # type: ignore[valid-type]
    prompt: str = "default"
    temperature: float = 0.5
    language: str = "en"
    currency: str = "$"
    api_base: str | None = None
    prompts: str | None = None
    """A folder of prompt files (beside the spec) over the bundled prompts, for this agent."""

    _LATER_FIELDS = ("prompts",)


class Truthful(Node):
    kind: Literal["truthful"] = "truthful"


class BNE(Node):
    kind: Literal["bne"] = "bne"


class CRRA(Node):
    kind: Literal["crra"] = "crra"
    r: float


class RandomAgent(Node):
    kind: Literal["random"] = "random"


class Sniper(Node):
    """eBay: waits for the last day, then bids its value (Roth and Ockenfels 2002)."""

    kind: Literal["sniper"] = "sniper"


Agent = Annotated[
    Union[LLMAgent, Truthful, BNE, CRRA, RandomAgent, Sniper], Field(discriminator="kind")
]


class Bidder(Node):
    name: str
    group: str | None = None
    """The ``bidders N { }`` block this bidder came from (symmetric bidders share it)."""
    valuation: Valuation
    signal: ValueExpr | None = None
    """What the bidder observes when it is not its value (common-value auctions)."""
    agent: Agent | None = None


# --------------------------------------------------------------------------
# Data markets
# --------------------------------------------------------------------------


class BeliefType(Node):
    """The buyer's private type is its prior belief P(state = ``state``) (two states only;
    for more, ``DirichletBelief``)."""

    kind: Literal["belief"] = "belief"
    state: str
    dist: Distribution


class DirichletBelief(Node):
    """The buyer's private type is its belief over all the states, a vector drawn from
    Dirichlet(``alpha``) (``alpha`` in the order of ``MarketSpec.states``; two or more states)."""

    kind: Literal["dirichlet"] = "dirichlet"
    alpha: tuple[float, ...]


class ScaleType(Node):
    """The buyer's private type scales its payoffs; the belief is common knowledge."""

    kind: Literal["scale"] = "scale"
    dist: Distribution
    prior: tuple[float, ...]
    """The common prior over states, in the order of ``MarketSpec.states``."""


BeliefPart = Annotated[Union[BeliefType, DirichletBelief], Field(discriminator="kind")]


class BeliefScaleType(Node):
    """A two-part private type: a belief (``belief`` or ``dirichlet``) and, drawn
    independently of it, a scale of the payoffs (how much the buyer's decision is worth).
    The buyer's payoff is ``scale * payoffs[a][s]``; its value for information is the scale
    times its value at scale one, under its own belief."""

    kind: Literal["belief_scale"] = "belief_scale"
    belief: BeliefPart
    scale: Distribution


BuyerType = Annotated[Union[BeliefType, DirichletBelief, ScaleType, BeliefScaleType], Field(discriminator="kind")]


class Buyer(Node):
    name: str
    actions: tuple[str, ...]
    payoffs: tuple[tuple[float, ...], ...]
    """``payoffs[a][s]``: the payoff of action ``actions[a]`` in state ``states[s]``."""
    type: BuyerType
    agent: Agent | None = None


# --------------------------------------------------------------------------
# Requirements, objective, formats, solve/simulate/verify sections
# --------------------------------------------------------------------------


class IC(Node):
    kind: Literal["IC"] = "IC"
    mode: Literal["dominant", "bayesian"] = "dominant"


class IR(Node):
    kind: Literal["IR"] = "IR"
    mode: Literal["ex_post", "interim"] = "ex_post"


class Obedience(Node):
    kind: Literal["obedience"] = "obedience"


class Deterministic(Node):
    kind: Literal["deterministic"] = "deterministic"


class BudgetBalance(Node):
    kind: Literal["budget_balance"] = "budget_balance"


Constraint = Annotated[
    Union[IC, IR, Obedience, Deterministic, BudgetBalance], Field(discriminator="kind")
]


class Objective(Node):
    """Maximise ``sum(weights[i] * terms[i])``."""

    terms: tuple[Literal["revenue", "welfare"], ...]
    weights: tuple[float, ...]


FormatName = Literal[FORMATS]  # type: ignore[valid-type]
SIMULATED_ONLY = SIMULATED_ONLY_FORMATS
"""Formats played only as simulations (day by day): no artifact evaluates them from sealed
reports, so ``compile`` and ``verify`` do not take them."""


class Format(Node):
    name: FormatName
    reserve: float = 0.0
    increment: float | None = None
    entry_fee: float = 0.0
    price: float | None = None
    """Posted price (``posted_price`` only); a per-item price list is in ``prices``."""
    prices: tuple[float, ...] | None = None
    announce_dropouts: bool = True
    """Ascending clock: whether bidders see who dropped out (``False`` is the blind clock)."""
    start: float | None = None
    """Dutch and clock: the starting price; eBay: the opening price."""
    days: int | None = None
    """eBay: the days of bidding (each bidder acts once a day)."""
    closing: Literal[EBAY_CLOSING] | None = None  # type: ignore[valid-type]
    """eBay: ``hard`` (ends on the last day) or ``soft`` (bidding on the day before the last
    adds a day, as Shah et al. coded it)."""
    hidden_reserve: bool | None = None
    """eBay: bidders are told there is a reserve but not its amount."""
    increments: Literal[EBAY_INCREMENTS] | None = None  # type: ignore[valid-type]
    """eBay: ``flat`` (``increment``, the study's $1) or ``ebay`` (eBay's increment table and
    reserve rule)."""

    _LATER_FIELDS = ("days", "closing", "hidden_reserve", "increments")


class Solve(Node):
    backend: str
    options: dict[str, Scalar] = Field(default_factory=dict)


class Simulate(Node):
    rounds: int = 15
    seed: int = 0
    repetitions: int = 1
    integer_values: bool = False
    options: dict[str, Scalar] = Field(default_factory=dict)
    prompts: str | None = None
    """A folder of prompt files (beside the spec) over the bundled prompts, for every LLM agent."""
    draws: Literal[DRAWS] | None = None  # type: ignore[valid-type]
    """How values are drawn (default ``numpy``); ``python_random`` reproduces Shah et al.'s
    draws for a seed."""

    _LATER_FIELDS = ("prompts", "draws")


class Verify(Node):
    samples: int | None = None
    steps: int | None = None
    restarts: int | None = None
    seed: int | None = None
    tolerance: float | None = Field(default=None, exclude_if=lambda v: v is None)
    """The largest regret, IR or obedience violation the incentive checks accept (default
    1e-6 times the largest value).  Left out of the IR's JSON when unset, so that specs
    written before it existed keep their hash."""
    options: dict[str, Scalar] = Field(default_factory=dict)


# --------------------------------------------------------------------------
# Top-level specs
# --------------------------------------------------------------------------


class _SpecBase(Node):
    """What every kind of spec has: a name, its params, its source and source spans."""

    name: str
    params: dict[str, Scalar] = Field(default_factory=dict)
    """The params after ``--set`` overrides; recorded for reproducibility."""
    source: str | None = Field(default=None, exclude=True)
    """The file the spec came from (for messages; not part of the hash)."""
    _spans: dict = PrivateAttr(default_factory=dict)
    """Source spans by IR path ("solve.options.steps", "bidders.buyer.valuation", ...),
    filled by the front end so later stages can point at the spec text."""
    _source_text: str | None = PrivateAttr(default=None)
    """The text the front end parsed (the report shows it); never read back from ``source``,
    which a saved spec.json may set to any path."""
    _prompt_texts: dict = PrivateAttr(default_factory=dict)
    """Prompt files the spec's llm agents name, read by the front end from the spec's folder;
    the simulation takes prompts from here only, never from a path in the IR."""

    def span_of(self, path: str):
        """The span of the IR path or of its nearest ancestor that has one (or None)."""
        while path:
            if path in self._spans:
                return self._spans[path]
            path = path.rpartition(".")[0]
        return self._spans.get("spec")

    def spec_hash(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class _SpecCommon(_SpecBase):
    requirements: tuple[Constraint, ...] = ()
    objective: Objective | None = None
    mechanism: Format | None = None
    solve: Solve | None = None
    simulate: Simulate | None = None
    verify: Verify | None = None

    def requirement(self, kind: str) -> Constraint | None:
        for c in self.requirements:
            if c.kind == kind:
                return c
        return None

    def requires(self, kind: str) -> bool:
        return self.requirement(kind) is not None

    @property
    def designs(self) -> bool:
        """True when the spec asks for a mechanism to be designed."""
        return self.objective is not None


class AuctionSpec(_SpecCommon):
    kind: Literal["auction"] = "auction"
    items: tuple[str, ...]
    bidders: tuple[Bidder, ...]
    common: tuple[CommonVar, ...] = ()

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_bidders(self) -> int:
        return len(self.bidders)

    @property
    def valuation_kinds(self) -> set[str]:
        return {b.valuation.kind for b in self.bidders}


class MarketSpec(_SpecCommon):
    kind: Literal["market"] = "market"
    states: tuple[str, ...]
    buyers: tuple[Buyer, ...]
    externality: float = 0.0
    """Negative externality alpha >= 0 (Ravindranath, Jiang and Parkes 2023; Bonatti et al.):
    buyer i's payoff is ``v_i * (U_i[a_i, w] - alpha * sum_{j != i} U_j[a_j, w])``, with ``v_i``
    its own payoff scale (1 for a belief type) and ``U_j`` buyer j's payoff table *without*
    j's scale.  With matching payoffs (1 when the action fits the state, else 0) this is the
    paper's ``v_i * (1{a_i = w} - alpha * 1{a_j = w})``: i's loss is scaled by its own value
    and counts how often the others act right, not what their decisions are worth to them."""

    @property
    def n_bidders(self) -> int:
        return len(self.buyers)


# --------------------------------------------------------------------------
# Assignment specs: course allocation with preference elicitation
# (docs/assignment.md gives the sources of every default below)
# --------------------------------------------------------------------------


class GeneratedTimetable(Node):
    """Lectures laid out at random on ``days`` x ``slots`` hourly slots, seeded per instance."""

    kind: Literal["generated"] = "generated"
    days: int = 5
    slots: int = 12


class NoTimetable(Node):
    """No lectures: no two courses conflict."""

    kind: Literal["none"] = "none"


class FixedTimetable(Node):
    """``slots[c]``: the hourly slots course ``c`` occupies; two courses sharing a slot conflict."""

    kind: Literal["fixed"] = "fixed"
    slots: tuple[tuple[int, ...], ...]


Timetable = Annotated[Union[GeneratedTimetable, NoTimetable, FixedTimetable], Field(discriminator="kind")]


class Courses(Node):
    names: tuple[str, ...]
    seats: tuple[int, ...]
    """Seats of each course, in the order of ``names``."""
    supply_ratio: float | None = None
    """Seats / (students x demand) when the seats came from ``supply_ratio(r)``."""
    timetable: Timetable = GeneratedTimetable()


class SimulatorPreferences(Node):
    """True values from the course-allocation preference simulator: favourites drawn from the
    popular courses, base values, complement and substitute sets around centres on a grid.
    Defaults are the calibrated values (docs/assignment.md)."""

    kind: Literal["simulator"] = "simulator"
    popular: int = 9
    favourites: float = 2.6
    """Mean number of favourite courses (randomised rounding per student)."""
    favourite_values: tuple[float, float] = (50.0, 100.0)
    other_values: tuple[float, float] = (0.0, 50.0)
    complements: float = 0.4
    substitutes: float = 0.4
    decay: float = 0.8
    centres: int = 2
    grid: tuple[int, int] = (7, 7)


class InterfaceReports(Node):
    """What students report through the Course Match interface: noisy base values with the
    lowest ones forgotten, and pairwise adjustments (a constant per complement or substitute set)."""

    kind: Literal["interface"] = "interface"
    forget_base: float = 0.5
    forget_adjustments: float = 0.48
    base_std: float = 23.0
    adjustment_std: float = 0.2
    forget_uniform: float = 0.0


class OracleProxy(Node):
    """Answers comparison queries from the student's true values; each vote is flipped with
    probability ``flip``."""

    kind: Literal["oracle"] = "oracle"
    flip: float = 0.0
    votes: int = 1


DescriptionStyle = Literal[DESCRIPTION_STYLES]  # type: ignore[valid-type]


class LLMProxy(Node):
    """A language model that answers comparison queries from the student's plain-language
    description of her preferences."""

    kind: Literal["llm"] = "llm"
    model: str | None = None
    votes: int = 5
    temperature: float = 0.7
    reasoning: Literal[REASONING] = "cot"  # type: ignore[valid-type]
    prompt: str = "default"
    description: DescriptionStyle = "qualitative"
    omit: float = 0.0
    """Share of the facts about her preferences a student leaves out of her description."""
    api_base: str | None = None
    interface: bool = False
    """The model also fills in the interface report (a value per course) from the description."""


Proxy = Annotated[Union[OracleProxy, LLMProxy], Field(discriminator="kind")]


class Students(Node):
    count: int
    demand: int = 5
    """Most courses a student may take."""
    preferences: SimulatorPreferences = SimulatorPreferences()
    reports: InterfaceReports = InterfaceReports()
    proxy: Proxy | None = None
    """Who answers comparison queries for the students (None: interface reports only)."""


class AssignmentMechanism(Node):
    name: Literal[ASSIGNMENT_MECHANISMS]  # type: ignore[valid-type]
    budget_spread: float = 0.04
    """Budgets run from 1 to 1 + budget_spread (student j of N gets 1 + j * spread / N)."""


class AssignmentSimulate(Node):
    seed: int = 0
    instances: int = 1
    """Seeded instances (seed, seed + 1, ...), each with its own students and timetable."""
    queries: int = 0
    """Comparison queries per student."""
    options: dict[str, Scalar] = Field(default_factory=dict)
    """Options of the assignment backend (loss, selection, ensemble, ...)."""


class AssignmentSpec(_SpecBase):
    kind: Literal["assignment"] = "assignment"
    courses: Courses
    students: Students
    mechanism: AssignmentMechanism
    simulate: AssignmentSimulate = AssignmentSimulate()

    @property
    def n_bidders(self) -> int:
        return self.students.count

    # The sections of auctions and markets that an assignment does not have, answered for
    # code that reads any spec (the planner, the gallery).
    objective = property(lambda self: None)
    requirements = property(lambda self: ())
    solve = property(lambda self: None)
    verify = property(lambda self: None)
    designs = property(lambda self: False)


Spec = Annotated[Union[AuctionSpec, MarketSpec, AssignmentSpec], Field(discriminator="kind")]


class SpecDocument(Node):
    """The JSON envelope ``auctionc compile --emit ir`` prints and the schema describes."""

    ir_version: Literal[1] = 1
    spec: Spec


Mixture.model_rebuild()

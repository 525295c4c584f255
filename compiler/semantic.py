"""Semantic analysis: the AST of a .auction file to the Spec IR, or diagnostics.

Everything syntax-specific ends here: params are substituted, bidder groups are
expanded, item counts become names, value expressions become sums of terms.
The analysis goes on after an error wherever the rest does not depend on the
broken part, so one run reports every independent mistake.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from . import ir
from .dsl import ast as A
from .dsl.diagnostics import Diagnostic, Span, did_you_mean, did_you_mean_cased
from .dsl.parser import AGENT_KINDS, CONSTRAINTS, DIST_NAMES, FORMATS, VALUATION_KINDS
from .errors import PlanError

Scalar = bool | int | float | str

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
}
_FORMAT_OPTION_TYPES = {
    "reserve": "number",
    "entry_fee": "number",
    "increment": "number",
    "start": "number",
    "price": "number",
    "prices": "list",
    "announce_dropouts": "bool",
}

LLM_OPTIONS: dict[str, str] = {
    "model": "string",
    "reasoning": "string",
    "prompt": "string",
    "temperature": "number",
    "language": "string",
    "currency": "string",
    "api_base": "string",
}
REASONING = ("plain", "cot")
CATS_DISTRIBUTIONS = ("arbitrary", "regions", "paths", "scheduling", "matching")

SIMULATE_SETTINGS = {"rounds": "count", "seed": "int", "repetitions": "count", "integer_values": "bool"}
VERIFY_SETTINGS = {"samples": "count", "steps": "count", "restarts": "count", "seed": "int"}

# name, parameters (required first), number required
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
MAX_COUNT = 100_000
"""Items, bidders and buyers are expanded into names; a count beyond this is a typo, not a spec."""
_PROB_TOL = 5e-5
"""Probabilities must sum to 1 to four decimals: thirds written as 0.33333 pass, 0.33 does not."""


def _fmt(x: float | int) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:g}" if isinstance(x, float) else str(x)


class _Fail(Exception):
    """Raised inside the analysis after the diagnostic has been recorded."""


@dataclass
class _Linear:
    """A value expression while it is built: constant part plus (coef, term) pairs."""

    const: float = 0.0
    terms: list[tuple[float, Any]] = field(default_factory=list)

    @property
    def is_const(self) -> bool:
        return not self.terms

    def scaled(self, k: float) -> _Linear:
        return _Linear(self.const * k, [(c * k, t) for c, t in self.terms])

    def plus(self, other: _Linear) -> _Linear:
        return _Linear(self.const + other.const, self.terms + other.terms)

    def to_ir(self) -> ir.ValueExpr:
        terms = [t for _, t in self.terms]
        coefs = [float(c) for c, _ in self.terms]
        if self.const != 0.0 or not terms:
            terms.append(ir.Const(value=float(self.const)))
            coefs.append(1.0)
        return ir.ValueExpr(terms=tuple(terms), coefs=tuple(coefs))


class Analyzer:
    def __init__(self, doc: A.Document, overrides: dict[str, str] | None = None):
        self.doc = doc
        self.file = doc.filename
        self.overrides = dict(overrides or {})
        self.diags: list[Diagnostic] = []
        self.spans: dict[str, Span] = {}
        self.params: dict[str, Scalar] = {}
        self.param_kind: dict[str, str] = {}
        self.commons: dict[str, ir.CommonVar] = {}
        self.items: list[str] = []
        self.states: list[str] = []

    # ---- diagnostics ------------------------------------------------------

    def error(
        self,
        code: str,
        message: str,
        span: Span | None,
        help: str | None = None,
        suggestion: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        self.diags.append(Diagnostic(code, message, span, help=help, suggestion=suggestion, notes=notes))

    def fail(self, *args: Any, **kw: Any) -> _Fail:
        self.error(*args, **kw)
        return _Fail()

    def guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except _Fail:
            return None

    # ---- numbers ------------------------------------------------------------

    def scalar(self, e: A.Expr, what: str = "a value") -> Scalar:
        """A number, string or boolean; params substituted, arithmetic on numbers done."""
        if isinstance(e, A.String):
            return e.value
        if isinstance(e, A.Bool):
            return e.value
        if isinstance(e, A.Ref) and e.name in self.params:
            return self.params[e.name]
        return self.number(e, what)

    def number(self, e: A.Expr, what: str = "a number") -> int | float:
        v = self._number(e, what)
        if isinstance(v, float) and not math.isfinite(v):
            raise self.fail("E0306", "a number too large to be represented", e.span, help=f"{what} is needed here")
        return v

    def _number(self, e: A.Expr, what: str) -> int | float:
        if isinstance(e, A.Number):
            return e.value
        if isinstance(e, A.Paren):
            return self.number(e.expr, what)
        if isinstance(e, A.Neg):
            return -self.number(e.operand, what)
        if isinstance(e, A.BinOp):
            a = self.number(e.left, what)
            b = self.number(e.right, what)
            if e.op == "+":
                return a + b
            if e.op == "-":
                return a - b
            if e.op == "*":
                return a * b
            if b == 0:
                raise self.fail("E0311", "division by zero", e.right.span)
            r = a / b
            return int(r) if isinstance(a, int) and isinstance(b, int) and a % b == 0 else r
        if isinstance(e, A.Ref):
            if e.name in self.params:
                v = self.params[e.name]
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise self.fail(
                        "E0306",
                        f"param '{e.name}' is {self._kind_words(v)}, not a number",
                        e.span,
                        help=f"{what} is needed here",
                    )
                return v
            if e.name in self.commons:
                raise self.fail(
                    "E0306",
                    f"'{e.name}' is a common variable, not a number",
                    e.span,
                    help="common variables may appear only in value and signal expressions",
                )
            raise self.unknown_name(e)
        if isinstance(e, A.Call):
            raise self.fail(
                "E0306",
                f"a distribution, {e.callee.text}(...), where {what} is needed",
                e.span,
            )
        raise self.fail("E0306", f"{self._expr_words(e)} where {what} is needed", e.span)

    def unknown_name(self, e: A.Ref) -> _Fail:
        known = list(self.params) + list(self.commons)
        help_ = f"declare it, as in 'param {e.name} = 1'" + (f" or 'common {e.name} ~ Uniform(0, 1)'" if self.items else "")
        return self.fail(
            "E0201", f"unknown name '{e.name}'", e.span, help=help_, suggestion=did_you_mean(e.name, known)
        )

    def count(self, e: A.Expr, what: str, limit: int = MAX_COUNT) -> int:
        v = self.number(e, f"the number of {what}")
        if isinstance(v, float):
            if not v.is_integer():
                raise self.fail(
                    "E0307", f"the number of {what} must be a whole number, not {_fmt(v)}", e.span
                )
            v = int(v)
        if v > limit:
            raise self.fail(
                "E0307", f"too many {what}: {v}, more than the {limit:,} the front end expands", e.span
            )
        return v

    @staticmethod
    def _kind_words(v: Any) -> str:
        if isinstance(v, bool):
            return "a boolean"
        if isinstance(v, str):
            return "a string"
        return "a number"

    @staticmethod
    def _expr_words(e: Any) -> str:
        return {
            A.String: "a string",
            A.Bool: "a boolean",
            A.ListLit: "a list",
            A.DictLit: "a table {...}",
        }.get(type(e), "this expression")

    # ---- distributions -------------------------------------------------------

    def bind(self, call: A.Call, names: tuple[str, ...], required: int, what: str) -> dict[str, Any]:
        """Map positional and named arguments of ``call`` onto ``names``."""
        bound: dict[str, Any] = {}
        positional = [a for a in call.args if a.name is None]
        if len(positional) > len(names):
            raise self.fail(
                "E0304",
                f"too many arguments for {what}: it takes at most {len(names)}"
                f" ({', '.join(names)}), not {len(positional)}",
                call.span,
            )
        seen_named = False
        for a in call.args:
            if a.name is None:
                if seen_named:
                    raise self.fail("E0304", "a positional argument after a named one", a.span)
                bound[names[len(bound)]] = a.value
                continue
            seen_named = True
            n = a.name.text
            if n not in names:
                raise self.fail(
                    "E0304",
                    f"unknown parameter '{n}' of {what}",
                    a.name.span,
                    help=f"its parameters: {', '.join(names)}",
                    suggestion=did_you_mean(n, names),
                )
            if n in bound:
                raise self.fail("E0202", f"parameter '{n}' of {what} given twice", a.name.span)
            bound[n] = a.value
        missing = [n for n in names[:required] if n not in bound]
        if missing:
            raise self.fail(
                "E0304",
                f"too few arguments for {what}: it needs {required}"
                f" ({', '.join(names[:required])}), not {len(bound)}",
                call.span,
                help=f"write {DIST_EXAMPLES.get(what, what + '(...)')}",
            )
        return bound

    def dist(self, call: A.Call) -> ir.Distribution:
        name = call.callee.text
        if name not in DIST_SIGNATURES:
            raise self.fail(
                "E0204",
                f"unknown distribution '{name}'",
                call.callee.span,
                help="distributions: " + ", ".join(DIST_NAMES),
                suggestion=did_you_mean_cased(name, DIST_NAMES),
            )
        names, required = DIST_SIGNATURES[name]
        b = self.bind(call, names, required, name)
        sp = call.span

        def num(key: str) -> float:
            v = b[key]
            if isinstance(v, A.DictLit):
                raise self.fail("E0304", f"a table where {name}'s '{key}' must be a number", v.span)
            return float(self.number(v, f"{name}'s {key}"))

        def bad(msg: str, help_: str) -> _Fail:
            return self.fail("E0301", f"invalid {name}: {msg}", sp, help=help_)

        if name == "Uniform":
            lo, hi = num("low"), num("high")
            if not lo < hi:
                raise bad(
                    f"low {_fmt(lo)} is not below high {_fmt(hi)}",
                    "write Uniform(low, high) with low < high"
                    + ("; use PointMass(v) for a fixed value" if lo == hi else ""),
                )
            return ir.Uniform(low=lo, high=hi)
        if name == "Normal":
            mu, sigma = num("mu"), num("sigma")
            lo = num("low") if "low" in b else None
            hi = num("high") if "high" in b else None
            if not sigma > 0:
                raise bad(f"sigma must be positive, not {_fmt(sigma)}", "write Normal(mu, sigma) with sigma > 0")
            if lo is not None and hi is not None and not lo < hi:
                raise bad(
                    f"the truncation bounds {_fmt(lo)} and {_fmt(hi)} are empty",
                    "write Normal(mu, sigma, low, high) with low < high",
                )
            return ir.Normal(mu=mu, sigma=sigma, low=lo, high=hi)
        if name == "Exponential":
            rate = num("rate")
            if not rate > 0:
                raise bad(f"rate must be positive, not {_fmt(rate)}", "Exponential(rate) has mean 1/rate")
            return ir.Exponential(rate=rate)
        if name == "Beta":
            a, bb = num("a"), num("b")
            if not (a > 0 and bb > 0):
                raise bad(
                    f"both parameters must be positive, not ({_fmt(a)}, {_fmt(bb)})",
                    "write Beta(a, b) with a > 0 and b > 0",
                )
            return ir.Beta(a=a, b=bb)
        if name == "Grid":
            lo, hi = num("low"), num("high")
            n_e = b["n"]
            if isinstance(n_e, A.DictLit):
                raise self.fail("E0304", "a table where Grid's 'n' must be a number", n_e.span)
            n = self.count(n_e, "grid points", limit=10_000_000)
            if n < 1:
                raise bad(f"n must be at least 1, not {n}", "write Grid(low, high, n) with n >= 1")
            if n == 1 and lo != hi:
                raise bad("one point cannot span two ends", "write Grid(v, v, 1) or PointMass(v)")
            if n > 1 and not lo < hi:
                raise bad(f"low {_fmt(lo)} is not below high {_fmt(hi)}", "write Grid(low, high, n) with low < high")
            return ir.Grid(low=lo, high=hi, n=n)
        if name == "PointMass":
            return ir.PointMass(value=num("value"))
        if name == "Discrete":
            table = self.table_arg(b["probs"], name, "Discrete({0.2: 0.5, 0.7: 0.5})")
            values: list[float] = []
            probs: list[float] = []
            for p in table.pairs:
                v = float(self.number(p.key, "a value"))
                if v in values:
                    raise self.fail("E0202", f"value {_fmt(v)} appears twice in Discrete", p.key.span)
                values.append(v)
                probs.append(self.probability(p.value))
            self.check_sum(probs, table.span, "the probabilities of Discrete")
            return ir.Discrete(values=tuple(values), probs=tuple(probs))
        # Mixture
        table = self.table_arg(b["components"], name, "Mixture({0.5: Beta(8, 30), 0.5: Beta(60, 30)})")
        weights: list[float] = []
        comps: list[ir.Distribution] = []
        for p in table.pairs:
            weights.append(self.probability(p.key))
            if not isinstance(p.value, A.Call):
                raise self.fail(
                    "E0304",
                    "a Mixture component must be a distribution",
                    p.value.span,
                    help="write Mixture({weight: Distribution(...), ...})",
                )
            comps.append(self.dist(p.value))
        self.check_sum(weights, table.span, "the weights of Mixture")
        return ir.Mixture(weights=tuple(weights), components=tuple(comps))

    def table_arg(self, v: Any, name: str, example: str) -> A.DictLit:
        if not isinstance(v, A.DictLit):
            raise self.fail("E0304", f"not a table: {name} takes a table {{...}}", v.span, help=f"write {example}")
        if not v.pairs:
            raise self.fail("E0304", f"an empty table: {name} needs at least one entry", v.span, help=f"write {example}")
        return v

    def probability(self, e: A.Expr) -> float:
        p = float(self.number(e, "a probability"))
        if p < 0 or p > 1:
            raise self.fail("E0303", f"probability {_fmt(p)} is not between 0 and 1", e.span)
        return p

    def check_sum(self, probs: list[float], span: Span, what: str) -> None:
        s = math.fsum(probs)
        if abs(s - 1.0) > _PROB_TOL:
            raise self.fail(
                "E0302",
                f"{what} sum to {s:.6g}, not 1",
                span,
                help="make them add up to 1",
            )

    def plain_dist(self, e: A.Expr, what: str) -> ir.Distribution:
        """A single distribution (common variables, types): no sums, no constants."""
        while isinstance(e, A.Paren):
            e = e.expr
        if isinstance(e, A.Call):
            return self.dist(e)
        raise self.fail(
            "E0308",
            f"{what} must be a distribution such as Uniform(0, 1)",
            e.span,
        )

    # ---- value expressions -----------------------------------------------------

    def linear(self, e: A.Expr, allow_common: bool = True) -> _Linear:
        if isinstance(e, A.Paren):
            return self.linear(e.expr, allow_common)
        if isinstance(e, A.Call):
            return _Linear(0.0, [(1.0, ir.Draw(dist=self.dist(e)))])
        if isinstance(e, A.Ref) and e.name in self.commons:
            if not allow_common:
                raise self.fail("E0306", f"'{e.name}' is a common variable, not allowed here", e.span)
            return _Linear(0.0, [(1.0, ir.CommonRef(name=e.name))])
        if isinstance(e, A.Neg):
            return self.linear(e.operand, allow_common).scaled(-1.0)
        if isinstance(e, A.BinOp):
            a = self.linear(e.left, allow_common)
            b = self.linear(e.right, allow_common)
            if e.op == "+":
                return a.plus(b)
            if e.op == "-":
                return a.plus(b.scaled(-1.0))
            if e.op == "*":
                if a.is_const:
                    return b.scaled(a.const)
                if b.is_const:
                    return a.scaled(b.const)
                raise self.fail(
                    "E0308",
                    "a product of two random quantities is not a value expression",
                    e.span,
                    help="a value is a sum of distributions and common variables, each times a number",
                )
            if not b.is_const:
                raise self.fail("E0308", "division by a random quantity is not a value expression", e.span)
            if b.const == 0:
                raise self.fail("E0311", "division by zero", e.right.span)
            return a.scaled(1.0 / b.const)
        return _Linear(float(self.number(e, "a value")), [])

    def value_expr(self, e: A.Expr) -> ir.ValueExpr:
        return self.linear(e).to_ir()

    # ---- params ----------------------------------------------------------------

    def collect_params(self, body: tuple[A.Stmt, ...]) -> None:
        decl: dict[str, A.Param] = {}
        for s in body:
            if not isinstance(s, A.Param):
                continue
            n = s.name.text
            if n in decl:
                self.error(
                    "E0202",
                    f"param '{n}' is declared twice",
                    s.name.span,
                    notes=(f"first declared on line {decl[n].span.line}",),
                )
                continue
            decl[n] = s
            self.spans[f"params.{n}"] = s.span
            v = s.value
            neg = False
            if isinstance(v, A.Neg) and isinstance(v.operand, A.Number):
                neg, v = True, v.operand
            if isinstance(v, A.Number):
                val: Scalar = -v.value if neg else v.value
                self.param_kind[n] = "int" if isinstance(val, int) else "float"
            elif isinstance(v, A.String):
                val, self.param_kind[n] = v.value, "string"
            elif isinstance(v, A.Bool):
                val, self.param_kind[n] = v.value, "bool"
            else:
                self.error(
                    "E0503",
                    f"param '{n}' must be a number, a string, true or false",
                    s.value.span,
                    help="params are literals; compute with them where they are used",
                )
                continue
            self.params[n] = val
        for key, text in self.overrides.items():
            if key not in self.params:
                if key in decl:
                    continue  # its declaration is already an error
                known = ", ".join(sorted(self.params)) or "none"
                self.error(
                    "E0501",
                    f"--set {key}={text}: the spec has no param '{key}'",
                    None,
                    help=f"params of this spec: {known}",
                    suggestion=did_you_mean(key, self.params),
                )
                continue
            kind = self.param_kind[key]
            try:
                self.params[key] = _parse_override(text, kind)
            except ValueError:
                words = {"int": "an integer", "float": "a number", "bool": "true or false", "string": "a string"}
                self.error(
                    "E0502",
                    f"--set {key}={text}: param '{key}' takes {words[kind]}, not '{text}'",
                    decl[key].span,
                    help=f"'{key}' is {words[kind]} because of its declaration here",
                )

    # ---- the spec --------------------------------------------------------------

    def run(self) -> ir.AuctionSpec | ir.MarketSpec | None:
        spec_ast = self.doc.spec
        self.spans["spec"] = spec_ast.name.span
        body = spec_ast.body
        self.collect_params(body)
        market = spec_ast.kind == "market"
        self.check_placement(body, market)

        once: dict[type, A.Stmt] = {}
        for s in body:
            if isinstance(s, (A.Items, A.States, A.Maximize, A.MechanismStmt, A.SolveStmt, A.Externality, A.Prior)):
                self.once(once, type(s), s)
            elif isinstance(s, A.SettingsBlock):
                self.once(once, (A.SettingsBlock, s.keyword), s)  # type: ignore[arg-type]

        fields: dict[str, Any] = {"name": spec_ast.name.text}
        if market:
            states = next((s for s in body if isinstance(s, A.States)), None)
            self.guard(lambda: self.collect_states(states))
        else:
            items = next((s for s in body if isinstance(s, A.Items)), None)
            self.guard(lambda: self.collect_items(items))
            for s in body:
                if isinstance(s, A.Common):
                    self.guard(lambda s=s: self.collect_common(s))

        reqs = self.guard(lambda: self.requirements(body, market)) or ()
        objective = self.guard(lambda: self.objective(body))
        mech = next((s for s in body if isinstance(s, A.MechanismStmt)), None)
        fmt = self.guard(lambda: self.format(mech)) if mech is not None and not market else None
        solve = next((s for s in body if isinstance(s, A.SolveStmt)), None)
        solve_ir = self.guard(lambda: self.solve(solve)) if solve is not None else None
        sim = next((s for s in body if isinstance(s, A.SettingsBlock) and s.keyword == "simulate"), None)
        ver = next((s for s in body if isinstance(s, A.SettingsBlock) and s.keyword == "verify"), None)
        sim_ir = self.guard(lambda: self.settings(sim, ir.Simulate, SIMULATE_SETTINGS)) if sim else None
        ver_ir = self.guard(lambda: self.settings(ver, ir.Verify, VERIFY_SETTINGS)) if ver else None

        if market:
            buyers = self.buyers(body)
            ext = next((s for s in body if isinstance(s, A.Externality)), None)
            externality = self.guard(lambda: float(self.number(ext.expr, "the externality"))) if ext else 0.0
            if not buyers and not any(isinstance(s, A.Block) and s.keyword in ("buyer", "buyers") for s in body):
                self.error(
                    "E0405",
                    f"market {spec_ast.name.text} has no buyers",
                    spec_ast.name.span,
                    help="add a buyer, as in 'buyer farmer { actions ... payoff ... type ... }'",
                )
        else:
            bidders = self.bidders(body)
            if not any(isinstance(s, A.Block) and s.keyword in ("bidder", "bidders") for s in body):
                self.error(
                    "E0405",
                    f"auction {spec_ast.name.text} has no bidders",
                    spec_ast.name.span,
                    help="add bidders, as in 'bidder b { value ~ Uniform(0, 1) }' or 'bidders 2 { ... }'",
                )

        self.check_sections(spec_ast, market, reqs, objective, mech, fmt, sim)
        if self.diags:
            return None

        fields.update(
            params=dict(self.params),
            requirements=tuple(reqs),
            objective=objective,
            mechanism=fmt,
            solve=solve_ir,
            simulate=sim_ir,
            verify=ver_ir,
            source=self.file,
        )
        try:
            if market:
                spec: ir.AuctionSpec | ir.MarketSpec = ir.MarketSpec(
                    states=tuple(self.states), buyers=tuple(buyers), externality=externality or 0.0, **fields
                )
            else:
                spec = ir.AuctionSpec(
                    items=tuple(self.items), bidders=tuple(bidders), common=tuple(self.commons.values()), **fields
                )
        except ValidationError as e:  # a gap in the checks above; still a message, not a traceback
            first = e.errors()[0]
            self.error(
                "E0300",
                f"the spec does not form a valid IR: {first['msg']} at {'.'.join(map(str, first['loc']))}",
                self.spans["spec"],
                help="please report this: the front end should have caught it with its own message",
            )
            return None
        spec._spans = dict(self.spans)
        if solve_ir is not None:
            self.backend_options(spec, solve_ir)
        return spec if not self.diags else None

    def once(self, seen: dict, key: Any, s: A.Stmt) -> None:
        if key in seen:
            kw = _keyword(s)
            self.error(
                "E0410",
                f"'{kw}' is given twice",
                _head_span(s, kw),
                notes=(f"first given on line {seen[key].span.line}",),
                help=f"keep one '{kw}'",
            )
        else:
            seen[key] = s

    def check_placement(self, body: tuple[A.Stmt, ...], market: bool) -> None:
        auction_only = (A.Items, A.Common, A.MechanismStmt)
        market_only = (A.States, A.Prior, A.Externality)
        for s in body:
            kw = _keyword(s)
            if market and (isinstance(s, auction_only) or (isinstance(s, A.Block) and s.keyword.startswith("bidder"))):
                help_ = "a market has states and buyers; write an 'auction' for items, bidders and formats"
                if isinstance(s, A.Block):
                    help_ = "a market has buyers: write 'buyer farmer { ... }'"
                self.error("E0404", f"'{kw}' does not belong in a market", _head_span(s, kw), help=help_)
            elif not market and (
                isinstance(s, market_only) or (isinstance(s, A.Block) and s.keyword.startswith("buyer"))
            ):
                self.error(
                    "E0404",
                    f"'{kw}' does not belong in an auction",
                    _head_span(s, kw),
                    help="states, buyers and priors over states describe a data market: write 'market weather { ... }'",
                )

    # ---- items, states, common ---------------------------------------------------

    def collect_items(self, s: A.Items | None) -> None:
        if s is None:
            raise self.fail(
                "E0406",
                f"auction {self.doc.spec.name.text} declares no items",
                self.doc.spec.name.span,
                help="add 'items 1' for a single item, or 'items A, B' to name them",
            )
        names: list[tuple[str, Span]] = []
        counts = [e for e in s.entries if isinstance(e, A.ItemCount)]
        param_counts = [
            e for e in s.entries if isinstance(e, A.ItemName) and e.name.text in self.params
        ]
        if (counts or param_counts) and len(s.entries) > 1:
            raise self.fail(
                "E0307",
                "a number of items cannot be mixed with item names",
                s.span,
                help="write 'items 3' or 'items A, B, C'",
            )
        for e in s.entries:
            if isinstance(e, A.ItemCount) or (isinstance(e, A.ItemName) and e.name.text in self.params):
                expr = e.count if isinstance(e, A.ItemCount) else A.Ref(e.name.text, e.span)
                n = self.count(expr, "items")
                if n < 1:
                    raise self.fail("E0307", f"the number of items must be at least 1, not {n}", e.span)
                names = [("item", e.span)] if n == 1 else [(f"item_{i}", e.span) for i in range(1, n + 1)]
            elif isinstance(e, A.ItemName):
                names.append((e.name.text, e.span))
            else:
                lo = self.count(e.low, "the range start", limit=10**12)
                hi = self.count(e.high, "the range end", limit=10**12)
                if hi - lo >= MAX_COUNT:
                    raise self.fail("E0307", f"too many items: the range holds {hi - lo + 1}", e.span)
                if hi < lo:
                    raise self.fail(
                        "E0309",
                        f"the range {e.prefix.text}[{lo}..{hi}] is empty",
                        e.span,
                        help="write the smaller bound first, as in g[1..50]",
                    )
                names += [(f"{e.prefix.text}{i}", e.span) for i in range(lo, hi + 1)]
        seen: dict[str, Span] = {}
        for n, sp in names:
            if n in seen:
                self.error("E0202", f"item '{n}' is declared twice", sp, notes=(f"first declared on line {seen[n].line}",))
                continue
            seen[n] = sp
            self.items.append(n)
            self.spans[f"items.{n}"] = sp

    def collect_states(self, s: A.States | None) -> None:
        if s is None:
            raise self.fail(
                "E0406",
                f"market {self.doc.spec.name.text} declares no states",
                self.doc.spec.name.span,
                help="add 'states rain, sun'",
            )
        for n in s.names:
            if n.text in self.states:
                self.error("E0202", f"state '{n.text}' is declared twice", n.span)
                continue
            self.states.append(n.text)
            self.spans[f"states.{n.text}"] = n.span
        if len(self.states) < 2:
            raise self.fail("E0406", "a market needs at least two states", s.span, help="add 'states rain, sun'")

    def collect_common(self, s: A.Common) -> None:
        n = s.name.text
        if n in self.commons or n in self.params:
            raise self.fail("E0202", f"'{n}' is declared twice", s.name.span)
        self.commons[n] = ir.CommonVar(name=n, dist=self.plain_dist(s.expr, f"common variable '{n}'"))
        self.spans[f"common.{n}"] = s.span

    # ---- requirements, objective, format, solve, settings ------------------------

    def requirements(self, body: tuple[A.Stmt, ...], market: bool) -> tuple[Any, ...]:
        out: list[Any] = []
        seen: dict[str, A.ConstraintAst] = {}
        for s in body:
            if not isinstance(s, A.Require):
                continue
            for c in s.constraints:
                r = self.guard(lambda c=c: self.constraint(c, market))
                if r is None:
                    continue
                if r.kind in seen:
                    self.error(
                        "E0410",
                        f"requirement {r.kind} is given twice",
                        c.span,
                        notes=(f"first given on line {seen[r.kind].span.line}",),
                    )
                    continue
                seen[r.kind] = c
                out.append(r)
                self.spans[f"requirements.{r.kind}"] = c.span
        return tuple(out)

    def constraint(self, c: A.ConstraintAst, market: bool) -> Any:
        n = c.name.text
        if n not in CONSTRAINTS:
            raise self.fail(
                "E0208",
                f"unknown requirement '{n}'",
                c.name.span,
                help="requirements: " + ", ".join(CONSTRAINTS),
                suggestion=did_you_mean_cased(n, CONSTRAINTS),
            )
        if n == "obedience" and not market:
            raise self.fail(
                "E0404",
                "obedience is a requirement of data markets, not of auctions",
                c.name.span,
                help="obedience asks buyers to follow recommended actions: write a 'market' with states and actions",
            )
        modes = {"IC": ("dominant", "bayesian"), "IR": ("ex_post", "interim")}.get(n, ())
        if c.mode is None:
            return _CONSTRAINT_IR[n]()
        m = c.mode.text
        if not modes:
            raise self.fail("E0215", f"{n} takes no mode", c.mode.span, help=f"write '{n}'")
        if m not in modes:
            raise self.fail(
                "E0215",
                f"unknown mode '{m}' for {n}",
                c.mode.span,
                help=f"modes of {n}: {', '.join(modes)}",
                suggestion=did_you_mean(m, modes),
            )
        return _CONSTRAINT_IR[n](mode=m)

    def objective(self, body: tuple[A.Stmt, ...]) -> ir.Objective | None:
        s = next((x for x in body if isinstance(x, A.Maximize)), None)
        if s is None:
            return None
        self.spans["objective"] = s.span
        weights: dict[str, float] = {}

        def walk(e: A.Expr, k: float) -> None:
            if isinstance(e, A.Paren):
                walk(e.expr, k)
            elif isinstance(e, A.Ref) and e.name in ("revenue", "welfare"):
                weights[e.name] = weights.get(e.name, 0.0) + k
            elif isinstance(e, A.Neg):
                walk(e.operand, -k)
            elif isinstance(e, A.BinOp) and e.op in "+-":
                walk(e.left, k)
                walk(e.right, k if e.op == "+" else -k)
            elif isinstance(e, A.BinOp) and e.op == "*":
                if _mentions_terms(e.left) and _mentions_terms(e.right):
                    raise self.fail("E0209", "an objective is a weighted sum of revenue and welfare", e.span)
                if _mentions_terms(e.left):
                    walk(e.left, k * float(self.number(e.right, "a weight")))
                else:
                    walk(e.right, k * float(self.number(e.left, "a weight")))
            elif isinstance(e, A.BinOp) and e.op == "/":
                d = float(self.number(e.right, "a weight"))
                if d == 0:
                    raise self.fail("E0311", "division by zero", e.right.span)
                walk(e.left, k / d)
            elif isinstance(e, A.Ref) and e.name not in self.params:
                raise self.fail(
                    "E0209",
                    f"unknown objective '{e.name}'",
                    e.span,
                    help="maximize revenue, welfare, or a weighted sum such as 0.7 * revenue + 0.3 * welfare",
                    suggestion=did_you_mean(e.name, ("revenue", "welfare")),
                )
            else:
                raise self.fail(
                    "E0209",
                    "an objective is a weighted sum of revenue and welfare",
                    e.span,
                    help="for example: maximize 0.7 * revenue + 0.3 * welfare",
                )

        walk(s.expr, 1.0)
        terms = tuple(t for t in weights if weights[t] != 0.0)
        if not terms:
            raise self.fail("E0209", "the objective has no weight on revenue or welfare", s.expr.span)
        return ir.Objective(terms=terms, weights=tuple(weights[t] for t in terms))  # type: ignore[arg-type]

    def kwargs(self, args: tuple[A.Arg, ...] | None, what: str, example: str) -> dict[str, A.Arg]:
        out: dict[str, A.Arg] = {}
        for a in args or ():
            if a.name is None:
                raise self.fail("E0304", f"the options of {what} are named", a.span, help=f"write {example}")
            if a.name.text in out:
                raise self.fail("E0202", f"option '{a.name.text}' of {what} is given twice", a.name.span)
            out[a.name.text] = a
        return out

    def typed(self, a: A.Arg, kind: str, what: str) -> Any:
        """An option value of the expected kind ('number', 'string', 'bool', 'list')."""
        v = a.value
        assert a.name is not None
        opt = a.name.text
        words = {"number": "a number", "string": "a string", "bool": "true or false", "list": "a list of numbers"}
        if kind == "list":
            if not isinstance(v, A.ListLit):
                raise self.fail("E0305", f"option '{opt}' of {what} must be {words[kind]}", v.span, help=f"write {opt} = [1, 2]")
            return tuple(float(self.number(x, "a number")) for x in v.items)
        if isinstance(v, A.DictLit | A.ListLit) or (isinstance(v, A.Call)):
            raise self.fail("E0305", f"option '{opt}' of {what} must be {words[kind]}", v.span)
        got = self.scalar(v, words[kind])
        ok = (
            (kind == "number" and isinstance(got, (int, float)) and not isinstance(got, bool))
            or (kind == "string" and isinstance(got, str))
            or (kind == "bool" and isinstance(got, bool))
        )
        if not ok:
            shown = f'"{got}"' if isinstance(got, str) else str(got).lower() if isinstance(got, bool) else _fmt(got)
            raise self.fail(
                "E0305",
                f"option '{opt}' of {what} must be {words[kind]}, not {shown}",
                v.span,
            )
        return float(got) if kind == "number" else got

    def format(self, s: A.MechanismStmt) -> ir.Format:
        n = s.name.text
        self.spans["mechanism"] = s.span
        if n not in FORMATS:
            raise self.fail(
                "E0206",
                f"unknown format '{n}'",
                s.name.span,
                help="formats: " + ", ".join(FORMATS),
                suggestion=did_you_mean(n, FORMATS),
            )
        allowed = FORMAT_OPTIONS[n]
        opts = self.kwargs(s.args, n, f"{n}({allowed[0]} = ...)")
        vals: dict[str, Any] = {}
        failed = False
        for k, a in opts.items():
            assert a.name is not None
            self.spans[f"mechanism.options.{k}"] = a.span
            if k not in allowed:
                self.error(
                    "E0210",
                    f"{n} has no option '{k}'",
                    a.name.span,
                    help=f"options of {n}: {', '.join(allowed)}",
                    suggestion=did_you_mean(k, allowed),
                )
                failed = True
                continue
            v = self.guard(lambda a=a, k=k: self.typed(a, _FORMAT_OPTION_TYPES[k], n))
            if v is None:
                failed = True
                continue
            if k in ("reserve", "entry_fee", "price", "start") and v < 0:
                self.error("E0310", f"{k} of {n} must not be negative, not {_fmt(v)}", a.value.span)
                failed = True
                continue
            if k == "increment" and not v > 0:
                self.error("E0310", f"increment of {n} must be positive, not {_fmt(v)}", a.value.span)
                failed = True
                continue
            if k == "prices" and self.items and len(v) != len(self.items):
                self.error(
                    "E0310",
                    f"prices of {n} lists {len(v)} prices for {len(self.items)} items",
                    a.value.span,
                    help="give one price per item, in the order of 'items'",
                )
                failed = True
                continue
            vals[k] = v
        if failed:
            raise _Fail()
        if n == "posted_price" and "price" not in vals and "prices" not in vals:
            raise self.fail(
                "E0304",
                "posted_price needs a price",
                s.span,
                help="write posted_price(price = 50) or posted_price(prices = [..]) with one price per item",
            )
        return ir.Format(name=n, **vals)  # type: ignore[arg-type]

    def solve(self, s: A.SolveStmt) -> ir.Solve:
        from .backends.registry import available_backends

        self.spans["solve"] = s.span
        self.spans["solve.backend"] = s.backend.span
        n = s.backend.text
        names = available_backends()
        failed = False
        if n not in names:
            self.error(
                "E0601",
                f"unknown backend '{n}'",
                s.backend.span,
                help="backends: " + ", ".join(names),
                suggestion=did_you_mean(n, names),
            )
            failed = True
        opts = self.kwargs(s.args, f"backend {n}", f"{n}(steps = 1000)")
        out: dict[str, Scalar] = {}
        for k, a in opts.items():
            self.spans[f"solve.options.{k}"] = a.span
            v = a.value
            if isinstance(v, A.DictLit | A.ListLit | A.Call):
                self.error(
                    "E0305",
                    f"option '{k}' of backend {n} must be a number, a string or true/false",
                    v.span,
                )
                failed = True
                continue
            got = self.guard(lambda v=v: self.scalar(v))
            if got is None:
                failed = True
                continue
            out[k] = got
        if failed:
            raise _Fail()
        return ir.Solve(backend=n, options=out)

    def backend_options(self, spec: Any, solve: ir.Solve) -> None:
        """Let the backend check its own options (types, names, ranges) against the spec text."""
        from .backends import registry

        try:
            backend = registry.get_backend(solve.backend)
        except (ImportError, AttributeError):
            return  # the backend's module (or its class) is not there yet; it checks its options when it runs
        try:
            backend.parse_options(spec, dict(solve.options))
        except PlanError as e:
            self.diags.extend(e.diagnostics)

    def settings(self, s: A.SettingsBlock, model: type, known: dict[str, str]) -> Any:
        kw = s.keyword
        self.spans[kw] = s.span
        vals: dict[str, Any] = {}
        extra: dict[str, Scalar] = {}
        failed = False
        for st in s.settings:
            n = st.name.text
            self.spans[f"{kw}.{n}"] = st.span
            if n in vals or n in extra:
                self.error("E0202", f"setting '{n}' of {kw} is given twice", st.name.span)
                failed = True
                continue
            if n not in known:
                close = did_you_mean(n, known, cutoff=0.75)
                if close is not None:
                    self.error(
                        "E0213",
                        f"unknown setting '{n}' in {kw}",
                        st.name.span,
                        help=f"settings of {kw}: {', '.join(known)}",
                        suggestion=close,
                    )
                    failed = True
                    continue
                if isinstance(st.value, A.ListLit | A.Call):
                    self.error("E0305", f"setting '{n}' of {kw} must be a number, a string or true/false", st.value.span)
                    failed = True
                    continue
                got = self.guard(lambda st=st: self.scalar(st.value))
                if got is None:
                    failed = True
                else:
                    extra[n] = got
                continue
            want = known[n]
            if want == "bool":
                got = self.guard(lambda st=st: self.scalar(st.value))
                if got is None:
                    failed = True
                elif not isinstance(got, bool):
                    self.error("E0305", f"setting '{n}' of {kw} must be true or false", st.value.span)
                    failed = True
                else:
                    vals[n] = got
                continue
            if isinstance(st.value, A.String | A.Bool):
                self.error(
                    "E0305", f"setting '{n}' of {kw} must be a whole number", st.value.span
                )
                failed = True
                continue
            got = self.guard(lambda st=st, n=n: self.count(st.value, f"{n}", limit=10**12))
            if got is None:
                failed = True
                continue
            if want == "count" and got < 1:
                self.error("E0310", f"setting '{n}' of {kw} must be at least 1, not {got}", st.value.span)
                failed = True
                continue
            vals[n] = got
        if failed:
            raise _Fail()
        return model(options=extra, **vals)

    # ---- bidders ---------------------------------------------------------------

    def bidders(self, body: tuple[A.Stmt, ...]) -> list[ir.Bidder]:
        out: list[ir.Bidder] = []
        names: dict[str, Span] = {}
        group_no = 0
        numbered = 0
        for s in body:
            if not isinstance(s, A.Block) or s.keyword not in ("bidder", "bidders"):
                continue
            if s.keyword == "bidder":
                assert s.name is not None
                members = [(s.name.text, s.name.span)]
                group = None
            else:
                group_no += 1
                assert s.count is not None
                n = self.guard(lambda s=s: self.count(s.count, "bidders"))
                if n is None:
                    continue
                if n < 1:
                    self.error(
                        "E0405",
                        f"a group of {n} bidders",
                        s.count.span,
                        help="a bidders block needs at least one bidder: write 'bidders 2 { ... }'",
                    )
                    continue
                members = [(f"bidder_{numbered + i}", s.span) for i in range(1, n + 1)]
                numbered += n
                group = f"group_{group_no}"
            parts = self.guard(lambda s=s: self.bidder_body(s))
            for name, sp in members:
                if name in names:
                    self.error(
                        "E0202",
                        f"bidder '{name}' is declared twice",
                        sp,
                        notes=(f"first declared on line {names[name].line}",),
                    )
                    continue
                names[name] = sp
                self.spans[f"bidders.{name}"] = s.span
                if parts is None:
                    continue
                valuation, vspan, signal, sspan, agent, aspan = parts
                self.spans[f"bidders.{name}.valuation"] = vspan
                if sspan is not None:
                    self.spans[f"bidders.{name}.signal"] = sspan
                if aspan is not None:
                    self.spans[f"bidders.{name}.agent"] = aspan
                out.append(ir.Bidder(name=name, group=group, valuation=valuation, signal=signal, agent=agent))
        return out

    def bidder_body(self, block: A.Block) -> tuple:
        who = f"bidder {block.name.text}" if block.name else "each bidder of this group"
        head = block.name.span if block.name else (block.count.span if block.count else block.span)
        valuation_stmts = [s for s in block.body if isinstance(s, (A.ValuationKind, A.ValuationXor, A.ValuationCats))]
        values = [s for s in block.body if isinstance(s, A.Value)]
        values_all = [s for s in block.body if isinstance(s, A.Values)]
        signals = [s for s in block.body if isinstance(s, A.Signal)]
        agents = [s for s in block.body if isinstance(s, A.AgentStmt)]
        failed = False
        for group in (valuation_stmts, values_all, signals, agents):
            for extra in group[1:]:
                kw = _keyword(extra)
                self.error(
                    "E0410",
                    f"'{kw}' is given twice for {who}",
                    _head_span(extra, kw),
                    notes=(f"first given on line {group[0].span.line}",),
                )
                failed = True
        signal = sspan = None
        if signals:
            sspan = signals[0].span
            signal = self.guard(lambda: self.value_expr(signals[0].expr))
            failed |= signal is None
        agent = aspan = None
        if agents:
            aspan = agents[0].span
            agent = self.guard(lambda: self.agent(agents[0]))
            failed |= agent is None
        vstmt = valuation_stmts[0] if valuation_stmts else None
        valuation = self.guard(lambda: self.valuation(who, head, vstmt, values, values_all, signals))
        if valuation is None or failed:
            raise _Fail()
        vspan = vstmt.span if vstmt else (values[0].span if values else values_all[0].span if values_all else head)
        return valuation, vspan, signal, sspan, agent, aspan

    def per_item(self, who: str, values: list[A.Value], values_all: list[A.Values], need_all: bool) -> dict[str, ir.ValueExpr]:
        out: dict[str, ir.ValueExpr] = {}
        failed = False
        if values_all:
            e = self.guard(lambda: self.value_expr(values_all[0].expr))
            if e is None:
                failed = True
            else:
                out = {it: e for it in self.items}
        explicit: dict[str, A.Value] = {}
        for v in values:
            if v.item is None:
                if len(self.items) == 1:
                    item = self.items[0]
                else:
                    self.error(
                        "E0411",
                        f"'value' without an item name, but the auction has {len(self.items)} items",
                        v.span,
                        help=f"write 'value {self.items[0]} ~ ...' for each item, or 'values ~ Uniform(0, 1) iid'",
                    )
                    failed = True
                    continue
            else:
                item = v.item.text
                if item not in self.items:
                    self.error(
                        "E0205",
                        f"unknown item '{item}'",
                        v.item.span,
                        help="items of this auction: " + ", ".join(self.items[:12]) + (", ..." if len(self.items) > 12 else ""),
                        suggestion=did_you_mean(item, self.items),
                    )
                    failed = True
                    continue
            if item in explicit or (values_all and item in out and item not in explicit):
                first = explicit[item].span.line if item in explicit else values_all[0].span.line
                self.error(
                    "E0202",
                    f"the value of item '{item}' is given twice for {who}",
                    v.span,
                    notes=(f"first given on line {first}",),
                )
                failed = True
                continue
            explicit[item] = v
            e = self.guard(lambda v=v: self.value_expr(v.expr))
            if e is None:
                failed = True
                continue
            out[item] = e
        if failed:
            raise _Fail()
        if need_all:
            missing = [it for it in self.items if it not in out]
            if missing:
                first = values[0].span if values else None
                raise self.fail(
                    "E0407",
                    f"{who} has no value for item{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                    first,
                    help=f"add 'value {missing[0]} ~ ...' or give every item a prior with 'values ~ Uniform(0, 1) iid'",
                )
        return out

    def valuation(
        self,
        who: str,
        head: Span,
        vstmt: Any,
        values: list[A.Value],
        values_all: list[A.Values],
        signals: list[A.Signal],
    ) -> ir.Valuation:
        if not self.items:
            raise _Fail()  # the missing items are reported once, not per bidder
        if isinstance(vstmt, A.ValuationXor | A.ValuationCats):
            stray = (values + values_all)[:1]
            if stray:
                raise self.fail(
                    "E0411",
                    f"'{_keyword(stray[0])}' has no place beside an xor valuation",
                    stray[0].span,
                    help="an xor valuation gives its bundle values inside 'valuation xor { {A, B}: ... }'",
                )
            return self.xor(vstmt) if isinstance(vstmt, A.ValuationXor) else self.cats(vstmt)
        if isinstance(vstmt, A.ValuationKind):
            k = vstmt.kind.text
            if k not in VALUATION_KINDS:
                raise self.fail(
                    "E0203",
                    f"unknown valuation kind '{k}'",
                    vstmt.kind.span,
                    help="expected one of: " + ", ".join(VALUATION_KINDS),
                    suggestion=did_you_mean(k, VALUATION_KINDS),
                )
            if k == "xor":  # a bare 'valuation xor' cannot parse; kept for completeness
                raise self.fail("E0203", "an xor valuation needs its bids", vstmt.span)
            if k == "single":
                if len(self.items) != 1:
                    raise self.fail(
                        "E0411",
                        f"a single valuation is for one item, but the auction has {len(self.items)}",
                        vstmt.kind.span,
                        help="use additive or unit_demand for several items",
                    )
                return ir.Single(value=self.single_value(who, head, values, values_all, signals))
            vals = self.per_item(who, values, values_all, need_all=True)
            exprs = tuple(vals[it] for it in self.items)
            return ir.Additive(values=exprs) if k == "additive" else ir.UnitDemand(values=exprs)
        # no valuation line
        if len(self.items) == 1:
            return ir.Single(value=self.single_value(who, head, values, values_all, signals))
        if values or values_all:
            first = (values + values_all)[0]  # type: ignore[operator]
            raise self.fail(
                "E0407",
                f"{who} has values for {len(self.items)} items but no valuation kind",
                first.span,
                help="say how item values combine: add 'valuation additive' or 'valuation unit_demand'",
            )
        raise self.fail(
            "E0407",
            f"{who} has no valuation",
            head,
            help="add 'valuation additive' and 'values ~ Uniform(0, 1) iid', or a 'valuation xor { ... }'",
        )

    def single_value(
        self, who: str, head: Span, values: list[A.Value], values_all: list[A.Values], signals: list[A.Signal]
    ) -> ir.ValueExpr:
        if values or values_all:
            vals = self.per_item(who, values, values_all, need_all=True)
            return vals[self.items[0]]
        if signals:
            if len(self.commons) == 1:
                (name,) = self.commons
                return ir.ValueExpr(terms=(ir.CommonRef(name=name),), coefs=(1.0,))
            if not self.commons:
                raise self.fail(
                    "E0412",
                    f"{who} has a signal but no value, and the auction has no common value",
                    signals[0].span,
                    help="declare the common value, as in 'common V ~ Uniform(0, 100)', or give a 'value'",
                )
            raise self.fail(
                "E0412",
                f"{who} has a signal but no value, and there are {len(self.commons)} common variables",
                signals[0].span,
                help="say which is the value: 'value = V'",
            )
        raise self.fail(
            "E0407",
            f"{who} has no value",
            head,
            help="add 'value ~ Uniform(0, 1)'",
        )

    def xor(self, s: A.ValuationXor) -> ir.Xor:
        bids: list[ir.XorBid] = []
        seen: dict[tuple[str, ...], int] = {}
        failed = False
        if not s.bids:
            raise self.fail("E0411", "an xor valuation with no bids", s.span, help="add bids such as {A, B}: Uniform(2, 3)")
        for b in s.bids:
            names: list[str] = []
            for n in b.bundle:
                if n.text not in self.items:
                    self.error(
                        "E0205",
                        f"unknown item '{n.text}' in a bundle",
                        n.span,
                        help="items of this auction: " + ", ".join(self.items[:12]),
                        suggestion=did_you_mean(n.text, self.items),
                    )
                    failed = True
                elif n.text in names:
                    self.error("E0202", f"item '{n.text}' appears twice in a bundle", n.span)
                    failed = True
                else:
                    names.append(n.text)
            if not b.bundle:
                self.error("E0411", "an xor bid on the empty bundle", b.span, help="a bid names at least one item")
                failed = True
                continue
            key = tuple(sorted(names, key=self.items.index))
            if key in seen and len(names) == len(b.bundle):
                self.error(
                    "E0202",
                    "the bundle {" + ", ".join(key) + "} has two bids",
                    b.span,
                    notes=(f"first bid on line {seen[key]}",),
                )
                failed = True
                continue
            seen[key] = b.span.line
            e = self.guard(lambda b=b: self.value_expr(b.value))
            if e is None:
                failed = True
                continue
            bids.append(ir.XorBid(bundle=key, value=e))
        if failed:
            raise _Fail()
        return ir.Xor(bids=tuple(bids))

    def cats(self, s: A.ValuationCats) -> ir.Cats:
        c = s.call
        if c.callee.text != "cats":
            raise self.fail(
                "E0214",
                f"unknown generator '{c.callee.text}'",
                c.callee.span,
                help='write xor from cats("regions", ...)',
                suggestion=did_you_mean(c.callee.text, ("cats",)),
            )
        positional = [a for a in c.args if a.name is None]
        if not positional or not isinstance(positional[0].value, A.String | A.Ref):
            raise self.fail(
                "E0304",
                "cats needs the name of a CATS distribution first",
                c.span,
                help='write cats("regions", ...) with one of: ' + ", ".join(CATS_DISTRIBUTIONS),
            )
        first = positional[0].value
        dist = first.value if isinstance(first, A.String) else first.name  # type: ignore[union-attr]
        if dist not in CATS_DISTRIBUTIONS:
            raise self.fail(
                "E0214",
                f"unknown CATS distribution '{dist}'",
                first.span,
                help="CATS distributions: " + ", ".join(CATS_DISTRIBUTIONS),
                suggestion=did_you_mean(dist, CATS_DISTRIBUTIONS),
            )
        if len(positional) > 1:
            raise self.fail("E0304", "the options of cats are named", positional[1].span, help='write cats("regions", bids = 10)')
        opts: dict[str, Scalar] = {}
        for a in c.args[1:]:
            assert a.name is not None
            if a.name.text in opts:
                raise self.fail("E0202", f"option '{a.name.text}' of cats is given twice", a.name.span)
            if isinstance(a.value, A.DictLit | A.ListLit | A.Call):
                raise self.fail("E0305", f"option '{a.name.text}' of cats must be a number, a string or true/false", a.value.span)
            opts[a.name.text] = self.scalar(a.value)
        return ir.Cats(distribution=dist, options=opts)  # type: ignore[arg-type]

    def agent(self, s: A.AgentStmt) -> Any:
        k = s.kind.text
        if k not in AGENT_KINDS:
            raise self.fail(
                "E0207",
                f"unknown agent '{k}'",
                s.kind.span,
                help="agents: " + ", ".join(AGENT_KINDS),
                suggestion=did_you_mean(k, AGENT_KINDS),
            )
        args = s.args or ()
        if k == "crra":
            b = self.bind(A.Call(s.kind, args, s.span), ("r",), 1, "crra")
            r = self.number(b["r"], "crra's risk aversion r")
            if not 0 <= r < 1:
                raise self.fail(
                    "E0310",
                    f"crra's risk aversion r must lie in [0, 1), not {_fmt(r)}",
                    b["r"].span,
                    help="r = 0 is risk neutral; utility is x^(1-r)",
                )
            return ir.CRRA(r=float(r))
        if k != "llm":
            if args:
                raise self.fail("E0304", f"agent {k} takes no options", s.span, help=f"write 'agent {k}'")
            return {"truthful": ir.Truthful, "bne": ir.BNE, "random": ir.RandomAgent}[k]()
        # llm: the model may come first, unnamed
        named = list(args)
        vals: dict[str, Any] = {}
        if named and named[0].name is None:
            first = named.pop(0)
            if not isinstance(first.value, A.String | A.Ref):
                raise self.fail("E0305", "the model of an llm agent must be a string", first.value.span)
            vals["model"] = self.typed(A.Arg(A.Name("model", first.span), first.value, first.span), "string", "agent llm")
        opts = self.kwargs(tuple(named), "agent llm", 'llm(model = "openai/gpt-4o-mini")')
        for key, a in opts.items():
            assert a.name is not None
            if key not in LLM_OPTIONS:
                raise self.fail(
                    "E0210",
                    f"agent llm has no option '{key}'",
                    a.name.span,
                    help="options of llm: " + ", ".join(LLM_OPTIONS),
                    suggestion=did_you_mean(key, LLM_OPTIONS),
                )
            if key in vals:
                raise self.fail("E0202", f"option '{key}' of agent llm is given twice", a.name.span)
            v = self.typed(a, LLM_OPTIONS[key], "agent llm")
            if key == "reasoning" and v not in REASONING:
                raise self.fail(
                    "E0305",
                    f"option 'reasoning' of agent llm must be plain or cot, not \"{v}\"",
                    a.value.span,
                    suggestion=did_you_mean(v, REASONING),
                )
            if key == "temperature" and not 0 <= v <= 2:
                raise self.fail("E0310", f"temperature must lie in [0, 2], not {_fmt(v)}", a.value.span)
            vals[key] = v
        return ir.LLMAgent(**vals)

    # ---- buyers (data markets) -------------------------------------------------

    def buyers(self, body: tuple[A.Stmt, ...]) -> list[ir.Buyer]:
        out: list[ir.Buyer] = []
        names: dict[str, Span] = {}
        top_prior = next((s for s in body if isinstance(s, A.Prior)), None)
        numbered = 0
        for s in body:
            if not isinstance(s, A.Block) or s.keyword not in ("buyer", "buyers"):
                continue
            if s.keyword == "buyer":
                assert s.name is not None
                members = [(s.name.text, s.name.span)]
            else:
                assert s.count is not None
                n = self.guard(lambda s=s: self.count(s.count, "buyers"))
                if n is None:
                    continue
                if n < 1:
                    self.error("E0405", f"a group of {n} buyers", s.count.span, help="write 'buyers 2 { ... }'")
                    continue
                members = [(f"buyer_{numbered + i}", s.span) for i in range(1, n + 1)]
                numbered += n
            parts = self.guard(lambda s=s: self.buyer_body(s, top_prior)) if self.states else None
            for name, sp in members:
                if name in names:
                    self.error("E0202", f"buyer '{name}' is declared twice", sp, notes=(f"first declared on line {names[name].line}",))
                    continue
                names[name] = sp
                self.spans[f"buyers.{name}"] = s.span
                if parts is None:
                    continue
                actions, payoffs, btype, agent = parts
                out.append(ir.Buyer(name=name, actions=actions, payoffs=payoffs, type=btype, agent=agent))
        return out

    def state_table(self, table: A.DictLit, what: str) -> dict[str, tuple[float, Span]]:
        out: dict[str, tuple[float, Span]] = {}
        failed = False
        for p in table.pairs:
            if not isinstance(p.key, A.Ref):
                self.error("E0304", f"the keys of {what} are state names", p.key.span, help=f"states: {', '.join(self.states)}")
                failed = True
                continue
            st = p.key.name
            if st not in self.states:
                self.error(
                    "E0211",
                    f"unknown state '{st}' in {what}",
                    p.key.span,
                    help=f"states: {', '.join(self.states)}",
                    suggestion=did_you_mean(st, self.states),
                )
                failed = True
                continue
            if st in out:
                self.error("E0202", f"state '{st}' appears twice in {what}", p.key.span)
                failed = True
                continue
            v = self.guard(lambda p=p: float(self.number(p.value, "a number")))
            if v is None:
                failed = True
                continue
            out[st] = (v, p.span)
        if failed:
            raise _Fail()
        return out

    def prior(self, s: A.Prior) -> tuple[float, ...]:
        table = self.state_table(s.table, "the prior")
        for st, (p, sp) in table.items():
            if not 0 <= p <= 1:
                raise self.fail("E0303", f"probability {_fmt(p)} of state '{st}' is not between 0 and 1", sp)
        probs = [table[st][0] if st in table else 0.0 for st in self.states]
        self.check_sum(probs, s.table.span, "the prior probabilities")
        return tuple(probs)

    def buyer_body(self, block: A.Block, top_prior: A.Prior | None) -> tuple:
        who = f"buyer {block.name.text}" if block.name else "each buyer of this group"
        head = block.name.span if block.name else (block.count.span if block.count else block.span)
        acts = [s for s in block.body if isinstance(s, A.Actions)]
        pays = [s for s in block.body if isinstance(s, A.Payoff)]
        types = [s for s in block.body if isinstance(s, A.TypeBelief | A.TypeValue)]
        priors = [s for s in block.body if isinstance(s, A.Prior)]
        agents = [s for s in block.body if isinstance(s, A.AgentStmt)]
        failed = False
        for group in (acts, types, priors, agents):
            for extra in group[1:]:
                kw = _keyword(extra)
                self.error("E0410", f"'{kw}' is given twice for {who}", _head_span(extra, kw),
                           notes=(f"first given on line {group[0].span.line}",))
                failed = True
        actions: list[str] = []
        if acts:
            for n in acts[0].names:
                if n.text in actions:
                    self.error("E0202", f"action '{n.text}' is declared twice", n.span)
                    failed = True
                else:
                    actions.append(n.text)
        elif pays:
            self.error(
                "E0408",
                f"{who} has payoffs but no actions",
                pays[0].span,
                help="declare the actions first, as in 'actions plant, wait'",
            )
            failed = True
        else:
            self.error("E0408", f"{who} has no actions", head, help="add 'actions plant, wait' and a payoff for each")
            failed = True
        table: dict[str, tuple[float, ...]] = {}
        for p in pays:
            a = p.action.text
            if actions and a not in actions:
                self.error(
                    "E0212",
                    f"payoff for unknown action '{a}'",
                    p.action.span,
                    help=f"actions of {who}: {', '.join(actions)}",
                    suggestion=did_you_mean(a, actions),
                )
                failed = True
                continue
            if a in table:
                self.error("E0202", f"the payoff of action '{a}' is given twice", p.action.span)
                failed = True
                continue
            row = self.guard(lambda p=p: self.state_table(p.table, f"the payoff of '{p.action.text}'"))
            if row is None:
                failed = True
                continue
            missing = [st for st in self.states if st not in row]
            if missing:
                self.error(
                    "E0408",
                    f"the payoff of '{a}' has no entry for state{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                    p.table.span,
                    help="give a payoff for every state",
                )
                failed = True
                continue
            table[a] = tuple(row[st][0] for st in self.states)
        if acts and not failed:
            for a in actions:
                if a not in table:
                    self.error(
                        "E0408",
                        f"action '{a}' of {who} has no payoff",
                        next(n.span for n in acts[0].names if n.text == a),
                        help=f"add 'payoff {a} {{ {', '.join(f'{st}: 0' for st in self.states)} }}'",
                    )
                    failed = True
        btype = None
        if not types:
            self.error(
                "E0408",
                f"{who} has no type",
                head,
                help=f"add 'type belief({self.states[0]}) ~ Uniform(0, 1)' or 'type value ~ Uniform(0, 1)' with a prior",
            )
            failed = True
        else:
            btype = self.guard(lambda: self.buyer_type(types[0], priors[0] if priors else top_prior))
            failed |= btype is None
        agent = self.guard(lambda: self.agent(agents[0])) if agents else None
        if agents and agent is None:
            failed = True
        if failed:
            raise _Fail()
        return tuple(actions), tuple(table[a] for a in actions), btype, agent

    def buyer_type(self, t: A.TypeBelief | A.TypeValue, prior: A.Prior | None) -> Any:
        if isinstance(t, A.TypeBelief):
            st = t.state.text
            if st not in self.states:
                raise self.fail(
                    "E0211",
                    f"unknown state '{st}'",
                    t.state.span,
                    help=f"states: {', '.join(self.states)}",
                    suggestion=did_you_mean(st, self.states),
                )
            if len(self.states) != 2:
                raise self.fail(
                    "E0414",
                    f"a belief type needs two states, not {len(self.states)}",
                    t.span,
                    help="with more states, use 'type value ~ ...' and a common 'prior { ... }'",
                )
            d = self.plain_dist(t.expr, "a belief type")
            lo, hi = _bounds(d)
            if lo < 0 or hi > 1:
                raise self.fail(
                    "E0301",
                    f"a belief is a probability, but this distribution reaches {_fmt(lo if lo < 0 else hi)}",
                    t.expr.span,
                    help="use a distribution on [0, 1], such as Uniform(0, 1) or Beta(2, 2)",
                )
            return ir.BeliefType(state=st, dist=d)
        d = self.plain_dist(t.expr, "a value type")
        if prior is None:
            raise self.fail(
                "E0415",
                "a value type needs a common prior over the states",
                t.span,
                help="add 'prior { " + ", ".join(f"{s}: {_fmt(1 / len(self.states))}" for s in self.states) + " }'",
            )
        return ir.ScaleType(dist=d, prior=self.prior(prior))

    # ---- how the sections fit together -----------------------------------------

    def check_sections(self, spec_ast: A.SpecAst, market: bool, reqs, objective, mech, fmt, sim) -> None:
        kind = "market" if market else "auction"
        if objective is None and mech is None and not any(isinstance(s, A.Maximize) for s in spec_ast.body):
            help_ = "add 'maximize revenue' to design a mechanism"
            if not market:
                help_ += ", or name a format to run, such as 'mechanism second_price'"
            if reqs:
                help_ = "requirements need an objective: " + help_
            self.error(
                "E0401",
                f"{kind} {spec_ast.name.text} has nothing to do: no objective and no format",
                spec_ast.name.span,
                help=help_,
            )
        designs = any(isinstance(s, A.Maximize) for s in spec_ast.body)
        if fmt is not None and not designs:
            if fmt.name not in STRATEGY_PROOF_FORMATS:
                for r in reqs:
                    if r.kind == "IC":
                        alt = "second_price, vcg or ascending_clock"
                        self.error(
                            "E0403",
                            f"{fmt.name} is not strategy-proof, so it cannot satisfy 'require IC'",
                            self.spans.get("requirements.IC"),
                            help=f"drop 'require IC' (verify still measures its regret), or run {alt}",
                            notes=(f"the format is named on line {mech.span.line}",),
                        )
        if sim is not None and mech is None:
            self.error(
                "E0409",
                "simulate needs a format to run",
                sim.span,
                help="add a format such as 'mechanism first_price'",
            )


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

_CONSTRAINT_IR = {
    "IC": ir.IC,
    "IR": ir.IR,
    "obedience": ir.Obedience,
    "deterministic": ir.Deterministic,
    "budget_balance": ir.BudgetBalance,
}

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

_KEYWORDS = {
    A.Param: "param",
    A.Items: "items",
    A.Common: "common",
    A.ValuationKind: "valuation",
    A.ValuationXor: "valuation",
    A.ValuationCats: "valuation",
    A.Value: "value",
    A.Values: "values",
    A.Signal: "signal",
    A.AgentStmt: "agent",
    A.States: "states",
    A.Actions: "actions",
    A.Payoff: "payoff",
    A.TypeBelief: "type",
    A.TypeValue: "type",
    A.Prior: "prior",
    A.Externality: "externality",
    A.Require: "require",
    A.Maximize: "maximize",
    A.MechanismStmt: "mechanism",
    A.SolveStmt: "solve",
}


def _keyword(s: Any) -> str:
    if isinstance(s, A.Block | A.SettingsBlock):
        return s.keyword
    return _KEYWORDS[type(s)]


def _head_span(s: Any, kw: str) -> Span:
    """The span of a statement's leading keyword."""
    sp = s.span
    return Span(sp.file, sp.line, sp.col, sp.line, sp.col + len(kw))


def _mentions_terms(e: A.Expr) -> bool:
    if isinstance(e, A.Ref):
        return e.name in ("revenue", "welfare")
    if isinstance(e, A.BinOp):
        return _mentions_terms(e.left) or _mentions_terms(e.right)
    if isinstance(e, A.Neg):
        return _mentions_terms(e.operand)
    if isinstance(e, A.Paren):
        return _mentions_terms(e.expr)
    return False


def _bounds(d: Any) -> tuple[float, float]:
    """Support bounds without scipy (the front end stays light)."""
    if isinstance(d, ir.Uniform | ir.Grid):
        return d.low, d.high
    if isinstance(d, ir.Beta):
        return 0.0, 1.0
    if isinstance(d, ir.PointMass):
        return d.value, d.value
    if isinstance(d, ir.Discrete):
        return min(d.values), max(d.values)
    if isinstance(d, ir.Normal):
        return (d.low if d.low is not None else -math.inf, d.high if d.high is not None else math.inf)
    if isinstance(d, ir.Exponential):
        return 0.0, math.inf
    if isinstance(d, ir.Mixture):
        bs = [_bounds(c) for c in d.components]
        return min(b[0] for b in bs), max(b[1] for b in bs)
    return -math.inf, math.inf


def _parse_override(text: str, kind: str) -> Scalar:
    t = text.strip()
    if kind == "int":
        if not t.lstrip("+-").isdigit():
            raise ValueError(t)
        return int(t)
    if kind == "float":
        v = float(t)
        if not math.isfinite(v):
            raise ValueError(t)
        return v
    if kind == "bool":
        if t.lower() not in ("true", "false"):
            raise ValueError(t)
        return t.lower() == "true"
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
        return t[1:-1]
    return text


def analyze(doc: A.Document, overrides: dict[str, str] | None = None) -> tuple[Any, list[Diagnostic]]:
    """(spec or None, diagnostics sorted by position)."""
    an = Analyzer(doc, overrides)
    spec = an.run()
    diags = sorted(
        an.diags,
        key=lambda d: (d.span is not None, d.span.line if d.span else 0, d.span.col if d.span else 0),
    )
    return spec, diags

"""Numbers, distributions and value expressions: params substituted, arithmetic done,
distribution parameters checked, sums of draws and common variables built."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .. import ir
from ..diagnostics import Span, did_you_mean, did_you_mean_cased
from ..dsl import ast
from ..dsl.vocabulary import BELIEF_DISTRIBUTIONS, DIST_EXAMPLES, DIST_SIGNATURES, DISTRIBUTIONS
from .context import MAX_COUNT, MAX_INT, PROB_TOL, Context, Fail, Scalar, fmt


def scalar(cx: Context, e: ast.Expr, what: str = "a value") -> Scalar:
    """A number, string or boolean; params substituted, arithmetic on numbers done."""
    if isinstance(e, ast.String):
        return e.value
    if isinstance(e, ast.Bool):
        return e.value
    if isinstance(e, ast.Ref) and e.name in cx.params:
        return cx.params[e.name]
    return number(cx, e, what)


def number(cx: Context, e: ast.Expr, what: str = "a number") -> int | float:
    """The value of a numeric expression; every intermediate result stays a finite float or
    an integer within ``MAX_INT``, so later conversions to float cannot overflow."""
    v = number_value(cx, e, what)
    if isinstance(v, float) and not math.isfinite(v):
        raise cx.fail("E0306", "a number too large to be represented", e.span, help=f"{what} is needed here")
    if isinstance(v, int) and abs(v) > MAX_INT:
        raise cx.fail(
            "E0306",
            "a number too large to be represented: whole numbers lie within ±9,223,372,036,854,775,807",
            e.span,
            help=f"{what} is needed here; write large values with an exponent, as in 1e20",
        )
    return v


def number_value(cx: Context, e: ast.Expr, what: str) -> int | float:
    if isinstance(e, ast.Number):
        return e.value
    if isinstance(e, ast.Paren):
        return number(cx, e.expr, what)
    if isinstance(e, ast.Neg):
        return -number(cx, e.operand, what)
    if isinstance(e, ast.BinOp):
        a = number(cx, e.left, what)
        b = number(cx, e.right, what)
        if e.op == "+":
            return a + b
        if e.op == "-":
            return a - b
        if e.op == "*":
            return a * b
        if b == 0:
            raise cx.fail("E0311", "division by zero", e.right.span)
        r = a / b
        return int(r) if isinstance(a, int) and isinstance(b, int) and a % b == 0 else r
    if isinstance(e, ast.Ref):
        if e.name in cx.params:
            v = cx.params[e.name]
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise cx.fail(
                    "E0306",
                    f"param '{e.name}' is {kind_words(v)}, not a number",
                    e.span,
                    help=f"{what} is needed here",
                )
            return v
        if e.name in cx.commons:
            raise cx.fail(
                "E0306",
                f"'{e.name}' is a common variable, not a number",
                e.span,
                help="common variables may appear only in value and signal expressions",
            )
        raise unknown_name(cx, e)
    if isinstance(e, ast.Call):
        raise cx.fail(
            "E0306",
            f"a distribution, {e.callee.text}(...), where {what} is needed",
            e.span,
        )
    raise cx.fail("E0306", f"{expr_words(e)} where {what} is needed", e.span)


def unknown_name(cx: Context, e: ast.Ref) -> Fail:
    known = list(cx.params) + list(cx.commons)
    help_ = f"declare it, as in 'param {e.name} = 1'" + (f" or 'common {e.name} ~ Uniform(0, 1)'" if cx.items else "")
    return cx.fail(
        "E0201", f"unknown name '{e.name}'", e.span, help=help_, suggestion=did_you_mean(e.name, known)
    )


def count(cx: Context, e: ast.Expr, what: str, limit: int = MAX_COUNT) -> int:
    v = number(cx, e, f"the number of {what}")
    if isinstance(v, float):
        if not v.is_integer():
            raise cx.fail(
                "E0307", f"the number of {what} must be a whole number, not {fmt(v)}", e.span
            )
        v = int(v)
    if v > limit:
        raise cx.fail(
            "E0307", f"too many {what}: {v}, more than the {limit:,} the front end expands", e.span
        )
    return v


def kind_words(v: Any) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, str):
        return "a string"
    return "a number"


def expr_words(e: Any) -> str:
    return {
        ast.String: "a string",
        ast.Bool: "a boolean",
        ast.ListLit: "a list",
        ast.DictLit: "a table {...}",
    }.get(type(e), "this expression")


def bind(cx: Context, call: ast.Call, names: tuple[str, ...], required: int, what: str) -> dict[str, Any]:
    """Map positional and named arguments of ``call`` onto ``names``."""
    bound: dict[str, Any] = {}
    positional = [a for a in call.args if a.name is None]
    if len(positional) > len(names):
        raise cx.fail(
            "E0304",
            f"too many arguments for {what}: it takes at most {len(names)}"
            f" ({', '.join(names)}), not {len(positional)}",
            call.span,
        )
    seen_named = False
    for a in call.args:
        if a.name is None:
            if seen_named:
                raise cx.fail("E0304", "a positional argument after a named one", a.span)
            bound[names[len(bound)]] = a.value
            continue
        seen_named = True
        n = a.name.text
        if n not in names:
            raise cx.fail(
                "E0304",
                f"unknown parameter '{n}' of {what}",
                a.name.span,
                help=f"its parameters: {', '.join(names)}",
                suggestion=did_you_mean(n, names),
            )
        if n in bound:
            raise cx.fail("E0202", f"parameter '{n}' of {what} given twice", a.name.span)
        bound[n] = a.value
    missing = [n for n in names[:required] if n not in bound]
    if missing:
        raise cx.fail(
            "E0304",
            f"too few arguments for {what}: it needs {required}"
            f" ({', '.join(names[:required])}), not {len(bound)}",
            call.span,
            help=f"write {DIST_EXAMPLES.get(what, what + '(...)')}",
        )
    return bound


def dist(cx: Context, call: ast.Call) -> ir.Distribution:
    name = call.callee.text
    if name in BELIEF_DISTRIBUTIONS:
        raise cx.fail(
            "E0204",
            f"{name} is a distribution over beliefs, written only in a market's 'type belief ~ {name}({{...}})'",
            call.callee.span,
            help="distributions of values: " + ", ".join(DISTRIBUTIONS),
        )
    if name not in DIST_SIGNATURES:
        raise cx.fail(
            "E0204",
            f"unknown distribution '{name}'",
            call.callee.span,
            help="distributions: " + ", ".join(DISTRIBUTIONS),
            suggestion=did_you_mean_cased(name, DISTRIBUTIONS),
        )
    names, required = DIST_SIGNATURES[name]
    b = bind(cx, call, names, required, name)
    sp = call.span

    def num(key: str) -> float:
        v = b[key]
        if isinstance(v, ast.DictLit):
            raise cx.fail("E0304", f"a table where {name}'s '{key}' must be a number", v.span)
        return float(number(cx, v, f"{name}'s {key}"))

    def bad(msg: str, help_: str) -> Fail:
        return cx.fail("E0301", f"invalid {name}: {msg}", sp, help=help_)

    if name == "Uniform":
        lo, hi = num("low"), num("high")
        if not lo < hi:
            raise bad(
                f"low {fmt(lo)} is not below high {fmt(hi)}",
                "write Uniform(low, high) with low < high"
                + ("; use PointMass(v) for a fixed value" if lo == hi else ""),
            )
        return ir.Uniform(low=lo, high=hi)
    if name == "Normal":
        mu, sigma = num("mu"), num("sigma")
        lo = num("low") if "low" in b else None
        hi = num("high") if "high" in b else None
        if not sigma > 0:
            raise bad(f"sigma must be positive, not {fmt(sigma)}", "write Normal(mu, sigma) with sigma > 0")
        if lo is not None and hi is not None and not lo < hi:
            raise bad(
                f"the truncation bounds {fmt(lo)} and {fmt(hi)} are empty",
                "write Normal(mu, sigma, low, high) with low < high",
            )
        return ir.Normal(mu=mu, sigma=sigma, low=lo, high=hi)
    if name == "Exponential":
        rate = num("rate")
        if not rate > 0:
            raise bad(f"rate must be positive, not {fmt(rate)}", "Exponential(rate) has mean 1/rate")
        return ir.Exponential(rate=rate)
    if name == "Beta":
        a, bb = num("a"), num("b")
        if not (a > 0 and bb > 0):
            raise bad(
                f"both parameters must be positive, not ({fmt(a)}, {fmt(bb)})",
                "write Beta(a, b) with a > 0 and b > 0",
            )
        return ir.Beta(a=a, b=bb)
    if name == "Grid":
        lo, hi = num("low"), num("high")
        n_e = b["n"]
        if isinstance(n_e, ast.DictLit):
            raise cx.fail("E0304", "a table where Grid's 'n' must be a number", n_e.span)
        n = count(cx, n_e, "grid points", limit=10_000_000)
        if n < 1:
            raise bad(f"n must be at least 1, not {n}", "write Grid(low, high, n) with n >= 1")
        if n == 1 and lo != hi:
            raise bad("one point cannot span two ends", "write Grid(v, v, 1) or PointMass(v)")
        if n > 1 and not lo < hi:
            raise bad(f"low {fmt(lo)} is not below high {fmt(hi)}", "write Grid(low, high, n) with low < high")
        return ir.Grid(low=lo, high=hi, n=n)
    if name == "PointMass":
        return ir.PointMass(value=num("value"))
    if name == "Discrete":
        table = table_arg(cx, b["probs"], name, "Discrete({0.2: 0.5, 0.7: 0.5})")
        values: list[float] = []
        probs: list[float] = []
        for p in table.pairs:
            v = float(number(cx, p.key, "a value"))
            if v in values:
                raise cx.fail("E0202", f"value {fmt(v)} appears twice in Discrete", p.key.span)
            values.append(v)
            probs.append(probability(cx, p.value))
        check_sum(cx, probs, table.span, "the probabilities of Discrete")
        return ir.Discrete(values=tuple(values), probs=tuple(probs))
    # Mixture
    table = table_arg(cx, b["components"], name, "Mixture({0.5: Beta(8, 30), 0.5: Beta(60, 30)})")
    weights: list[float] = []
    comps: list[ir.Distribution] = []
    for p in table.pairs:
        weights.append(probability(cx, p.key))
        if not isinstance(p.value, ast.Call):
            raise cx.fail(
                "E0304",
                "a Mixture component must be a distribution",
                p.value.span,
                help="write Mixture({weight: Distribution(...), ...})",
            )
        comps.append(dist(cx, p.value))
    check_sum(cx, weights, table.span, "the weights of Mixture")
    return ir.Mixture(weights=tuple(weights), components=tuple(comps))


def table_arg(cx: Context, v: Any, name: str, example: str) -> ast.DictLit:
    if not isinstance(v, ast.DictLit):
        raise cx.fail("E0304", f"not a table: {name} takes a table {{...}}", v.span, help=f"write {example}")
    if not v.pairs:
        raise cx.fail("E0304", f"an empty table: {name} needs at least one entry", v.span, help=f"write {example}")
    return v


def probability(cx: Context, e: ast.Expr) -> float:
    p = float(number(cx, e, "a probability"))
    if p < 0 or p > 1:
        raise cx.fail("E0303", f"probability {fmt(p)} is not between 0 and 1", e.span)
    return p


def check_sum(cx: Context, probs: list[float], span: Span, what: str) -> None:
    s = math.fsum(probs)
    if abs(s - 1.0) > PROB_TOL:
        raise cx.fail(
            "E0302",
            f"{what} sum to {s:.6g}, not 1",
            span,
            help="make them add up to 1",
        )


def plain_dist(cx: Context, e: ast.Expr, what: str) -> ir.Distribution:
    """A single distribution (common variables, types): no sums, no constants."""
    while isinstance(e, ast.Paren):
        e = e.expr
    if isinstance(e, ast.Call):
        return dist(cx, e)
    raise cx.fail(
        "E0308",
        f"{what} must be a distribution such as Uniform(0, 1)",
        e.span,
    )


def linear(cx: Context, e: ast.Expr, allow_common: bool = True) -> Linear:
    if isinstance(e, ast.Paren):
        return linear(cx, e.expr, allow_common)
    if isinstance(e, ast.Call):
        return Linear(0.0, [(1.0, ir.Draw(dist=dist(cx, e)))])
    if isinstance(e, ast.Ref) and e.name in cx.commons:
        if not allow_common:
            raise cx.fail("E0306", f"'{e.name}' is a common variable, not allowed here", e.span)
        return Linear(0.0, [(1.0, ir.CommonRef(name=e.name))])
    if isinstance(e, ast.Neg):
        return linear(cx, e.operand, allow_common).scaled(-1.0)
    if isinstance(e, ast.BinOp):
        a = linear(cx, e.left, allow_common)
        b = linear(cx, e.right, allow_common)
        if e.op == "+":
            return a.plus(b)
        if e.op == "-":
            return a.plus(b.scaled(-1.0))
        if e.op == "*":
            if a.is_const:
                return b.scaled(a.const)
            if b.is_const:
                return a.scaled(b.const)
            raise cx.fail(
                "E0308",
                "a product of two random quantities is not a value expression",
                e.span,
                help="a value is a sum of distributions and common variables, each times a number",
            )
        if not b.is_const:
            raise cx.fail("E0308", "division by a random quantity is not a value expression", e.span)
        if b.const == 0:
            raise cx.fail("E0311", "division by zero", e.right.span)
        return a.scaled(1.0 / b.const)
    return Linear(float(number(cx, e, "a value")), [])


def value_expr(cx: Context, e: ast.Expr) -> ir.ValueExpr:
    lin = linear(cx, e)
    if not lin.finite:
        raise cx.fail("E0306", "a value expression whose coefficients are too large to be represented", e.span,
                      help="scale the values down")
    return lin.to_ir()


@dataclass
class Linear:
    """A value expression while it is built: constant part plus (coef, term) pairs."""

    const: float = 0.0
    terms: list[tuple[float, Any]] = field(default_factory=list)

    @property
    def is_const(self) -> bool:
        return not self.terms

    def scaled(self, k: float) -> Linear:
        return Linear(self.const * k, [(c * k, t) for c, t in self.terms])

    def plus(self, other: Linear) -> Linear:
        return Linear(self.const + other.const, self.terms + other.terms)

    @property
    def finite(self) -> bool:
        return math.isfinite(self.const) and all(math.isfinite(c) for c, _ in self.terms)

    def to_ir(self) -> ir.ValueExpr:
        terms = [t for _, t in self.terms]
        coefs = [float(c) for c, _ in self.terms]
        if self.const != 0.0 or not terms:
            terms.append(ir.Const(value=float(self.const)))
            coefs.append(1.0)
        return ir.ValueExpr(terms=tuple(terms), coefs=tuple(coefs))


def support_bounds(d: Any) -> tuple[float, float]:
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
        bs = [support_bounds(c) for c in d.components]
        return min(b[0] for b in bs), max(b[1] for b in bs)
    return -math.inf, math.inf

"""The sections of a spec and how they fit together: requirements, the objective, the
format (``mechanism``), ``solve with``, ``simulate { }`` and ``verify { }``."""

from __future__ import annotations

import math
from typing import Any

from .. import ir
from ..diagnostics import did_you_mean, did_you_mean_cased
from ..dsl import ast
from ..dsl.vocabulary import (
    CONSTRAINT_MODES,
    CONSTRAINTS,
    DRAWS,
    EBAY_CLOSING,
    EBAY_INCREMENTS,
    FORMAT_OPTION_TYPES,
    FORMAT_OPTIONS,
    FORMATS,
    STRATEGY_PROOF_FORMATS,
)
from .context import MAX_SETTING, Context, Fail, Scalar, fmt, head_span, keyword
from .values import count, number, scalar

CONSTRAINT_IR = {
    "IC": ir.IC,
    "IR": ir.IR,
    "obedience": ir.Obedience,
    "deterministic": ir.Deterministic,
    "budget_balance": ir.BudgetBalance,
}


def check_once(cx: Context, seen: dict, key: Any, s: ast.Stmt) -> None:
    if key in seen:
        kw = keyword(s)
        cx.error(
            "E0410",
            f"'{kw}' is given twice",
            head_span(s, kw),
            notes=(f"first given on line {seen[key].span.line}",),
            help=f"keep one '{kw}'",
        )
    else:
        seen[key] = s


def check_placement(cx: Context, body: tuple[ast.Stmt, ...], market: bool) -> None:
    auction_only = (ast.Items, ast.Common, ast.MechanismStmt)
    market_only = (ast.States, ast.Prior, ast.Externality)
    for s in body:
        kw = keyword(s)
        if market and (isinstance(s, auction_only) or (isinstance(s, ast.Block) and s.keyword.startswith("bidder"))):
            help_ = "a market has states and buyers; write an 'auction' for items, bidders and formats"
            if isinstance(s, ast.Block):
                help_ = "a market has buyers: write 'buyer farmer { ... }'"
            cx.error("E0404", f"'{kw}' does not belong in a market", head_span(s, kw), help=help_)
        elif not market and (
            isinstance(s, market_only) or (isinstance(s, ast.Block) and s.keyword.startswith("buyer"))
        ):
            cx.error(
                "E0404",
                f"'{kw}' does not belong in an auction",
                head_span(s, kw),
                help="states, buyers and priors over states describe a data market: write 'market weather { ... }'",
            )


def requirements(cx: Context, body: tuple[ast.Stmt, ...], market: bool) -> tuple[Any, ...]:
    out: list[Any] = []
    seen: dict[str, ast.ConstraintAst] = {}
    for s in body:
        if not isinstance(s, ast.Require):
            continue
        for c in s.constraints:
            r = cx.guard(lambda c=c: constraint(cx, c, market))
            if r is None:
                continue
            if r.kind in seen:
                cx.error(
                    "E0410",
                    f"requirement {r.kind} is given twice",
                    c.span,
                    notes=(f"first given on line {seen[r.kind].span.line}",),
                )
                continue
            seen[r.kind] = c
            out.append(r)
            cx.spans[f"requirements.{r.kind}"] = c.span
    return tuple(out)


def constraint(cx: Context, c: ast.ConstraintAst, market: bool) -> Any:
    n = c.name.text
    if n not in CONSTRAINTS:
        raise cx.fail(
            "E0208",
            f"unknown requirement '{n}'",
            c.name.span,
            help="requirements: " + ", ".join(CONSTRAINTS),
            suggestion=did_you_mean_cased(n, CONSTRAINTS),
        )
    if n == "obedience" and not market:
        raise cx.fail(
            "E0404",
            "obedience is a requirement of data markets, not of auctions",
            c.name.span,
            help="obedience asks buyers to follow recommended actions: write a 'market' with states and actions",
        )
    modes = CONSTRAINT_MODES.get(n, ())
    if c.mode is None:
        return CONSTRAINT_IR[n]()
    m = c.mode.text
    if not modes:
        raise cx.fail("E0215", f"{n} takes no mode", c.mode.span, help=f"write '{n}'")
    if m not in modes:
        raise cx.fail(
            "E0215",
            f"unknown mode '{m}' for {n}",
            c.mode.span,
            help=f"modes of {n}: {', '.join(modes)}",
            suggestion=did_you_mean(m, modes),
        )
    return CONSTRAINT_IR[n](mode=m)


def objective(cx: Context, body: tuple[ast.Stmt, ...]) -> ir.Objective | None:
    s = next((x for x in body if isinstance(x, ast.Maximize)), None)
    if s is None:
        return None
    cx.spans["objective"] = s.span
    weights: dict[str, float] = {}

    def walk(e: ast.Expr, k: float) -> None:
        if isinstance(e, ast.Paren):
            walk(e.expr, k)
        elif isinstance(e, ast.Ref) and e.name in ("revenue", "welfare"):
            weights[e.name] = weights.get(e.name, 0.0) + k
        elif isinstance(e, ast.Neg):
            walk(e.operand, -k)
        elif isinstance(e, ast.BinOp) and e.op in "+-":
            walk(e.left, k)
            walk(e.right, k if e.op == "+" else -k)
        elif isinstance(e, ast.BinOp) and e.op == "*":
            if mentions_terms(e.left) and mentions_terms(e.right):
                raise cx.fail("E0209", "an objective is a weighted sum of revenue and welfare", e.span)
            if mentions_terms(e.left):
                walk(e.left, k * float(number(cx, e.right, "a weight")))
            else:
                walk(e.right, k * float(number(cx, e.left, "a weight")))
        elif isinstance(e, ast.BinOp) and e.op == "/":
            d = float(number(cx, e.right, "a weight"))
            if d == 0:
                raise cx.fail("E0311", "division by zero", e.right.span)
            walk(e.left, k / d)
        elif isinstance(e, ast.Ref) and e.name not in cx.params:
            raise cx.fail(
                "E0209",
                f"unknown objective '{e.name}'",
                e.span,
                help="maximize revenue, welfare, or a weighted sum such as 0.7 * revenue + 0.3 * welfare",
                suggestion=did_you_mean(e.name, ("revenue", "welfare")),
            )
        else:
            raise cx.fail(
                "E0209",
                "an objective is a weighted sum of revenue and welfare",
                e.span,
                help="for example: maximize 0.7 * revenue + 0.3 * welfare",
            )

    walk(s.expr, 1.0)
    if not all(math.isfinite(w) for w in weights.values()):
        raise cx.fail("E0306", "an objective weight too large to be represented", s.expr.span,
                      help="weights are ordinary numbers, as in 0.7 * revenue + 0.3 * welfare")
    terms = tuple(t for t in weights if weights[t] != 0.0)
    if not terms:
        raise cx.fail("E0209", "the objective has no weight on revenue or welfare", s.expr.span)
    return ir.Objective(terms=terms, weights=tuple(weights[t] for t in terms))  # type: ignore[arg-type]


def named_args(cx: Context, args: tuple[ast.Arg, ...] | None, what: str, example: str) -> dict[str, ast.Arg]:
    out: dict[str, ast.Arg] = {}
    for a in args or ():
        if a.name is None:
            raise cx.fail("E0304", f"the options of {what} are named", a.span, help=f"write {example}")
        if a.name.text in out:
            raise cx.fail("E0202", f"option '{a.name.text}' of {what} is given twice", a.name.span)
        out[a.name.text] = a
    return out


def typed_option(cx: Context, a: ast.Arg, kind: str, what: str) -> Any:
    """An option value of the expected kind ('number', 'string', 'bool', 'list')."""
    v = a.value
    assert a.name is not None
    opt = a.name.text
    words = {"number": "a number", "string": "a string", "bool": "true or false", "list": "a list of numbers"}
    if kind == "list":
        if not isinstance(v, ast.ListLit):
            raise cx.fail("E0305", f"option '{opt}' of {what} must be {words[kind]}", v.span, help=f"write {opt} = [1, 2]")
        return tuple(float(number(cx, x, "a number")) for x in v.items)
    if isinstance(v, ast.DictLit | ast.ListLit) or (isinstance(v, ast.Call)):
        raise cx.fail("E0305", f"option '{opt}' of {what} must be {words[kind]}", v.span)
    got = scalar(cx, v, words[kind])
    ok = (
        (kind == "number" and isinstance(got, (int, float)) and not isinstance(got, bool))
        or (kind == "string" and isinstance(got, str))
        or (kind == "bool" and isinstance(got, bool))
    )
    if not ok:
        shown = f'"{got}"' if isinstance(got, str) else str(got).lower() if isinstance(got, bool) else fmt(got)
        raise cx.fail(
            "E0305",
            f"option '{opt}' of {what} must be {words[kind]}, not {shown}",
            v.span,
        )
    return float(got) if kind == "number" else got


def mechanism_format(cx: Context, s: ast.MechanismStmt) -> ir.Format:
    n = s.name.text
    cx.spans["mechanism"] = s.span
    if n not in FORMATS:
        raise cx.unknown("E0206", "format", n, s.name.span, FORMATS, limit=len(FORMATS))
    allowed = FORMAT_OPTIONS[n]
    opts = named_args(cx, s.args, n, f"{n}({allowed[0]} = ...)")
    vals: dict[str, Any] = {}
    failed = False
    for k, a in opts.items():
        assert a.name is not None
        cx.spans[f"mechanism.options.{k}"] = a.span
        if k not in allowed:
            cx.no_option(n, k, a.name.span, allowed)
            failed = True
            continue
        v = cx.guard(lambda a=a, k=k: typed_option(cx, a, FORMAT_OPTION_TYPES[k], n))
        if v is None:
            failed = True
            continue
        if k in ("reserve", "entry_fee", "price", "start") and v < 0:
            cx.error("E0310", f"{k} of {n} must not be negative, not {fmt(v)}", a.value.span)
            failed = True
            continue
        if k == "increment" and not v > 0:
            cx.error("E0310", f"increment of {n} must be positive, not {fmt(v)}", a.value.span)
            failed = True
            continue
        if k == "days":
            if not (float(v).is_integer() and 1 <= v <= MAX_EBAY_DAYS):
                cx.error("E0310", f"days of {n} must be a whole number from 1 to {MAX_EBAY_DAYS}, not {fmt(v)}",
                         a.value.span, help="the study ran 10 days; a soft close adds days up to 20")
                failed = True
                continue
            v = int(v)
        choices = {"closing": EBAY_CLOSING, "increments": EBAY_INCREMENTS}.get(k)
        if choices is not None and v not in choices:
            cx.error("E0310", f"{k} of {n} must be one of {', '.join(choices)}, not \"{v}\"", a.value.span,
                     suggestion=did_you_mean(v, choices))
            failed = True
            continue
        if k == "prices" and cx.items and len(v) != len(cx.items):
            cx.error(
                "E0310",
                f"prices of {n} lists {len(v)} prices for {len(cx.items)} items",
                a.value.span,
                help="give one price per item, in the order of 'items'",
            )
            failed = True
            continue
        vals[k] = v
    if failed:
        raise Fail()
    if n == "posted_price" and "price" not in vals and "prices" not in vals:
        raise cx.fail(
            "E0304",
            "posted_price needs a price",
            s.span,
            help="write posted_price(price = 50) or posted_price(prices = [..]) with one price per item",
        )
    return ir.Format(name=n, **vals)  # type: ignore[arg-type]


MAX_EBAY_DAYS = 20
"""The most days an eBay auction may be planned for (the study's soft close stops at 20)."""


def solve(cx: Context, s: ast.SolveStmt) -> ir.Solve:
    """``solve with NAME(opt = value, ...)``: the name and the options as written; whether the
    backend exists and takes these options is the planner's question (``plan.check_options``)."""
    cx.spans["solve"] = s.span
    cx.spans["solve.backend"] = s.backend.span
    n = s.backend.text
    failed = False
    opts = named_args(cx, s.args, f"backend {n}", f"{n}(steps = 1000)")
    out: dict[str, Scalar] = {}
    for k, a in opts.items():
        cx.spans[f"solve.options.{k}"] = a.span
        v = a.value
        if isinstance(v, ast.DictLit | ast.ListLit | ast.Call):
            cx.error(
                "E0305",
                f"option '{k}' of backend {n} must be a number, a string or true/false",
                v.span,
            )
            failed = True
            continue
        got = cx.guard(lambda v=v: scalar(cx, v))
        if got is None:
            failed = True
            continue
        out[k] = got
    if failed:
        raise Fail()
    return ir.Solve(backend=n, options=out)


def settings(cx: Context, s: ast.SettingsBlock, model: type, known: dict[str, str]) -> Any:
    """A ``simulate { }`` or ``verify { }`` section: the typed settings of ``known``; in
    ``simulate`` any other setting is an option of the simulation backend (checked by the
    planner), in ``verify`` it is an error."""
    kw = s.keyword
    open_ended = kw == "simulate"
    cx.spans[kw] = s.span
    vals: dict[str, Any] = {}
    extra: dict[str, Scalar] = {}
    failed = False
    for st in s.settings:
        n = st.name.text
        cx.spans[f"{kw}.{n}"] = st.span
        if n in vals or n in extra:
            cx.error("E0202", f"setting '{n}' of {kw} is given twice", st.name.span)
            failed = True
            continue
        if n not in known:
            close = did_you_mean(n, known, cutoff=0.75)
            if close is not None or not open_ended:
                # verify { } has no backend behind it to take further options
                close = close or did_you_mean(n, known)
                cx.error(
                    "E0213",
                    f"unknown setting '{n}' in {kw}",
                    st.name.span,
                    help=f"settings of {kw}: {', '.join(known)}",
                    suggestion=close,
                )
                failed = True
                continue
            if isinstance(st.value, ast.ListLit | ast.Call):
                cx.error("E0305", f"setting '{n}' of {kw} must be a number, a string or true/false", st.value.span)
                failed = True
                continue
            got = cx.guard(lambda st=st: scalar(cx, st.value))
            if got is None:
                failed = True
            else:
                extra[n] = got
            continue
        want = known[n]
        if want == "positive":
            got = cx.guard(lambda st=st, n=n: number(cx, st.value, f"setting '{n}'"))
            if got is None:
                failed = True
            elif not 0 < got < float("inf"):
                cx.error("E0310", f"setting '{n}' of {kw} must be a positive number, not {fmt(got)}", st.value.span)
                failed = True
            else:
                vals[n] = float(got)
        elif want in ("folder", "choice"):
            got = cx.guard(lambda st=st: scalar(cx, st.value))
            if got is None:
                failed = True
            elif not isinstance(got, str):
                cx.error("E0305", f"setting '{n}' of {kw} must be a string", st.value.span,
                         help=f'write {n} "{DRAWS[1] if n == "draws" else "my_prompts"}"')
                failed = True
            elif want == "choice" and got not in DRAWS:
                cx.error("E0310", f"setting '{n}' of {kw} must be one of {', '.join(DRAWS)}, not \"{got}\"",
                         st.value.span, suggestion=did_you_mean(got, DRAWS))
                failed = True
            elif want == "folder":
                from .agents import read_prompt_folder

                try:
                    read_prompt_folder(cx, got, st.value.span)
                    vals[n] = got
                except Fail:
                    failed = True
            else:
                vals[n] = got
        if want in ("positive", "folder", "choice"):
            continue
        if want == "bool":
            got = cx.guard(lambda st=st: scalar(cx, st.value))
            if got is None:
                failed = True
            elif not isinstance(got, bool):
                cx.error("E0305", f"setting '{n}' of {kw} must be true or false", st.value.span)
                failed = True
            else:
                vals[n] = got
            continue
        if isinstance(st.value, ast.String | ast.Bool):
            cx.error(
                "E0305", f"setting '{n}' of {kw} must be a whole number", st.value.span
            )
            failed = True
            continue
        got = cx.guard(lambda st=st, n=n: count(cx, st.value, f"{n}", limit=MAX_SETTING))
        if got is None:
            failed = True
            continue
        if want == "count" and got < 1:
            cx.error("E0310", f"setting '{n}' of {kw} must be at least 1, not {got}", st.value.span)
            failed = True
            continue
        if got < 0:
            cx.error("E0310", f"setting '{n}' of {kw} must not be negative, not {got}", st.value.span)
            failed = True
            continue
        if kw == "verify" and n in VERIFY_LIMITS and got > VERIFY_LIMITS[n]:
            cx.error(
                "E0310",
                f"setting '{n}' of verify asks for {got:,}; the verifier takes at most {VERIFY_LIMITS[n]:,}",
                st.value.span,
                help=f"lower '{n}': {VERIFY_WHY[n]}",
            )
            failed = True
            continue
        vals[n] = got
    if failed:
        raise Fail()
    return model(options=extra, **vals)


VERIFY_LIMITS = {"steps": 100_000, "restarts": 10_000}
"""The largest misreport search a spec may ask the verifier for (``auctionc verify`` takes
its own figures on the command line); the samples are bounded by ``verify_budget``."""
VERIFY_WHY = {
    "steps": "each misreport search takes this many gradient steps (the default is 200)",
    "restarts": "each sample starts this many misreport searches (the default is 20)",
}
MAX_VERIFY_VALUES = 100_000_000
"""Sampled values (samples x bidders x items) the verifier may be asked to hold: 800 MB as
float64, before the copies its searches make."""


def verify_budget(cx: Context, ver: Any, values_per_profile: int) -> None:
    """Refuse ``verify { samples N }`` whose sampled values would not fit: the estimate, the
    limit and the setting that changes it."""
    if ver is None or ver.samples is None:
        return
    total = ver.samples * max(values_per_profile, 1)
    if total > MAX_VERIFY_VALUES:
        cx.error(
            "E0310",
            f"verify {{ samples {ver.samples:,} }} would hold {total:,} sampled values "
            f"({values_per_profile:,} per profile), more than the verifier's limit of {MAX_VERIFY_VALUES:,}",
            cx.spans.get("verify.samples"),
            help=f"lower 'samples' to at most {max(MAX_VERIFY_VALUES // max(values_per_profile, 1), 1):,}",
        )


def check_sections(cx: Context, spec_ast: ast.SpecAst, market: bool, reqs, objective, mech, fmt, sim) -> None:
    kind = "market" if market else "auction"
    if objective is None and mech is None and not any(isinstance(s, ast.Maximize) for s in spec_ast.body):
        help_ = "add 'maximize revenue' to design a mechanism"
        if not market:
            help_ += ", or name a format to run, such as 'mechanism second_price'"
        if reqs:
            help_ = "requirements need an objective: " + help_
        cx.error(
            "E0401",
            f"{kind} {spec_ast.name.text} has nothing to do: no objective and no format",
            spec_ast.name.span,
            help=help_,
        )
    designs = any(isinstance(s, ast.Maximize) for s in spec_ast.body)
    if fmt is not None and not designs:
        if fmt.name not in STRATEGY_PROOF_FORMATS:
            for r in reqs:
                if r.kind == "IC":
                    alt = "second_price, vcg or ascending_clock"
                    cx.error(
                        "E0403",
                        f"{fmt.name} is not strategy-proof, so it cannot satisfy 'require IC'",
                        cx.spans.get("requirements.IC"),
                        help=f"drop 'require IC' (verify still measures its regret), or run {alt}",
                        notes=(f"the format is named on line {mech.span.line}",),
                    )
    if sim is not None and mech is None:
        cx.error(
            "E0409",
            "simulate needs a format to run",
            sim.span,
            help="add a format such as 'mechanism first_price'",
        )


def mentions_terms(e: ast.Expr) -> bool:
    if isinstance(e, ast.Ref):
        return e.name in ("revenue", "welfare")
    if isinstance(e, ast.BinOp):
        return mentions_terms(e.left) or mentions_terms(e.right)
    if isinstance(e, ast.Neg):
        return mentions_terms(e.operand)
    if isinstance(e, ast.Paren):
        return mentions_terms(e.expr)
    return False

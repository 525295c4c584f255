"""Assignment specs (course allocation): courses with seats and a timetable, students with
a demand, a preference generator, what they report, who answers comparison queries for
them (the proxy), the mechanism and the simulation settings.

The defaults filled in here are the preference simulator's calibrated values; where a
calibration depends on the number of popular courses (6 or 9) the default follows it.
docs/assignment.md lists every default and where it comes from.
"""

from __future__ import annotations

import math
from typing import Any

from .. import ir
from ..diagnostics import Span, did_you_mean
from ..dsl import ast
from ..dsl.vocabulary import (
    ASSIGNMENT_MECHANISM_OPTIONS,
    ASSIGNMENT_MECHANISMS,
    ASSIGNMENT_SETTINGS,
    DESCRIPTION_STYLES,
    INTERFACE_OPTIONS,
    PREFERENCE_GENERATORS,
    PROXY_KINDS,
    PROXY_OPTIONS,
    REASONING,
    REPORT_MODELS,
    SIMULATOR_OPTIONS,
    TIMETABLE_OPTIONS,
    TIMETABLES,
)
from .context import Context, Fail, fmt, head_span, keyword
from .sections import check_once, named_args, settings, typed_option
from .values import count, number

DEFAULT_SUPPLY_RATIO = 1.25
"""Seats / (students x demand) when a spec gives no seats (the simulator's default)."""
DEFAULT_QUERIES = 10
"""Comparison queries per student when a proxy is named and simulate gives none (the
query budget of the ML-powered Course Match headline results)."""
CALIBRATED_FAVOURITES = {9: 2.6, 6: 3.85}
"""Mean favourites fitted to Budish & Kessler (2022) for 9 and 6 popular courses."""
CALIBRATED_REPORTS = {
    9: {"forget_adjustments": 0.48, "base_std": 23.0},
    6: {"forget_adjustments": 0.4825, "base_std": 17.0},
}
"""The interface-noise calibration for 9 and 6 popular courses (forget_base 0.5 and
adjustment_std 0.2 in both)."""
GRID_DENSITY = 25 / 49
"""Courses per grid cell of the simulator's default (25 courses on a 7 x 7 grid): a spec with
another number of courses gets the smallest square grid with at most this density."""

_ASSIGNMENT_TOP = (ast.Param, ast.MechanismStmt)


def check_no_assignment_blocks(cx: Context, body: tuple[ast.Stmt, ...], kind: str) -> None:
    """``courses`` and ``students`` blocks belong only in an assignment spec."""
    for s in body:
        if isinstance(s, ast.Block) and s.keyword in ("courses", "students"):
            cx.error(
                "E0404",
                f"'{s.keyword}' does not belong in {'an' if kind == 'auction' else 'a'} {kind}",
                head_span(s, s.keyword),
                help="courses and students describe a course allocation: write 'assignment my_courses { ... }'",
            )


def assignment_spec(cx: Context, body: tuple[ast.Stmt, ...]) -> ir.AssignmentSpec | None:
    spec_ast = cx.doc.spec
    name = spec_ast.name
    once: dict[Any, ast.Stmt] = {}
    courses_b = students_b = mech = sim = None
    for s in body:
        if isinstance(s, ast.Block) and s.keyword in ("courses", "students"):
            check_once(cx, once, s.keyword, s)
            if s.keyword == "courses":
                courses_b = courses_b or s
            else:
                students_b = students_b or s
        elif isinstance(s, ast.MechanismStmt):
            check_once(cx, once, ast.MechanismStmt, s)
            mech = mech or s
        elif isinstance(s, ast.SettingsBlock) and s.keyword == "simulate":
            check_once(cx, once, "simulate", s)
            sim = sim or s
        elif not isinstance(s, _ASSIGNMENT_TOP):
            kw = keyword(s)
            cx.error(
                "E0404",
                f"'{kw}' does not belong in an assignment",
                head_span(s, kw),
                help="an assignment has courses { }, students { }, a mechanism and simulate { } settings",
            )
    if courses_b is None:
        cx.error("E0440", f"assignment {name.text} declares no courses", name.span,
                 help="add 'courses 25 { seats supply_ratio(1.25) }'")
    if students_b is None:
        cx.error("E0440", f"assignment {name.text} has no students", name.span,
                 help="add 'students 100 { demand 5 }'")
    if mech is None:
        cx.error("E0440", f"assignment {name.text} names no mechanism", name.span,
                 help="add 'mechanism course_match' (or a_ceei, or full_information for the benchmark)")

    n_courses = cx.guard(lambda: _block_count(cx, courses_b, "courses")) if courses_b else None
    n_students = cx.guard(lambda: _block_count(cx, students_b, "students")) if students_b else None
    students = None
    if students_b is not None and n_students is not None:
        students = cx.guard(lambda: _students(cx, students_b, n_students, n_courses))
    courses = None
    if courses_b is not None and n_courses is not None:
        demand = students.demand if students is not None else None
        courses = cx.guard(lambda: _courses(cx, courses_b, n_courses, n_students, demand, students))
    mechanism = cx.guard(lambda: _mechanism(cx, mech)) if mech is not None else None
    simulate = cx.guard(lambda: _simulate(cx, sim, students)) if sim is not None else None
    if sim is None and students is not None and students.proxy is not None:
        simulate = ir.AssignmentSimulate(queries=DEFAULT_QUERIES)
    if cx.diags or courses is None or students is None or mechanism is None:
        return None
    return ir.AssignmentSpec(
        name=name.text,
        params=dict(cx.params),
        courses=courses,
        students=students,
        mechanism=mechanism,
        simulate=simulate or ir.AssignmentSimulate(),
        source=cx.file,
    )


# --------------------------------------------------------------------------
# blocks and clauses
# --------------------------------------------------------------------------


def _block_count(cx: Context, b: ast.Block, what: str) -> int:
    assert b.count is not None
    n = count(cx, b.count, what)
    if n < 1:
        raise cx.fail("E0307", f"the number of {what} must be at least 1, not {n}", b.count.span)
    cx.spans[what] = b.span
    return n


def _clauses(cx: Context, b: ast.Block, where: str) -> dict[str, ast.Clause]:
    """The block's clauses by keyword, each at most once (the grammar keeps each clause in its
    own block)."""
    out: dict[str, ast.Clause] = {}
    failed = False
    for s in b.body:
        assert isinstance(s, ast.Clause)
        kw = s.keyword
        if kw in out:
            cx.error("E0441", f"'{kw}' is given twice in the {where} block", head_span(s, kw),
                     notes=(f"first given on line {out[kw].span.line}",))
            failed = True
        else:
            out[kw] = s
            cx.spans[f"{where}.{kw}"] = s.span
    if failed:
        raise Fail()
    return out


def _named(cx: Context, value: ast.Expr | ast.DictLit, what: str, kinds: tuple[str, ...], code_what: str,
           example: str, listing: str | None = None) -> tuple[str, dict[str, ast.Arg], ast.Expr]:
    """A bare name (``interface``) or a call with named options (``oracle(flip = 0.1)``)."""
    if isinstance(value, ast.Ref):
        name, args, sp = value.name, {}, value.span
    elif isinstance(value, ast.Call):
        name, sp = value.callee.text, value.callee.span
        args = named_args(cx, value.args, name, example)
    else:
        raise cx.fail("E0304", f"{what} is a name such as {kinds[0]}, or a call such as {example}",
                      value.span)
    if name not in kinds:
        raise cx.unknown("E0442", code_what, name, sp, kinds, listing=listing)
    return name, args, value  # type: ignore[return-value]


def _options(cx: Context, owner: str, args: dict[str, ast.Arg], types: dict[str, str], path: str) -> dict[str, Any]:
    vals: dict[str, Any] = {}
    failed = False
    for key, a in args.items():
        assert a.name is not None
        cx.spans[f"{path}.{key}"] = a.span
        if key not in types:
            cx.no_option(owner, key, a.name.span, types)
            failed = True
            continue
        v = cx.guard(lambda a=a, key=key: _typed(cx, a, types[key], owner))
        if v is None:
            failed = True
            continue
        vals[key] = v
    if failed:
        raise Fail()
    return vals


def _typed(cx: Context, a: ast.Arg, kind: str, owner: str) -> Any:
    assert a.name is not None
    key = a.name.text
    if kind in ("count", "int"):
        if isinstance(a.value, ast.DictLit | ast.ListLit | ast.String | ast.Bool | ast.Call):
            raise cx.fail("E0305", f"option '{key}' of {owner} must be a whole number", a.value.span)
        n = count(cx, a.value, f"{key}", limit=10**9)
        if n < (1 if kind == "count" else 0):
            raise cx.fail("E0310", f"option '{key}' of {owner} must be at least {1 if kind == 'count' else 0}, "
                          f"not {n}", a.value.span)
        return n
    if kind == "range":
        v = a.value
        if not isinstance(v, ast.ListLit) or len(v.items) != 2:
            raise cx.fail("E0305", f"option '{key}' of {owner} must be a list of two numbers", v.span,
                          help=f"write {key} = [50, 100]")
        return tuple(float(number(cx, x, "a number")) for x in v.items)
    return typed_option(cx, a, kind, owner)


def _in(cx: Context, vals: dict[str, Any], key: str, lo: float, hi: float, owner: str,
        args: dict[str, ast.Arg], lo_open: bool = False) -> None:
    v = vals.get(key)
    if v is None:
        return
    if v < lo or v > hi or (lo_open and v == lo):
        where = f"({fmt(lo)}, {fmt(hi)}]" if lo_open else f"[{fmt(lo)}, {fmt(hi)}]"
        if math.isinf(hi):
            where = "positive" if lo_open else f"at least {fmt(lo)}"
            raise cx.fail("E0310", f"option '{key}' of {owner} must be {where}, not {fmt(v)}", args[key].value.span)
        raise cx.fail("E0310", f"option '{key}' of {owner} must lie in {where}, not {fmt(v)}", args[key].value.span)


# --------------------------------------------------------------------------
# courses
# --------------------------------------------------------------------------


def _courses(cx: Context, b: ast.Block, n: int, n_students: int | None, demand: int | None,
             students: ir.Students | None) -> ir.Courses:
    names = tuple(f"course_{i}" for i in range(1, n + 1))
    clauses = _clauses(cx, b, "courses")
    failed = False
    ratio: float | None = DEFAULT_SUPPLY_RATIO
    seats: tuple[int, ...] | None = None
    if "seats" in clauses:
        got = cx.guard(lambda: _seats(cx, clauses["seats"].value, names))
        if got is None:
            failed = True
        else:
            ratio, seats = got
    timetable: Any = ir.GeneratedTimetable()
    if "timetable" in clauses:
        timetable = cx.guard(lambda: _timetable(cx, clauses["timetable"].value, names))
        failed |= timetable is None
    if failed or n_students is None or students is None:
        raise Fail()
    if seats is None:
        assert ratio is not None and demand is not None
        each = max(1, math.floor(n_students * demand * ratio / n + 0.5))
        seats = (each,) * n
    if students.preferences.popular > n:
        raise cx.fail("E0443", f"the simulator has {students.preferences.popular} popular courses, but the assignment has {n} courses",
                      cx.spans.get("students.preferences"), help=f"give simulator(popular = ...) at most {n}")
    if demand is not None and demand > n:
        raise cx.fail("E0443", f"each student demands {demand} courses, but the assignment has {n}",
                      cx.spans.get("students.demand"), help=f"give a demand of at most {n}")
    h, w = students.preferences.grid
    if h * w < n:
        raise cx.fail("E0443", f"the {h} x {w} grid has {h * w} cells for {n} courses",
                      cx.spans.get("students.preferences.grid", cx.spans.get("students.preferences")),
                      help="every course needs its own cell: give a larger grid = [height, width]")
    return ir.Courses(names=names, seats=seats, supply_ratio=ratio, timetable=timetable)


def _seats(cx: Context, v: ast.Expr | ast.DictLit, names: tuple[str, ...]) -> tuple[float | None, tuple[int, ...] | None]:
    """(supply ratio, None) for ``supply_ratio(r)``; (None, seats) for a number or a table."""
    if isinstance(v, ast.Call) and v.callee.text == "supply_ratio":
        if len(v.args) != 1 or v.args[0].name is not None:
            raise cx.fail("E0304", "supply_ratio takes one number", v.span, help="write seats supply_ratio(1.25)")
        r = float(number(cx, v.args[0].value, "the supply ratio"))  # type: ignore[arg-type]
        if not r > 0:
            raise cx.fail("E0310", f"the supply ratio must be positive, not {fmt(r)}", v.args[0].span)
        return r, None
    if isinstance(v, ast.DictLit):
        table = _course_table(cx, v, names, "the seat table")
        out = []
        for c in names:
            if c not in table:
                raise cx.fail("E0444", f"the seat table has no entry for {c}", v.span,
                              help="give every course its seats, or one number for all")
            val, sp = table[c]
            got = count(cx, val, f"seats of {c}", limit=10**9)
            if got < 0:
                raise cx.fail("E0310", f"seats of {c} must not be negative, not {got}", sp)
            out.append(got)
        return None, tuple(out)
    if isinstance(v, ast.Call):
        raise cx.unknown("E0442", "seat rule", v.callee.text, v.callee.span, ("supply_ratio",),
                         help="write seats 25, seats supply_ratio(1.25) or seats { course_1: 30, ... }")
    each = count(cx, v, "seats", limit=10**9)
    if each < 1:
        raise cx.fail("E0310", f"every course needs at least 1 seat, not {each}", v.span)
    return None, (each,) * len(names)


def _course_table(cx: Context, d: ast.DictLit, names: tuple[str, ...], what: str) -> dict[str, tuple[Any, Span]]:
    out: dict[str, tuple[Any, Span]] = {}
    for p in d.pairs:
        if not isinstance(p.key, ast.Ref):
            raise cx.fail("E0444", f"the keys of {what} are course names", p.key.span,
                          help=f"courses are named {names[0]} .. {names[-1]}")
        c = p.key.name
        if c not in names:
            raise cx.fail("E0444", f"unknown course '{c}' in {what}", p.key.span,
                          help=f"courses are named {names[0]} .. {names[-1]}",
                          suggestion=did_you_mean(c, names))
        if c in out:
            raise cx.fail("E0202", f"course '{c}' appears twice in {what}", p.key.span)
        out[c] = (p.value, p.span)
    return out


def _timetable(cx: Context, v: ast.Expr | ast.DictLit, names: tuple[str, ...]) -> Any:
    if isinstance(v, ast.DictLit):
        table = _course_table(cx, v, names, "the timetable")
        slots: list[tuple[int, ...]] = []
        for c in names:
            if c not in table:
                slots.append(())
                continue
            val, _ = table[c]
            if not isinstance(val, ast.ListLit):
                raise cx.fail("E0444", f"the slots of {c} are a list of whole numbers", val.span,
                              help=f"write {c}: [0, 1, 14]")
            got = []
            for x in val.items:
                s = count(cx, x, f"slots of {c}", limit=10**6)
                if s < 0:
                    raise cx.fail("E0444", f"slot {s} of {c} is negative", x.span)
                got.append(s)
            slots.append(tuple(sorted(set(got))))
        return ir.FixedTimetable(slots=tuple(slots))
    name, args, _ = _named(cx, v, "a timetable", TIMETABLES, "timetable", "generated(days = 5, slots = 12)")
    vals = _options(cx, f"timetable {name}", args, TIMETABLE_OPTIONS if name == "generated" else {},
                    "courses.timetable")
    if name == "none":
        return ir.NoTimetable()
    return ir.GeneratedTimetable(**vals)


# --------------------------------------------------------------------------
# students
# --------------------------------------------------------------------------


def _students(cx: Context, b: ast.Block, n: int, n_courses: int | None) -> ir.Students:
    clauses = _clauses(cx, b, "students")
    failed = False
    fields: dict[str, Any] = {"count": n}
    if "demand" in clauses:
        d = cx.guard(lambda: count(cx, clauses["demand"].value, "courses a student demands"))  # type: ignore[arg-type]
        if d is not None and d < 1:
            cx.error("E0310", f"a student demands at least 1 course, not {d}", clauses["demand"].value.span)
            d = None
        failed |= d is None
        if d is not None:
            fields["demand"] = d
    prefs = cx.guard(lambda: _preferences(cx, clauses.get("preferences"), n_courses))
    failed |= prefs is None
    popular = prefs.popular if prefs is not None else 9
    reports = cx.guard(lambda: _reports(cx, clauses.get("reports"), popular))
    failed |= reports is None
    proxy = None
    if "proxy" in clauses:
        proxy = cx.guard(lambda: _proxy(cx, clauses["proxy"].value))
        failed |= proxy is None
    if failed:
        raise Fail()
    return ir.Students(preferences=prefs, reports=reports, proxy=proxy, **fields)


def _preferences(cx: Context, c: ast.Clause | None, n_courses: int | None) -> ir.SimulatorPreferences:
    vals: dict[str, Any] = {}
    args: dict[str, ast.Arg] = {}
    if c is not None:
        _, args, _ = _named(cx, c.value, "a preference generator", PREFERENCE_GENERATORS,
                            "preference generator", "simulator(popular = 9)")
        vals = _options(cx, "simulator", args, SIMULATOR_OPTIONS, "students.preferences")
    owner = "simulator"
    _in(cx, vals, "favourites", 0, math.inf, owner, args, lo_open=True)
    _in(cx, vals, "complements", 0, math.inf, owner, args)
    _in(cx, vals, "substitutes", 0, math.inf, owner, args)
    _in(cx, vals, "decay", 0, 1, owner, args, lo_open=True)
    for key in ("favourite_values", "other_values"):
        if key in vals:
            lo, hi = vals[key]
            if not 0 <= lo < hi:
                raise cx.fail("E0310", f"option '{key}' of simulator must be [low, high] with 0 <= low < high, "
                              f"not [{fmt(lo)}, {fmt(hi)}]", args[key].value.span)
    if "grid" in vals:
        h, w = vals["grid"]
        if not (float(h).is_integer() and float(w).is_integer() and h >= 1 and w >= 1):
            raise cx.fail("E0310", "option 'grid' of simulator is [height, width] in whole cells",
                          args["grid"].value.span, help="write grid = [7, 7]")
        vals["grid"] = (int(h), int(w))
    elif n_courses is not None and n_courses != 25:
        side = max(1, math.ceil(math.sqrt(n_courses / GRID_DENSITY)))
        vals["grid"] = (side, side)
    popular = vals.get("popular", 9)
    if "favourites" not in vals:
        vals["favourites"] = CALIBRATED_FAVOURITES.get(popular, CALIBRATED_FAVOURITES[9])
    if vals["favourites"] > popular:
        where = args["favourites"].value.span if "favourites" in args else (c.span if c else None)
        raise cx.fail("E0443", f"students have {fmt(vals['favourites'])} favourites on average, but only {popular} courses are popular",
                      where, help="favourites are drawn from the popular courses: raise popular or lower favourites")
    return ir.SimulatorPreferences(**vals)


def _reports(cx: Context, c: ast.Clause | None, popular: int) -> ir.InterfaceReports:
    vals: dict[str, Any] = dict(CALIBRATED_REPORTS.get(popular, CALIBRATED_REPORTS[9]))
    if c is None:
        return ir.InterfaceReports(**vals)
    _, args, _ = _named(cx, c.value, "a report model", REPORT_MODELS, "report model", "interface(base_std = 23)")
    given = _options(cx, "interface", args, INTERFACE_OPTIONS, "students.reports")
    for key in ("forget_base", "forget_adjustments", "adjustment_std", "forget_uniform"):
        _in(cx, given, key, 0, 1, "interface", args)
    _in(cx, given, "base_std", 0, math.inf, "interface", args)
    vals.update(given)
    return ir.InterfaceReports(**vals)


def _proxy(cx: Context, v: ast.Expr | ast.DictLit) -> Any:
    name, args, _ = _named(cx, v, "a proxy", PROXY_KINDS, "proxy", "oracle(flip = 0.1)", listing="proxies")
    vals = _options(cx, f"proxy {name}", args, PROXY_OPTIONS[name], "students.proxy")
    owner = f"proxy {name}"
    if name == "oracle":
        _in(cx, vals, "flip", 0, 1, owner, args)
        return ir.OracleProxy(**vals)
    _in(cx, vals, "temperature", 0, 2, owner, args)
    _in(cx, vals, "omit", 0, 1, owner, args)
    for key, choices in (("reasoning", REASONING), ("description", DESCRIPTION_STYLES)):
        if key in vals and vals[key] not in choices:
            raise cx.fail("E0310", f"option '{key}' of {owner} must be {' or '.join(choices)}, not \"{vals[key]}\"",
                          args[key].value.span, suggestion=did_you_mean(vals[key], choices))
    return ir.LLMProxy(**vals)


# --------------------------------------------------------------------------
# mechanism and simulation settings
# --------------------------------------------------------------------------


def _mechanism(cx: Context, s: ast.MechanismStmt) -> ir.AssignmentMechanism:
    n = s.name.text
    cx.spans["mechanism"] = s.span
    if n not in ASSIGNMENT_MECHANISMS:
        raise cx.unknown("E0442", "assignment mechanism", n, s.name.span, ASSIGNMENT_MECHANISMS)
    args = named_args(cx, s.args, n, f"{n}(budget_spread = 0.04)")
    vals = _options(cx, n, args, ASSIGNMENT_MECHANISM_OPTIONS[n], "mechanism.options")
    _in(cx, vals, "budget_spread", 0, 1, n, args)
    return ir.AssignmentMechanism(name=n, **vals)


def _simulate(cx: Context, s: ast.SettingsBlock, students: ir.Students | None) -> ir.AssignmentSimulate:
    sim = settings(cx, s, ir.AssignmentSimulate, ASSIGNMENT_SETTINGS)
    given = {st.name.text: st for st in s.settings}
    proxy = students.proxy if students is not None else None
    if "queries" in given:
        if sim.queries < 0:
            raise cx.fail("E0310", f"setting 'queries' of simulate must be at least 0, not {sim.queries}",
                          given["queries"].value.span)
        if sim.queries > 0 and students is not None and proxy is None:
            raise cx.fail("E0443", f"each student gets {sim.queries} queries, but the students have no proxy to answer them",
                          given["queries"].span, help="add 'proxy oracle' (or 'proxy llm(...)') to the students block")
        return sim
    if proxy is not None:
        return sim.model_copy(update={"queries": DEFAULT_QUERIES})
    return sim

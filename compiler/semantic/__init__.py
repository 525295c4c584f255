"""Semantic analysis: the AST of a .auction file to the Spec IR, or diagnostics.

Everything syntax-specific ends here: params are substituted, bidder groups are
expanded, item counts become names, value expressions become sums of terms.  The
analysis goes on after an error wherever the rest does not depend on the broken part,
so one run reports every independent mistake.  One module per part of a spec:
``values`` (numbers, distributions, value expressions), ``params``, ``auctions``
(items, bidders, valuations), ``agents``, ``markets`` (states, buyers, types) and
``sections`` (requirements, objective, format, solve, settings) and ``assignments``
(course-allocation specs); ``context`` holds the state they share.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .. import ir
from ..diagnostics import Diagnostic
from ..dsl import ast
from ..dsl.vocabulary import SIMULATE_SETTINGS, VERIFY_SETTINGS
from .assignments import assignment_spec, check_no_assignment_blocks
from .auctions import bidders, collect_common, collect_items
from .context import MAX_VALUES, Context
from .markets import buyers, collect_states, externality_value
from .params import collect_params
from .sections import (
    check_once,
    check_placement,
    check_sections,
    mechanism_format,
    objective,
    requirements,
    settings,
    solve,
    verify_budget,
)


def _spec(cx: Context) -> ir.AuctionSpec | ir.MarketSpec | ir.AssignmentSpec | None:
    spec_ast = cx.doc.spec
    cx.spans["spec"] = spec_ast.name.span
    body = spec_ast.body
    collect_params(cx, body)
    if spec_ast.kind == "assignment":
        spec = assignment_spec(cx, body)
        if spec is not None:
            spec._spans = dict(cx.spans)
        return spec
    market = spec_ast.kind == "market"
    check_placement(cx, body, market)
    check_no_assignment_blocks(cx, body, spec_ast.kind)

    once: dict[type, ast.Stmt] = {}
    for s in body:
        if isinstance(s, (ast.Items, ast.States, ast.Maximize, ast.MechanismStmt, ast.SolveStmt, ast.Externality, ast.Prior)):
            check_once(cx, once, type(s), s)
        elif isinstance(s, ast.SettingsBlock):
            check_once(cx, once, (ast.SettingsBlock, s.keyword), s)  # type: ignore[arg-type]

    fields: dict[str, Any] = {"name": spec_ast.name.text}
    if market:
        states = next((s for s in body if isinstance(s, ast.States)), None)
        cx.guard(lambda: collect_states(cx, states))
    else:
        items = next((s for s in body if isinstance(s, ast.Items)), None)
        cx.guard(lambda: collect_items(cx, items))
        for s in body:
            if isinstance(s, ast.Common):
                cx.guard(lambda s=s: collect_common(cx, s))

    reqs = cx.guard(lambda: requirements(cx, body, market)) or ()
    goal = cx.guard(lambda: objective(cx, body))
    mech = next((s for s in body if isinstance(s, ast.MechanismStmt)), None)
    fmt = cx.guard(lambda: mechanism_format(cx, mech)) if mech is not None and not market else None
    solve_stmt = next((s for s in body if isinstance(s, ast.SolveStmt)), None)
    solve_ir = cx.guard(lambda: solve(cx, solve_stmt)) if solve_stmt is not None else None
    sim = next((s for s in body if isinstance(s, ast.SettingsBlock) and s.keyword == "simulate"), None)
    ver = next((s for s in body if isinstance(s, ast.SettingsBlock) and s.keyword == "verify"), None)
    sim_ir = cx.guard(lambda: settings(cx, sim, ir.Simulate, SIMULATE_SETTINGS)) if sim else None
    ver_ir = cx.guard(lambda: settings(cx, ver, ir.Verify, VERIFY_SETTINGS)) if ver else None

    if market:
        buyer_list = buyers(cx, body)
        ext = next((s for s in body if isinstance(s, ast.Externality)), None)
        externality = cx.guard(lambda: externality_value(cx, ext)) if ext else 0.0
        if not buyer_list and not any(isinstance(s, ast.Block) and s.keyword in ("buyer", "buyers") for s in body):
            cx.error(
                "E0405",
                f"market {spec_ast.name.text} has no buyers",
                spec_ast.name.span,
                help="add a buyer, as in 'buyer farmer { actions ... payoff ... type ... }'",
            )
    else:
        bidder_list = bidders(cx, body)
        if not any(isinstance(s, ast.Block) and s.keyword in ("bidder", "bidders") for s in body):
            cx.error(
                "E0405",
                f"auction {spec_ast.name.text} has no bidders",
                spec_ast.name.span,
                help="add bidders, as in 'bidder b { value ~ Uniform(0, 1) }' or 'bidders 2 { ... }'",
            )

    check_sections(cx, spec_ast, market, reqs, goal, mech, fmt, sim)
    per_profile = len(buyer_list) * len(cx.states) if market else len(bidder_list) * len(cx.items)
    if per_profile > MAX_VALUES:
        who, what = ("buyers", "states") if market else ("bidders", "items")
        cx.error(
            "E0307",
            f"{per_profile:,} values per profile ({who} x {what}), more than the {MAX_VALUES:,} a spec may have",
            spec_ast.name.span,
            help=f"every stage draws one value per {who[:-1]} and {what[:-1]}; use fewer {who} or {what}",
        )
    verify_budget(cx, ver_ir, per_profile)
    if cx.diags:
        return None

    fields.update(
        params=dict(cx.params),
        requirements=tuple(reqs),
        objective=goal,
        mechanism=fmt,
        solve=solve_ir,
        simulate=sim_ir,
        verify=ver_ir,
        source=cx.file,
    )
    try:
        if market:
            spec: ir.AuctionSpec | ir.MarketSpec = ir.MarketSpec(
                states=tuple(cx.states), buyers=tuple(buyer_list), externality=externality or 0.0, **fields
            )
        else:
            spec = ir.AuctionSpec(
                items=tuple(cx.items), bidders=tuple(bidder_list), common=tuple(cx.commons.values()), **fields
            )
    except ValidationError as e:  # a gap in the checks above; still a message, not a traceback
        first = e.errors()[0]
        cx.error(
            "E0300",
            f"the spec does not form a valid IR: {first['msg']} at {'.'.join(map(str, first['loc']))}",
            cx.spans["spec"],
            help="please report this: the front end should have caught it with its own message",
        )
        return None
    spec._spans = dict(cx.spans)
    spec._source_text = cx.doc.source
    spec._prompt_texts = dict(cx.prompt_texts)
    return spec


def analyze(doc: ast.Document, overrides: dict[str, str] | None = None) -> tuple[Any, list[Diagnostic]]:
    """(spec or None, diagnostics sorted by position)."""
    cx = Context(doc, dict(overrides or {}))
    spec = _spec(cx)
    diags = sorted(
        cx.diags,
        key=lambda d: (d.span is not None, d.span.line if d.span else 0, d.span.col if d.span else 0),
    )
    return spec, diags

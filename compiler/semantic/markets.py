"""Data markets: states, buyers with actions and payoffs, belief and value types, priors."""

from __future__ import annotations

from typing import Any

from .. import ir
from ..diagnostics import Span, did_you_mean
from ..dsl import ast
from ..dsl.vocabulary import BELIEF_DISTRIBUTIONS
from .agents import analyze_agent
from .context import Context, Fail, fmt, head_span, keyword, over_member_limit
from .values import check_sum, count, number, plain_dist, support_bounds


def collect_states(cx: Context, s: ast.States | None) -> None:
    if s is None:
        raise cx.fail(
            "E0406",
            f"market {cx.doc.spec.name.text} declares no states",
            cx.doc.spec.name.span,
            help="add 'states rain, sun'",
        )
    for n in s.names:
        if n.text in cx.states:
            cx.error("E0202", f"state '{n.text}' is declared twice", n.span)
            continue
        cx.states.append(n.text)
        cx.spans[f"states.{n.text}"] = n.span
    if len(cx.states) < 2:
        raise cx.fail("E0406", "a market needs at least two states", s.span, help="add 'states rain, sun'")


def buyers(cx: Context, body: tuple[ast.Stmt, ...]) -> list[ir.Buyer]:
    out: list[ir.Buyer] = []
    names: dict[str, Span] = {}
    top_prior = next((s for s in body if isinstance(s, ast.Prior)), None)
    numbered = 0
    total = 0
    for s in body:
        if not isinstance(s, ast.Block) or s.keyword not in ("buyer", "buyers"):
            continue
        if s.keyword == "buyer":
            assert s.name is not None
            members = [(s.name.text, s.name.span)]
        else:
            assert s.count is not None
            n = cx.guard(lambda s=s: count(cx, s.count, "buyers"))
            if n is None:
                continue
            if n < 1:
                cx.error("E0405", f"a group of {n} buyers", s.count.span, help="write 'buyers 2 { ... }'")
                continue
            members = [(f"buyer_{numbered + i}", s.span) for i in range(1, n + 1)]
            numbered += n
        if over_member_limit(cx, s, total + len(members), "buyers"):
            break
        total += len(members)
        parts = cx.guard(lambda s=s: buyer_body(cx, s, top_prior)) if cx.states else None
        for name, sp in members:
            if name in names:
                cx.error("E0202", f"buyer '{name}' is declared twice", sp, notes=(f"first declared on line {names[name].line}",))
                continue
            names[name] = sp
            cx.spans[f"buyers.{name}"] = s.span
            if parts is None:
                continue
            actions, payoffs, btype, agent = parts
            out.append(ir.Buyer(name=name, actions=actions, payoffs=payoffs, type=btype, agent=agent))
    return out


def state_table(cx: Context, table: ast.DictLit, what: str) -> dict[str, tuple[float, Span]]:
    out: dict[str, tuple[float, Span]] = {}
    failed = False
    for p in table.pairs:
        if not isinstance(p.key, ast.Ref):
            cx.error("E0304", f"the keys of {what} are state names", p.key.span, help=f"states: {', '.join(cx.states)}")
            failed = True
            continue
        st = p.key.name
        if st not in cx.states:
            cx.error(
                "E0211",
                f"unknown state '{st}' in {what}",
                p.key.span,
                help=f"states: {', '.join(cx.states)}",
                suggestion=did_you_mean(st, cx.states),
            )
            failed = True
            continue
        if st in out:
            cx.error("E0202", f"state '{st}' appears twice in {what}", p.key.span)
            failed = True
            continue
        v = cx.guard(lambda p=p: float(number(cx, p.value, "a number")))
        if v is None:
            failed = True
            continue
        out[st] = (v, p.span)
    if failed:
        raise Fail()
    return out


def prior_probs(cx: Context, s: ast.Prior) -> tuple[float, ...]:
    table = state_table(cx, s.table, "the prior")
    for st, (p, sp) in table.items():
        if not 0 <= p <= 1:
            raise cx.fail("E0303", f"probability {fmt(p)} of state '{st}' is not between 0 and 1", sp)
    probs = [table[st][0] if st in table else 0.0 for st in cx.states]
    check_sum(cx, probs, s.table.span, "the prior probabilities")
    return tuple(probs)


def buyer_body(cx: Context, block: ast.Block, top_prior: ast.Prior | None) -> tuple:
    who = f"buyer {block.name.text}" if block.name else "each buyer of this group"
    head = block.name.span if block.name else (block.count.span if block.count else block.span)
    acts = [s for s in block.body if isinstance(s, ast.Actions)]
    pays = [s for s in block.body if isinstance(s, ast.Payoff)]
    types = [s for s in block.body if isinstance(s, ast.TypeBelief | ast.TypeValue)]
    priors = [s for s in block.body if isinstance(s, ast.Prior)]
    agents = [s for s in block.body if isinstance(s, ast.AgentStmt)]
    failed = False
    for group in (acts, types, priors, agents):
        for extra in group[1:]:
            kw = keyword(extra)
            cx.error("E0410", f"'{kw}' is given twice for {who}", head_span(extra, kw),
                       notes=(f"first given on line {group[0].span.line}",))
            failed = True
    actions: list[str] = []
    if acts:
        for n in acts[0].names:
            if n.text in actions:
                cx.error("E0202", f"action '{n.text}' is declared twice", n.span)
                failed = True
            else:
                actions.append(n.text)
    elif pays:
        cx.error(
            "E0408",
            f"{who} has payoffs but no actions",
            pays[0].span,
            help="declare the actions first, as in 'actions plant, wait'",
        )
        failed = True
    else:
        cx.error("E0408", f"{who} has no actions", head, help="add 'actions plant, wait' and a payoff for each")
        failed = True
    table: dict[str, tuple[float, ...]] = {}
    for p in pays:
        a = p.action.text
        if actions and a not in actions:
            cx.error(
                "E0212",
                f"payoff for unknown action '{a}'",
                p.action.span,
                help=f"actions of {who}: {', '.join(actions)}",
                suggestion=did_you_mean(a, actions),
            )
            failed = True
            continue
        if a in table:
            cx.error("E0202", f"the payoff of action '{a}' is given twice", p.action.span)
            failed = True
            continue
        row = cx.guard(lambda p=p: state_table(cx, p.table, f"the payoff of '{p.action.text}'"))
        if row is None:
            failed = True
            continue
        missing = [st for st in cx.states if st not in row]
        if missing:
            cx.error(
                "E0408",
                f"the payoff of '{a}' has no entry for state{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                p.table.span,
                help="give a payoff for every state",
            )
            failed = True
            continue
        table[a] = tuple(row[st][0] for st in cx.states)
    if acts and not failed:
        for a in actions:
            if a not in table:
                cx.error(
                    "E0408",
                    f"action '{a}' of {who} has no payoff",
                    next(n.span for n in acts[0].names if n.text == a),
                    help=f"add 'payoff {a} {{ {', '.join(f'{st}: 0' for st in cx.states)} }}'",
                )
                failed = True
    btype = None
    if not types:
        cx.error(
            "E0408",
            f"{who} has no type",
            head,
            help=f"add 'type belief({cx.states[0]}) ~ Uniform(0, 1)' or 'type value ~ Uniform(0, 1)' with a prior",
        )
        failed = True
    else:
        btype = cx.guard(lambda: buyer_type(cx, types[0], priors[0] if priors else top_prior))
        failed |= btype is None
    agent = cx.guard(lambda: analyze_agent(cx, agents[0])) if agents else None
    if agents and agent is None:
        failed = True
    if failed:
        raise Fail()
    return tuple(actions), tuple(table[a] for a in actions), btype, agent


def buyer_type(cx: Context, t: ast.TypeBelief | ast.TypeValue, prior: ast.Prior | None) -> Any:
    if isinstance(t, ast.TypeBelief):
        belief = belief_part(cx, t)
        if t.scale is None:
            return belief
        d = plain_dist(cx, t.scale, "the value part of a type")
        lo, _ = support_bounds(d)
        if lo < 0:
            raise cx.fail(
                "E0417",
                f"a payoff scale must not be negative, but this distribution reaches {fmt(lo)}",
                t.scale.span,
                help="the value scales the buyer's payoffs; use a distribution on [0, inf), such as Uniform(0, 1)",
            )
        return ir.BeliefScaleType(belief=belief, scale=d)
    d = plain_dist(cx, t.expr, "a value type")
    if prior is None:
        raise cx.fail(
            "E0415",
            "a value type needs a common prior over the states",
            t.span,
            help="add 'prior { " + ", ".join(f"{s}: {fmt(1 / len(cx.states))}" for s in cx.states) + " }'",
        )
    return ir.ScaleType(dist=d, prior=prior_probs(cx, prior))


def _dirichlet_example(cx: Context) -> str:
    return "type belief ~ Dirichlet({" + ", ".join(f"{s}: 1" for s in cx.states) + "})"


def _is_dirichlet(e: ast.Expr) -> bool:
    while isinstance(e, ast.Paren):
        e = e.expr
    return isinstance(e, ast.Call) and e.callee.text in BELIEF_DISTRIBUTIONS


def belief_part(cx: Context, t: ast.TypeBelief) -> ir.BeliefType | ir.DirichletBelief:
    """``belief(state) ~ dist`` (two states) or ``belief ~ Dirichlet({state: alpha, ...})``."""
    if t.state is None:
        return dirichlet(cx, t.expr)
    st = t.state.text
    if st not in cx.states:
        raise cx.unknown("E0211", "state", st, t.state.span, cx.states)
    if len(cx.states) != 2:
        raise cx.fail(
            "E0414",
            f"a belief type needs two states, not {len(cx.states)}",
            t.span,
            help=f"with more states, draw the whole belief: '{_dirichlet_example(cx)}'",
        )
    if _is_dirichlet(t.expr):
        raise cx.fail(
            "E0416",
            f"belief({st}) is one probability, but Dirichlet draws a belief over every state",
            t.expr.span,
            help=f"name no state: '{_dirichlet_example(cx)}'",
        )
    d = plain_dist(cx, t.expr, "a belief type")
    lo, hi = support_bounds(d)
    if lo < 0 or hi > 1:
        raise cx.fail(
            "E0301",
            f"a belief is a probability, but this distribution reaches {fmt(lo if lo < 0 else hi)}",
            t.expr.span,
            help="use a distribution on [0, 1], such as Uniform(0, 1) or Beta(2, 2)",
        )
    return ir.BeliefType(state=st, dist=d)


def dirichlet(cx: Context, e: ast.Expr) -> ir.DirichletBelief:
    """``Dirichlet({state: alpha, ...})``: a positive parameter for every state."""
    while isinstance(e, ast.Paren):
        e = e.expr
    if not _is_dirichlet(e):
        raise cx.fail(
            "E0416",
            "a belief type without a state draws the whole belief, which needs a Dirichlet distribution",
            e.span,
            help=f"write '{_dirichlet_example(cx)}', or name the state: 'type belief({cx.states[0]}) ~ Uniform(0, 1)'",
        )
    assert isinstance(e, ast.Call)
    if len(e.args) != 1 or e.args[0].name is not None or not isinstance(e.args[0].value, ast.DictLit):
        raise cx.fail(
            "E0304",
            "Dirichlet takes one table of the states' parameters",
            e.span,
            help=f"write '{_dirichlet_example(cx)}'",
        )
    table = state_table(cx, e.args[0].value, "the Dirichlet parameters")
    missing = [st for st in cx.states if st not in table]
    if missing:
        raise cx.fail(
            "E0416",
            f"the Dirichlet parameters have no entry for state{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
            e.args[0].value.span,
            help="give every state a parameter (1 for every state is the uniform distribution on beliefs)",
        )
    for st, (a, sp) in table.items():
        if not (a > 0 and a < float("inf")):
            raise cx.fail("E0301", f"invalid Dirichlet: the parameter of state '{st}' must be positive, not {fmt(a)}",
                          sp, help="Dirichlet parameters are positive numbers, such as 1")
    return ir.DirichletBelief(alpha=tuple(table[st][0] for st in cx.states))


def externality_value(cx: Context, s: ast.Externality) -> float:
    """``externality alpha``: the weight of the others' correct actions in a buyer's payoff."""
    a = float(number(cx, s.expr, "the externality"))
    if a < 0:
        raise cx.fail(
            "E0417",
            f"the externality must not be negative, not {fmt(a)}",
            s.expr.span,
            help="alpha >= 0 is how much a buyer loses when another acts right; 0 means no externality",
        )
    return a

"""Auctions: items, common variables, bidders and their valuations (additive,
unit-demand, single-item, XOR bids and CATS generators)."""

from __future__ import annotations

from typing import Any

from .. import ir
from ..diagnostics import Span, did_you_mean
from ..dsl import ast
from ..dsl.vocabulary import CATS_DISTRIBUTIONS, VALUATION_KINDS
from .agents import analyze_agent
from .context import MAX_COUNT, Context, Fail, Scalar, head_span, keyword, over_member_limit
from .values import count, plain_dist, scalar, value_expr


def collect_items(cx: Context, s: ast.Items | None) -> None:
    if s is None:
        raise cx.fail(
            "E0406",
            f"auction {cx.doc.spec.name.text} declares no items",
            cx.doc.spec.name.span,
            help="add 'items 1' for a single item, or 'items A, B' to name them",
        )
    names: list[tuple[str, Span]] = []
    counts = [e for e in s.entries if isinstance(e, ast.ItemCount)]
    param_counts = [
        e for e in s.entries if isinstance(e, ast.ItemName) and e.name.text in cx.params
    ]
    if (counts or param_counts) and len(s.entries) > 1:
        raise cx.fail(
            "E0307",
            "a number of items cannot be mixed with item names",
            s.span,
            help="write 'items 3' or 'items A, B, C'",
        )
    for e in s.entries:
        if isinstance(e, ast.ItemCount) or (isinstance(e, ast.ItemName) and e.name.text in cx.params):
            expr = e.count if isinstance(e, ast.ItemCount) else ast.Ref(e.name.text, e.span)
            n = count(cx, expr, "items")
            if n < 1:
                raise cx.fail("E0307", f"the number of items must be at least 1, not {n}", e.span)
            names = [("item", e.span)] if n == 1 else [(f"item_{i}", e.span) for i in range(1, n + 1)]
        elif isinstance(e, ast.ItemName):
            names.append((e.name.text, e.span))
        else:
            lo = count(cx, e.low, "the range start", limit=10**12)
            hi = count(cx, e.high, "the range end", limit=10**12)
            if hi - lo >= MAX_COUNT:
                raise cx.fail("E0307", f"too many items: the range holds {hi - lo + 1}", e.span)
            if hi < lo:
                raise cx.fail(
                    "E0309",
                    f"the range {e.prefix.text}[{lo}..{hi}] is empty",
                    e.span,
                    help="write the smaller bound first, as in g[1..50]",
                )
            names += [(f"{e.prefix.text}{i}", e.span) for i in range(lo, hi + 1)]
    seen: dict[str, Span] = {}
    for n, sp in names:
        if n in seen:
            cx.error("E0202", f"item '{n}' is declared twice", sp, notes=(f"first declared on line {seen[n].line}",))
            continue
        seen[n] = sp
        cx.items.append(n)
        cx.spans[f"items.{n}"] = sp


def collect_common(cx: Context, s: ast.Common) -> None:
    n = s.name.text
    if n in cx.commons or n in cx.params:
        raise cx.fail("E0202", f"'{n}' is declared twice", s.name.span)
    cx.commons[n] = ir.CommonVar(name=n, dist=plain_dist(cx, s.expr, f"common variable '{n}'"))
    cx.spans[f"common.{n}"] = s.span


def bidders(cx: Context, body: tuple[ast.Stmt, ...]) -> list[ir.Bidder]:
    out: list[ir.Bidder] = []
    names: dict[str, Span] = {}
    group_no = 0
    numbered = 0
    total = 0
    for s in body:
        if not isinstance(s, ast.Block) or s.keyword not in ("bidder", "bidders"):
            continue
        if s.keyword == "bidder":
            assert s.name is not None
            members = [(s.name.text, s.name.span)]
            group = None
        else:
            group_no += 1
            assert s.count is not None
            n = cx.guard(lambda s=s: count(cx, s.count, "bidders"))
            if n is None:
                continue
            if n < 1:
                cx.error(
                    "E0405",
                    f"a group of {n} bidders",
                    s.count.span,
                    help="a bidders block needs at least one bidder: write 'bidders 2 { ... }'",
                )
                continue
            members = [(f"bidder_{numbered + i}", s.span) for i in range(1, n + 1)]
            numbered += n
            group = f"group_{group_no}"
        if over_member_limit(cx, s, total + len(members), "bidders"):
            break
        total += len(members)
        parts = cx.guard(lambda s=s: bidder_body(cx, s))
        for name, sp in members:
            if name in names:
                cx.error(
                    "E0202",
                    f"bidder '{name}' is declared twice",
                    sp,
                    notes=(f"first declared on line {names[name].line}",),
                )
                continue
            names[name] = sp
            cx.spans[f"bidders.{name}"] = s.span
            if parts is None:
                continue
            valuation, vspan, signal, sspan, agent, aspan = parts
            cx.spans[f"bidders.{name}.valuation"] = vspan
            if sspan is not None:
                cx.spans[f"bidders.{name}.signal"] = sspan
            if aspan is not None:
                cx.spans[f"bidders.{name}.agent"] = aspan
            out.append(ir.Bidder(name=name, group=group, valuation=valuation, signal=signal, agent=agent))
    return out


def bidder_body(cx: Context, block: ast.Block) -> tuple:
    who = f"bidder {block.name.text}" if block.name else "each bidder of this group"
    head = block.name.span if block.name else (block.count.span if block.count else block.span)
    valuation_stmts = [s for s in block.body if isinstance(s, (ast.ValuationKind, ast.ValuationXor, ast.ValuationCats))]
    values = [s for s in block.body if isinstance(s, ast.Value)]
    values_all = [s for s in block.body if isinstance(s, ast.Values)]
    signals = [s for s in block.body if isinstance(s, ast.Signal)]
    agents = [s for s in block.body if isinstance(s, ast.AgentStmt)]
    failed = False
    for group in (valuation_stmts, values_all, signals, agents):
        for extra in group[1:]:
            kw = keyword(extra)
            cx.error(
                "E0410",
                f"'{kw}' is given twice for {who}",
                head_span(extra, kw),
                notes=(f"first given on line {group[0].span.line}",),
            )
            failed = True
    signal = sspan = None
    if signals:
        sspan = signals[0].span
        signal = cx.guard(lambda: value_expr(cx, signals[0].expr))
        failed |= signal is None
    agent = aspan = None
    if agents:
        aspan = agents[0].span
        agent = cx.guard(lambda: analyze_agent(cx, agents[0]))
        failed |= agent is None
    vstmt = valuation_stmts[0] if valuation_stmts else None
    val = cx.guard(lambda: valuation(cx, who, head, vstmt, values, values_all, signals))
    if val is None or failed:
        raise Fail()
    vspan = vstmt.span if vstmt else (values[0].span if values else values_all[0].span if values_all else head)
    return val, vspan, signal, sspan, agent, aspan


def per_item(cx: Context, who: str, values: list[ast.Value], values_all: list[ast.Values], need_all: bool) -> dict[str, ir.ValueExpr]:
    out: dict[str, ir.ValueExpr] = {}
    failed = False
    if values_all:
        e = cx.guard(lambda: value_expr(cx, values_all[0].expr))
        if e is None:
            failed = True
        else:
            out = {it: e for it in cx.items}
    explicit: dict[str, ast.Value] = {}
    for v in values:
        if v.item is None:
            if len(cx.items) == 1:
                item = cx.items[0]
            else:
                cx.error(
                    "E0411",
                    f"'value' without an item name, but the auction has {len(cx.items)} items",
                    v.span,
                    help=f"write 'value {cx.items[0]} ~ ...' for each item, or 'values ~ Uniform(0, 1) iid'",
                )
                failed = True
                continue
        else:
            item = v.item.text
            if item not in cx.items:
                cx.unknown("E0205", "item", item, v.item.span, cx.items, listing="items of this auction")
                failed = True
                continue
        if item in explicit or (values_all and item in out and item not in explicit):
            first = explicit[item].span.line if item in explicit else values_all[0].span.line
            cx.error(
                "E0202",
                f"the value of item '{item}' is given twice for {who}",
                v.span,
                notes=(f"first given on line {first}",),
            )
            failed = True
            continue
        explicit[item] = v
        e = cx.guard(lambda v=v: value_expr(cx, v.expr))
        if e is None:
            failed = True
            continue
        out[item] = e
    if failed:
        raise Fail()
    if need_all:
        missing = [it for it in cx.items if it not in out]
        if missing:
            first = values[0].span if values else None
            raise cx.fail(
                "E0407",
                f"{who} has no value for item{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                first,
                help=f"add 'value {missing[0]} ~ ...' or give every item a prior with 'values ~ Uniform(0, 1) iid'",
            )
    return out


def valuation(cx: Context, who: str,
    head: Span,
    vstmt: Any,
    values: list[ast.Value],
    values_all: list[ast.Values],
    signals: list[ast.Signal],
) -> ir.Valuation:
    if not cx.items:
        raise Fail()  # the missing items are reported once, not per bidder
    if isinstance(vstmt, ast.ValuationXor | ast.ValuationCats):
        stray = (values + values_all)[:1]
        if stray:
            raise cx.fail(
                "E0411",
                f"'{keyword(stray[0])}' has no place beside an xor valuation",
                stray[0].span,
                help="an xor valuation gives its bundle values inside 'valuation xor { {A, B}: ... }'",
            )
        return xor(cx, vstmt) if isinstance(vstmt, ast.ValuationXor) else cats(cx, vstmt)
    if isinstance(vstmt, ast.ValuationKind):
        k = vstmt.kind.text
        if k not in VALUATION_KINDS:
            raise cx.fail(
                "E0203",
                f"unknown valuation kind '{k}'",
                vstmt.kind.span,
                help="expected one of: " + ", ".join(VALUATION_KINDS),
                suggestion=did_you_mean(k, VALUATION_KINDS),
            )
        if k == "xor":  # a bare 'valuation xor' cannot parse; kept for completeness
            raise cx.fail("E0203", "an xor valuation needs its bids", vstmt.span)
        if k == "single":
            if len(cx.items) != 1:
                raise cx.fail(
                    "E0411",
                    f"a single valuation is for one item, but the auction has {len(cx.items)}",
                    vstmt.kind.span,
                    help="use additive or unit_demand for several items",
                )
            return ir.Single(value=single_value(cx, who, head, values, values_all, signals))
        vals = per_item(cx, who, values, values_all, need_all=True)
        exprs = tuple(vals[it] for it in cx.items)
        return ir.Additive(values=exprs) if k == "additive" else ir.UnitDemand(values=exprs)
    # no valuation line
    if len(cx.items) == 1:
        return ir.Single(value=single_value(cx, who, head, values, values_all, signals))
    if values or values_all:
        first = (values + values_all)[0]  # type: ignore[operator]
        raise cx.fail(
            "E0407",
            f"{who} has values for {len(cx.items)} items but no valuation kind",
            first.span,
            help="say how item values combine: add 'valuation additive' or 'valuation unit_demand'",
        )
    raise cx.fail(
        "E0407",
        f"{who} has no valuation",
        head,
        help="add 'valuation additive' and 'values ~ Uniform(0, 1) iid', or a 'valuation xor { ... }'",
    )


def single_value(cx: Context, who: str, head: Span, values: list[ast.Value], values_all: list[ast.Values], signals: list[ast.Signal]
) -> ir.ValueExpr:
    if values or values_all:
        vals = per_item(cx, who, values, values_all, need_all=True)
        return vals[cx.items[0]]
    if signals:
        if len(cx.commons) == 1:
            (name,) = cx.commons
            return ir.ValueExpr(terms=(ir.CommonRef(name=name),), coefs=(1.0,))
        if not cx.commons:
            raise cx.fail(
                "E0412",
                f"{who} has a signal but no value, and the auction has no common value",
                signals[0].span,
                help="declare the common value, as in 'common V ~ Uniform(0, 100)', or give a 'value'",
            )
        raise cx.fail(
            "E0412",
            f"{who} has a signal but no value, and there are {len(cx.commons)} common variables",
            signals[0].span,
            help="say which is the value: 'value = V'",
        )
    raise cx.fail(
        "E0407",
        f"{who} has no value",
        head,
        help="add 'value ~ Uniform(0, 1)'",
    )


def xor(cx: Context, s: ast.ValuationXor) -> ir.Xor:
    bids: list[ir.XorBid] = []
    seen: dict[tuple[str, ...], int] = {}
    failed = False
    if not s.bids:
        raise cx.fail("E0411", "an xor valuation with no bids", s.span, help="add bids such as {A, B}: Uniform(2, 3)")
    for b in s.bids:
        names: list[str] = []
        for n in b.bundle:
            if n.text not in cx.items:
                cx.error(
                    "E0205",
                    f"unknown item '{n.text}' in a bundle",
                    n.span,
                    help="items of this auction: " + ", ".join(cx.items[:12]),
                    suggestion=did_you_mean(n.text, cx.items),
                )
                failed = True
            elif n.text in names:
                cx.error("E0202", f"item '{n.text}' appears twice in a bundle", n.span)
                failed = True
            else:
                names.append(n.text)
        if not b.bundle:
            cx.error("E0411", "an xor bid on the empty bundle", b.span, help="a bid names at least one item")
            failed = True
            continue
        key = tuple(sorted(names, key=cx.items.index))
        if key in seen and len(names) == len(b.bundle):
            cx.error(
                "E0202",
                "the bundle {" + ", ".join(key) + "} has two bids",
                b.span,
                notes=(f"first bid on line {seen[key]}",),
            )
            failed = True
            continue
        seen[key] = b.span.line
        e = cx.guard(lambda b=b: value_expr(cx, b.value))
        if e is None:
            failed = True
            continue
        bids.append(ir.XorBid(bundle=key, value=e))
    if failed:
        raise Fail()
    return ir.Xor(bids=tuple(bids))


def cats(cx: Context, s: ast.ValuationCats) -> ir.Cats:
    c = s.call
    if c.callee.text != "cats":
        raise cx.fail(
            "E0214",
            f"unknown generator '{c.callee.text}'",
            c.callee.span,
            help='write xor from cats("regions", ...)',
            suggestion=did_you_mean(c.callee.text, ("cats",)),
        )
    positional = [a for a in c.args if a.name is None]
    if not positional or not isinstance(positional[0].value, ast.String | ast.Ref):
        raise cx.fail(
            "E0304",
            "cats needs the name of a CATS distribution first",
            c.span,
            help='write cats("regions", ...) with one of: ' + ", ".join(CATS_DISTRIBUTIONS),
        )
    first = positional[0].value
    dist = first.value if isinstance(first, ast.String) else first.name  # type: ignore[union-attr]
    if dist not in CATS_DISTRIBUTIONS:
        raise cx.unknown("E0214", "CATS distribution", dist, first.span, CATS_DISTRIBUTIONS)
    if len(positional) > 1:
        raise cx.fail("E0304", "the options of cats are named", positional[1].span, help='write cats("regions", bids = 10)')
    opts: dict[str, Scalar] = {}
    for a in c.args[1:]:
        assert a.name is not None
        if a.name.text in opts:
            raise cx.fail("E0202", f"option '{a.name.text}' of cats is given twice", a.name.span)
        if isinstance(a.value, ast.DictLit | ast.ListLit | ast.Call):
            raise cx.fail("E0305", f"option '{a.name.text}' of cats must be a number, a string or true/false", a.value.span)
        opts[a.name.text] = scalar(cx, a.value)
    return ir.Cats(distribution=dist, options=opts)  # type: ignore[arg-type]

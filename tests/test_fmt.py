"""``auctionc fmt``: the output parses to the same IR, keeps every comment, and is a fixed
point; checked over the examples and over generated specs with random layout and comments."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from auctionc.dsl.format import format_source
from auctionc.dsl.parser import parse
from auctionc.errors import SpecError
from auctionc.frontend import load_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.auction"))


def _comments(text: str) -> Counter:
    return Counter(c.text.rstrip() for c in parse(text).comments)


def _check(text: str) -> str:
    out = format_source(text)
    assert format_source(out) == out, "fmt is not idempotent"
    assert load_text(out).model_dump() == load_text(text).model_dump(), "fmt changed the meaning"
    assert _comments(out) == _comments(text), "fmt lost or changed a comment"
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_are_canonical(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert _check(text) == text, "examples are kept in canonical form: run auctionc fmt on them"


def test_canonical_layout() -> None:
    messy = """# header

auction   a{items A,B   # two goods
bidders 2{valuation additive values~Uniform( 0,1 )iid agent llm( model="m",temperature=0.5 )}


require IC( bayesian ),IR   maximize 0.7*revenue+0.3*welfare
mechanism vcg()   solve with lp( grid=4 )
simulate{rounds 15  seed 1}
verify {
  samples 10   # few
}
}   # end
# trailer
"""
    assert format_source(messy) == """# header

auction a {
    items A, B  # two goods
    bidders 2 {
        valuation additive
        values ~ Uniform(0, 1) iid
        agent llm(model = "m", temperature = 0.5)
    }

    require IC(bayesian), IR
    maximize 0.7 * revenue + 0.3 * welfare
    mechanism vcg
    solve with lp(grid = 4)
    simulate { rounds 15 seed 1 }
    verify {
        samples 10  # few
    }
}  # end
# trailer
"""


def test_comment_inside_a_one_line_statement_moves_before_it() -> None:
    text = "auction a {\n    items 1\n    bidder b {\n        value ~ Mixture({0.5: Uniform(0, 1), # first\n            0.5: Uniform(1, 2)})\n    }\n    maximize revenue\n}\n"
    out = _check(text)
    assert "        # first\n        value ~ Mixture({0.5: Uniform(0, 1), 0.5: Uniform(1, 2)})\n" in out


def test_fmt_rejects_what_does_not_parse() -> None:
    with pytest.raises(SpecError):
        format_source("auction a { items }")


# ---- generated specs ---------------------------------------------------------

_ws = st.sampled_from([" ", " ", " ", "  ", "\n", "\n    ", "\n\n", "\t", " # note\n", "  # a, b { }\n   "])


def _layout(tokens: list[str], draw) -> str:
    out = [tokens[0]]
    for t in tokens[1:]:
        out.append(draw(_ws))
        out.append(t)
    return "".join(out)


_num = st.sampled_from(["0", "1", "2", "0.5", "1.25", "1e-2", "10"])


@st.composite
def _dist(draw) -> list[str]:
    lo = draw(st.integers(0, 5))
    hi = lo + draw(st.integers(1, 5))
    kind = draw(st.sampled_from(["uniform", "beta", "point", "discrete", "grid", "mixture", "exp"]))
    if kind == "uniform":
        return ["Uniform", "(", str(lo), ",", str(hi), ")"]
    if kind == "beta":
        return ["Beta", "(", str(hi), ",", draw(_num.filter(lambda x: x != "0")), ")"]
    if kind == "point":
        return ["PointMass", "(", draw(_num), ")"]
    if kind == "discrete":
        return ["Discrete", "(", "{", str(lo), ":", "0.25", ",", str(hi), ":", "0.75", "}", ")"]
    if kind == "grid":
        return ["Grid", "(", str(lo), ",", str(hi), ",", str(draw(st.integers(2, 6))), ")"]
    if kind == "exp":
        return ["Exponential", "(", "1", "/", str(hi), ")"]
    return ["Mixture", "(", "{", "0.5", ":", "Uniform", "(", "0", ",", "1", ")", ",", "0.5", ":", "Uniform", "(", "1", ",", "2", ")", "}", ")"]


@st.composite
def auction_tokens(draw) -> list[str]:
    n_items = draw(st.integers(1, 3))
    names = ["A", "B", "C"][:n_items]
    toks: list[str] = ["auction", "gen", "{"]
    use_param = draw(st.booleans())
    if use_param:
        toks += ["param", "n", "=", str(draw(st.integers(1, 3)))]
    toks += ["items", *sum(([x, ","] for x in names), [])[:-1]]
    common = n_items == 1 and draw(st.booleans())
    if common:
        toks += ["common", "V", "~", *draw(_dist())]
    for k in range(draw(st.integers(1, 2))):
        head = ["bidders", "n" if use_param else "2"] if k == 0 and draw(st.booleans()) else ["bidder", f"b{k}"]
        toks += [*head, "{"]
        if n_items == 1:
            if common and draw(st.booleans()):
                toks += ["signal", "=", "V", "+", *draw(_dist())]
            elif common:
                toks += ["value", "=", "0.5", "*", "V", "+", *draw(_dist())]
            else:
                toks += ["value", "~", *draw(_dist())]
        else:
            kind = draw(st.sampled_from(["additive", "unit_demand", "xor"]))
            if kind == "xor":
                toks += ["valuation", "xor", "{"]
                for it in names:
                    toks += ["{", it, "}", ":", *draw(_dist())]
                toks += ["{", *sum(([x, ","] for x in names), [])[:-1], "}", ":", "Uniform", "(", "2", ",", "3", ")", "}"]
            else:
                toks += ["valuation", kind]
                if draw(st.booleans()):
                    toks += ["values", "~", *draw(_dist()), *(["iid"] if draw(st.booleans()) else [])]
                else:
                    for it in names:
                        toks += ["value", it, "~", *draw(_dist())]
        if draw(st.booleans()):
            toks += ["agent", *draw(st.sampled_from([["truthful"], ["bne"], ["crra", "(", "0.5", ")"], ["llm", "(", "model", "=", '"m"', ")"]]))]
        toks.append("}")
    design = draw(st.booleans())
    if design:
        toks += ["require", "IC", ",", "IR", "(", "interim", ")"]
        toks += draw(st.sampled_from([["maximize", "revenue"], ["maximize", "0.7", "*", "revenue", "+", "0.3", "*", "welfare"]]))
        if draw(st.booleans()):
            toks += ["solve", "with", "lp", "(", "grid", "=", "4", ")"]
        if draw(st.booleans()):
            toks += ["verify", "{", "samples", "100", "seed", "2", "}"]
    if not design or draw(st.booleans()):
        toks += ["mechanism", *draw(st.sampled_from([["second_price"], ["first_price", "(", "reserve", "=", "1", ")"],
                                                      ["ascending_clock", "(", "increment", "=", "1", ",", "announce_dropouts", "=", "false", ")"]]))]
        if draw(st.booleans()):
            toks += ["simulate", "{", "rounds", "3", "seed", "1", "}"]
    toks.append("}")
    return toks


@st.composite
def market_tokens(draw) -> list[str]:
    toks = ["market", "m", "{", "states", "rain", ",", "sun"]
    scale = draw(st.booleans())
    if scale:
        toks += ["prior", "{", "rain", ":", "0.5", ",", "sun", ":", "0.5", "}", "externality", "0.5"]
    toks += ["buyers", "2", "{"] if scale else ["buyer", "farmer", "{"]
    toks += ["actions", "plant", ",", "wait",
             "payoff", "plant", "{", "rain", ":", "0", ",", "sun", ":", "1", "}",
             "payoff", "wait", "{", "rain", ":", "1", ",", "sun", ":", "0", "}"]
    if scale:
        toks += ["type", "value", "~", "Uniform", "(", "0", ",", "1", ")"]
    else:
        toks += ["type", "belief", "(", "rain", ")", "~", *draw(st.sampled_from([
            ["Uniform", "(", "0", ",", "1", ")"],
            ["Discrete", "(", "{", "0.2", ":", "0.5", ",", "0.7", ":", "0.5", "}", ")"],
            ["Beta", "(", "2", ",", "5", ")"]]))]
    toks += ["}", "require", "IC", ",", "IR", ",", "obedience", "maximize", "revenue", "}"]
    return toks


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(auction_tokens(), market_tokens()), st.data())
def test_generated_specs_round_trip(tokens: list[str], data: st.DataObject) -> None:
    text = _layout(tokens, data.draw)
    _check(text)

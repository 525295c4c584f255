"""Semantic analysis: the IR each construct produces, spans for IR paths, --set,
several errors in one run, the backend option check, and the front end staying light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from auctionc import ir
from auctionc.errors import SpecError
from auctionc.frontend import check_file, load_file, load_text
from auctionc.plugins.interface import Backend
from auctionc.plugins.options import OptionSpec

ROOT = Path(__file__).resolve().parent.parent


def U(a: float, b: float) -> ir.ValueExpr:
    return ir.ValueExpr(terms=(ir.Draw(dist=ir.Uniform(low=a, high=b)),), coefs=(1.0,))


def codes(text: str, overrides: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SpecError) as e:
        load_text(text, "t.auction", overrides)
    return [d.code for d in e.value.diagnostics]


MV = """auction mv {
    items A, B
    bidder buyer {
        valuation additive
        value A ~ Uniform(0, 1)
        value B ~ Uniform(0, 2)
    }
    require IC, IR
    maximize revenue
    solve with lp(grid = 20)
}
"""


def test_manelli_vincent_ir() -> None:
    spec = load_text(MV, "mv.auction")
    assert isinstance(spec, ir.AuctionSpec)
    assert spec.source == "mv.auction"
    assert spec.items == ("A", "B")
    (b,) = spec.bidders
    assert b.name == "buyer" and b.group is None and b.agent is None
    assert b.valuation == ir.Additive(values=(U(0, 1), U(0, 2)))
    assert spec.requirements == (ir.IC(), ir.IR())
    assert spec.objective == ir.Objective(terms=("revenue",), weights=(1.0,))
    assert spec.solve == ir.Solve(backend="lp", options={"grid": 20})
    assert spec.designs and spec.mechanism is None


def test_groups_params_and_overrides() -> None:
    text = """auction g {
        param n = 2
        param hi = 1.0
        items 3
        bidders n { valuation unit_demand values ~ Uniform(0, 2 * hi) iid }
        bidder extra { valuation additive values ~ PointMass(hi) }
        maximize revenue
    }"""
    spec = load_text(text, overrides={"n": "3", "hi": "2"})
    assert spec.params == {"n": 3, "hi": 2.0}
    assert [b.name for b in spec.bidders] == ["bidder_1", "bidder_2", "bidder_3", "extra"]
    assert [b.group for b in spec.bidders] == ["group_1"] * 3 + [None]
    assert spec.items == ("item_1", "item_2", "item_3")
    assert spec.bidders[0].valuation == ir.UnitDemand(values=(U(0, 4),) * 3)
    assert spec.bidders[3].valuation.values[0].plain_dist == ir.PointMass(value=2.0)


def test_item_forms() -> None:
    one = load_text("auction a { items 1 bidder b { value ~ Uniform(0, 1) } maximize revenue }")
    assert one.items == ("item",) and one.bidders[0].valuation == ir.Single(value=U(0, 1))
    rng = load_text("auction a { items g[1..3] bidder b { valuation additive values ~ Uniform(0, 1) } maximize revenue }")
    assert rng.items == ("g1", "g2", "g3")
    counted = load_text("auction a { param m = 2 items m bidder b { valuation additive values ~ Uniform(0, 1) } maximize revenue }")
    assert counted.items == ("item_1", "item_2")


def test_common_value_and_affiliated_values() -> None:
    wallet = load_text("""auction wallet {
        items 1
        common V ~ Uniform(0, 100)
        bidders 2 { signal = V + Uniform(-10, 10) }
        mechanism ascending_clock(increment = 1, announce_dropouts = false)
    }""")
    b = wallet.bidders[0]
    assert wallet.common == (ir.CommonVar(name="V", dist=ir.Uniform(low=0, high=100)),)
    assert b.valuation == ir.Single(value=ir.ValueExpr(terms=(ir.CommonRef(name="V"),), coefs=(1.0,)))
    assert b.signal == ir.ValueExpr(
        terms=(ir.CommonRef(name="V"), ir.Draw(dist=ir.Uniform(low=-10, high=10))), coefs=(1.0, 1.0)
    )
    assert wallet.mechanism == ir.Format(name="ascending_clock", increment=1.0, announce_dropouts=False)
    aff = load_text("""auction aff {
        items 1
        common c ~ Uniform(0, 20)
        bidders 3 { value = 0.5 * c - Uniform(0, 20) / 2 + 3 }
        mechanism second_price
    }""")
    v = aff.bidders[0].valuation.value
    assert v.terms == (ir.CommonRef(name="c"), ir.Draw(dist=ir.Uniform(low=0, high=20)), ir.Const(value=3.0))
    assert v.coefs == (0.5, -0.5, 1.0)


def test_xor_and_cats() -> None:
    spec = load_text("""auction x {
        items A, B
        bidder b { valuation xor { {B, A}: Uniform(2, 3)  {A}: Uniform(0, 1) } }
        bidder c { valuation xor from cats("regions", bids = 10, seed = 7, normal = true) }
        maximize revenue
    }""")
    xb = spec.bidders[0].valuation
    assert xb == ir.Xor(bids=(ir.XorBid(bundle=("A", "B"), value=U(2, 3)), ir.XorBid(bundle=("A",), value=U(0, 1))))
    assert spec.bidders[1].valuation == ir.Cats(distribution="regions", options={"bids": 10, "seed": 7, "normal": True})


def test_distributions_and_objective() -> None:
    spec = load_text("""auction d {
        items 1
        bidders 2 { value ~ Mixture({0.75: Uniform(0, 3), 0.25: Normal(5, 1, 3, 8)}) }
        bidder e { value ~ Discrete({1: 0.25, 2: 0.75}) }
        bidder f { value ~ Grid(0, 1, 5) }
        bidder g { value ~ Exponential(1 / 3) }
        bidder h { value ~ Beta(2, 5) }
        maximize 0.7 * revenue + welfare * 0.3
        require IC(bayesian), IR(interim), deterministic, budget_balance
    }""")
    d = spec.bidders[0].valuation.value.plain_dist
    assert d == ir.Mixture(weights=(0.75, 0.25), components=(ir.Uniform(low=0, high=3), ir.Normal(mu=5, sigma=1, low=3, high=8)))
    assert spec.bidders[2].valuation.value.plain_dist == ir.Discrete(values=(1.0, 2.0), probs=(0.25, 0.75))
    assert spec.bidders[3].valuation.value.plain_dist == ir.Grid(low=0, high=1, n=5)
    assert spec.bidders[4].valuation.value.plain_dist.rate == pytest.approx(1 / 3)
    assert spec.objective == ir.Objective(terms=("revenue", "welfare"), weights=(0.7, 0.3))
    assert [r.kind for r in spec.requirements] == ["IC", "IR", "deterministic", "budget_balance"]
    assert spec.requirement("IC").mode == "bayesian" and spec.requirement("IR").mode == "interim"


def test_agents_simulate_verify() -> None:
    spec = load_text("""auction lab {
        items 1
        bidders 2 { value ~ Uniform(0, 99) agent llm("openai/gpt-4o-mini", reasoning = "cot", temperature = 0.7) }
        bidder c { value ~ Uniform(0, 99) agent crra(0.5) }
        bidder t { value ~ Uniform(0, 99) agent truthful }
        mechanism first_price(reserve = 5, entry_fee = 1)
        simulate { rounds 15 seed 1 repetitions 2 integer_values true steps "combined" }
        verify { samples 1000 restarts 4 steps 50 seed 3 }
    }""")
    assert spec.bidders[0].agent == ir.LLMAgent(model="openai/gpt-4o-mini", reasoning="cot", temperature=0.7)
    assert spec.bidders[2].agent == ir.CRRA(r=0.5) and spec.bidders[3].agent == ir.Truthful()
    assert spec.mechanism == ir.Format(name="first_price", reserve=5.0, entry_fee=1.0)
    assert spec.simulate == ir.Simulate(rounds=15, seed=1, repetitions=2, integer_values=True, options={"steps": "combined"})
    assert spec.verify == ir.Verify(samples=1000, restarts=4, steps=50, seed=3)


def test_markets_belief_and_scale_types() -> None:
    weather = load_text("""market weather {
        states rain, sun
        buyer farmer {
            actions plant, wait
            payoff wait { sun: 0, rain: 1 }
            payoff plant { rain: 0, sun: 1 }
            type belief(rain) ~ Discrete({0.2: 0.5, 0.7: 0.5})
        }
        require IC, IR, obedience
        maximize revenue
    }""")
    assert isinstance(weather, ir.MarketSpec) and weather.states == ("rain", "sun")
    (f,) = weather.buyers
    assert f.actions == ("plant", "wait") and f.payoffs == ((0.0, 1.0), (1.0, 0.0))
    assert f.type == ir.BeliefType(state="rain", dist=ir.Discrete(values=(0.2, 0.7), probs=(0.5, 0.5)))
    ext = load_text("""market ext {
        states rain, sun
        prior { sun: 0.4, rain: 0.6 }
        externality 0.5
        buyers 2 { actions a, b payoff a { rain: 1, sun: 0 } payoff b { rain: 0, sun: 1 } type value ~ Uniform(0, 1) }
        maximize revenue
    }""")
    assert [b.name for b in ext.buyers] == ["buyer_1", "buyer_2"]
    assert ext.buyers[0].type == ir.ScaleType(dist=ir.Uniform(low=0, high=1), prior=(0.6, 0.4))
    assert ext.externality == 0.5


def test_spans_for_ir_paths() -> None:
    text = """auction s {
    param n = 2
    items A, B
    bidders n {
        valuation additive
        values ~ Uniform(0, 1) iid
        agent truthful
    }
    require IC, IR(interim)
    maximize revenue
    mechanism vcg(reserve = 0.1)
    solve with lp(grid = 4, working_set = "all")
    simulate { rounds 3 }
    verify { samples 100 }
}
"""
    spec = load_text(text, "s.auction")

    def at(path: str) -> tuple[int, int]:
        sp = spec.span_of(path)
        assert sp is not None and sp.file == "s.auction"
        return sp.line, sp.col

    assert at("spec") == (1, 9)
    assert at("params.n") == (2, 5)
    assert at("items.B") == (3, 14)
    assert at("bidders.bidder_2") == (4, 5)
    assert at("bidders.bidder_2.valuation") == (5, 9)
    assert at("bidders.bidder_1.agent") == (7, 9)
    assert at("requirements.IR") == (9, 17)
    assert at("objective") == (10, 5)
    assert at("mechanism") == (11, 5)
    assert at("mechanism.options.reserve") == (11, 19)
    assert at("solve") == (12, 5)
    assert at("solve.backend") == (12, 16)
    assert at("solve.options.working_set") == (12, 29)
    assert at("solve.options.nothing.deeper") == (12, 5)  # nearest ancestor
    assert at("simulate") == (13, 5)
    assert at("verify") == (14, 5)


def test_overrides_are_type_checked() -> None:
    base = 'auction a { param n = 2 param x = 0.5 param s = "a" param f = true items 1 bidders n { value ~ Uniform(0, 1) } mechanism second_price }'
    spec = load_text(base, overrides={"x": "3", "s": '"hello"', "f": "false"})
    assert spec.params == {"n": 2, "x": 3.0, "s": "hello", "f": False}
    assert codes(base, {"n": "2.5"}) == ["E0502"]
    assert codes(base, {"f": "yes"}) == ["E0502"]
    assert codes(base, {"m": "1", "n": "x"}) == ["E0501", "E0502"]


def test_several_independent_errors_in_one_run() -> None:
    text = """auction a {
        items A, B
        bidder b { valuation adittive values ~ Uniform(0, 1) iid }
        bidder c { valuation additive value A ~ Unifrom(0, 1) value B ~ Beta(0, 1) }
        bidder c { valuation additive values ~ Uniform(0, 1) }
        require ICC
        mechanism first_pric
    }"""
    assert codes(text) == ["E0203", "E0204", "E0301", "E0202", "E0208", "E0206"]


def test_format_contradicting_a_requirement_only_without_design() -> None:
    base = "auction a {{ items 1 bidders 2 {{ value ~ Uniform(0, 1) }} require IC {extra} mechanism {fmt} }}"
    assert codes(base.format(extra="", fmt="first_price")) == ["E0403"]
    assert codes(base.format(extra="", fmt="all_pay")) == ["E0403"]
    load_text(base.format(extra="", fmt="second_price"))
    load_text(base.format(extra="maximize revenue", fmt="first_price"))  # design, then compare


class _FakeMenu(Backend):
    name = "menu"
    options = {"steps": OptionSpec(int, 100, "training steps", min=1), "size": OptionSpec(int, 64, "menu size")}


def test_backend_options_are_checked_by_the_planner(monkeypatch: pytest.MonkeyPatch) -> None:
    from auctionc.plugins import registry

    monkeypatch.setattr(registry, "backend_class", lambda name: _FakeMenu)
    text = "auction a {{\n items 1\n bidder b {{ value ~ Uniform(0, 1) }}\n maximize revenue\n solve with menu({opts})\n}}"
    assert load_text(text.format(opts="steps = 10")).solve.options == {"steps": 10}
    with pytest.raises(SpecError) as e:
        load_text(text.format(opts="stpes = 10, size = \"big\""), "m.auction")
    d1, d2 = e.value.diagnostics
    assert (d1.code, d1.suggestion) == ("E0602", "steps")
    assert (d1.span.line, d1.span.col) == (5, 18)
    assert d2.code == "E0603" and "must be an integer" in d2.message
    assert codes(text.format(opts="steps = 0")) == ["E0604"]

    def broken(name: str) -> type[Backend]:
        raise ImportError("module being written")

    monkeypatch.setattr(registry, "backend_class", broken)
    assert load_text(text.format(opts="anything = 1")).solve.options == {"anything": 1}


def test_check_file_never_raises_for_spec_mistakes(tmp_path: Path) -> None:
    p = tmp_path / "x.auction"
    p.write_text("auction a { items 1 }", encoding="utf-8")
    spec, diags, text = check_file(p)
    assert spec is None and text.startswith("auction") and {d.code for d in diags} == {"E0405", "E0401"}
    p.write_bytes(b"\x00\x01")
    spec, diags, text = check_file(p)
    assert spec is None and diags[0].code == "E0003"
    spec, diags, text = check_file(tmp_path / "missing.auction")
    assert spec is None and [d.code for d in diags] == ["E0001"] and text == ""
    p.write_text(MV, encoding="utf-8")
    spec, diags, _ = check_file(p)
    assert spec is not None and diags == [] and load_file(p).model_dump() == spec.model_dump()


def test_ir_json_round_trip() -> None:
    spec = load_text(MV)
    doc = ir.SpecDocument(spec=spec)
    again = ir.SpecDocument.model_validate_json(doc.model_dump_json())
    assert again.spec.model_dump() == spec.model_dump()  # source and spans are not data


def test_front_end_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, glob\n"
        "from auctionc.frontend import check_file\n"
        "from auctionc.dsl.format import format_source\n"
        "for f in sorted(glob.glob('examples/*.auction')):\n"
        "    check_file(f); format_source(open(f).read())\n"
        "bad = [m for m in ('torch', 'cvxpy', 'litellm') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_mutated_examples_give_diagnostics_never_tracebacks() -> None:
    """Swap a few tokens of the examples for plausible wrong ones: only SpecErrors come out."""
    import random
    import re

    pool = ["0", "-1", "2.5", "1e9", "1e999", '"x"', "true", "n", "V", "A", "Uniform(0, 1)", "Uniform(1, 0)",
            "[1, 2]", "{}", "{A: 1}", "item", "revenue", "rain", "bidder_1", "xor", "single", "cats", "IC",
            "0 / 0", "Discrete({1: 1})", "Mixture({1: 2})"]
    token = re.compile(r'"[^"\n]*"|[A-Za-z_][A-Za-z0-9_]*|\d+(\.\d+)?|\S')
    files = sorted((ROOT / "examples").glob("*.auction"))
    rng = random.Random(0)
    for _ in range(300):
        text = rng.choice(files).read_text(encoding="utf-8")
        for _ in range(rng.randint(1, 3)):
            m = rng.choice(list(token.finditer(text)))
            text = text[: m.start()] + rng.choice(pool) + text[m.end() :]
        try:
            load_text(text, "f.auction", overrides=rng.choice([None, {"n": "3"}]))
        except SpecError as e:
            assert e.diagnostics and all(d.code and d.message for d in e.diagnostics)
            for d in e.diagnostics:
                d.render(text)

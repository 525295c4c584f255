"""Limits stated and checked before work starts: the front end's size limits (file, literals,
nesting, numbers, counts, diagnostics) and the backends' work estimates at check/plan time,
each naming the estimate, the limit and what changes it.  The goldens in tests/bad show the
exact wording of the front-end cases; these tests cover the rest of the issue's list."""

from __future__ import annotations

import numpy as np
import pytest
from auctionc.diagnostics import render_all
from auctionc.dsl.limits import MAX_SOURCE_BYTES
from auctionc.errors import PlanError, SpecError
from auctionc.frontend import MAX_DIAGNOSTICS, check_file, diagnose_text, load_text
from auctionc.planner import make_plan


def codes(text: str) -> list[str]:
    spec, diags = diagnose_text(text)
    if spec is not None:
        try:
            make_plan(spec)
        except PlanError as e:
            return [d.code for d in e.diagnostics]
    return [d.code for d in diags]


# ---------------------------------------------------------------- the front end's limits


def test_a_file_past_the_size_limit_is_not_read(tmp_path):
    big = tmp_path / "big.auction"
    big.write_text("auction a { items 1 bidders 2 { value ~ Uniform(0, 1) } mechanism first_price }\n"
                   + "# " + "x" * MAX_SOURCE_BYTES + "\n")
    spec, diags, _ = check_file(big)
    assert spec is None and diags[0].code == "E0004" and f"{MAX_SOURCE_BYTES:,}" in diags[0].message
    spec, diags, _ = check_file("/dev/zero")  # endless: one byte past the limit is read, no more
    assert spec is None and diags[0].code == "E0004"


def test_a_ten_megabyte_string_literal():
    spec, diags = diagnose_text('auction a { items 1 bidders 2 { value ~ Uniform(0, 1) agent llm("'
                                + "m" * 10_000_000 + '") } mechanism first_price }')
    assert spec is None and diags[0].code == "E0004"
    spec, diags = diagnose_text('auction a { items 1 bidders 2 { value ~ Uniform(0, 1) agent llm("'
                                + "m" * 5000 + '") } mechanism first_price }')
    assert spec is None and diags[0].code == "E0106" and "strings are at most 1,000" in diags[0].message


def test_thousands_of_duplicated_blocks_on_one_line():
    text = "auction a { items 1 " + "bidder b { value ~ Uniform(0, 1) } " * 1700 + "mechanism first_price }"
    spec, diags = diagnose_text(text)
    assert spec is None and len(diags) == MAX_DIAGNOSTICS + 1
    assert diags[-1].code == "E0004" and "further errors not shown" in diags[-1].message
    out = render_all(diags, {"<string>": text})
    assert len(out) < 100_000  # each excerpt is a window of the 60 KB line, not the line


@pytest.mark.parametrize("number", ["9" * 5000, "1" + "0" * 400, "0." + "0" * 4400 + "1"])
@pytest.mark.parametrize("where", ["Uniform(0, {})", "Discrete({{1: {}}})", "first_price(reserve = {})"])
def test_integers_past_4300_digits_and_floats_that_overflow(number, where):
    if "reserve" in where:
        text = "auction a { items 1 bidders 2 { value ~ Uniform(0, 1) } mechanism " + where.format(number) + " }"
    else:
        text = "auction a { items 1 bidders 2 { value ~ " + where.format(number) + " } mechanism first_price }"
    assert codes(text) == ["E0106"]


@pytest.mark.parametrize("expr,code", [
    ("1e308 * 10", "E0306"), ("1e300 / 1e-300", "E0306"), ("9223372036854775807 * 2", "E0306"),
    ("9223372036854775807 + 1", "E0306"), ("1e999", "E0306"), ("-1e999", "E0306"),
])
def test_arithmetic_that_leaves_the_numbers(expr, code):
    wheres = ["value ~ Uniform(0, {})", "value ~ Discrete({{{}: 1}})"]
    if "e" in expr:  # a coefficient of a value expression is a float: 2^64 is one, 1e309 is not
        wheres.append("value ~ Uniform(0, 1) + {} * Uniform(0, 1)")
    for where in wheres:
        text = "auction a { items 1 bidders 2 { " + where.format(expr) + " } mechanism first_price }"
        assert codes(text) == [code], (where, expr)
    assert codes(f"auction a {{ items 1 bidders 2 {{ value ~ Uniform(0, 1) }} maximize ({expr}) * revenue }}") == [code]


def test_set_takes_ascii_numbers_only():
    text = "auction a {\n param n = 2\n items 1\n bidders n { value ~ Uniform(0, 1) }\n mechanism first_price\n}\n"
    assert load_text(text, overrides={"n": "3"}).n_bidders == 3
    for typed in ("\u0663", "1_0", "3.0", "inf", "99999999999999999999"):
        with pytest.raises(SpecError) as e:
            load_text(text, overrides={"n": typed})
        assert e.value.diagnostics[0].code == "E0502"


def test_option_text_is_ascii_and_finite():
    base = "auction a { items A, B bidder b { valuation additive values ~ Uniform(0, 1) iid } require IC, IR maximize revenue solve with menu(OPT) }"
    for opt in ('steps = "\u0663"', 'lr = "inf"', 'lr = "nan"', "steps = 1e300"):
        assert codes(base.replace("OPT", opt)) == ["E0603"], opt


# ---------------------------------------------------------------- work estimates at check/plan time


def test_a_million_cats_bids():
    text = ('auction r { items 20 bidder buyer { valuation xor from cats("regions", bids = 1000000) }'
            " require IC, IR maximize revenue solve with bundleflow }")
    spec, diags = diagnose_text(text)
    assert spec is None and diags[0].code == "E0604"
    msg = diags[0].message
    assert "GiB" in msg and "1,000,000 bids" in msg and "max_memory_gb = 8" in msg and "bids" in diags[0].help


def test_bundleflow_menu_of_a_billion():
    text = ('auction r { items 20 bidder buyer { valuation xor from cats("regions", bids = 10) }'
            " require IC, IR maximize revenue solve with bundleflow(menu = 1e9) }")
    spec, diags = diagnose_text(text)
    assert spec is None and diags[0].code == "E0604" and "menu 1,000,000,000" in diags[0].message
    assert "`menu`" in diags[0].help and "max_memory_gb" in diags[0].help
    # a spec may not lift the limit itself; the user may, on the command line
    lifted = text.replace("menu = 1e9", "menu = 1e9, max_memory_gb = 1e9")
    spec, diags = diagnose_text(lifted)
    assert spec is None and "a spec may lower a limit, not raise it" in diags[0].message
    assert "-o max_memory_gb=" in diags[0].help


def test_a_hundred_thousand_bidders():
    text = "auction a { items 1 bidders 100000 { value ~ Uniform(0, 1) } mechanism first_price }"
    spec, diags = diagnose_text(text)
    assert spec is None and diags[0].code == "E0307" and "1,000 a spec may have" in diags[0].message
    spec, diags = diagnose_text("auction a { items 100 bidders 200 { valuation additive values ~ Uniform(0, 1) iid }"
                                " mechanism vcg }")
    assert spec is None and "20,000 values per profile" in diags[0].message


def test_vcg_over_thirty_items_and_ten_bidders():
    text = ("auction a { items 30 bidders 10 { valuation unit_demand values ~ Uniform(0, 1) iid }"
            " mechanism vcg }")
    with pytest.raises(PlanError) as e:
        make_plan(load_text(text))
    d = e.value.diagnostics[0]
    assert "winner determinations" in " ".join(d.notes) and "more than the limit of 50,000,000" in " ".join(d.notes)
    assert "verify { samples }" in d.help
    fit = int(d.help.split("at most ")[1].split(",")[0].replace(",", ""))
    assert make_plan(load_text(text.replace("mechanism vcg", f"mechanism vcg verify {{ samples {fit} }}"))).chosen == "format"


@pytest.mark.parametrize("mech", ["ascending_clock(increment = 1e-9)", "dutch(increment = 1e-9)", "dutch(increment = 1e-320)"])
def test_clocks_with_tiny_increments(mech):
    text = ("auction a { items 1 bidders 3 { value ~ Uniform(0, 99) agent truthful }"
            f" mechanism {mech} simulate {{ rounds 15 }} }}")
    spec, diags = diagnose_text(text)
    assert spec is None and diags[0].code == "E0815"
    assert "ticks a round" in diags[0].message and "ticks_limit = 10,000,000" in diags[0].message
    assert "increment" in diags[0].help and "-o ticks_limit=" in diags[0].help


def test_a_billion_rounds():
    text = ("auction a { items 1 bidders 3 { value ~ Uniform(0, 99) agent truthful }"
            " mechanism first_price simulate { rounds 1e9 } }")
    spec, diags = diagnose_text(text)
    assert spec is None and diags[0].code == "E0815"
    assert "1,000,000,000 rounds" in diags[0].message and "rounds_limit = 200,000" in diags[0].message


def test_a_trillion_verification_samples():
    spec, diags = diagnose_text("auction a { items 1 bidders 2 { value ~ Uniform(0, 1) }"
                                " mechanism second_price verify { samples 1e12 } }")
    assert spec is None and diags[0].code == "E0310" and "100,000,000" in diags[0].message
    assert "at most 50,000,000" in diags[0].help


def test_grids_past_the_variable_limit_are_refused_before_building():
    from conftest import ROOT

    text = (ROOT / "examples" / "weather.auction").read_text().replace("grid = 400", "grid = 1e12")
    with pytest.raises(PlanError) as e:
        make_plan(load_text(text))
    d = e.value.diagnostics[0]
    assert d.code == "E0710" and "1,000,000,000,000 cells" in d.message and "max_variables" in d.help


# ---------------------------------------------------------------- long simulations stream their draws


def test_draws_stream_in_blocks(monkeypatch, tmp_path):
    from auctionc import valuation as V
    from auctionc.backends.simulate import engine, value_draws

    spec = load_text("auction a { items 1 bidders 3 { value ~ Uniform(0, 99) agent truthful }"
                     " mechanism second_price simulate { rounds 250 seed 4 } }")
    monkeypatch.setattr(value_draws, "BLOCK", 100)
    whole = engine.draw_values(spec, 250, 4, 0, False)
    # A longer run starts with the same values (its earlier rounds, and their model calls, are reused).
    assert np.array_equal(engine.draw_values(spec, 120, 4, 0, False)[0], whole[0][:120])
    sizes = []
    real = V.sample_values
    monkeypatch.setattr(V, "sample_values", lambda s, size, rng: sizes.append(size) or real(s, size, rng))
    res = engine.run_simulation(spec, out_dir=tmp_path, progress=False, options={"report": False})
    assert sizes == [100, 100, 100]  # block by block, never all 250 rounds at once
    assert [r.round for r in res.records] == list(range(250))
    assert np.array_equal(np.array([r.values for r in res.records]), whole[0])
    assert all(r.price == sorted(r.values)[-2] for r in res.records)  # truthful second price


MARKET = """market m {{
    states rain, sun
    buyer farmer {{
        actions plant, wait
        payoff plant {{ rain: {pay}, sun: 1 }}
        payoff wait {{ rain: 1, sun: 0 }}
        type value ~ Uniform(0, 1)
    }}
    prior {{ rain: {prob}, sun: 0.5 }}
    maximize revenue
}}
"""


@pytest.mark.parametrize("pay,prob,code", [("1" + "0" * 400, "0.5", "E0106"), ("1e999", "0.5", "E0306"),
                                           ("0", "1e999", "E0306"), ("0", "9" * 5000, "E0106")])
def test_numbers_in_payoffs_and_priors(pay, prob, code):
    assert codes(MARKET.format(pay=pay, prob=prob))[0] == code


def test_integer_division_of_huge_numbers():
    text = ("auction a {\n param x = 9223372036854775807\n items 1\n"
            " bidders 2 { value ~ Uniform(0, x * x / 3) }\n mechanism first_price\n}\n")
    assert codes(text) == ["E0306"]


def test_unknown_simulate_and_verify_settings_are_refused_at_check():
    base = "auction a { items 1 bidders 2 { value ~ Uniform(0, 1) agent truthful } mechanism first_price SECTION }"
    assert codes(base.replace("SECTION", "simulate { rounds 3  bogus 1 }")) == ["E0602"]
    assert codes(base.replace("SECTION", "verify { samples 100  bogus 1 }")) == ["E0213"]


def test_a_missing_prompt_file_is_refused_at_check(tmp_path):
    (tmp_path / "lab.auction").write_text(
        'auction lab { items 1 bidders 2 { value ~ Uniform(0, 99)  agent llm(prompt = "nowhere.txt") }'
        " mechanism first_price simulate { rounds 1 } }\n")
    spec, diags, _ = check_file(tmp_path / "lab.auction")
    assert spec is None and diags[0].code == "E0312" and "cannot read prompt file 'nowhere.txt'" in diags[0].message
    (tmp_path / "nowhere.txt").write_bytes(b"\xff\xfe not text")
    spec, diags, _ = check_file(tmp_path / "lab.auction")
    assert spec is None and "not UTF-8" in diags[0].message
    (tmp_path / "nowhere.txt").write_text("Bid your value.")
    spec, diags, _ = check_file(tmp_path / "lab.auction")
    assert spec is not None and spec._prompt_texts == {"nowhere.txt": "Bid your value."}

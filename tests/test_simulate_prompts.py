"""Prompts as data: the bundled set (every language holds every rules text, with the English
placeholders), a user's prompt folder read beside the spec and confined to it, interventions
refused where they give wrong advice, ``--llm``/``--model`` keeping the agents' settings, and
Python-``random`` value draws that reproduce Shah et al.'s for a seed (no model server)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from auctionc import api, ir
from auctionc.backends.simulate.llm import llm_config
from auctionc.backends.simulate.llm_agent import LLMAgent, Setting
from auctionc.backends.simulate.population import agent_of
from auctionc.backends.simulate.prompt_set import (
    INTERVENTIONS,
    LANGUAGES,
    PromptSet,
    bundled_files,
    check_intervention,
    folder_files,
    language_code,
)
from auctionc.backends.simulate.python_draws import draw_plan, python_draws
from auctionc.errors import PlanError, SpecError

PLACEHOLDER = re.compile(r"\$(?:\{)?([a-z_]+)")


def test_every_language_translates_every_rules_text_with_the_same_placeholders():
    files = bundled_files()
    english = {k: v for k, v in files.items() if "/" not in k}
    for lang in LANGUAGES:
        if lang == "en":
            continue
        own = {k.split("/", 1)[1]: v for k, v in files.items() if k.startswith(lang + "/")}
        assert {k for k in english if k.startswith(("rules_", "values_"))} <= set(own), lang
        for name, text in own.items():
            assert name in english, f"{lang}/{name} translates no English template"
            mine, theirs = set(PLACEHOLDER.findall(text)), set(PLACEHOLDER.findall(english[name]))
            # a translation may spell out what English leaves open (language_rule names its language)
            assert mine == theirs if name.startswith(("rules_", "values_", "ebay_")) else mine <= theirs, f"{lang}/{name}"
            assert text != english[name], f"{lang}/{name} is not translated"
    for name in INTERVENTIONS:
        assert f"interventions/{name}.txt" in files


def test_language_names():
    assert language_code("Spanish") == "es" and language_code("español") == "es" and language_code("zh-CN") == "zh"
    assert language_code("русский") == "ru" and language_code("Hindi") == "hi" and language_code("klingon") == "klingon"


def _agent(a: ir.LLMAgent, fmt: str = "first_price", information: str = "ipv", overlays=()) -> LLMAgent:
    prompts = PromptSet(a.language, overlays)
    f = ir.Format(name=fmt)
    iv = check_intervention(a.prompt, fmt, information, "agent", None)
    setting = Setting(name="Bidder 1", n=3, fmt=f, information=information, value_range=(0, 99), signal=None,
                      experiment_id="t", steps="separate", clock_start=0, clock_increment=1)
    return LLMAgent(llm_config(a, None, None, None), None, prompts, setting, iv)


def test_rules_are_written_in_the_agent_language():
    es = _agent(ir.LLMAgent(language="Spanish", currency="€")).system
    assert "primer precio" in es and "€" in es and "sealed bids, first price" not in es
    ru = _agent(ir.LLMAgent(language="ru")).system
    assert "первой цены" in ru or "первая цена" in ru or "первой" in ru
    assert "Rules: sealed bids, first price" in _agent(ir.LLMAgent()).system


def test_interventions_reword_or_add():
    plain = _agent(ir.LLMAgent(), "second_price").system
    menu = _agent(ir.LLMAgent(prompt="menu"), "second_price").system
    assert '"price to win"' in menu and '"price to win"' not in plain
    nash = _agent(ir.LLMAgent(prompt="nash_deviation"), "first_price").system
    assert "deviate" in nash and "bid down" in nash
    dom = _agent(ir.LLMAgent(prompt="dominant_strategy"), "second_price").system
    assert "dominant strategy" in dom


@pytest.mark.parametrize("name,fmt,info", [
    ("dominant_strategy", "second_price", "common"),  # bidding one's signal is the winner's curse
    ("dominant_strategy", "first_price", "ipv"),
    ("menu", "first_price", "ipv"),
    ("nash_deviation", "ascending_clock", "ipv"),
])
def test_unsound_interventions_are_E0817(name, fmt, info):
    with pytest.raises(PlanError) as e:
        check_intervention(name, fmt, info, "bidders.b.agent.prompt", None)
    d = e.value.diagnostics[0]
    assert d.code == "E0817" and name in d.message and d.help


SPEC = """auction lab {{
    items 1
    bidders 3 {{
        value ~ Uniform(0, 99)
        agent llm(language = "es"{agent_extra})
    }}
    mechanism first_price
    simulate {{ rounds 2 seed 1 {sim_extra} }}
}}
"""


def _write(tmp_path: Path, agent_extra: str = "", sim_extra: str = "") -> Path:
    p = tmp_path / "lab.auction"
    p.write_text(SPEC.format(agent_extra=agent_extra, sim_extra=sim_extra))
    return p


def test_prompt_folder_overrides_the_bundled_rules(tmp_path):
    (tmp_path / "mine" / "es").mkdir(parents=True)
    (tmp_path / "mine" / "es" / "rules_first_price.txt").write_text("REGLAS PROPIAS.$reserve_rule")
    spec = api.load(_write(tmp_path, sim_extra='prompts "mine"'))
    files = folder_files(spec, "mine", "simulate.prompts")
    assert files == {"es/rules_first_price.txt": "REGLAS PROPIAS.$reserve_rule"}
    system = _agent(ir.LLMAgent(language="es"), overlays=(("mine", files),)).system
    assert "REGLAS PROPIAS." in system and "primer precio" not in system


@pytest.mark.parametrize("folder,needle", [("../outside", "outside"), ("missing", "does not exist"),
                                           ("/etc", "absolute path")])
def test_prompt_folder_is_confined_E0312(tmp_path, folder, needle):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "system.txt").write_text("x")
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    with pytest.raises(SpecError) as e:
        api.load(_write(spec_dir, sim_extra=f'prompts "{folder}"'))
    d = e.value.diagnostics[0]
    assert d.code == "E0312" and needle in d.message and d.help


def test_unknown_template_in_a_folder_is_E0816(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "rules_frist_price.txt").write_text("typo")
    spec = api.load(_write(tmp_path, agent_extra=', prompts = "mine"'))
    with pytest.raises(PlanError) as e:
        folder_files(spec, "mine", "bidders.b.agent.prompts")
    d = e.value.diagnostics[0]
    assert d.code == "E0816" and "rules_frist_price.txt" in d.message and "rules_first_price" in d.help


def test_llm_and_model_change_only_the_model():
    a = ir.LLMAgent(model="openai/gpt-4o", reasoning="plain", prompt="risk_neutral", temperature=0.2,
                    language="hi", currency="₹", api_base="https://example.org/v1")
    b = ir.Bidder(name="b", valuation=ir.Single(value=ir.ValueExpr(terms=(ir.Draw(dist=ir.Uniform(low=0, high=1)),),
                                                                   coefs=(1.0,))), agent=a)
    local = agent_of(b, llm=True, model=None)
    other = agent_of(b, llm=False, model="anthropic/claude-3-5-sonnet")
    for got, model in ((local, None), (other, "anthropic/claude-3-5-sonnet")):
        assert got.model == model and got.api_base is None  # the endpoint went with the spec's model
        assert (got.reasoning, got.prompt, got.temperature, got.language, got.currency) == \
            ("plain", "risk_neutral", 0.2, "hi", "₹")
    assert agent_of(b, llm=False, model=None) is a
    plain = b.model_copy(update={"agent": ir.Truthful()})
    assert isinstance(agent_of(plain, llm=True, model=None), ir.LLMAgent)
    assert isinstance(agent_of(plain, llm=False, model="m"), ir.Truthful)


def test_python_random_draws_are_the_study_draws(tmp_path):
    # The values the study's released code draws for seed 1399 (private values U{0..99}, 3 bidders;
    # random.seed(1399) then randint(0, 99) per bidder per round, as in its Auction_plan.draw_value).
    spec = api.load(_write(tmp_path, sim_extra='draws "python_random" integer_values true'))
    values, obs, common, _ = python_draws(draw_plan(spec), 3, 1399)
    assert values.tolist() == [[66, 31, 98], [59, 79, 4], [23, 94, 62]]
    assert common is None and (obs == values).all()


def test_an_english_intervention_for_a_spanish_bidder_needs_a_translation():
    with pytest.raises(PlanError) as e:
        PromptSet("es").check_language("interventions/menu", "agent.prompt", None)
    d = e.value.diagnostics[0]
    assert d.code == "E0816" and "interventions/menu" in d.message and "es/interventions/menu.txt" in d.help
    mine = PromptSet("es", (("mine", {"es/interventions/menu.txt": "Reglas: precio para ganar."}),))
    mine.check_language("interventions/menu", "agent.prompt", None)
    PromptSet("es").check_language("rules_first_price", "agent", None)  # bundled in Spanish

"""Prompts as data: the templates an LLM bidder is prompted with, read from files.

A *prompt set* is a folder of ``.txt`` templates (``string.Template``: ``$name`` is filled
in).  The bundled set (``prompts/``) has every template in English at its top level, the
rules and value texts translated in ``es/``, ``zh/``, ``hi/`` and ``ru/`` (written for
auctionc, not machine-translated at run time), and the six interventions of Shah et al.
(2025) in ``interventions/``.  A spec lays folders of its own over it: ``simulate { prompts
"folder" }`` for every agent, ``agent llm(prompts = "folder")`` for one; the front end reads
them from beside the spec (``auctionc.semantic.agents.read_prompt_folder``), so nothing here
opens a file a spec names.

A template is looked up in the agent's folder, then the spec's, then the bundled set; in
each, first in the agent's language folder (``es/rules_first_price.txt``), then at the top
(English).  A file in a folder of one's own therefore replaces the bundled one, in every
language it does not translate itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from string import Template
from typing import Any

from auctionc.diagnostics import Diagnostic, did_you_mean
from auctionc.errors import PlanError

LANGUAGES = {"en": "English", "es": "Spanish", "zh": "Chinese", "hi": "Hindi", "ru": "Russian"}
"""The languages the bundled prompts are written in (code: name)."""
_ALIASES = {
    "english": "en", "spanish": "es", "español": "es", "espanol": "es", "castellano": "es",
    "chinese": "zh", "中文": "zh", "汉语": "zh", "mandarin": "zh", "hindi": "hi", "हिन्दी": "hi", "हिंदी": "hi",
    "russian": "ru", "русский": "ru",
}


def language_code(language: str) -> str:
    """``es`` for "es", "Spanish", "español"...; any other name, lower-cased, is a folder a
    prompt set of one's own may hold."""
    t = language.strip().lower()
    if t in _ALIASES:
        return _ALIASES[t]
    head = t.replace("_", "-").split("-")[0]
    return head if head in LANGUAGES else t


@dataclass(frozen=True)
class Intervention:
    """A built-in intervention: where its text goes and where it is sound."""

    replaces_rules: bool
    """The text rewords the rules (it replaces them) rather than adding to them."""
    formats: frozenset[str] | None
    """The formats it is written for (None: any)."""
    information: frozenset[str] | None
    """The value models it is sound under: ipv, affiliated, common (None: any)."""
    why: str
    """Why it is not sound elsewhere."""


_SEALED = frozenset({"first_price", "second_price", "third_price", "all_pay", "vcg"})
INTERVENTIONS: dict[str, Intervention] = {
    "menu": Intervention(True, frozenset({"second_price", "vcg"}), None,
                         "it words the second-price payment as a 'price to win'"),
    "breitmoser": Intervention(True, frozenset({"second_price", "vcg"}), None,
                               "it describes second price as a clock with the sealed bid as exit price"),
    "risk_neutral": Intervention(False, None, None, ""),
    "dominant_strategy": Intervention(
        False, frozenset({"second_price", "vcg", "ascending_clock", "ebay"}), frozenset({"ipv", "affiliated"}),
        "bidding one's value is dominant only with private values in second price, the ascending clock and the "
        "proxy auction; with a common value a bidder who bids its signal falls for the winner's curse, and in "
        "first-price, third-price, all-pay and Dutch auctions no bid is dominant"),
    "wrong_strategy": Intervention(False, _SEALED | {"ebay"}, None, "it advises a bid, and this format asks for none"),
    "nash_deviation": Intervention(False, _SEALED | {"ebay"}, None, "it walks through a bid, and this format asks for none"),
}
"""The six interventions of Shah et al. (2025); their texts are ``interventions/<name>.txt``."""


@lru_cache(maxsize=1)
def bundled_files() -> dict[str, str]:
    """Every bundled template, by path relative to ``prompts/`` (``es/rules_first_price.txt``)."""
    out: dict[str, str] = {}
    root = resources.files("auctionc.backends.simulate").joinpath("prompts")

    def walk(node: Any, prefix: str) -> None:
        for child in node.iterdir():
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith(".txt"):
                out[f"{prefix}{child.name}"] = child.read_text(encoding="utf-8").strip()

    walk(root, "")
    return out


def template_names() -> frozenset[str]:
    """The templates auctionc uses (the bundled English files, interventions included)."""
    return frozenset(k[:-4] for k in bundled_files() if "/" not in k or k.startswith("interventions/"))


def _err(code: str, message: str, help: str, where: str | None = None, spec: Any = None) -> PlanError:
    return PlanError(Diagnostic(code, message, help=help, where=where).with_span(spec))


def folder_files(spec: Any, folder: str | None, where: str) -> dict[str, str]:
    """The files of a prompt folder the front end read for the spec, by relative path;
    E0816 when the spec did not come with them (a spec read from JSON) or one of them is not
    a template auctionc uses."""
    if not folder:
        return {}
    texts: dict[str, str] = getattr(spec, "_prompt_texts", None) or {}
    head = folder.rstrip("/") + "/"
    files = {k[len(head):]: v.strip() for k, v in texts.items() if k.startswith(head)}
    if not files:
        raise _err("E0816", f"prompt folder '{folder}' was not read from the spec's folder",
                   "a prompt folder is named in a .auction file and read, beside it, when the spec is loaded; "
                   "a spec from JSON (an artifact's spec.json) uses the bundled prompts only", where, spec)
    known = template_names()
    for rel in files:
        parts = rel[:-4].split("/")
        name = "/".join(parts[1:]) if len(parts) > 1 and parts[0] != "interventions" else "/".join(parts)
        if name not in known:
            guess = did_you_mean(name, sorted(known))
            raise _err("E0816", f"prompt folder '{folder}' has a file auctionc does not use: {rel}",
                       "name templates like the bundled ones (system.txt, rules_first_price.txt, "
                       "interventions/menu.txt; a language's in a folder such as es/)"
                       + (f"; did you mean {guess}.txt?" if guess else ""), where, spec)
    return files


class PromptSet:
    """The templates of one agent: its own folder, the spec's, then the bundled set, each in
    the agent's language before English."""

    def __init__(self, language: str = "en", overlays: tuple[tuple[str, dict[str, str]], ...] = ()):
        self.language = language_code(language)
        self.overlays = overlays + (("the bundled prompts", bundled_files()),)

    def lookup(self, name: str, *, language_only: bool = False) -> tuple[str, str] | None:
        """(text, where it came from) of template ``name``, or None."""
        langs = [self.language] if language_only else ([self.language, "en"] if self.language != "en" else ["en"])
        for label, files in self.overlays:
            for lang in langs:
                key = f"{name}.txt" if lang == "en" else f"{lang}/{name}.txt"
                if key in files:
                    return files[key], label
        return None

    def text(self, template: str) -> str:
        found = self.lookup(template)
        if found is None:  # the bundled English set has every template: a missing one is named here
            raise _err("E0816", f"no prompt template '{template}' in any prompt folder or the bundled prompts",
                       "add the file to your prompt folder")
        return found[0]

    def render(self, template: str, /, **kw: Any) -> str:
        return Template(self.text(template)).safe_substitute(**kw)

    def check_language(self, rules: str, where: str, spec: Any) -> None:
        """E0816 when the agent's language has no text for template ``rules`` (the rules, or an
        intervention) anywhere: it would stay in English, the fault the language setting
        exists to avoid."""
        if self.language == "en" or self.lookup(rules, language_only=True) is not None:
            return
        written = ("the bundled interventions are written in English" if rules.startswith("interventions/") else
                   f"the bundled rules are written in {', '.join(f'{c} ({n})' for c, n in LANGUAGES.items())}")
        raise _err("E0816", f"no text in language '{self.language}' for {rules.removeprefix('rules_')}",
                   f"{written}; add {self.language}/{rules}.txt to a prompt folder "
                   "(simulate { prompts \"my_prompts\" })", where, spec)


def check_intervention(name: str, fmt: str, information: str, where: str, spec: Any) -> Intervention | None:
    """The built-in intervention ``name`` (None for "default" or a file), or E0817 where it is
    not sound."""
    iv = INTERVENTIONS.get(name)
    if iv is None:
        return None
    fmt_name = "second_price" if fmt == "vcg" and iv.formats and "vcg" not in iv.formats else fmt
    bad_format = iv.formats is not None and fmt_name not in iv.formats
    bad_values = iv.information is not None and information not in iv.information
    if bad_format or bad_values:
        what = f"{fmt} with {information} values" if bad_values else fmt
        fits = ", ".join(sorted(iv.formats)) if iv.formats else "any format"
        if iv.information:
            fits += " with " + " or ".join(sorted(iv.information)) + " values"
        raise _err("E0817", f"the intervention '{name}' is not sound in {what}: {iv.why}",
                   f"it is written for {fits}; use another prompt here, or your own text (prompt = \"my_advice.txt\")",
                   where, spec)
    return iv

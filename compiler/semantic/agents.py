"""Agents of simulated bidders and buyers: ``llm(...)``, ``truthful``, ``bne``, ``crra(r)``,
``random``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import ir
from ..diagnostics import did_you_mean
from ..dsl import ast
from ..dsl.vocabulary import AGENT_KINDS, LLM_OPTIONS, PROMPTS, REASONING
from .context import Context, fmt
from .sections import named_args, typed_option
from .values import bind, number


def analyze_agent(cx: Context, s: ast.AgentStmt) -> Any:
    k = s.kind.text
    if k not in AGENT_KINDS:
        raise cx.unknown("E0207", "agent", k, s.kind.span, AGENT_KINDS)
    args = s.args or ()
    if k == "crra":
        b = bind(cx, ast.Call(s.kind, args, s.span), ("r",), 1, "crra")
        r = number(cx, b["r"], "crra's risk aversion r")
        if not 0 <= r < 1:
            raise cx.fail(
                "E0310",
                f"crra's risk aversion r must lie in [0, 1), not {fmt(r)}",
                b["r"].span,
                help="r = 0 is risk neutral; utility is x^(1-r)",
            )
        return ir.CRRA(r=float(r))
    if k != "llm":
        if args:
            raise cx.fail("E0304", f"agent {k} takes no options", s.span, help=f"write 'agent {k}'")
        return {"truthful": ir.Truthful, "bne": ir.BNE, "random": ir.RandomAgent, "sniper": ir.Sniper}[k]()
    # llm: the model may come first, unnamed
    named = list(args)
    vals: dict[str, Any] = {}
    if named and named[0].name is None:
        first = named.pop(0)
        if not isinstance(first.value, ast.String | ast.Ref):
            raise cx.fail("E0305", "the model of an llm agent must be a string", first.value.span)
        vals["model"] = typed_option(cx, ast.Arg(ast.Name("model", first.span), first.value, first.span), "string", "agent llm")
    opts = named_args(cx, tuple(named), "agent llm", 'llm(model = "openai/gpt-4o-mini")')
    for key, a in opts.items():
        assert a.name is not None
        if key not in LLM_OPTIONS:
            raise cx.no_option("agent llm", key, a.name.span, LLM_OPTIONS, listed_as="llm")
        if key in vals:
            raise cx.fail("E0202", f"option '{key}' of agent llm is given twice", a.name.span)
        v = typed_option(cx, a, LLM_OPTIONS[key], "agent llm")
        if key == "reasoning" and v not in REASONING:
            raise cx.fail(
                "E0305",
                f"option 'reasoning' of agent llm must be plain or cot, not \"{v}\"",
                a.value.span,
                suggestion=did_you_mean(v, REASONING),
            )
        if key == "temperature" and not 0 <= v <= 2:
            raise cx.fail("E0310", f"temperature must lie in [0, 2], not {fmt(v)}", a.value.span)
        if key == "prompt" and v not in PROMPTS:
            read_prompt(cx, v, a.value.span)
        if key == "prompts":
            read_prompt_folder(cx, v, a.value.span)
        if key == "api_base":
            check_api_base(cx, v, a.value.span)
        vals[key] = v
    return ir.LLMAgent(**vals)


MAX_PROMPT_BYTES = 64 * 1024
"""The largest prompt file an llm agent may name."""


def read_prompt(cx: Context, name: str, span: Any) -> None:
    """Read the prompt file ``name`` from the spec's folder (never outside it) into
    ``cx.prompt_texts``; a diagnostic when it is outside, missing, too big or not text."""
    from ..confine import OutsideFolder, read_confined

    hint = (f"prompts: {', '.join(PROMPTS)}, or the name of a .txt file beside the spec, "
            "as in prompt = \"my_prompt.txt\"")
    if cx.file.startswith("<"):
        raise cx.fail("E0312", f"prompt '{name}' names a file, but this spec was not read from a file",
                      span, help=hint)
    if not name.endswith(".txt"):
        raise cx.fail("E0312", f"unknown prompt '{name}'", span, help=hint,
                      suggestion=did_you_mean(name, PROMPTS))
    folder = Path(cx.file).parent
    try:
        cx.prompt_texts[name] = read_confined(folder, name, what="prompt file", max_bytes=MAX_PROMPT_BYTES)
    except OutsideFolder as e:
        raise cx.fail("E0312", f"{e}: a prompt file must lie in the spec's folder", span, help=hint) from None
    except UnicodeDecodeError:
        raise cx.fail("E0312", f"prompt file '{name}' is not UTF-8 text", span, help=hint) from None
    except OSError as e:
        raise cx.fail("E0312", f"cannot read prompt file '{name}': {e.strerror or e}", span, help=hint) from None


MAX_PROMPT_FILES = 400
"""The most files a prompt folder may hold (the bundled set has about 80)."""
MAX_PROMPT_FOLDER_BYTES = 2 * 1024 * 1024


def read_prompt_folder(cx: Context, name: str, span: Any) -> None:
    """Read the ``.txt`` files of the prompt folder ``name`` (beside the spec, never outside
    it) and of its subfolders (languages, ``interventions``), two levels deep, into
    ``cx.prompt_texts`` under ``name/relative/path.txt``; a diagnostic when the folder is
    outside, missing, or too large, or a file is not text."""
    import os

    from ..confine import OutsideFolder, confined, read_confined

    hint = ('a prompt folder lies beside the spec and holds .txt templates named like the bundled ones, '
            'as in prompts "my_prompts" (see the simulation docs)')
    if cx.file.startswith("<"):
        raise cx.fail("E0312", f"prompts '{name}' names a folder, but this spec was not read from a file", span, help=hint)
    base = Path(cx.file).parent
    try:
        root = confined(base, name, what="prompt folder")
    except OutsideFolder as e:
        raise cx.fail("E0312", f"{e}: a prompt folder must lie in the spec's folder", span, help=hint) from None
    if not root.is_dir():
        raise cx.fail("E0312", f"prompt folder '{name}' does not exist or is not a folder", span, help=hint)
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if len(rel_dir.parts) >= 2:
            dirnames[:] = []
        for f in sorted(filenames):
            if f.endswith(".txt"):
                found.append((rel_dir / f).as_posix())
    if len(found) > MAX_PROMPT_FILES:
        raise cx.fail("E0312", f"prompt folder '{name}' holds {len(found):,} .txt files, more than {MAX_PROMPT_FILES}",
                      span, help=hint)
    total = 0
    for rel in found:
        key = f"{name.rstrip('/')}/{rel}"
        try:
            text = read_confined(base, key, what="prompt file", max_bytes=MAX_PROMPT_BYTES)
        except OutsideFolder as e:
            raise cx.fail("E0312", f"{e}: a prompt file must lie in the spec's folder", span, help=hint) from None
        except UnicodeDecodeError:
            raise cx.fail("E0312", f"prompt file '{key}' is not UTF-8 text", span, help=hint) from None
        except OSError as e:
            raise cx.fail("E0312", f"cannot read prompt file '{key}': {e.strerror or e}", span, help=hint) from None
        total += len(text.encode("utf-8"))
        if total > MAX_PROMPT_FOLDER_BYTES:
            raise cx.fail("E0312", f"prompt folder '{name}' holds more than {MAX_PROMPT_FOLDER_BYTES:,} bytes of text",
                          span, help=hint)
        cx.prompt_texts[key] = text
    if not found:
        raise cx.fail("E0312", f"prompt folder '{name}' holds no .txt files", span, help=hint)


def check_api_base(cx: Context, url: str, span: Any) -> None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        ok = False
    if not ok:
        raise cx.fail("E0310", f"api_base '{url}' is not an http(s) URL", span,
                      help='write api_base = "http://127.0.0.1:8080/v1"')

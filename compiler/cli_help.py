"""How the ``auctionc`` command line presents itself: usage lines, help pages and usage errors.

typer builds the commands; two small subclasses of its click classes change what a user reads:

* usage lines name arguments as ``FILE`` and ``FILE...`` (typer writes ``{file}`` and
  ``<list[Path]>``), every option shows a metavar (``--seed N``, not ``--seed <int>``), and the
  command list shows each command's whole first sentence instead of one cut at 45 characters;
* a usage error that the framework finds (an unknown flag, a missing argument, a malformed
  ``NAME=VALUE``) is a diagnostic like every other failure: ``E0006`` on stderr, and with
  ``--json`` one JSON object on stdout, exit code 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

EXIT_USAGE = 2

# The options and the argument several commands share, declared once.
JSON_OPT = typer.Option(False, "--json", help="Print one JSON object on stdout (human output stays on stderr).")
SET_OPT = typer.Option(None, "--set", metavar="NAME=VALUE", help="Override a `param` of the spec (repeatable).")
OPTION_OPT = typer.Option(None, "--option", "-o", metavar="NAME=VALUE",
                          help="Backend option, overriding the spec's `solve with` options (repeatable).")
QUIET_OPT = typer.Option(False, "--quiet", "-q", help="No progress, and no solver banners.")
SPEC_ARG = typer.Argument(..., metavar="FILE", help="Spec file (.auction).")

_TYPE_METAVARS = {int: "N", float: "X", str: "TEXT", Path: "PATH"}
"""The metavar of an option that names none, by its Python type."""


def _argument_name(param: Any) -> str:
    name = param.metavar or param.name.upper()
    return name + ("..." if param.nargs != 1 and not name.endswith("...") else "")


def _clean_params(cmd: Any) -> None:
    """Give every option that takes a value a plain metavar (``N``, ``PATH``) where its
    declaration names none (typer would show ``<int>``)."""
    for p in cmd.params:
        desc = getattr(p, "type_descriptor", None)
        annotation = getattr(desc, "annotation", None)
        if p.param_type_name != "option" or p.metavar is not None or annotation is bool:
            continue
        if getattr(desc, "is_path", False):
            annotation = Path
        p.metavar = _TYPE_METAVARS.get(annotation, "VALUE")


class Command(TyperCommand):
    """A typer command with plain usage lines and help records."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _clean_params(self)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for p in self.get_params(ctx):
            if p.param_type_name == "argument":
                name = _argument_name(p)
                pieces.append(name if p.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        args, opts = [], []
        for p in self.get_params(ctx):
            if p.param_type_name == "argument":
                extra = "" if p.required else "  [optional]"
                args.append((_argument_name(p), (getattr(p, "help", None) or "") + extra))
            elif p.param_type_name == "option":
                rec = p.get_help_record(ctx)
                if rec is not None:
                    opts.append(rec)
        if args:
            with formatter.section("Arguments"):
                formatter.write_dl(args)
        if opts:
            with formatter.section("Options"):
                formatter.write_dl(opts)


def first_sentence(text: str | None) -> str:
    """The first paragraph of a command's help, on one line (the help's summary)."""
    para = (text or "").split("\f")[0].strip().split("\n\n")[0]
    return " ".join(para.split())


class Group(TyperGroup):
    """The ``auctionc`` group: full command summaries, and usage errors as diagnostics."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, first_sentence(cmd.help)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.TyperException as e:  # click's usage errors: bad flag, missing argument, bad value
            usage_error(e, as_json="--json" in argv)
        except typer.Abort:
            print("aborted", file=sys.stderr)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def usage_error(e: Any, as_json: bool) -> None:
    """Report a usage error the framework found as diagnostic E0006 (JSON on stdout with
    ``--json``), the command's usage line and a pointer to its help; exit 2."""
    from .diagnostics import Diagnostic

    ctx = getattr(e, "ctx", None)
    command = ctx.command_path if ctx is not None else "auctionc"
    d = Diagnostic("E0006", e.format_message() if hasattr(e, "format_message") else str(e),
                   help=f"run `{command} --help` for the arguments and options")
    if as_json:
        print(json.dumps({"ok": False, "diagnostics": [d.to_json()]}, indent=1))
    if ctx is not None:
        print(ctx.get_usage(), file=sys.stderr)
    print(d.render(), file=sys.stderr)
    sys.exit(getattr(e, "exit_code", EXIT_USAGE) or EXIT_USAGE)

"""Validation of backend options (``solve with menu(size = 512)`` and ``--option``).

Every backend declares its options as ``OptionSpec`` records; unknown names get
'did you mean', wrong types a clear message, both pointing at the spec text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ..diagnostics import Diagnostic, did_you_mean
from ..errors import PlanError


@dataclass(frozen=True)
class OptionSpec:
    type: type
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    limit: bool = False
    """A safety limit (memory, rounds, variables): a spec may lower it, but only the caller
    (``-o NAME=VALUE``, the API's options) may raise it above its default."""


_INT_TEXT = re.compile(r"[+-]?[0-9]{1,19}")
_FLOAT_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_MAX_INT = 2**63 - 1
"""Integer options are 64-bit: a float such as 1e300 is not an integer option."""


def _coerce(name: str, value: Any, spec: OptionSpec) -> Any:
    """``value`` as the option's type.  Numbers written as text are plain ASCII decimals
    (int() and float() would also take '٣', '1_000', 'inf' and 'nan'); floats are finite and
    integers within 64 bits."""
    t = spec.type
    if t is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise TypeError("a boolean (true or false)")
    if t is int:
        if isinstance(value, bool):
            raise TypeError("an integer")
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
            value = int(value)
        if isinstance(value, int) and abs(value) <= _MAX_INT:
            return value
        raise TypeError("an integer")
    if t is float:
        if isinstance(value, bool):
            raise TypeError("a number")
        if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()):
            value = float(value)
        if isinstance(value, int) and abs(value) <= _MAX_INT or isinstance(value, float) and math.isfinite(value):
            return float(value)
        raise TypeError("a finite number")
    if t is str:
        if isinstance(value, str):
            return value
        raise TypeError("a string")
    return value


def parse_options(
    backend: str, given: dict[str, Any], specs: dict[str, OptionSpec], spec_ir: Any = None,
    section: str = "solve.options", from_command_line: frozenset[str] | set[str] = frozenset(),
) -> dict[str, Any]:
    """Defaults merged with ``given``; raises PlanError (E0602/E0603/E0604) on bad options.
    An option named in ``from_command_line`` (the caller's, ``-o`` on the command line) is
    diagnosed without pointing at the spec's text, which did not give that value."""
    diags: list[Diagnostic] = []
    out = {k: s.default for k, s in specs.items()}
    for name, value in given.items():
        where = None if name in from_command_line else f"{section}.{name}"
        if name not in specs:
            diags.append(
                Diagnostic(
                    "E0602",
                    f"unknown option '{name}' for backend {backend}",
                    help="options of " + backend + ": " + ", ".join(sorted(specs)),
                    suggestion=did_you_mean(name, specs),
                    where=where,
                ).with_span(spec_ir)
            )
            continue
        s = specs[name]
        try:
            v = _coerce(name, value, s)
        except TypeError as e:
            diags.append(
                Diagnostic(
                    "E0603",
                    f"option '{name}' of backend {backend} must be {e}, not {value!r}",
                    help=f"{name}: {s.help}",
                    where=where,
                ).with_span(spec_ir)
            )
            continue
        if s.choices is not None and v not in s.choices:
            diags.append(
                Diagnostic(
                    "E0604",
                    f"option '{name}' of backend {backend} must be one of {', '.join(map(str, s.choices))}, not {v!r}",
                    suggestion=did_you_mean(str(v), map(str, s.choices)),
                    where=where,
                ).with_span(spec_ir)
            )
            continue
        if (s.min is not None and v < s.min) or (s.max is not None and v > s.max):
            rng = f"at least {s.min}" if s.max is None else f"between {s.min} and {s.max}"
            diags.append(
                Diagnostic(
                    "E0604",
                    f"option '{name}' of backend {backend} must be {rng}, not {v!r}",
                    help=f"{name}: {s.help}",
                    where=where,
                ).with_span(spec_ir)
            )
            continue
        out[name] = v
    if diags:
        raise PlanError(diags)
    return out

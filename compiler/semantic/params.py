"""Params and ``--set``: literals collected, overrides parsed against the declared kind."""

from __future__ import annotations

import math
import re

from ..diagnostics import did_you_mean
from ..dsl import ast
from .context import MAX_INT, Context, Scalar


def collect_params(cx: Context, body: tuple[ast.Stmt, ...]) -> None:
    decl: dict[str, ast.Param] = {}
    for s in body:
        if not isinstance(s, ast.Param):
            continue
        n = s.name.text
        if n in decl:
            cx.error(
                "E0202",
                f"param '{n}' is declared twice",
                s.name.span,
                notes=(f"first declared on line {decl[n].span.line}",),
            )
            continue
        decl[n] = s
        cx.spans[f"params.{n}"] = s.span
        v = s.value
        neg = False
        if isinstance(v, ast.Neg) and isinstance(v.operand, ast.Number):
            neg, v = True, v.operand
        if isinstance(v, ast.Number):
            val: Scalar = -v.value if neg else v.value
            if isinstance(val, float) and not math.isfinite(val) or isinstance(val, int) and abs(val) > MAX_INT:
                cx.error(
                    "E0306",
                    f"param '{n}' is too large to be represented",
                    s.value.span,
                    help="whole numbers lie within ±9,223,372,036,854,775,807 and other numbers below 1.8e308",
                )
                continue
            cx.param_kind[n] = "int" if isinstance(val, int) else "float"
        elif isinstance(v, ast.String):
            val, cx.param_kind[n] = v.value, "string"
        elif isinstance(v, ast.Bool):
            val, cx.param_kind[n] = v.value, "bool"
        else:
            cx.error(
                "E0503",
                f"param '{n}' must be a number, a string, true or false",
                s.value.span,
                help="params are literals; compute with them where they are used",
            )
            continue
        cx.params[n] = val
    for key, text in cx.overrides.items():
        if key not in cx.params:
            if key in decl:
                continue  # its declaration is already an error
            known = ", ".join(sorted(cx.params)) or "none"
            cx.error(
                "E0501",
                f"--set {key}={text}: the spec has no param '{key}'",
                None,
                help=f"params of this spec: {known}",
                suggestion=did_you_mean(key, cx.params),
            )
            continue
        kind = cx.param_kind[key]
        try:
            cx.params[key] = parse_override(text, kind)
        except ValueError:
            words = {"int": "an integer", "float": "a number", "bool": "true or false", "string": "a string"}
            cx.error(
                "E0502",
                f"--set {key}={text}: param '{key}' takes {words[kind]}, not '{text}'",
                decl[key].span,
                help=f"'{key}' is {words[kind]} because of its declaration here",
            )


_INT = re.compile(r"[+-]?[0-9]{1,19}")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")


def parse_override(text: str, kind: str) -> Scalar:
    """A ``--set`` value as the param's kind.  Numbers are plain ASCII decimals, as in a spec:
    Python's int() and float() would also take other scripts' digits ('٣'), underscores,
    'inf' and 'nan'."""
    t = text.strip()
    if kind == "int":
        if not _INT.fullmatch(t) or abs(int(t)) > MAX_INT:
            raise ValueError(t)
        return int(t)
    if kind == "float":
        if not _FLOAT.fullmatch(t):
            raise ValueError(t)
        v = float(t)
        if not math.isfinite(v):
            raise ValueError(t)
        return v
    if kind == "bool":
        if t.lower() not in ("true", "false"):
            raise ValueError(t)
        return t.lower() == "true"
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
        return t[1:-1]
    return text

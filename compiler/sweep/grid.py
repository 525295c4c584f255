"""The grid of a sweep: what ``--set``, ``--backend`` and ``--seeds`` mean, and the cells
they expand to.

A cell is one compile-and-verify (or one simulation) of one spec at one parameter
assignment, with one backend entry and one seed.  Its key hashes everything that decides
its result (the spec file's text, the parameters, the backend and its options, the seed,
the verification and simulation settings), so a rerun finds the cells already done even
when the grid grew around them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import Diagnostic
from ..errors import UsageError

E_VALUES = "E1101"
E_BACKEND = "E1102"
E_SEEDS = "E1103"
E_OPTION = "E1107"
E_SIMULATE = "E1108"


# --------------------------------------------------------------------------
# splitting and scalars
# --------------------------------------------------------------------------


def split_top(text: str, sep: str = ",") -> list[str]:
    """``text`` split at ``sep`` outside brackets and quotes (``menu(a=1,b=2),lp``)."""
    parts, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur).strip())
    return parts


def scalar(text: str) -> Any:
    """A command-line value as the CLI's ``-o`` reads it: JSON if it parses, else the text
    (without surrounding quotes)."""
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
        return t[1:-1]
    try:
        return json.loads(t)
    except json.JSONDecodeError:
        return t


def _number_text(x: float) -> str:
    """A range value as the spec would spell it: 0.3, not 0.30000000000000004."""
    r = round(x, 12)
    return str(int(r)) if r == int(r) and abs(r) < 1e15 else repr(r)


_INT_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")
_FLOAT_RANGE = re.compile(r"^\s*([-+0-9.eE]+)\s*:\s*([-+0-9.eE]+)\s*:\s*([-+0-9.eE]+)\s*$")


def _values_error(name: str, text: str, why: str) -> UsageError:
    return UsageError(Diagnostic(
        E_VALUES, f"cannot read the values of --set {name}={text}: {why}",
        help="write values separated by commas (n=2,3,5), an integer range (n=2..5) or "
             "start:stop:step (x=0:1:0.25)",
    ))


def expand_values(name: str, text: str) -> list[str]:
    """The values of one ``--set NAME=...``, as strings the front end reads: ``2,3,5``,
    ``2..5`` (integers, both ends included), ``0:1:0.25`` (both ends included when the
    steps land on them), or a mixture (``2..4,8``)."""
    out: list[str] = []
    for part in split_top(text):
        if not part:
            raise _values_error(name, text, "an empty value")
        m = _INT_RANGE.match(part)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if hi < lo:
                raise _values_error(name, text, f"the range {part} is empty")
            out += [str(v) for v in range(lo, hi + 1)]
            continue
        m = _FLOAT_RANGE.match(part)
        if m:
            try:
                lo, hi, step = (float(g) for g in m.groups())
            except ValueError:
                raise _values_error(name, text, f"{part} is not start:stop:step") from None
            if not step > 0 or hi < lo or not all(map(math.isfinite, (lo, hi, step))):
                raise _values_error(name, text, f"{part} needs start <= stop and a step > 0")
            count = math.floor((hi - lo) / step + 1e-9) + 1
            if count > 100_000:
                raise _values_error(name, text, f"{part} has {count} values")
            out += [_number_text(lo + i * step) for i in range(count)]
            continue
        out.append(part)
    dup = sorted({v for v in out if out.count(v) > 1})
    if dup:
        raise _values_error(name, text, f"{', '.join(dup)} given twice")
    return out


def parse_sets(pairs: list[str] | None) -> dict[str, list[str]]:
    """``["n=2..4", "x=0:1:0.5"]`` -> ``{"n": ["2", "3", "4"], "x": ["0", "0.5", "1"]}``."""
    out: dict[str, list[str]] = {}
    for p in pairs or []:
        name, eq, text = p.partition("=")
        name = name.strip()
        if not eq or not name:
            raise UsageError(Diagnostic(E_VALUES, f"expected NAME=VALUES in --set, got {p!r}",
                                        help="for example --set n=2..5"))
        if name in out:
            raise UsageError(Diagnostic(E_VALUES, f"--set {name} is given twice",
                                        help=f"list every value in one --set: {name}=v1,v2,..."))
        out[name] = expand_values(name, text)
    return out


def parse_seeds(text: str | None) -> list[int]:
    """``3`` -> seeds 0, 1, 2 (a count); ``0,4,7`` and ``2..5`` -> those seeds."""
    if text is None or not text.strip():
        return [0]
    t = text.strip()
    bad = UsageError(Diagnostic(
        E_SEEDS, f"cannot read --seeds {t}",
        help="give a count (--seeds 3 runs seeds 0, 1, 2), a list (--seeds 0,4,7) or a range (--seeds 2..5)"))
    if re.fullmatch(r"\d+", t):
        if int(t) < 1:
            raise bad
        return list(range(int(t)))
    seeds: list[int] = []
    for part in split_top(t):
        m = _INT_RANGE.match(part)
        if m and int(m.group(1)) <= int(m.group(2)):
            seeds += list(range(int(m.group(1)), int(m.group(2)) + 1))
        elif re.fullmatch(r"-?\d+", part):
            seeds.append(int(part))
        else:
            raise bad
    if len(set(seeds)) != len(seeds):
        raise bad
    return seeds


# --------------------------------------------------------------------------
# backend entries
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One ``--backend`` entry: a backend with its own options, or a standard format run
    through the format backend (compile) or the simulator (``--simulate``).

    ``format`` is None for a design backend, ``""`` for the spec's own ``mechanism`` and a
    format name otherwise."""

    label: str
    backend: str
    options: tuple[tuple[str, Any], ...] = ()
    format: str | None = None

    @property
    def is_format(self) -> bool:
        return self.format is not None

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "backend": self.backend, "options": dict(self.options), "format": self.format}


_ENTRY = re.compile(r"^(?:(?P<label>[A-Za-z_][\w.-]*)\s*=\s*)?(?P<name>[A-Za-z_]\w*)"
                    r"(?::(?P<fmt>[A-Za-z_]\w*))?\s*(?:\((?P<opts>.*)\))?\s*$", re.S)


def _entry_error(text: str, why: str) -> UsageError:
    return UsageError(Diagnostic(
        E_BACKEND, f"cannot read the backend entry {text!r}: {why}",
        help="write BACKEND, BACKEND(option=value,...), format:NAME (a standard format, e.g. format:vcg) "
             "or format for the spec's own mechanism; LABEL=... names the entry in tables and figures",
    ))


def parse_entry(text: str) -> Entry:
    m = _ENTRY.match(text)
    if not m:
        raise _entry_error(text, "not BACKEND(options) or format:NAME")
    name, fmt, body = m.group("name"), m.group("fmt"), m.group("opts")
    opts: list[tuple[str, Any]] = []
    for part in split_top(body) if body and body.strip() else []:
        k, eq, v = part.partition("=")
        if not eq or not k.strip():
            raise _entry_error(text, f"expected option=value, got {part!r}")
        opts.append((k.strip(), scalar(v)))
    if len({k for k, _ in opts}) != len(opts):
        raise _entry_error(text, "an option is given twice")
    if fmt is not None and name != "format":
        raise _entry_error(text, f"only format takes a name after ':' ({name}:{fmt})")
    label = m.group("label") or re.sub(r"\s+", "", text)
    if name == "format":
        return Entry(label, "format", tuple(sorted(opts)), fmt or "")
    return Entry(label, name, tuple(sorted(opts)))


AUTO = Entry("auto", "")
"""No --backend: the spec's own choice (``solve with``, else the planner's)."""
OWN_FORMAT = Entry("format", "format", (), "")
"""No --backend with --simulate: the spec's own ``mechanism``."""


def parse_backends(values: list[str] | None, simulate: bool = False) -> list[Entry]:
    """``--backend`` values (repeatable, each a comma list) -> entries; none means the
    spec's own choice (``solve with``, else the planner's; its ``mechanism`` with
    ``--simulate``)."""
    if not values:
        return [OWN_FORMAT if simulate else AUTO]
    entries: list[Entry] = []
    for v in values or []:
        for part in split_top(v):
            if not part:
                raise _entry_error(v, "an empty entry")
            entries.append(parse_entry(part))
    labels = [e.label for e in entries]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise _entry_error(", ".join(dup), "two entries have the same label; name them with LABEL=...")
    return entries


def check_entries(entries: list[Entry], global_options: dict[str, Any], simulate: bool) -> None:
    """Names and options checked before anything runs: a typo costs no cell."""
    from typing import get_args

    from ..ir import Format, FormatName
    from ..plugins.registry import available_backends, backend_class

    known = available_backends()
    formats = get_args(FormatName)
    for e in entries:
        if e == AUTO:
            continue
        if e.backend not in known:
            raise UsageError(Diagnostic(
                "E0601", f"unknown backend {e.backend!r} in --backend {e.label}",
                help=f"installed backends: {', '.join(known)}; standard formats as format:NAME"))
        if simulate and not e.is_format:
            raise UsageError(Diagnostic(
                E_SIMULATE, f"--simulate plays formats; {e.label} is a design backend",
                help="with --simulate give formats: --backend format:first_price,format:second_price "
                     "(or none for the spec's own mechanism)"))
        if e.is_format:
            if e.format and e.format not in formats:
                raise UsageError(Diagnostic(
                    "E0206", f"unknown format {e.format!r} in --backend {e.label}",
                    help=f"formats: {', '.join(formats)}"))
            fields = set(Format.model_fields) - {"name"}
            bad = [k for k, _ in e.options if k not in fields]
            if bad:
                raise UsageError(Diagnostic(
                    "E0210", f"format {e.format or '(the spec’s)'} has no option {bad[0]!r}",
                    help=f"format options: {', '.join(sorted(fields))}"))
            continue
        declared = backend_class(e.backend).options or {}
        bad = [k for k, _ in e.options if k not in declared]
        if bad:
            raise UsageError(Diagnostic(
                "E0602", f"backend {e.backend} has no option {bad[0]!r} (in --backend {e.label})",
                help=f"options of {e.backend}: {', '.join(declared) or 'none'}"))
    designs = [e for e in entries if not e.is_format]
    if AUTO in designs:
        return  # the planner picks the backend per cell; it checks the options itself
    for k in global_options:
        if not any(k in (backend_class(e.backend).options or {}) for e in designs):
            raise UsageError(Diagnostic(
                E_OPTION, f"no backend of the sweep takes the option {k!r} (--option {k}=...)",
                help="an --option goes to every backend that declares it; give one backend its own "
                     "options as --backend NAME(option=value)"))


def entry_options(entry: Entry, global_options: dict[str, Any]) -> dict[str, Any]:
    """The options a cell passes to its backend: the global ``--option`` values the backend
    declares, under the entry's own."""
    if entry.is_format:
        return dict(entry.options)
    if entry == AUTO:
        return dict(global_options)
    from ..plugins.registry import backend_class

    declared = backend_class(entry.backend).options or {}
    out = {k: v for k, v in global_options.items() if k in declared}
    out.update(dict(entry.options))
    return out


# --------------------------------------------------------------------------
# cells
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One unit of work; ``task()`` is what travels to a worker (plain data)."""

    key: str
    index: int
    params: tuple[tuple[str, str], ...]
    entry: Entry
    options: tuple[tuple[str, Any], ...]
    seed: int

    @property
    def param_dict(self) -> dict[str, str]:
        return dict(self.params)

    def describe(self) -> str:
        ps = " ".join(f"{k}={v}" for k, v in self.params)
        return f"{ps + ' ' if ps else ''}{self.entry.label} seed {self.seed}"

    def slug(self) -> str:
        """A directory name a person can read, unique by the key's prefix."""
        parts = [f"{k}-{v}" for k, v in self.params] + [self.entry.label, f"s{self.seed}"]
        text = re.sub(r"[^A-Za-z0-9.=-]+", "_", "_".join(parts)).strip("_")[:80]
        return f"{text}-{self.key[:8]}"


@dataclass
class Grid:
    """The cells of a sweep and the settings every cell shares."""

    spec_file: str
    spec_text: str
    sets: dict[str, list[str]]
    entries: list[Entry]
    seeds: list[int]
    settings: dict[str, Any] = field(default_factory=dict)
    cells: list[Cell] = field(default_factory=list)

    @property
    def swept(self) -> list[str]:
        """The parameters that take more than one value."""
        return [k for k, vs in self.sets.items() if len(vs) > 1]

    def to_json(self) -> dict[str, Any]:
        return {"spec_file": self.spec_file, "sets": self.sets, "entries": [e.to_json() for e in self.entries],
                "seeds": self.seeds, "settings": self.settings, "cells": len(self.cells)}


def cell_key(spec_text: str, params: dict[str, str], entry: Entry, options: dict[str, Any], seed: int,
             settings: dict[str, Any]) -> str:
    doc = {
        "spec": hashlib.sha256(spec_text.encode()).hexdigest(),
        "params": params,
        "backend": entry.backend,
        "format": entry.format,
        "options": options,
        "seed": seed,
        "settings": settings,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:20]


def build_grid(spec_file: str, spec_text: str, sets: dict[str, list[str]], entries: list[Entry],
               seeds: list[int], global_options: dict[str, Any], settings: dict[str, Any]) -> Grid:
    """Every combination of parameter values x entries x seeds, in that nesting order
    (so the first cells cover every backend at the first parameter values).

    ``settings`` are the run settings every cell shares and that change results
    (verification samples, simulation mode, model, rounds); they enter each key."""
    grid = Grid(spec_file, spec_text, sets, entries, seeds, settings)
    names = list(sets)
    combos = list(itertools.product(*(sets[n] for n in names))) if names else [()]
    index = 0
    for combo in combos:
        params = dict(zip(names, combo))
        for entry in entries:
            opts = entry_options(entry, global_options)
            for seed in seeds:
                key = cell_key(spec_text, params, entry, opts, seed, settings)
                grid.cells.append(Cell(key, index, tuple(params.items()), entry, tuple(sorted(opts.items())), seed))
                index += 1
    return grid

"""The layers hold: every import under dsl/, compiler/ and backends/ is scanned.

The three folders are one namespace (``auctionc.dsl`` from dsl/, ``auctionc`` from
compiler/, ``auctionc.backends.<name>`` from backends/<name>/), so only a scan of the
imports shows who uses whom.  The rules (docs/architecture.md):

* the language (``auctionc.dsl``) imports nothing of auctionc above it;
* the compiler imports no backend (it finds backends through the entry-point registry);
* a backend imports neither the language nor another backend.

Imports under ``if TYPE_CHECKING:`` count: a type-only import is still a dependency a
reader has to follow.  The test also holds modules to about 600 lines: a longer one
states why at its top, in a docstring paragraph that starts with ``Size:``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"dsl": ("auctionc", "dsl"), "compiler": ("auctionc",), "backends": ("auctionc", "backends")}
MAX_LINES = 600

# Modules allowed over MAX_LINES without a stated reason, each only until the named work
# lands; remove the entry then (the test fails on an entry that no longer needs it).
EXEMPT_FROM_SIZE: dict[str, str] = {}


def _modules() -> list[Path]:
    return sorted(p for top in FOLDERS for p in (ROOT / top).rglob("*.py"))


def _module_name(path: Path) -> list[str]:
    rel = path.relative_to(ROOT).with_suffix("").parts
    tail = list(rel[1:])
    if tail and tail[-1] == "__init__":
        tail = tail[:-1]
    return [*FOLDERS[rel[0]], *tail]


def layer_of_file(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    if rel[0] == "backends":
        return f"backend:{rel[1]}" if len(rel) > 2 else "backends"
    return rel[0]


def layer_of_module(name: str) -> str | None:
    """The layer an absolute module name belongs to; None outside auctionc."""
    bits = name.split(".")
    if bits[0] != "auctionc":
        return None
    if len(bits) > 1 and bits[1] == "dsl":
        return "dsl"
    if len(bits) > 1 and bits[1] == "backends":
        if len(bits) > 2 and (ROOT / "backends" / bits[2]).is_dir():
            return f"backend:{bits[2]}"
        return "backends"
    return "compiler"


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved;
    ``from X import y`` yields both X and X.y (y may be a submodule)."""
    pkg = _module_name(path)
    if path.name != "__init__.py":
        pkg = pkg[:-1]
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(pkg[: len(pkg) - node.level + 1])
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            out += [(node.lineno, f"{mod}.{a.name}") for a in node.names if a.name != "*"]
    return out


def violation(me: str, other: str) -> str | None:
    """Why layer ``me`` may not import layer ``other``; None when it may."""
    if other == me:
        return None
    if me == "dsl":
        return "the language imports nothing of auctionc above it"
    if me == "compiler" and other.startswith("backend:"):
        return "the compiler imports no backend (it finds them through the registry)"
    if me.startswith("backend:") and other == "dsl":
        return "a backend never imports the language (use auctionc.diagnostics, auctionc.ir ...)"
    if me.startswith("backend:") and other.startswith("backend:"):
        return "a backend never imports another backend"
    return None


def layer_violations() -> list[str]:
    found = set()
    for path in _modules():
        me = layer_of_file(path)
        for line, mod in imported_modules(path):
            other = layer_of_module(mod)
            why = violation(me, other) if other is not None else None
            if why:
                found.add(f"{path.relative_to(ROOT)}:{line}: imports {mod}: {why}")
    return sorted(found)


def states_its_size(path: Path) -> bool:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return any(par.lstrip().startswith("Size:") and len(par.split()) > 4 for par in doc.split("\n\n"))


def test_the_scanner_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The scanner itself: relative imports resolve against the package, ``from . import x``
    names the submodule, and each rule fires on the layer pair it names."""
    path = ROOT / "backends" / "exact" / "lp.py"
    names = {m for _, m in imported_modules(path)}
    assert "auctionc.backends.exact.common" in names and "auctionc.plugins" in names
    sem = ROOT / "compiler" / "semantic" / "__init__.py"
    assert any(m.startswith("auctionc.semantic.") for _, m in imported_modules(sem))
    assert layer_of_module("auctionc.dsl.parser") == "dsl"
    assert layer_of_module("auctionc.backends.menu.gemnet.cells") == "backend:menu"
    assert layer_of_module("auctionc.plugins.registry") == "compiler"
    assert violation("backend:menu", "backend:exact") and violation("backend:menu", "dsl")
    assert violation("dsl", "compiler") and violation("compiler", "backend:exact")
    assert violation("compiler", "dsl") is None and violation("backend:menu", "compiler") is None


def test_no_layer_imports_what_it_may_not() -> None:
    bad = layer_violations()
    assert not bad, "layer violations:\n" + "\n".join(bad)


def test_modules_over_600_lines_say_why() -> None:
    long = {}
    for path in _modules():
        rel = str(path.relative_to(ROOT))
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES and rel not in EXEMPT_FROM_SIZE and not states_its_size(path):
            long[rel] = n
    assert not long, (f"modules over {MAX_LINES} lines with no 'Size:' paragraph in their docstring "
                      f"(split them, or say why they are one idea): {long}")


@pytest.mark.parametrize("rel", sorted(EXEMPT_FROM_SIZE))
def test_size_exemptions_are_still_needed(rel: str) -> None:
    path = ROOT / rel
    assert path.exists() and len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES, (
        f"{rel} no longer needs its exemption ({EXEMPT_FROM_SIZE[rel]}): remove it from EXEMPT_FROM_SIZE")


def test_every_backend_loads_and_registers_its_codes() -> None:
    """Each layer registers its own diagnostic codes; a code two layers claim makes the second
    backend fail to load (and the planner quietly report it as a refusal)."""
    from auctionc.diagnostics import all_codes
    from auctionc.plugins import registry

    for name in registry.available_backends():
        cls = registry.backend_class(name)
        assert set(cls.codes) <= set(all_codes()), name

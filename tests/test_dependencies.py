"""Declare what is imported, import what is declared (pyproject.toml against the code).

A third-party import that no requirement declares works only on machines where some other
package happened to pull it in (jinja2 was such an import: without it the report silently
disappeared); a declared dependency that nothing imports costs every user an install.
Each part of the repository may import what its group declares:

* the package (dsl/, compiler/, backends/), scripts/ and benchmarks/: ``dependencies``,
  plus the optional groups for the features they serve (``local-llm``);
* tests/: the above plus the ``test`` extra;
* docs/hooks/: the package's plus the ``docs`` extra.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(reqs: list[str]) -> set[str]:
    """Distribution names of PEP 508 requirement strings (extras and versions dropped)."""
    return {_norm(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", r).group(1)) for r in reqs}


CORE = requirement_names(PROJECT["dependencies"])
EXTRAS = {k: requirement_names(v) for k, v in PROJECT["optional-dependencies"].items()}
PACKAGE_DIRS = ("dsl", "compiler", "backends")


def third_party_imports(folder: str) -> dict[str, set[str]]:
    """Top-level names of the absolute imports in ``folder`` that are neither the standard
    library, auctionc, nor a module of the folder itself -> the files importing them."""
    local = {p.stem for p in (ROOT / folder).rglob("*.py")} | {p.name for p in (ROOT / folder).iterdir() if p.is_dir()}
    local |= {p.stem for p in (ROOT / "scripts").glob("*.py")}  # tests and hooks put scripts/ on sys.path
    local |= {p.stem for p in (ROOT / "tests").glob("*.py")}  # the fuzz script shares the tests' corpus
    out: dict[str, set[str]] = {}
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ("auctionc", "__future__") or top in local:
                    continue
                out.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return out


@cache
def _module_to_distributions() -> dict[str, list[str]]:
    return packages_distributions()


def distributions_of(module: str) -> set[str]:
    return {_norm(d) for d in _module_to_distributions().get(module, [])}


def undeclared(folders: tuple[str, ...], allowed: set[str]) -> dict[str, list[str]]:
    bad = {}
    for folder in folders:
        for module, files in third_party_imports(folder).items():
            if not distributions_of(module) & allowed:
                bad[module] = sorted(files)[:3]
    return bad


def test_the_scanner_finds_imports_and_their_distributions() -> None:
    found = third_party_imports("compiler")
    assert "pydantic" in found and "numpy" in found and "json" not in found and "auctionc" not in found
    assert distributions_of("yaml") == {"pyyaml"}  # module and distribution names differ (mkdocs needs it)
    assert "lark" in requirement_names(["lark[interegular]>=1.1.9,<2"])


def test_every_import_of_the_package_is_declared() -> None:
    allowed = CORE | EXTRAS["local-llm"] | EXTRAS["ray"]
    assert not undeclared((*PACKAGE_DIRS, "scripts", "benchmarks"), allowed), "declare these in pyproject.toml"


def test_every_import_of_the_tests_and_docs_is_declared() -> None:
    assert not undeclared(("tests",), CORE | EXTRAS["local-llm"] | EXTRAS["test"])
    assert not undeclared(("docs/hooks",), CORE | EXTRAS["docs"])


def test_every_declared_dependency_is_imported() -> None:
    imported: set[str] = set()
    for folder in PACKAGE_DIRS:
        for module in third_party_imports(folder):
            imported |= distributions_of(module)
    assert CORE - imported == set(), "declared in pyproject.toml but imported nowhere in dsl/, compiler/, backends/"


def test_every_optional_dependency_is_used_by_its_group() -> None:
    by_folder = {
        "local-llm": PACKAGE_DIRS,
        "ray": PACKAGE_DIRS,
        "test": ("tests", "docs/hooks"),  # the tests build the site, which runs the hooks
        "docs": ("docs/hooks",),
    }
    for extra, folders in by_folder.items():
        imported: set[str] = set()
        for folder in folders:
            for module in third_party_imports(folder):
                imported |= distributions_of(module)
        # mkdocs-material is the docs theme (named in mkdocs.yml) and ruff a command, not imports;
        # the tests install the optional packages the package imports (Ray for the sweep tests)
        tools = {"mkdocs-material", "ruff"}
        if extra == "test":
            tools |= EXTRAS["ray"] | EXTRAS["local-llm"]
        assert EXTRAS[extra] - imported - tools == set(), extra

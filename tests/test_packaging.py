"""Packaging: one import namespace, every subpackage shipped, fast commands stay light."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAPPING = {"compiler": "auctionc", "dsl": "auctionc.dsl", "backends": "auctionc.backends"}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_directory_is_listed():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = set()
    for top, name in MAPPING.items():
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top)
            found.add(".".join([name, *rel.parts]) if rel.parts else name)
    assert found - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - found == set(), "listed packages without an __init__.py"


def test_no_generic_top_level_modules():
    mapping = _pyproject()["tool"]["setuptools"]["package-dir"]
    assert set(mapping) == {"auctionc", "auctionc.dsl", "auctionc.backends"}
    assert all(p.startswith("auctionc") for p in _pyproject()["tool"]["setuptools"]["packages"])


def test_litellm_and_torch_pins():
    deps = _pyproject()["project"]["dependencies"]
    lite = next(d for d in deps if d.startswith("litellm"))
    assert ">=1.83" in lite and "!=1.107.*" in lite
    assert "torch==2.13.0" in deps


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    assert blocks[1].strip() == "bash scripts/test.sh"
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
    assert blocks[0].strip().startswith("python3 -m venv .venv && .venv/bin/pip install -e . &&")


def _run(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, **kw)


@pytest.mark.parametrize("command", [["check"], ["plan"], ["fmt"]])
def test_light_commands_import_no_heavy_libraries(command):
    example = ROOT / "examples" / "manelli_vincent.auction"
    r = _run("-X", "importtime", "-m", "auctionc", *command, str(example))
    imported = {line.split("|")[-1].strip().split(".")[0] for line in r.stderr.splitlines() if "|" in line}
    assert not imported & {"torch", "cvxpy", "litellm", "highspy", "pulp"}, r.stderr[-2000:]


def test_help_imports_no_heavy_libraries():
    r = _run("-X", "importtime", "-m", "auctionc", "--help")
    assert r.returncode == 0
    imported = {line.split("|")[-1].strip().split(".")[0] for line in r.stderr.splitlines() if "|" in line}
    assert not imported & {"torch", "cvxpy", "litellm"}


@pytest.mark.slow
def test_non_editable_install(tmp_path):
    """`pip install .` (not editable) gives a working `auctionc` with its package data.

    The package goes into a fresh target directory, built from a clean clone; the
    dependencies come from this environment so the test checks our packaging,
    not the registry."""
    target = tmp_path / "site"
    build = tmp_path / "src"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(build)], check=False)
    src = build if (build / "pyproject.toml").exists() else ROOT
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(src)],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert not (target / "dsl").exists() and not (target / "backends").exists() and not (target / "compiler").exists()
    assert (target / "auctionc" / "dsl" / "grammar.lark").exists()
    run_env = {**os.environ, "PYTHONPATH": str(target)}
    exe = target / "bin" / "auctionc"
    r = subprocess.run([sys.executable, str(exe), "--version"], capture_output=True, text=True, cwd=tmp_path, env=run_env)
    assert r.returncode == 0 and r.stdout.startswith("auctionc "), r.stderr
    r = subprocess.run(
        [sys.executable, "-c", "import auctionc, auctionc.dsl, auctionc.backends; print(auctionc.__file__)"],
        capture_output=True, text=True, cwd=tmp_path, env=run_env,
    )
    assert r.returncode == 0 and str(target) in r.stdout, r.stdout + r.stderr
    example = ROOT / "examples" / "manelli_vincent.auction"
    r = subprocess.run([sys.executable, "-m", "auctionc", "check", str(example)], capture_output=True, text=True, cwd=tmp_path, env=run_env)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "auctionc", "schema"], capture_output=True, text=True, cwd=tmp_path, env=run_env)
    assert r.returncode == 0 and "SpecDocument" in r.stdout

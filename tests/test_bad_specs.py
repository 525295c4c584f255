"""The golden bad-spec suite: every file in tests/bad/ fails with the exact rendered
diagnostics stored in tests/golden/bad/<name>.txt.

Regenerate after an intended change of wording:  UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_bad_specs.py
A first line '# --set name=value[, name=value]' in a bad spec passes those overrides.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from auctionc.diagnostics import all_codes, render_all, to_json
from auctionc.errors import SpecError, UsageError
from auctionc.frontend import check_file, load_file

CODES = all_codes()

ROOT = Path(__file__).resolve().parent.parent
BAD = sorted((ROOT / "tests" / "bad").glob("*.auction"))
GOLDEN = ROOT / "tests" / "golden" / "bad"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _overrides(path: Path) -> dict[str, str]:
    head = path.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
    m = re.match(r"#\s*--set\s+(.*)", head)
    if not m:
        return {}
    return dict(kv.strip().split("=", 1) for kv in m.group(1).split(","))


def _render(rel: str) -> tuple[str, list]:
    spec, diags, text = check_file(rel, _overrides(ROOT / rel))
    assert spec is None, f"{rel} was accepted"
    return render_all(diags, {rel: text}) + "\n", diags


def test_there_are_enough_bad_specs() -> None:
    assert len(BAD) >= 40


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_spec_golden(path: Path, repo_root: Path) -> None:
    rel = f"tests/bad/{path.name}"
    out, diags = _render(rel)
    golden = GOLDEN / f"{path.stem}.txt"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(out, encoding="utf-8")
    assert golden.exists(), f"no golden file for {rel}: run with UPDATE_GOLDEN=1"
    assert out == golden.read_text(encoding="utf-8")
    assert "Traceback" not in out
    # lark's terminal names never reach the user
    assert not re.search(r"__ANON|\bRBRACE\b|\bLBRACE\b|\bLPAR\b|\bRPAR\b|\$END|\bNAME\b|\bNUMBER\b", out)
    for d in diags:
        assert d.code in CODES, f"{d.code} is missing from the CODES table"
        assert d.message[0].islower() or d.message[0] in "-'\"", d.message
        assert not d.message.endswith(".")
    data = json.loads(to_json(diags))
    assert data["ok"] is False
    assert [x["code"] for x in data["diagnostics"]] == [d.code for d in diags]


def test_several_errors_in_one_run(repo_root: Path) -> None:
    _, diags = _render("tests/bad/several_errors.auction")
    assert [d.code for d in diags] == ["E0301", "E0301", "E0209"]
    assert [d.span.line for d in diags] == [6, 7, 10]


def test_design_md_example_is_reproduced(repo_root: Path) -> None:
    out, _ = _render("tests/bad/unknown_valuation_kind.auction")
    design = (
        "error[E0203]: unknown valuation kind 'adittive'\n"
        "  --> tests/bad/unknown_valuation_kind.auction:7:15\n"
        "   |\n"
        " 7 |     valuation adittive\n"
        "   |               ^^^^^^^^\n"
        "   = help: expected one of: additive, unit_demand, single, xor\n"
        "   = did you mean 'additive'?\n"
    )
    assert out == design


def test_load_file_raises_typed_errors(repo_root: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError) as e:
        load_file(tmp_path)  # a directory
    assert e.value.diagnostics[0].code == "E0001"
    with pytest.raises(UsageError) as e:
        load_file(tmp_path / "missing.auction")
    assert e.value.diagnostics[0].code == "E0001"
    with pytest.raises(SpecError) as e2:
        load_file("tests/bad/empty_file.auction")
    assert e2.value.diagnostics[0].code == "E0002"
    with pytest.raises(SpecError) as e2:
        load_file("tests/bad/binary_junk.auction")
    assert e2.value.diagnostics[0].code == "E0003"
    with pytest.raises(SpecError) as e2:
        load_file("tests/bad/not_utf8.auction")
    assert e2.value.diagnostics[0].code == "E0003"


def test_every_code_has_a_bad_spec_or_a_unit_test() -> None:
    """Codes of the front end that no golden file shows are listed here on purpose."""
    shown = set()
    for g in GOLDEN.glob("*.txt"):
        shown |= set(re.findall(r"error\[(E\d{4})\]", g.read_text(encoding="utf-8")))
    elsewhere = {"E0001", "E0300"}  # unit tests; E0300 only guards against a gap in the checks
    elsewhere |= {f"E042{i}" for i in range(6)}  # evaluating formats: tests/test_formats.py
    elsewhere.add("E0321")  # CATS options: the bundleflow tests
    elsewhere.add("E0004")  # a file past the size limit, too many errors: tests/test_hardening_frontend.py
    elsewhere.add("E0005")  # output directories in use or holding another spec: tests/test_hardening_files.py
    elsewhere.add("E0006")  # usage errors the command-line framework finds: tests/test_cli.py
    front_end = {c for c in CODES if c < "E0600" or c == "E0601"}  # E06xx beyond: planning (the lead)
    assert front_end - shown - elsewhere == set()

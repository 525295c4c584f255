"""The command line: exit codes, JSON on stdout, diagnostics on stderr, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from auctionc.cli import app
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_version():
    r = run("--version")
    assert r.exit_code == 0 and r.stdout.startswith("auctionc 0.")


def test_help_lists_every_command():
    r = run("--help")
    assert r.exit_code == 0
    for cmd in ("check", "fmt", "plan", "compile", "verify", "simulate", "export", "schema", "serve-model"):
        assert cmd in r.stdout


def test_check_all_examples_ok():
    files = sorted(EX.glob("*.auction"))
    r = run("check", *files, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is True and len(doc["files"]) == len(files)


def test_check_missing_file_is_usage_error():
    r = run("check", "no/such/file.auction")
    assert r.exit_code == 2
    assert "E0001" in r.stderr and "Traceback" not in r.stderr + r.stdout


def test_check_bad_spec_json_diagnostics(tmp_path):
    bad = tmp_path / "bad.auction"
    bad.write_text("auction a {\n    items A\n    bidder b { valuation adittive }\n    require IC, IR\n    maximize revenue\n}\n")
    r = run("check", bad, "--json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    d = doc["files"][0]["diagnostics"][0]
    assert d["code"] == "E0203" and d["suggestion"] == "additive"
    assert d["span"]["line"] == 3
    assert "error[E0203]" in r.stderr and "^^^^^^^^" in r.stderr


def test_set_overrides_param_and_rejects_unknown():
    r = run("compile", EX / "two_by_two.auction", "--emit", "ir", "--set", "n=3")
    assert r.exit_code == 0, r.stderr
    spec = json.loads(r.stdout)["spec"]
    assert len(spec["bidders"]) == 3 and spec["params"]["n"] == 3
    r = run("compile", EX / "two_by_two.auction", "--emit", "ir", "--set", "nn=3")
    assert r.exit_code == 1 and "E05" in r.stderr and "did you mean 'n'" in r.stderr


def test_set_needs_name_value():
    r = run("check", EX / "two_by_two.auction", "--set", "n")
    assert r.exit_code == 2


def test_emit_ir_round_trips_through_the_schema():
    from auctionc.ir import SpecDocument

    r = run("compile", EX / "manelli_vincent.auction", "--emit", "ir")
    doc = SpecDocument.model_validate_json(r.stdout)
    assert doc.spec.name == "manelli_vincent" and doc.spec.items == ("A", "B")


def test_plan_json_names_choice_and_refusals():
    r = run("plan", EX / "lab_first_price.auction", "--json")
    assert r.exit_code == 0, r.stderr
    plan = json.loads(r.stdout)["plan"]
    assert plan["chosen"] == "format"
    assert {x["backend"] for x in plan["refused"]} >= {"lp", "menu"}


def test_unknown_backend_on_command_line():
    r = run("plan", EX / "manelli_vincent.auction", "--backend", "mnu")
    assert r.exit_code == 1
    assert "E0601" in r.stderr and "did you mean 'menu'" in r.stderr


def test_schema_is_json():
    r = run("schema")
    assert r.exit_code == 0 and "SpecDocument" in json.dumps(json.loads(r.stdout))


def test_fmt_prints_canonical_text():
    r = run("fmt", EX / "manelli_vincent.auction")
    assert r.exit_code == 0 and "auction manelli_vincent" in r.stdout
    r2 = run("fmt", "--check", EX / "manelli_vincent.auction")
    assert r2.exit_code in (0, 1)


def test_compile_exact_market_writes_artifact_report_and_json(tmp_path):
    out = tmp_path / "wm"
    r = run("compile", EX / "two_types_market.auction", "--out", out, "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["backend"] == "lp" and doc["certificate"]["kind"] == "exact_by_enumeration"
    assert abs(doc["metrics"]["revenue"]["value"] - 0.23) < 1e-6  # docs/published-figures.md, data markets: (0.2, 0.7, 0.5) -> 0.23
    for name in ("mechanism.json", "spec.json", "result.json", "report.md", "report.html"):
        assert (out / name).exists(), name
    meta = json.loads((out / "mechanism.json").read_text())["meta"]
    assert meta["spec_hash"] == doc["spec_hash"] and meta["seed"] == 0 and "numpy" in meta["versions"]
    # verify the saved artifact on its own, from the spec.json beside it
    r = run("verify", out, "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    again = json.loads(r.stdout)
    assert again["certificate"]["kind"] == "exact_by_enumeration"
    assert abs(again["metrics"]["revenue"]["value"] - 0.23) < 1e-6


def test_verify_a_format_spec_directly(tmp_path):
    r = run("verify", EX / "sealed_formats_bne.auction", "--samples", "2000", "--restarts", "4",
            "--misreport-steps", "20", "--out", tmp_path, "--json", "--quiet")
    # first price is not strategy-proof: the certificate fails its IC check and the command exits 3
    assert r.exit_code == 3, r.stderr
    doc = json.loads(r.stdout)
    assert doc["artifact_kind"] == "format" and doc["ok"] is False
    assert doc["certificate"]["failed_checks"] == ["IC"]
    assert "FAIL: certificate estimated does not hold" in r.stderr and "check IC failed [E0911]: " in r.stderr
    # a format is no grid solve: no excuse from the method is offered
    assert "known consequence" not in r.stderr


def test_verify_missing_artifact_is_usage_error(tmp_path):
    r = run("verify", tmp_path / "nothing")
    assert r.exit_code == 2 and "E0901" in r.stderr


def test_simulate_rule_based(tmp_path):
    r = run("simulate", EX / "sealed_formats_bne.auction", "--rounds", "20", "--out", tmp_path, "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["calls"]["model_calls"] == 0
    assert doc["metrics"]["revenue"]["value"] > 0
    assert (tmp_path / "report.md").exists()


def test_no_backend_accepts_lists_refusals(tmp_path):
    spec = tmp_path / "mkt.auction"
    spec.write_text(
        "market m {\n    states rain, sun\n    buyer f {\n        actions plant, wait\n"
        "        payoff plant { rain: 0, sun: 1 }\n        payoff wait { rain: 1, sun: 0 }\n"
        "        type belief(rain) ~ Uniform(0, 1)\n    }\n    require IC, IR, obedience\n    maximize welfare\n}\n"
    )
    # lp needs a grid for the continuous prior; menu learns markets for revenue only
    r = run("compile", spec, "--out", tmp_path / "o")
    assert r.exit_code == 1
    assert "E0606" in r.stderr and "lp: " in r.stderr and "grid" in r.stderr and "menu: " in r.stderr
    assert "Traceback" not in r.stderr


def test_every_error_code_in_the_source_is_documented():
    import re

    from auctionc.diagnostics import all_codes

    CODES = all_codes()

    used = set()
    for top in ("compiler", "dsl", "backends"):
        for f in (ROOT / top).rglob("*.py"):
            used |= set(re.findall(r'"(E0\d{3})"', f.read_text()))
    assert used - set(CODES) == set()


# --------------------------------------------------------------------------
# A certificate's verdict: terminal, JSON and exit code (0 pass, 3 fail)
# --------------------------------------------------------------------------


def test_a_passing_certificate_exits_0_with_pass_in_words(tmp_path):
    out = tmp_path / "pass"
    r = run("compile", EX / "two_types_market.auction", "--out", out, "--quiet")
    assert r.exit_code == 0, r.stderr
    assert "PASS: certificate exact_by_enumeration holds at tolerance" in r.stderr and "FAIL" not in r.stderr
    assert "PASS: exact_by_enumeration" in r.stderr  # the table says it in words, not only in colour
    r = run("verify", out, "--json", "--quiet")
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"] is True
    assert "PASS: certificate" in r.stderr


def test_a_failing_certificate_is_loud_and_exits_3(tmp_path):
    from auctionc.verifier import EXIT_NOT_VERIFIED

    assert EXIT_NOT_VERIFIED == 3
    out = tmp_path / "fail"
    # the LP solves two bidders' continuous prior on a 20-cell grid: exact there, not on the continuum
    r = run("compile", EX / "myerson_lp.auction", "--out", out, "--samples", "500", "--json", "--quiet")
    assert r.exit_code == 3, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and doc["certificate"]["ok"] is False and "IC" in doc["certificate"]["failed_checks"]
    assert doc["certificate"]["details"]["discretised"]["grid"] == 20
    assert "FAIL: certificate estimated does not hold at tolerance 1e-06" in r.stderr
    line = next(ln for ln in r.stderr.splitlines() if "check IC failed [E0911]" in ln)
    assert f"max regret {doc['certificate']['max_regret']:.3g}" in line  # the figure, as the JSON has it
    assert "known consequence of the method" in r.stderr and "20-cell grid" in r.stderr
    assert "-o grid=40" in r.stderr and "exit 3" in r.stderr
    report = (out / "report.md").read_text()
    assert "**FAIL: certificate estimated" in report and "known consequence of the method" in report
    # verify, terminal and JSON, says the same and exits the same
    r = run("verify", out, "--samples", "500", "--quiet")
    assert r.exit_code == 3 and "FAIL: certificate" in r.stderr and "check IC failed [E0911]" in r.stderr
    r = run("verify", out, "--samples", "500", "--json", "--quiet")
    assert r.exit_code == 3 and json.loads(r.stdout)["ok"] is False


# --------------------------------------------------------------------------
# Outputs a user can trust
# --------------------------------------------------------------------------


def test_verify_writes_its_own_report_beside_the_compiles(tmp_path):
    out = tmp_path / "m"
    assert run("compile", EX / "two_types_market.auction", "--out", out, "--quiet").exit_code == 0
    before = (out / "report.md").read_text()
    assert "## Plan" in before and "## Timings" in before
    r = run("verify", out, "--quiet")
    assert r.exit_code == 0, r.stderr
    assert (out / "report.md").read_text() == before  # the compile's report stays as it was
    assert (out / "verify_report.md").exists() and (out / "verify_report.html").exists()
    assert "auctionc verify report" in (out / "verify_report.md").read_text()
    assert f"report: {out / 'verify_report.md'}" in r.stderr


def test_a_second_compile_into_a_finished_output_is_refused_unless_forced(tmp_path):
    out = tmp_path / "again"
    assert run("compile", EX / "two_types_market.auction", "--out", out, "--quiet").exit_code == 0
    (out / "notes.txt").write_text("mine")
    r = run("compile", EX / "two_types_market.auction", "--out", out, "--quiet", "--json")
    assert r.exit_code == 2
    d = json.loads(r.stdout)["diagnostics"][0]
    assert d["code"] == "E0005" and "already holds a finished compile of two_types_market" in d["message"]
    assert "--force" in d["help"] and "--resume" in d["help"]
    r = run("compile", EX / "two_types_market.auction", "--out", out, "--quiet", "--force")
    assert r.exit_code == 0, r.stderr
    assert (out / "mechanism.json").exists() and (out / "notes.txt").read_text() == "mine"


def test_every_figure_written_is_shown_in_the_report(tmp_path):
    out = tmp_path / "mv"
    r = run("compile", EX / "manelli_vincent.auction", "-o", "steps=30", "-o", "size=16", "--samples", "300",
            "--out", out, "--quiet")
    assert r.exit_code == 0, r.stderr
    report = (out / "report.md").read_text()
    figures = sorted(p.name for p in out.glob("*.png"))
    assert {"allocation.png", "regret.png", "training_curves.png"} <= set(figures)
    for name in figures:
        assert f"]({name})" in report, name


# --------------------------------------------------------------------------
# CLI polish
# --------------------------------------------------------------------------


def test_usage_errors_are_diagnostics_and_json_with_json():
    import subprocess
    import sys

    for args in (["check", "--json", "--bogus"], ["compile", "--json"], ["verify", "--json"],
                 ["check", EX / "two_by_two.auction", "--set", "n", "--json"]):
        r = run(*args)
        assert r.exit_code == 2, args
        doc = json.loads(r.stdout)
        assert doc["ok"] is False and doc["diagnostics"][0]["code"] == "E0006", args
        assert "error[E0006]" in r.stderr and "Traceback" not in r.stderr
    # the installed command behaves the same (main() goes through the same group)
    p = subprocess.run([sys.executable, "-m", "auctionc", "nosuchcommand", "--json"], capture_output=True, text=True)
    assert p.returncode == 2 and json.loads(p.stdout)["diagnostics"][0]["code"] == "E0006"


def test_help_has_clean_usage_lines_full_summaries_and_an_example_per_command():
    import re

    from auctionc.cli_help import first_sentence

    top = run("--help").stdout
    assert "Exit codes: 0 success; 1" in top and "3 solved, but the" in top
    group = __import__("typer").main.get_command(app)
    for name, cmd in group.commands.items():
        text = run(name, "--help").stdout
        usage = text.splitlines()[0]
        assert "{" not in usage and not re.search(r"<(int|str|path|float|bool|list\[.*?\])>", text), (name, usage)
        assert re.fullmatch(r"Usage: auctionc [\w-]+ \[OPTIONS\]( \[?[A-Z]+(\.\.\.)?\]?)*", usage), usage
        assert "Example" in text, name
        summary = first_sentence(cmd.help)
        assert summary.endswith((".", ")")) and " ".join(summary.split()[:4]) in " ".join(top.split()), name


def test_explain_prints_the_long_explanation():
    r = run("explain", "E0911")
    assert r.exit_code == 0 and r.stdout.startswith("E0911: the mechanism is not strategy-proof")
    assert "-o grid=N" in r.stdout
    r = run("explain", "e606", "--json")
    assert json.loads(r.stdout)["code"] == "E0606"
    r = run("explain", "E9999", "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["diagnostics"][0]["suggestion"] == "E0999"


def test_codes_a_user_meets_in_the_first_hour_are_explained():
    """Every code of the language, the compiler and the exact and format backends has an
    explanation; the menu, BundleFlow and simulate backends' codes are their owners' to write."""
    from auctionc.diagnostics import all_codes

    missing = [c.code for c in all_codes().values() if not c.explanation
               and c.layer in ("dsl", "compiler", "auctionc.backends.exact.common", "auctionc.backends.format.backend")]
    assert missing == []


def test_fmt_and_check_report_unreadable_files_alike(tmp_path):
    binary = tmp_path / "b.auction"
    binary.write_bytes(b"auction a {\xff\xfe}\n")
    for cmd in ("check", "fmt"):
        r = run(cmd, binary)
        assert r.exit_code == 1 and "error[E0003]" in r.stderr, cmd
        r = run(cmd, tmp_path / "missing.auction")
        assert r.exit_code == 2 and "error[E0001]" in r.stderr, cmd
    r = run("fmt", binary, "--json")
    assert json.loads(r.stdout)["diagnostics"][0]["code"] == "E0003"


def test_a_missing_file_gets_the_closest_spec_path():
    r = run("check", "examples/weather_market.auction", "--json")
    assert json.loads(r.stdout)["files"][0]["diagnostics"][0]["suggestion"] == "examples/weather.auction"
    r = run("compile", "examples/manelli_vincet.auction")
    assert r.exit_code == 2 and "did you mean 'examples/manelli_vincent.auction'?" in r.stderr


def test_malformed_option_values_name_the_command_line_not_the_spec(tmp_path):
    for value, code, words in (("abc", "E0603", "must be an integer, not 'abc'"), ("-5", "E0604", "at least 0"),
                               ("2.5", "E0603", "must be an integer")):
        r = run("compile", EX / "myerson_lp.auction", "-o", f"grid={value}", "--out", tmp_path / "o", "--json")
        d = json.loads(r.stdout)["diagnostics"][0]
        assert r.exit_code == 1 and d["code"] == code and words in d["message"], value
        assert d["span"] is None  # the value came from -o; the spec says grid = 20
    # with no backend named, the option is still the diagnosis, not "no backend accepts"
    spec = tmp_path / "auto.auction"
    spec.write_text((EX / "manelli_vincent.auction").read_text().replace("solve with", "# solve with"))
    r = run("compile", spec, "-o", "steps=abc", "--out", tmp_path / "o2", "--json")
    assert json.loads(r.stdout)["diagnostics"][0]["code"] == "E0603"


def test_quiet_silences_the_solver_banner(capfd, tmp_path):
    from auctionc import api, load
    from auctionc.solvers import quiet_solvers

    spec = load(EX / "myerson_lp.auction")
    with quiet_solvers(True):
        api.compile(spec, options={"grid": 4}, verify=False)
    captured = capfd.readouterr()
    assert "HiGHS" not in captured.out + captured.err


def test_the_api_functions_survive_importing_every_submodule():
    import importlib
    import pkgutil

    import auctionc

    for mod in pkgutil.iter_modules(auctionc.__path__):
        if mod.name != "__main__":
            importlib.import_module(f"auctionc.{mod.name}")
    from auctionc import api

    for name in ("plan", "compile", "verify", "simulate", "load", "loads"):
        assert getattr(auctionc, name) is getattr(api, name), name
    spec = auctionc.load(EX / "two_types_market.auction")
    assert auctionc.plan(spec).chosen == "lp"

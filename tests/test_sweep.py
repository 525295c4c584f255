"""``auctionc sweep``: the grid, the results table, the local pool and a local Ray runtime,
workers killed mid-cell, a driver killed mid-sweep, failed cells, the dry run.

The cells are small on purpose: an exact LP and standard formats on a four-point value
grid, whose revenues are known in closed form (two bidders, values k/4: the optimum is
5/12 - 1/(6*4^2) = 0.40625, second price 0.21875), with a tiny verification budget."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from auctionc.errors import UsageError
from auctionc.sweep import SweepConfig, dry_run, run_sweep
from auctionc.sweep.anchors import anchors_for, myerson_uniform, setting_of
from auctionc.sweep.grid import (
    build_grid,
    check_entries,
    expand_values,
    parse_backends,
    parse_entry,
    parse_seeds,
    parse_sets,
)
from auctionc.sweep.results_table import ResultsTable

ROOT = Path(__file__).resolve().parent.parent

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="ray is not installed: pip install 'auctionc[ray]' (CI installs it with the test extras)")

TINY = """auction tiny {
    param n = 2
    items 1
    bidders n {
        value ~ Grid(0, 0.75, 4)
    }
    require IC, IR
    maximize revenue
    mechanism second_price
    solve with lp
}
"""
OPTIMUM_N2 = 5 / 12 - 1 / (6 * 4**2)
SECOND_PRICE_N2 = 0.21875  # E[min of two draws from {0, .25, .5, .75}]
VERIFY = {"samples": 200, "restarts": 2, "misreport_steps": 10}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.auction"
    p.write_text(TINY)
    return p


def config(spec: Path, out: Path, **kw) -> SweepConfig:
    base = dict(spec=spec, sets=["n=2,3"], backends=["lp,sp=format:second_price"], out=out, jobs=2, **VERIFY)
    base.update(kw)
    return SweepConfig(**base)


def by(rows, **match):
    out = [r for r in rows if all(r["param_" + k if k == "n" else k] == v for k, v in match.items())]
    assert len(out) == 1, (match, rows)
    return out[0]


def assert_one_row_per_cell(run, directory: Path) -> None:
    import pyarrow.parquet as pq

    keys = [c.key for c in run.grid.cells]
    rows = pq.read_table(directory / "results.parquet").to_pylist()
    cells = [r["cell"] for r in rows]
    assert len(cells) == len(set(cells)), "duplicate rows"
    assert set(keys) <= set(cells), "lost rows"
    csv_cells = [line.split(",")[0] for line in (directory / "results.csv").read_text().splitlines()[1:]]
    assert sorted(csv_cells) == sorted(cells)


# --------------------------------------------------------------------------
# the grid
# --------------------------------------------------------------------------


def test_values_lists_and_ranges():
    assert expand_values("n", "2..5") == ["2", "3", "4", "5"]
    assert expand_values("x", "0:1:0.25") == ["0", "0.25", "0.5", "0.75", "1"]
    assert expand_values("x", "0:1:0.3") == ["0", "0.3", "0.6", "0.9"]  # no 0.30000000000000004
    assert expand_values("n", "2..3,8") == ["2", "3", "8"]
    assert expand_values("d", '"a,b",c') == ['"a,b"', "c"]
    assert parse_sets(["n=2..3", "x=0.5"]) == {"n": ["2", "3"], "x": ["0.5"]}
    for bad in ("5..2", "0:1:0", "2,2", ""):
        with pytest.raises(UsageError) as e:
            expand_values("n", bad)
        assert e.value.diagnostics[0].code == "E1101"
    with pytest.raises(UsageError, match="given twice"):
        parse_sets(["n=2", "n=3"])


def test_seeds():
    assert parse_seeds(None) == [0]
    assert parse_seeds("3") == [0, 1, 2]
    assert parse_seeds("0,4,7") == [0, 4, 7]
    assert parse_seeds("2..4") == [2, 3, 4]
    for bad in ("0", "x", "1,1", "4..2"):
        with pytest.raises(UsageError) as e:
            parse_seeds(bad)
        assert e.value.diagnostics[0].code == "E1103"


def test_backend_entries():
    e = parse_entry("ama=menu(architecture=lottery_ama, steps=200)")
    assert (e.label, e.backend, dict(e.options), e.format) == ("ama", "menu", {"architecture": "lottery_ama", "steps": 200}, None)
    e = parse_entry("format:vcg")
    assert (e.label, e.backend, e.format) == ("format:vcg", "format", "vcg")
    assert parse_entry("format").format == ""
    assert parse_entry("format:first_price(reserve=0.5)").options == (("reserve", 0.5),)
    entries = parse_backends(["lp,menu(steps=10,size=4)", "vcg=format:vcg"])
    assert [x.label for x in entries] == ["lp", "menu(steps=10,size=4)", "vcg"]
    assert parse_backends(None)[0].label == "auto"
    assert parse_backends(None, simulate=True)[0].format == ""
    for bad in ("menu(steps)", "lp:x", "1x"):
        with pytest.raises(UsageError) as err:
            parse_entry(bad)
        assert err.value.diagnostics[0].code == "E1102"
    with pytest.raises(UsageError, match="same label"):
        parse_backends(["lp,lp"])


@pytest.mark.parametrize("entries, options, simulate, code", [
    (["nosuch"], {}, False, "E0601"),
    (["menu(stepz=3)"], {}, False, "E0602"),
    (["format:nosuch"], {}, False, "E0206"),
    (["format:vcg(reservation=1)"], {}, False, "E0210"),
    (["lp"], {"steps": 3}, False, "E1107"),
    (["format:vcg"], {"steps": 3}, False, "E1107"),
    (["lp"], {}, True, "E1108"),
])
def test_mistakes_are_caught_before_any_cell(entries, options, simulate, code):
    with pytest.raises(UsageError) as e:
        check_entries(parse_backends(entries), options, simulate)
    assert e.value.diagnostics[0].code == code


def test_global_options_go_to_the_backends_that_declare_them():
    entries = parse_backends(["lp,menu(size=4)"])
    check_entries(entries, {"steps": 5}, False)  # menu declares steps, lp does not: accepted
    grid = build_grid("s", TINY, {}, entries, [0], {"steps": 5}, {"mode": "compile"})
    assert dict(grid.cells[0].options) == {}
    assert dict(grid.cells[1].options) == {"size": 4, "steps": 5}


def test_cell_keys_survive_a_grown_grid_and_follow_the_spec():
    entries = parse_backends(["lp,format:second_price"])
    small = build_grid("s", TINY, {"n": ["2", "3"]}, entries, [0, 1], {}, {"mode": "compile"})
    grown = build_grid("s", TINY, {"n": ["2", "3", "4"]}, entries, [0, 1, 2], {}, {"mode": "compile"})
    assert len(small.cells) == 8 and len(grown.cells) == 18
    assert {c.key for c in small.cells} < {c.key for c in grown.cells}
    assert len({c.key for c in grown.cells}) == 18
    edited = build_grid("s", TINY.replace("0.75", "0.8"), {"n": ["2", "3"]}, entries, [0, 1], {}, {"mode": "compile"})
    assert not {c.key for c in small.cells} & {c.key for c in edited.cells}
    other_budget = build_grid("s", TINY, {"n": ["2", "3"]}, entries, [0, 1], {}, {"mode": "compile", "verify": {"samples": 9}})
    assert not {c.key for c in small.cells} & {c.key for c in other_budget.cells}


# --------------------------------------------------------------------------
# anchors, table, reply cache
# --------------------------------------------------------------------------


def test_anchors_of_the_two_by_two_setting():
    from auctionc import api

    spec = api.load(ROOT / "examples" / "two_by_two.auction")
    s = setting_of(spec)
    assert s == {"bidders": 2, "items": 2, "valuation": "additive", "prior": "U(0,1)"}
    figures = {label: value for label, value, _src, _closed in anchors_for(s)}
    assert figures["VCG, m·(n−1)/(n+1) (exact)"] == pytest.approx(2 / 3)
    assert figures["item-wise Myerson, m·((n−1)+2⁻ⁿ)/(n+1) (exact)"] == pytest.approx(2 * 5 / 12)
    assert figures["GemNet ≈0.876 (secondhand)"] == 0.876
    assert figures["upper bound 0.8919 (secondhand)"] == 0.8919
    assert [round(myerson_uniform(n), 6) for n in (1, 2, 3, 5)] == [0.25, 0.416667, 0.53125, 0.671875]
    three = setting_of(api.load(ROOT / "examples" / "two_by_two.auction", {"n": 3}))
    assert dict((a[0], a[1]) for a in anchors_for(three))["VCG, m·(n−1)/(n+1) (exact)"] == pytest.approx(1.0)
    assert not [a for a in anchors_for(three) if not a[3]]  # no published figure for 3x2
    assert setting_of(api.load(ROOT / "examples" / "two_types_market.auction")) is None


def test_table_replaces_rows_and_reads_back_from_either_file(tmp_path):
    t = ResultsTable(tmp_path)
    t.put({"cell": "a", "index": 0, "status": "error", "param_n": 2.0, "revenue": None})
    t.put({"cell": "b", "index": 1, "status": "ok", "param_n": 3.0, "revenue": 0.5, "certificate_ok": True})
    t.put({"cell": "a", "index": 0, "status": "ok", "param_n": 2.0, "revenue": 0.25, "certificate_ok": False})
    assert not list(tmp_path.glob("*.tmp"))
    back = ResultsTable(tmp_path).load().rows
    assert set(back) == {"a", "b"} and back["a"]["status"] == "ok" and back["a"]["revenue"] == 0.25
    (tmp_path / "results.parquet").unlink()
    csv_back = ResultsTable(tmp_path).load().rows
    assert csv_back["b"]["revenue"] == 0.5 and csv_back["b"]["certificate_ok"] is True
    assert csv_back["a"]["certificate_ok"] is False and csv_back["a"]["param_n"] == "2.0"


def test_reply_cache_snapshot_delta_merge(tmp_path):
    """The driver's cache goes out as a snapshot; a worker sends back only what it added."""
    from auctionc.sweep import llm_cache

    driver = tmp_path / "driver.sqlite"
    db = sqlite3.connect(driver)
    db.execute("CREATE TABLE replies (key TEXT PRIMARY KEY, content TEXT)")
    db.execute("INSERT INTO replies VALUES ('k1', 'bid 10')")
    db.commit()
    db.close()
    snap = llm_cache.snapshot(driver)
    worker = tmp_path / "worker" / "cache.sqlite"
    llm_cache.attach_snapshot(worker, snap)
    w = sqlite3.connect(worker)
    assert w.execute("SELECT content FROM replies WHERE key = 'k1'").fetchone() == ("bid 10",)
    w.execute("INSERT INTO replies VALUES ('k2', 'bid 12')")
    w.commit()
    w.close()
    delta = llm_cache.new_entries(worker, snap)
    assert delta is not None
    assert llm_cache.merge(driver, delta) == 1
    assert llm_cache.merge(driver, delta) == 0  # merging twice adds nothing
    rows = sqlite3.connect(driver).execute("SELECT key, content FROM replies ORDER BY key").fetchall()
    assert rows == [("k1", "bid 10"), ("k2", "bid 12")]
    assert llm_cache.new_entries(worker, llm_cache.snapshot(driver)) is None
    # no cache yet: an empty snapshot, and everything a worker writes is new
    assert llm_cache.snapshot(tmp_path / "none.sqlite") == b""
    assert llm_cache.merge(tmp_path / "fresh.sqlite", llm_cache.new_entries(worker, b"")) == 2


# --------------------------------------------------------------------------
# local process pool
# --------------------------------------------------------------------------


def test_local_pool_sweep_rows_resume_and_failed_cells(tiny, tmp_path):
    out = tmp_path / "sweep"
    cfg = config(tiny, out, sets=["n=0,2,3"], backends=["lp,sp=format:second_price,pp=format:posted_price"])
    run = run_sweep(cfg)
    assert len(run.grid.cells) == 9 and run.ran == 9 and run.skipped == 0
    rows = run.rows
    assert len(rows) == 9
    lp2, sp2 = by(rows, n=2.0, backend="lp"), by(rows, n=2.0, backend="sp")
    assert lp2["status"] == "ok" and lp2["revenue"] == pytest.approx(OPTIMUM_N2, abs=1e-9)
    assert lp2["certificate_kind"] == "exact_by_enumeration" and lp2["certificate_ok"] is True
    assert sp2["revenue"] == pytest.approx(SECOND_PRICE_N2, abs=1e-9) and sp2["max_regret"] == pytest.approx(0, abs=1e-9)
    assert lp2["spec_hash"] and lp2["auctionc_version"] and json.loads(lp2["versions"])
    assert by(rows, n=3.0, backend="lp")["revenue"] > OPTIMUM_N2  # a third bidder raises the optimum
    # failures for the spec's own reasons: rows with the diagnostic, one attempt each
    pp = by(rows, n=2.0, backend="pp")
    assert pp["status"] == "failed" and pp["diagnostic_code"] == "E0605" and "posted_price needs a price" in pp["diagnostic"]
    zero = [r for r in rows if json.loads(r["params"])["n"] == "0"]
    assert {r["status"] for r in zero} == {"failed"} and {r["diagnostic_code"] for r in zero} == {"E0405"}
    assert all(r["attempts"] == 1 for r in rows)
    assert_one_row_per_cell(run, out)
    assert (out / "cells" / Path(lp2["out_dir"]).name / "mechanism.json").exists()
    table_lines = [x for x in (out / "summary.md").read_text().splitlines() if x.startswith("| ")]
    assert len(table_lines) == 1 + 9 and table_lines[0].startswith("| n | backend | ok/cells |")
    assert [p.name for p in run.figures] == ["revenue_vs_n.png"] and run.figures[0].stat().st_size > 10_000
    # a rerun skips every cell, failed ones included, and keeps the rows as they were
    again = run_sweep(cfg)
    assert again.ran == 0 and again.skipped == 9
    assert [r["finished_at"] for r in again.rows] == [r["finished_at"] for r in rows]
    # a grown grid runs only its new cells
    grown = run_sweep(config(tiny, out, sets=["n=0,2,3,4"], backends=["lp,sp=format:second_price,pp=format:posted_price"]))
    assert grown.ran == 3 and grown.skipped == 9 and len(grown.rows) == 12
    assert_one_row_per_cell(grown, out)
    # --fresh starts over
    fresh = run_sweep(config(tiny, out, sets=["n=2"], backends=["sp=format:second_price"], fresh=True))
    assert fresh.ran == 1 and len(ResultsTable(out).load().rows) == 1


def test_killed_worker_costs_only_its_cell_which_is_retried(tiny, tmp_path):
    out = tmp_path / "sweep"
    killed: list[int] = []

    def kill_first_lp(event, task, info):
        if event == "start" and task["entry"]["label"] == "lp" and not killed:
            killed.append(info["pid"])
            os.kill(info["pid"], signal.SIGKILL)

    run = run_sweep(config(tiny, out), on_event=kill_first_lp)
    assert killed
    assert run.counts == {"ok": 4, "failed": 0, "error": 0, "missing": 0}
    victim = by(run.rows, n=2.0, backend="lp")
    assert victim["attempts"] == 2 and victim["revenue"] == pytest.approx(OPTIMUM_N2, abs=1e-9)
    assert not victim["worker"].endswith(f":{killed[0]}")
    assert sorted(r["attempts"] for r in run.rows) == [1, 1, 1, 2]
    assert_one_row_per_cell(run, out)


def test_a_cell_out_of_retries_is_an_error_row_that_a_rerun_retries(tiny, tmp_path):
    out = tmp_path / "sweep"

    def kill_lp(event, task, info):
        if event == "start" and task["entry"]["label"] == "lp":
            os.kill(info["pid"], signal.SIGKILL)

    run = run_sweep(config(tiny, out, sets=["n=2"], retries=0), on_event=kill_lp)
    lp = by(run.rows, backend="lp")
    assert lp["status"] == "error" and lp["diagnostic_code"] == "E1106" and "killed by signal 9" in lp["diagnostic"]
    assert by(run.rows, backend="sp")["status"] == "ok"
    assert not run.to_json()["ok"]
    again = run_sweep(config(tiny, out, sets=["n=2"]))
    assert again.ran == 1 and by(again.rows, backend="lp")["status"] == "ok"
    assert_one_row_per_cell(again, out)


def test_killed_driver_loses_no_finished_row_and_resumes(tiny, tmp_path):
    out = tmp_path / "sweep"
    args = [sys.executable, "-m", "auctionc", "sweep", str(tiny), "--set", "n=2..4", "-b",
            "lp,sp=format:second_price", "--seeds", "2", "-j", "1", "--out", str(out), "-q", "--no-figures",
            "--samples", "200", "--restarts", "2", "--misreport-steps", "10"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    csv = out / "results.csv"
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:
            if csv.exists() and len(csv.read_text().splitlines()) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        os.kill(proc.pid, signal.SIGKILL)  # the driver only; its worker notices and exits
        proc.wait(30)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # anything left of the group this test started
        except ProcessLookupError:
            pass
    before = ResultsTable(out).load().rows
    assert 1 <= len(before) < 12
    run = run_sweep(config(tiny, out, sets=["n=2..4"], seeds="2", jobs=1, figures=False))
    assert run.skipped == len(before) and run.ran == 12 - len(before)
    assert_one_row_per_cell(run, out)
    after = ResultsTable(out).load().rows
    assert all(after[k]["finished_at"] == r["finished_at"] for k, r in before.items())
    assert run.counts["ok"] == 12


def test_second_driver_on_the_same_directory_is_refused(tiny, tmp_path):
    from auctionc.sweep.runner import _Lock

    out = tmp_path / "sweep"
    lock = _Lock(out)
    try:
        with pytest.raises(UsageError) as e:
            run_sweep(config(tiny, out))
        assert e.value.diagnostics[0].code == "E1104"
    finally:
        lock.release()


def test_cli_json_and_usage_errors(tiny, tmp_path):
    out = tmp_path / "sweep"
    base = [sys.executable, "-m", "auctionc", "sweep", str(tiny), "--out", str(out), "-q"]
    r = subprocess.run(base + ["--set", "n=3..2"], capture_output=True, text=True)
    assert r.returncode == 2 and "error[E1101]: cannot read the values of --set n=3..2: the range 3..2 is empty" in r.stderr
    r = subprocess.run(base + ["-b", "lp", "--set", "n=2", "--samples", "200", "--json", "-j", "1"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)  # the LP solver's banner stays out of stdout
    assert doc["ok"] and doc["counts"]["ok"] == 1 and doc["summary"][0]["revenue"] == pytest.approx(OPTIMUM_N2)


# --------------------------------------------------------------------------
# dry run
# --------------------------------------------------------------------------


def test_dry_run_prints_the_grid_and_an_estimate(tiny, tmp_path):
    two = ROOT / "examples" / "two_by_two.auction"
    grid, est, text = dry_run(SweepConfig(spec=two, sets=["n=2..3"], seeds="3", out=tmp_path / "s", jobs=2,
                                          backends=["ama=menu(architecture=lottery_ama,steps=800)", "vcg=format:vcg"]))
    assert len(grid.cells) == 12 and est["to_run"] == 12
    assert "grid: 2 x 2 x 3 = 12 cell(s); 0 done, 12 to run" in text
    ama = next(e for e in est["per_entry"] if e["backend"] == "ama")
    assert "benchmarks/results/ama.md" in ama["source"] and ama["unknown"] == 0
    assert next(e for e in est["per_entry"] if e["backend"] == "vcg")["unknown"] == 6
    assert not (tmp_path / "s").exists()  # nothing written
    # finished cells give the estimate of the rest
    out = tmp_path / "tiny"
    run_sweep(config(tiny, out, sets=["n=2"], backends=["sp=format:second_price"]))
    _, est, text = dry_run(config(tiny, out, sets=["n=2,3"], backends=["sp=format:second_price"]))
    assert est["done"] == 1 and est["to_run"] == 1 and "median of 1 finished cell(s)" in text


def test_dry_run_counts_model_calls_and_money(tmp_path):
    lab = ROOT / "examples" / "lab_first_price.auction"
    _, est, text = dry_run(SweepConfig(spec=lab, simulate=True, seeds="2", out=tmp_path / "s",
                                       backends=["format:first_price,format:second_price"]))
    # 3 LLM bidders x 15 rounds with plan, bid and reflection calls: 132 per experiment
    assert est["model_calls"] == 4 * 132
    assert est["cost_usd"] > 0 and "model calls: 528" in text


# --------------------------------------------------------------------------
# Ray
# --------------------------------------------------------------------------


def test_ray_missing_is_a_usage_error(tiny, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what a machine without ray sees
    with pytest.raises(UsageError) as e:
        run_sweep(config(tiny, tmp_path / "s", ray=True))
    d = e.value.diagnostics[0]
    assert d.code == "E1105" and d.message == "--ray needs Ray, which is not installed"
    assert d.help == "pip install 'auctionc[ray]' (on the driver and on every node of the cluster)"
    assert not (tmp_path / "s").exists()


@needs_ray
def test_ray_sweep_with_a_killed_worker(tiny, tmp_path):
    """A local Ray runtime: the same rows as the local pool, outputs shipped back to the
    driver, and a worker process killed during a cell costs only that cell, retried."""
    out = tmp_path / "sweep"
    killed: list[int] = []

    def kill_first_lp(event, task, info):
        if event == "start" and task["entry"]["label"] == "lp" and not killed:
            killed.append(info["pid"])
            os.kill(info["pid"], signal.SIGKILL)

    cfg = config(tiny, out, ray=True, ray_cpus=2, jobs=None,
                 backends=["lp,sp=format:second_price,pp=format:posted_price"])
    run = run_sweep(cfg, on_event=kill_first_lp)
    assert killed and run.executor.startswith("local Ray runtime")
    assert run.counts == {"ok": 4, "failed": 2, "error": 0, "missing": 0}
    lp2 = by(run.rows, n=2.0, backend="lp")
    assert lp2["revenue"] == pytest.approx(OPTIMUM_N2, abs=1e-9) and lp2["attempts"] == 2
    assert by(run.rows, n=2.0, backend="sp")["revenue"] == pytest.approx(SECOND_PRICE_N2, abs=1e-9)
    assert by(run.rows, n=3.0, backend="pp")["diagnostic_code"] == "E0605"
    assert (out / lp2["out_dir"] / "mechanism.json").exists() and (out / lp2["out_dir"] / "row.json").exists()
    assert_one_row_per_cell(run, out)
    again = run_sweep(cfg)
    assert again.ran == 0 and again.skipped == 6


# --------------------------------------------------------------------------
# LLM bidders: the reply cache across Ray workers
# --------------------------------------------------------------------------

LAB = """auction lab {
    items 1
    bidders 2 {
        value ~ Uniform(0, 99)
        agent llm
    }
    mechanism first_price
    simulate { rounds 1 seed 3 integer_values true steps "combined" report false }
}
"""


@pytest.fixture(scope="module")
def local_model():
    try:
        import xllamacpp  # noqa: F401
        from auctionc.llm.local_server import find_local_gguf, free_port, server_reachable
    except ImportError:
        pytest.skip("xllamacpp is not installed: run tests/setup_local_llm.sh")
    if find_local_gguf() is None:
        pytest.skip("the SmolLM2 GGUF is not installed: run tests/setup_local_llm.sh")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "auctionc.llm.local_server", "--port", str(port),
                             "--threads", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    while not server_reachable(base, timeout=0.5):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail("the local model server did not start")
        time.sleep(0.3)
    yield base
    proc.terminate()
    proc.wait(20)


@pytest.mark.llm
@needs_ray
def test_ray_rerun_of_llm_cells_makes_no_model_call(local_model, tmp_path):
    spec = tmp_path / "lab.auction"
    spec.write_text(LAB)
    out = tmp_path / "sweep"
    cfg = SweepConfig(spec=spec, simulate=True, llm=True, api_base=local_model, seeds="2", out=out, ray=True,
                      ray_cpus=2, concurrency=1, figures=False)
    first = run_sweep(cfg)
    assert first.counts["ok"] == 2, [r["diagnostic"] for r in first.rows]
    assert all(r["model_calls"] >= 2 and r["cache_hits"] == 0 for r in first.rows)
    cached = sqlite3.connect(out / "llm_cache.sqlite").execute("SELECT COUNT(*) FROM replies").fetchone()[0]
    assert cached == sum(r["model_calls"] for r in first.rows)
    cfg.fresh = True
    second = run_sweep(cfg)
    assert second.ran == 2
    assert [r["model_calls"] for r in second.rows] == [0, 0]
    assert [r["cache_hits"] for r in second.rows] == [r["model_calls"] for r in first.rows]
    assert [r["revenue"] for r in second.rows] == [r["revenue"] for r in first.rows]

"""Files from someone else: checkpoints are plain data and belong to one run, output
directories hold one spec and one run at a time, paths a spec names stay in their folder, the
report never reads a file an artifact names, the grammar cache is the user's own."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest
import torch
from auctionc import api
from auctionc.errors import BackendError, PlanError, UsageError
from auctionc.frontend import load_text

DESIGN = """auction {name} {{
    items A, B
    bidder buyer {{ valuation additive  values ~ Uniform(0, {hi}) iid }}
    require IC, IR
    maximize revenue
}}
"""
MENU = {"size": 20, "batch": 128, "steps": 60, "checkpoint_every": 30, "test_samples": 1000}


def design(name: str = "mv", hi: int = 1):
    return load_text(DESIGN.format(name=name, hi=hi), f"{name}.auction")


class Planted:
    """A pickle that runs code when unpickled (it would create ``marker``)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


# ---------------------------------------------------------------- checkpoints


def test_resume_continues_only_the_same_run(tmp_path):
    spec = design()
    out = tmp_path / "out"
    first = api.compile(spec, "menu", MENU, seed=1, out=out, verify=False)
    assert first.stats["steps"] == 60
    blob = torch.load(out / "checkpoints" / "checkpoint.pt", weights_only=True)  # plain data
    assert blob["identity"]["spec_hash"] == spec.spec_hash() and blob["identity"]["options"]["size"] == 20
    # more steps: what --resume is for
    longer = api.compile(spec, "menu", {**MENU, "steps": 90}, seed=1, out=out, resume=True, verify=False)
    assert longer.stats["resumed_from"] == 60 and longer.stats["steps"] == 90
    # another option, another seed: another run's checkpoint
    with pytest.raises(BackendError) as e:
        api.compile(spec, "menu", {**MENU, "steps": 120, "lr": 0.02}, seed=1, out=out, resume=True, verify=False)
    assert e.value.diagnostics[0].code == "E0702" and "lr" in e.value.diagnostics[0].message
    with pytest.raises(BackendError) as e:
        api.compile(spec, "menu", {**MENU, "steps": 120}, seed=2, out=out, resume=True, verify=False)
    assert "the seed differs" in e.value.diagnostics[0].message


def test_resume_of_another_spec_is_refused(tmp_path):
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    api.compile(design("mv"), "menu", MENU, seed=1, out=out_a, verify=False)
    # the directory belongs to spec mv: compiling another spec into it is refused
    with pytest.raises(UsageError) as e:
        api.compile(design("other", 2), "menu", MENU, seed=1, out=out_a, resume=True, verify=False)
    assert e.value.diagnostics[0].code == "E0005" and "--force" in e.value.diagnostics[0].help
    # a checkpoint carried into another spec's directory is refused on --resume
    api.compile(design("other", 2), "menu", {**MENU, "steps": 30}, seed=1, out=out_b, verify=False)
    (out_b / "checkpoints" / "checkpoint.pt").write_bytes((out_a / "checkpoints" / "checkpoint.pt").read_bytes())
    with pytest.raises(BackendError) as e:
        api.compile(design("other", 2), "menu", MENU, seed=1, out=out_b, resume=True, verify=False)
    assert e.value.diagnostics[0].code == "E0702" and "the spec differs" in e.value.diagnostics[0].message


def test_a_crafted_checkpoint_is_refused_not_run(tmp_path):
    spec = design()
    out = tmp_path / "out"
    api.compile(spec, "menu", MENU, seed=1, out=out, verify=False)
    marker = tmp_path / "pwned"
    with open(out / "checkpoints" / "checkpoint.pt", "wb") as fh:
        pickle.dump({"modules": Planted(marker), "optimizer": {}, "state": {}}, fh)
    with pytest.raises(BackendError) as e:
        api.compile(spec, "menu", {**MENU, "steps": 90}, seed=1, out=out, resume=True, verify=False)
    assert e.value.diagnostics[0].code == "E0702" and "plain data" in e.value.diagnostics[0].message
    assert not marker.exists()


def test_bundleflow_checkpoint_and_flow_cache_are_plain_data(tmp_path):
    from auctionc.backends.bundleflow import flow as flows
    from auctionc.backends.bundleflow.train import _load_checkpoint

    marker = tmp_path / "pwned"
    bad = tmp_path / "ckpt.pt"
    torch.save({"menu": Planted(marker)}, bad)
    with pytest.raises(BackendError) as e:
        _load_checkpoint(bad, None)
    assert e.value.diagnostics[0].code == "E0722" and not marker.exists()
    # a planted flow cache file is not run: it is trained over
    path = flows.cache_path(tmp_path, 3, 4, 5, 0)
    torch.save({"state": Planted(marker), "info": {}}, path)
    field, info, cached = flows.load_or_train(3, cache_dir=tmp_path, hidden=4, iterations=5)
    assert cached is False and not marker.exists()
    assert flows.load_or_train(3, cache_dir=tmp_path, hidden=4, iterations=5)[2] is True


# ---------------------------------------------------------------- output directories


def test_one_run_per_output_directory(tmp_path):
    from auctionc.outputs import claim

    spec = design()
    with claim(tmp_path, spec):
        with pytest.raises(UsageError) as e:
            api.compile(spec, "menu", MENU, out=tmp_path, verify=False)
    assert e.value.diagnostics[0].code == "E0005" and "another auctionc run" in e.value.diagnostics[0].message
    api.compile(spec, "menu", MENU, out=tmp_path, verify=False)  # free again


def test_force_cleans_what_auctionc_wrote_and_keeps_the_rest(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    api.compile(design("mv"), "menu", MENU, seed=1, out=tmp_path, verify=False)
    assert (tmp_path / "checkpoints").exists()
    res = api.compile(design("other", 2), "lp", {"grid": 4}, out=tmp_path, force=True, verify=False)
    assert res.spec.name == "other"
    assert not (tmp_path / "checkpoints").exists()  # the old spec's checkpoint is gone
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert json.loads((tmp_path / "result.json").read_text())["spec"] == "other"


def test_cli_force_flag(tmp_path):
    from auctionc.cli import app
    from typer.testing import CliRunner

    for name, hi in (("first", 1), ("second", 2)):
        (tmp_path / f"{name}.auction").write_text(
            f"auction {name} {{ items 1 bidders 2 {{ value ~ Uniform(0, {hi}) }} mechanism second_price }}\n")
    runner = CliRunner()
    out = str(tmp_path / "out")
    assert runner.invoke(app, ["compile", str(tmp_path / "first.auction"), "--out", out, "-q", "--samples", "200"]).exit_code == 0
    r = runner.invoke(app, ["compile", str(tmp_path / "second.auction"), "--out", out, "-q", "--samples", "200"])
    assert r.exit_code == 2 and "E0005" in r.output
    r = runner.invoke(app, ["compile", str(tmp_path / "second.auction"), "--out", out, "-q", "--samples", "200", "--force"])
    assert r.exit_code == 0, r.output


# ---------------------------------------------------------------- paths a spec names


SIM = """auction lab {{
    items 1
    bidders 2 {{ value ~ Uniform(0, 99)  agent llm(model = "openai/fake-model", api_base = "http://127.0.0.1:9/v1") }}
    mechanism first_price
    simulate {{ rounds 1  cache "{cache}"  report false }}
}}
"""


@pytest.mark.parametrize("cache", ["/tmp/anywhere.sqlite", "../up.sqlite", "sub/../../up.sqlite"])
def test_simulate_cache_stays_in_the_output_directory(cache, tmp_path):
    from auctionc.backends.simulate import run_simulation

    spec = load_text(SIM.format(cache=cache), str(tmp_path / "lab.auction"))
    with pytest.raises(PlanError) as e:
        run_simulation(spec, out_dir=tmp_path / "out", progress=False)
    d = e.value.diagnostics[0]
    assert d.code == "E0808" and "--cache" in d.help
    assert not Path("/tmp/anywhere.sqlite").exists() or cache != "/tmp/anywhere.sqlite"


def test_simulate_cache_through_a_link_is_refused(tmp_path):
    from auctionc.backends.simulate.engine import _cache_file

    out = tmp_path / "out"
    out.mkdir()
    (out / "link").symlink_to(tmp_path)
    spec = load_text(SIM.format(cache="replies.sqlite"), str(tmp_path / "lab.auction"))
    assert _cache_file(out, "replies.sqlite", None, spec) == (out / "replies.sqlite").resolve()
    with pytest.raises(PlanError):
        _cache_file(out, "link/replies.sqlite", None, spec)
    assert _cache_file(out, "x", tmp_path / "shared.sqlite", spec) == tmp_path / "shared.sqlite"  # --cache


REGIONS = """auction r {{
    items 8
    bidder buyer {{ valuation xor from cats("regions", bids = {bids}, seed = 1) }}
    require IC, IR
    maximize revenue
    solve with bundleflow({opts})
}}
"""


@pytest.mark.parametrize("cache_dir", ["/tmp/flows", "../flows", "~/flows"])
def test_bundleflow_cache_dir_from_a_spec_stays_in_out(cache_dir):
    from auctionc.frontend import diagnose_text

    spec, diags = diagnose_text(REGIONS.format(bids=5, opts=f'cache_dir = "{cache_dir}"'))
    assert spec is None and diags[0].code == "E0604" and "-o cache_dir=" in diags[0].help


def test_bundleflow_cache_dir_lands_inside_out(tmp_path):
    from conftest import run_backend

    opts = ("samples = 60, menu = 4, support = 2, steps = 4, warmup = 4, eval_every = 2, flow_iterations = 3, "
            'flow_hidden = 4, baselines = false, cache_dir = "flows"')
    spec = load_text(REGIONS.format(bids=5, opts=opts))
    run_backend("bundleflow", spec, {}, out_dir=tmp_path / "out")
    assert list((tmp_path / "out" / "flows").glob("*.pt"))


def test_the_report_never_reads_the_source_an_artifact_names(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LINE")
    spec = load_text("auction fp { items 1 bidders 2 { value ~ Uniform(0, 1) } mechanism second_price }\n",
                     str(tmp_path / "fp.auction"))
    out = tmp_path / "out"
    api.compile(spec, out=out, verify_options={"samples": 200})
    assert "mechanism second_price" in (out / "report.md").read_text()  # the text the front end read
    doc = json.loads((out / "spec.json").read_text())
    doc["spec"]["source"] = str(secret)
    (out / "spec.json").write_text(json.dumps(doc))
    res = api.verify_path(out, samples=200)
    text = "".join(Path(f).read_text(errors="replace") for f in res.files.values() if str(f).endswith((".md", ".html")))
    assert "TOP-SECRET-LINE" not in text and '"second_price"' in text  # the IR is shown instead


# ---------------------------------------------------------------- the grammar cache


def test_grammar_cache_lives_in_a_private_directory(tmp_path, monkeypatch):
    from auctionc.dsl import parser

    monkeypatch.setenv("AUCTIONC_CACHE", str(tmp_path / "cache"))
    path = parser.grammar_cache_path()
    assert path is not None and path.startswith(str(tmp_path / "cache" / "grammar"))
    assert oct(os.stat(tmp_path / "cache" / "grammar").st_mode & 0o777) == "0o700"
    os.chmod(tmp_path / "cache" / "grammar", 0o777)  # anyone could plant a file: not used
    assert parser.grammar_cache_path() is None
    os.chmod(tmp_path / "cache" / "grammar", 0o700)
    Path(path).write_bytes(b"planted")
    os.chmod(path, 0o666)  # writable by others: not used
    assert parser.grammar_cache_path() is None
    os.unlink(path)
    os.symlink(tmp_path / "elsewhere", path)  # a link: not used
    assert parser.grammar_cache_path() is None


def test_lark_default_temp_cache_is_not_used():
    import inspect

    from auctionc.dsl import parser

    source = inspect.getsource(parser.lark_parser)
    assert "cache=True" not in source and "grammar_cache_path()" in source

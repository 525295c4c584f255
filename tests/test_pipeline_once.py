"""One compile runs each step once: the chosen backend is instantiated once, its options are
resolved once, ``accepts`` and ``compile`` are called once, and every file under the output
directory is written once (spies on the plugin interface and on ``open``)."""

from __future__ import annotations

import builtins
import io
from collections import Counter
from pathlib import Path

import auctionc
import pytest
from auctionc.plugins import registry
from auctionc.plugins.interface import Backend

ROOT = Path(__file__).resolve().parent.parent
MARKET = (ROOT / "examples" / "two_types_market.auction").read_text(encoding="utf-8")


class Spies:
    """Counts of backend instances and calls by backend name, and of file writes by path."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, out: Path) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.writes: Counter[Path] = Counter()
        spies = self

        def init(self: Backend, *args: object, **kwargs: object) -> None:
            spies.calls[(type(self).name, "__init__")] += 1

        monkeypatch.setattr(Backend, "__init__", init, raising=False)
        for name in registry.available_backends():
            cls = registry.backend_class(name)
            for method in ("accepts", "resolve_options", "compile"):
                monkeypatch.setattr(cls, method, self._counted(name, method, getattr(cls, method)))
        real_open = builtins.open

        def spy_open(file: object, mode: str = "r", *args: object, **kwargs: object):
            if isinstance(file, (str, Path)) and any(c in mode for c in "wax+"):
                path = Path(file).resolve()
                if path.is_relative_to(out.resolve()):
                    spies.writes[path] += 1
            return real_open(file, mode, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", spy_open)
        monkeypatch.setattr(io, "open", spy_open)  # pathlib's write_text opens through io.open

    def _counted(self, name: str, method: str, fn):
        spies = self

        def wrapper(backend: Backend, *args: object, **kwargs: object):
            spies.calls[(name, method)] += 1
            return fn(backend, *args, **kwargs)

        return wrapper

    def of(self, name: str) -> dict[str, int]:
        return {m: self.calls[(name, m)] for m in ("__init__", "resolve_options", "accepts", "compile")}


def _written(spies: Spies, out: Path) -> dict[str, int]:
    """Writes by file name; an atomic write (``X.tmp`` then a rename) counts as a write of X."""
    out_names: Counter[str] = Counter()
    for path, n in spies.writes.items():
        out_names[str(path.relative_to(out.resolve())).removesuffix(".tmp")] += n
    return dict(out_names)


def test_a_named_backend_is_built_once_and_each_file_written_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = auctionc.loads(MARKET)  # solve with lp
    out = tmp_path / "out"
    spies = Spies(monkeypatch, out)
    result = auctionc.compile(spec, out=out)
    assert result.backend == "lp" and result.ok
    assert spies.of("lp") == {"__init__": 1, "resolve_options": 1, "accepts": 1, "compile": 1}
    assert {name for name, _ in spies.calls} == {"lp"}, "no other backend is consulted when the spec names one"
    written = _written(spies, out)
    assert {"mechanism.json", "spec.json", "result.json", "report.md", "report.html"} <= set(written)
    assert all(n == 1 for n in written.values()), written


def test_the_planner_asks_each_backend_once_and_compiles_the_chosen_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = auctionc.loads(MARKET.replace("solve with lp", ""))
    out = tmp_path / "out"
    spies = Spies(monkeypatch, out)
    result = auctionc.compile(spec, out=out)
    assert result.backend == "lp"
    for name in registry.available_backends():
        counts = spies.of(name)
        assert counts["__init__"] == 1 and counts["accepts"] <= 1 and counts["resolve_options"] <= 1, (name, counts)
        assert counts["compile"] == (1 if name == "lp" else 0), (name, counts)
    assert spies.of("lp")["accepts"] == 1
    assert all(n == 1 for n in _written(spies, out).values())


def test_a_learned_compile_writes_its_figures_and_artifact_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = auctionc.load(ROOT / "examples" / "manelli_vincent.auction")  # solve with menu
    out = tmp_path / "out"
    spies = Spies(monkeypatch, out)
    options = {"steps": 40, "size": 20, "test_samples": 1000, "checkpoint_every": 0}
    result = auctionc.compile(spec, options=options, out=out, verify_options={"samples": 1000, "steps": 5, "restarts": 1})
    assert result.backend == "menu"
    assert spies.of("menu") == {"__init__": 1, "resolve_options": 1, "accepts": 1, "compile": 1}
    written = _written(spies, out)
    assert {"mechanism.json", "allocation.png", "training_curves.png", "report.md", "result.json"} <= set(written), written
    assert all(n == 1 for n in written.values()), written

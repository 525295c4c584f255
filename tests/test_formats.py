"""Standard formats: hand-computed outcomes, ties, reserves, fees, clocks, posted prices,
VCG against brute force, artifact round trips, diagnostics and the format backend."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
from auctionc import api, ir
from auctionc.errors import SpecError
from auctionc.mechanism import load_mechanism
from auctionc.mechanism.format_mechanism import FormatMechanism, format_mechanism
from conftest import accepts, run_backend


def U(lo: float = 0.0, hi: float = 1.0) -> ir.ValueExpr:
    return ir.ValueExpr(terms=(ir.Draw(dist=ir.Uniform(low=lo, high=hi)),), coefs=(1.0,))


def auction(n: int, m: int = 1, kind: str = "single", fmt: str = "second_price", **kw) -> ir.AuctionSpec:
    items = tuple(f"i{j}" for j in range(m))

    def val():
        if kind == "single":
            return ir.Single(value=U())
        if kind == "additive":
            return ir.Additive(values=tuple(U() for _ in items))
        if kind == "unit_demand":
            return ir.UnitDemand(values=tuple(U() for _ in items))
        bids = [ir.XorBid(bundle=b, value=U()) for r in range(1, m + 1) for b in itertools.combinations(items, r)]
        return ir.Xor(bids=tuple(bids))

    return ir.AuctionSpec(
        name="t", items=items, bidders=tuple(ir.Bidder(name=f"b{i}", valuation=val()) for i in range(n)),
        mechanism=ir.Format(name=fmt, **kw),
    )


def run(fmt: str, bids, n=None, m=1, kind="single", **kw):
    bids = np.asarray(bids, float)
    if bids.ndim == 2:
        bids = bids[:, :, None]
    s = auction(bids.shape[1], m, kind, fmt, **kw)
    return format_mechanism(s.mechanism, s).allocate_and_pay(bids)


PROFILE = [[0.55, 0.52, 0.30], [0.5, 0.5, 0.05]]


@pytest.mark.parametrize(
    "fmt, alloc, pay",
    [
        ("first_price", [[1, 0, 0], [.5, .5, 0]], [[.55, 0, 0], [.25, .25, 0]]),
        ("second_price", [[1, 0, 0], [.5, .5, 0]], [[.52, 0, 0], [.25, .25, 0]]),
        # n=3: third highest; in the second profile the third bid is below the reserve 0.1
        ("third_price", [[1, 0, 0], [.5, .5, 0]], [[.30, 0, 0], [.05, .05, 0]]),
        ("all_pay", [[1, 0, 0], [.5, .5, 0]], [[.55, .52, .30], [.5, .5, 0]]),
        ("vcg", [[1, 0, 0], [.5, .5, 0]], [[.52, 0, 0], [.25, .25, 0]]),
    ],
)
def test_sealed_bid_formats_with_reserve_and_ties(fmt, alloc, pay):
    a, p = run(fmt, PROFILE, reserve=0.1)
    np.testing.assert_allclose(a[..., 0], alloc, atol=1e-12)
    np.testing.assert_allclose(p, pay, atol=1e-12)


def test_reserve_excludes_low_bids_and_sets_the_floor():
    a, p = run("second_price", [[0.7, 0.2]], reserve=0.4)
    np.testing.assert_allclose(a[..., 0], [[1, 0]])
    np.testing.assert_allclose(p, [[0.4, 0]])
    a, p = run("first_price", [[0.3, 0.2]], reserve=0.4)
    assert a.sum() == 0 and p.sum() == 0


def test_entry_fee_is_paid_by_every_entrant_once():
    a, p = run("second_price", [[0.9, 0.6, 0.0]], entry_fee=0.05)
    np.testing.assert_allclose(p, [[0.6 + 0.05, 0.05, 0.0]])


def test_ascending_clock_rounds_to_the_increment():
    # levels 0, .1, ...: 0.55 outlasts 0.32 (last level .3) and pays the level .4 at which it is alone
    a, p = run("ascending_clock", [[0.55, 0.32]], increment=0.1)
    np.testing.assert_allclose(a[..., 0], [[1, 0]])
    np.testing.assert_allclose(p, [[0.4, 0]])
    # both drop out after level .5: the item is split at .5
    a, p = run("ascending_clock", [[0.55, 0.52]], increment=0.1)
    np.testing.assert_allclose(a[..., 0], [[.5, .5]])
    np.testing.assert_allclose(p, [[.25, .25]])
    # without an increment it is the second-price outcome
    a, p = run("ascending_clock", [[0.55, 0.52]])
    np.testing.assert_allclose(p, [[0.52, 0]])


def test_dutch_pays_the_bid_rounded_down_to_the_clock():
    a, p = run("dutch", [[0.57, 0.41]], increment=0.1)
    np.testing.assert_allclose(p, [[0.5, 0]])
    a, p = run("dutch", [[0.57, 0.41]], increment=0.25, start=1.0)  # levels 1, .75, .5, .25
    np.testing.assert_allclose(p, [[0.5, 0]])
    a, p = run("dutch", [[0.57, 0.52]], increment=0.1)  # both claim at .5: a tie
    np.testing.assert_allclose(a[..., 0], [[.5, .5]])


def test_several_items_run_item_by_item_and_say_so():
    s = auction(2, 2, "additive", "first_price")
    mech = format_mechanism(s.mechanism, s)
    a, p = mech.allocate_and_pay(np.array([[[0.9, 0.1], [0.2, 0.3]]]))
    np.testing.assert_allclose(a, [[[1, 0], [0, 1]]])
    np.testing.assert_allclose(p, [[0.9, 0.3]])
    assert any("item by item" in n for n in mech.notes)


def test_posted_price_sequential():
    a, p = run("posted_price", [[[0.9, 0.8], [0.7, 0.6]]], m=2, kind="unit_demand", price=0.5)
    np.testing.assert_allclose(a, [[[1, 0], [0, 1]]])  # b0 takes its best item, b1 the rest
    np.testing.assert_allclose(p, [[0.5, 0.5]])
    a, p = run("posted_price", [[[0.9, 0.8], [0.7, 0.6]]], m=2, kind="additive", prices=(0.5, 0.85))
    np.testing.assert_allclose(a, [[[1, 0], [0, 0]]])
    np.testing.assert_allclose(p, [[0.5, 0]])
    # XOR: bundle values [{}, {i0}, {i1}, {i0,i1}]: b0 prefers the pair (1.5 - 1.0 > 0.6 - 0.5)
    a, p = run("posted_price", [[[0, 0.6, 0.1, 1.5], [0, 0.9, 0.9, 0.9]]], m=2, kind="xor", price=0.5)
    np.testing.assert_allclose(a[0, 0], [0, 0, 0, 1])
    np.testing.assert_allclose(a[0, 1], [0, 0, 0, 0])
    np.testing.assert_allclose(p, [[1.0, 0]])


def _brute_vcg(v: np.ndarray, kinds: list[str], bundles: bool) -> tuple[float, np.ndarray]:
    """Welfare and Clarke payments by enumerating every assignment of items."""
    n, m = len(kinds), (int(np.log2(v.shape[1])) if bundles else v.shape[1])

    def value(i, owned):
        if bundles:
            return v[i, sum(1 << j for j in owned)]
        if not owned:
            return 0.0
        return max(v[i, j] for j in owned) if kinds[i] == "unit_demand" else sum(v[i, j] for j in owned)

    def best(excl):
        top = 0.0
        for a in itertools.product(range(-1, n), repeat=m):
            if any(x == excl for x in a):
                continue
            if any(kinds[i] == "unit_demand" and a.count(i) > 1 for i in range(n)):
                continue
            top = max(top, sum(value(i, [j for j in range(m) if a[j] == i]) for i in range(n)))
        return top

    W = best(None)
    return W, np.array([best(i) for i in range(n)])


@pytest.mark.parametrize("kind", ["unit_demand", "additive", "xor"])
def test_vcg_matches_brute_force(kind):
    rng = np.random.default_rng(3)
    n, m = 3, 2
    s = auction(n, m, kind, "vcg")
    mech = format_mechanism(s.mechanism, s)
    dim = 4 if kind == "xor" else m
    bids = rng.random((20, n, dim))
    if kind == "xor":  # XOR values are monotone in the bundle
        bids[:, :, 0] = 0
        bids[:, :, 3] = np.maximum(bids[:, :, 3], np.maximum(bids[:, :, 1], bids[:, :, 2]))
    alloc, pay = mech.allocate_and_pay(bids)
    for t in range(len(bids)):
        W, W_minus = _brute_vcg(bids[t], [kind] * n, kind == "xor")
        vals = (bids[t] * alloc[t]).sum(axis=1)
        assert vals.sum() == pytest.approx(W, abs=1e-9)
        np.testing.assert_allclose(pay[t], W_minus - (W - vals), atol=1e-9)


def test_vcg_unit_demand_many_items_uses_the_assignment_solver():
    s = auction(2, 7, "unit_demand", "vcg")  # 3^7 > 4096 assignments
    mech = format_mechanism(s.mechanism, s)
    bids = np.zeros((1, 2, 7))
    bids[0, 0, :2] = [0.9, 0.8]
    bids[0, 1, :2] = [0.7, 0.1]
    a, p = mech.allocate_and_pay(bids)
    np.testing.assert_allclose(a[0, :, :2], [[0, 1], [1, 0]])
    np.testing.assert_allclose(p, [[0.0, 0.1]], atol=1e-9)


def test_artifact_round_trip(tmp_path):
    s = auction(3, 1, "single", "ascending_clock", increment=0.1, reserve=0.2)
    mech = format_mechanism(s.mechanism, s)
    mech.save(tmp_path)
    back = load_mechanism(tmp_path)
    assert isinstance(back, FormatMechanism) and back.meta.to_json() == mech.meta.to_json()
    bids = np.random.default_rng(0).random((50, 3, 1))
    for x, y in zip(mech.allocate_and_pay(bids), back.allocate_and_pay(bids), strict=True):
        np.testing.assert_array_equal(x, y)


def test_diagnostics_for_formats_that_cannot_run():
    s = auction(2, 2, "xor", "vcg")
    with pytest.raises(SpecError) as e:
        format_mechanism(ir.Format(name="first_price"), s)
    assert e.value.diagnostics[0].code == "E0420"
    assert "XOR" in e.value.diagnostics[0].message
    with pytest.raises(SpecError) as e:
        format_mechanism(ir.Format(name="posted_price"), auction(1))
    assert e.value.diagnostics[0].code == "E0423"
    assert e.value.diagnostics[0].message == "posted_price needs a price"


def test_format_backend_accepts_compiles_and_refuses(tmp_path):
    from auctionc.plugins.interface import CompileResult

    s = auction(2, 1, "single", "second_price")
    assert accepts("format", s).ok
    res = run_backend("format", s, {}, seed=3, out_dir=tmp_path)
    assert isinstance(res, CompileResult) and res.mechanism.kind == "format"
    assert not (tmp_path / "mechanism.json").exists()  # a backend never saves: the API does, once
    out = api.compile(s, "format", seed=3, out=tmp_path, verify=False)
    assert out.artifact == tmp_path / "mechanism.json" and out.mechanism.meta.seed == 3
    design = s.model_copy(update={"mechanism": None, "objective": ir.Objective(terms=("revenue",), weights=(1.0,))})
    v = accepts("format", design)
    assert not v.ok and "names none" in v.reasons[0]
    bad = auction(2, 2, "xor", "first_price")
    assert not accepts("format", bad).ok


def test_backend_module_does_not_import_torch():
    code = "import sys, auctionc.backends.format.backend, auctionc.mechanism.format_mechanism; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

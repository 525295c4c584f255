"""CATS generators: structural invariants per distribution, dominance, extraction, file I/O."""

from __future__ import annotations

import numpy as np
import pytest
from auctionc import cats
from auctionc.cats import BidSet, XorBatch, XorValuation


def _groups(inst: cats.CatsInstance) -> list[list[cats.Bid]]:
    by: dict[int, list[cats.Bid]] = {}
    for b in inst.bids:
        d = [g for g in b.goods if g >= inst.goods]
        by.setdefault(d[0] if d else -1 - len(by), []).append(b)
    return list(by.values())


def _real(b: cats.Bid, m: int) -> frozenset[int]:
    return frozenset(g for g in b.goods if g < m)


def test_bidset_removes_dominated_bids_and_singleton_dummies() -> None:
    bs = BidSet(4)
    bs.add([0, 1], 10.0)
    bs.add([0, 1, 2], 9.0)  # superset at a lower price: dominated
    bs.add([0, 1, 2], 12.0)  # superset at a higher price: kept
    assert sorted((b.goods, b.amount) for b in bs.bids()) == [((0, 1), 10.0), ((0, 1, 2), 12.0)]
    bs.add_xor([3], 5.0)
    bs.add_xor([0, 1, 3], 8.0)  # dominated by the plain bid {0, 1} at 10
    bs.done_xor()
    # the XOR bid left alone loses its dummy good (index 4)
    assert ((3,), 5.0) in [(b.goods, b.amount) for b in bs.bids()]
    assert all(g < 4 for b in bs.bids() for g in b.goods)


@pytest.mark.parametrize("dist", ["regions", "arbitrary"])
def test_regions_value_formula_and_substitutes(dist: str) -> None:
    # deviation 0 makes every private value 0: a bid is worth sum(c_g) + |S|^1.2 exactly
    m = 16
    inst = cats.generate(dist, m, seed=3, bids=120, deviation=0.0, remove_dominated=False)
    rows, rhs = [], []
    for b in inst.bids:
        s = _real(b, m)
        row = np.zeros(m)
        row[list(s)] = 1
        rows.append(row)
        rhs.append(b.amount - len(s) ** 1.2)
    c, *_ = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)
    assert np.abs(np.array(rows) @ c - np.array(rhs)).max() < 1e-6
    used = np.array(rows).any(0)
    assert (c[used] >= 1 - 1e-6).all() and (c[used] <= 100 + 1e-6).all()
    n_xor = 0
    for g in _groups(inst):
        if len(g) == 1:
            continue
        n_xor += 1
        orig, subs = g[0], g[1:]
        size = len(_real(orig, m))
        common0 = orig.amount - size**1.2
        assert len(subs) <= 5
        assert len({_real(b, m) for b in g}) == len(g)
        for b in subs:
            assert len(_real(b, m)) == size
            assert 0 <= b.amount <= 1.5 * orig.amount + 1e-9
            assert b.amount - size**1.2 >= 0.5 * common0 - 1e-9
    assert n_xor > 5


@pytest.mark.parametrize("dist,m", [("regions", 25), ("arbitrary", 20), ("scheduling", 20), ("matching", 16), ("paths", 30)])
def test_no_dominated_bids_remain_and_seeded(dist: str, m: int) -> None:
    inst = cats.generate(dist, m, seed=5, bids=60)
    assert inst.n_bids >= 60
    bids = [(frozenset(b.goods), b.amount) for b in inst.bids]
    if dist == "paths":
        # CATS skips dominance checks when bidders bid on several routes
        bids = []
    for i, (gi, ai) in enumerate(bids):
        for j, (gj, aj) in enumerate(bids):
            if i != j:
                assert not (gj <= gi and aj >= ai), (inst.bids[i], inst.bids[j])
    again = cats.generate(dist, m, seed=5, bids=60)
    assert again.bids == inst.bids


def test_scheduling_bids_are_windows_of_one_length() -> None:
    m = 24
    inst = cats.generate("scheduling", m, seed=1, bids=80, remove_dominated=False)
    for g in _groups(inst):
        lengths = {len(_real(b, m)) for b in g}
        assert len(lengths) == 1
        for b in g:
            s = sorted(_real(b, m))
            assert s == list(range(s[0], s[-1] + 1))
        # later deadlines are worth less: d_1 / d <= 1, so values never increase along the slots
        ends = [max(_real(b, m)) for b in g]
        vals = [b.amount for _, b in sorted(zip(ends, g, strict=True), key=lambda t: t[0])]
        assert all(vals[i + 1] <= vals[i] + 1e-9 for i in range(len(vals) - 1))


def test_matching_bids_pair_a_takeoff_and_a_later_landing() -> None:
    m = 40
    inst = cats.generate("matching", m, seed=2, bids=60)
    for b in inst.bids:
        s = sorted(_real(b, m))
        assert len(s) == 2
        t1, t2 = s[0] // 4, s[1] // 4
        assert t2 > t1 or (t2 >= t1 and s[0] % 4 != s[1] % 4)
        assert s[0] % 4 != s[1] % 4 and {s[0] % 4, s[1] % 4} != {2, 3}
        assert 0 < b.amount <= 1.5 * 10 * 0.75**-0 + 1e-9


def test_paths_routes_of_one_bidder_share_the_amount() -> None:
    inst = cats.generate("paths", 40, seed=4, bids=100)
    assert 40 <= inst.goods <= 60
    for g in _groups(inst):
        assert len({b.amount for b in g}) == 1


def test_file_round_trip_and_errors(tmp_path) -> None:
    inst = cats.generate("regions", 20, seed=9, bids=30)
    path = cats.write_cats(inst, tmp_path / "r.txt")
    back = cats.read_cats(path)
    assert back.bids == inst.bids and back.goods == inst.goods and back.dummy == inst.dummy
    assert back.distribution == "regions" and back.seed == 9 and back.params == inst.params
    text = "%% CATS file\ngoods 3\nbids 2\ndummy 1\n\n0\t5.5\t0\t1\t3\t#\n1\t2\t2\t3\t#\n"
    got = cats.loads(text)
    assert [(b.amount, b.goods) for b in got.bids] == [(5.5, (0, 1, 3)), (2.0, (2, 3))]
    assert [v.values.tolist() for v in cats.extract_bidders(got)] == [[5.5, 2.0]]
    with pytest.raises(cats.CatsFormatError, match="good 7 is out of range"):
        cats.loads("goods 3\nbids 1\ndummy 0\n0 1.0 7 #\n")
    with pytest.raises(cats.CatsFormatError, match="expected label 'bids'"):
        cats.loads("goods 3\nbid 1\n")


def test_extraction_and_xor_values() -> None:
    inst = cats.generate("arbitrary", 12, seed=0, bids=40)
    bidders = cats.extract_bidders(inst)
    assert sum(len(v.values) for v in bidders) == inst.n_bids
    v = XorValuation(np.array([[1, 1, 0, 0], [0, 0, 1, 0]]), np.array([5.0, 3.0]))
    assert v.value([1, 1, 1, 0]) == 5.0 and v.value([0, 1, 1, 1]) == 3.0 and v.value([1, 0, 0, 1]) == 0.0
    batch = XorBatch.from_valuations(bidders, 12)
    rng = np.random.default_rng(0)
    s = (rng.random((50, 12)) < 0.6).astype(np.uint8)
    table = batch.values_of(s, chunk=7)
    for i in range(0, len(bidders), 5):
        assert np.allclose(table[i], [bidders[i].value(row) for row in s])
    assert np.allclose(batch.grand_values(), [b.values.max() for b in bidders])


def test_sample_valuations_and_option_errors() -> None:
    data = cats.sample_valuations("regions", 16, 30, seed=1, bids=20)
    assert data.bundles.shape[0] == 30 and data.bundles.shape[2] == 16
    assert np.array_equal(cats.sample_valuations("regions", 16, 30, seed=1, bids=20).values, data.values)
    with pytest.raises(cats.CatsOptionError) as e:
        cats.generate("regions", 10, seed=0, bids=10, jump_prb=0.1)
    assert e.value.suggestion == "jump_prob"
    with pytest.raises(cats.CatsOptionError, match="unknown CATS distribution 'region'"):
        cats.generate("region", 10)

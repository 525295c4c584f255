"""Another tool's transcripts: the released logs of Shah et al. (2025) in the layout of their
repository, read into our rounds and measured with our metrics (tests/fixtures/llm_auction_logs:
a hand-made fixture in that layout whose expected figures are in its README)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from auctionc import api
from auctionc.errors import BackendError

FIXTURE = Path(__file__).parent / "fixtures" / "llm_auction_logs"


@pytest.fixture(scope="module")
def rows():
    return {r["treatment"].split("V10/")[-1]: r for r in api.analyze_logs(FIXTURE)}


def val(x):
    return x["value"] if isinstance(x, dict) and "value" in x else x


@pytest.mark.parametrize("name,auctions,ratio,at,over,under,revenue", [
    ("private_second_price", 3, 0.989, 4 / 9, 1 / 9, 4 / 9, 65.0),
    ("GPT-4o/private_first_price", 2, 0.840, 0.0, 0.0, 1.0, 51.5),
    ("common_spsb_3", 2, 0.930, 1 / 6, 1 / 6, 4 / 6, 40.0),
    ("affiliated_ac", 2, 0.909, 0.5, 0.0, 0.5, 20.0),  # losers' exit prices only
])
def test_fixture_figures(rows, name, auctions, ratio, at, over, under, revenue):
    r = rows[name]
    b, m = r["behaviour"], r["metrics"]
    assert r["auctions"] == auctions
    assert b["bid_value_ratio"]["mean"] == pytest.approx(ratio, abs=5e-4)
    assert (val(b["share_at_value"]), val(b["share_over"]), val(b["share_under"])) == pytest.approx((at, over, under), abs=1e-5)
    assert val(m["revenue"]) == pytest.approx(revenue)
    assert val(m["efficiency"]) == 1.0


def test_winners_curse_and_ebay(rows):
    common = rows["common_spsb_3"]["behaviour"]
    assert val(common["winner_profit"]) == pytest.approx(-2.5) and val(common["p_winner_loses"]) == 0.5
    ebay = rows["ebay_closing_rule_with_hidden_reserve_60"]
    assert ebay["format"] == "ebay" and val(ebay["metrics"]["revenue"]) == 67.0 and val(ebay["metrics"]["sold_share"]) == 1.0
    assert val(ebay["behaviour"]["timing"]["days"]) == 4.0  # extended once, to 4 days
    assert rows["deepseek/FPSB_IPV.csv"]["format"] == "first_price"


def test_unreadable_logs_are_E0818(tmp_path):
    with pytest.raises(BackendError) as e:
        api.analyze_logs(tmp_path / "missing")
    assert e.value.diagnostics[0].code == "E0818"
    with pytest.raises(BackendError) as e:
        api.analyze_logs(tmp_path)  # no treatment
    assert e.value.diagnostics[0].code == "E0818" and "no treatment" in e.value.diagnostics[0].message
    bad = tmp_path / "private_first_price"
    bad.mkdir()
    (bad / "result_3_x.json").write_text("{not json")
    with pytest.raises(BackendError) as e:
        api.analyze_logs(tmp_path)
    assert e.value.diagnostics[0].code == "E0818" and "cannot be read" in e.value.diagnostics[0].message


def test_cli_analyze_json():
    out = subprocess.run([sys.executable, "-m", "auctionc", "analyze", str(FIXTURE), "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["ok"] and len(doc["treatments"]) == 6

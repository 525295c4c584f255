"""Another tool's transcripts as our rounds: the released logs of Shah et al. (2025), in the
layout of their public repository (KeHang-Zhu/llm-auction, ``experiment_logs/V10``), read
into ``RoundRecord``s so that every metric of a simulation report is computed for them.

* ``<treatment>/result_<R>_<time>.json``: one session of R sealed-bid or clock rounds.  Values
  are in ``value`` (bidder order Andy, Betty, Charles, ...), bids in ``history["bidding
  history"]`` (clocks: exit prices in exit order, then the winner's entry), the winner and
  price in ``history["winner"]``, the common part in ``common``.  A file with fewer rounds
  than the treatment's usual number is a pilot and is left out.
* ``ebay_*/result_<D>_<time>.csv``: one eBay auction, a row per bidder-turn; the last row
  gives the outcome (sold iff its price reaches the reserve).
* ``deepseek/{FPSB,SPSB}_IPV.csv``: rows ``round,bidder,value,bid``; a session restarts when
  ``round`` does.

The treatment's format and value model are read from its directory name (``private_``,
``affiliated_``, ``common_``, ``_first_price``/``fpsb``, ``_ac``, ``intervention_``,
``ebay_``...), as the study named them.  Files are parsed as JSON and CSV only (the eBay
``max_bids`` column, a Python dict literal, through ``ast.literal_eval``): nothing in a log
is run.
"""

from __future__ import annotations

import ast
import csv
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auctionc import ir
from auctionc.backends.simulate.records import RoundRecord

NAMES = ("Andy", "Betty", "Charles", "David", "Ethel", "Florian")
MAX_FILE_BYTES = 50 * 1024 * 1024
"""The largest log file read (the study's biggest result file is under 1 MB)."""


@dataclass
class Treatment:
    name: str
    format: str
    information: str
    n: int
    records: list[RoundRecord] = field(default_factory=list)
    files: int = 0
    skipped: list[str] = field(default_factory=list)
    reserve: float = 0.0
    closing: str | None = None


def classify(name: str) -> tuple[str, str] | None:
    """(format, value model) of a treatment directory, or None when the name says neither."""
    low = name.lower()
    if low.startswith("ebay"):
        return "ebay", "ipv"
    info = "affiliated" if low.startswith("affiliated") else "common" if low.startswith("common") else "ipv"
    if re.search(r"(^|_)ac($|_)", low):
        return "ascending_clock", info
    for key, fmt in (("first_price", "first_price"), ("fpsb", "first_price"), ("second_price", "second_price"),
                     ("spsb", "second_price"), ("third_price", "third_price"), ("all_pay", "all_pay")):
        if key in low:
            return fmt, info
    if low.startswith("intervention"):
        return "second_price", "ipv"
    return None


def _agent_index(agent: str) -> int | None:
    name = agent.removeprefix("Bidder ").strip()
    return NAMES.index(name) if name in NAMES else None


def _read_text(path: Path) -> str:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"{path.name} is larger than {MAX_FILE_BYTES // 2**20} MB")
    return path.read_text(encoding="utf-8")


def _json_session(doc: dict[str, Any], fmt: str, info: str, experiment: int) -> list[RoundRecord]:
    out = []
    for key in sorted((k for k in doc if k.startswith("round_")), key=lambda k: int(k.split("_")[1])):
        r = doc[key]
        values = [float(v) for v in r["value"]]
        n = len(values)
        bids: list[float | None] = [None] * n
        for entry in r["history"]["bidding history"]:
            i = _agent_index(str(entry.get("agent", "")))
            if i is not None and i < n and bids[i] is None:
                bids[i] = float(entry["bid"])
        w = r["history"].get("winner") or {}
        winner = _agent_index(str(w.get("winner", "")))
        price = float(w.get("price", 0.0) or 0.0)
        common = float(r.get("common", 0) or 0)
        payments = [0.0] * n
        if fmt == "all_pay":
            payments = [b or 0.0 for b in bids]
        elif winner is not None:
            payments[winner] = price
        obs = values
        if info == "common":  # the logged values are the signals; everyone's value is the common one
            values = [common] * n
        profits = [float(p) for p in r.get("profit", [0.0] * n)]
        plans = r.get("plan") or []
        texts = [{"plan": str(p)} if p else {} for p in plans] + [{}] * (n - len(plans))
        out.append(RoundRecord(experiment, int(r.get("round", len(out))), values, obs,
                               common if info != "ipv" else None, bids, winner, price, payments, profits,
                               0, [False] * n, texts[:n]))
    return out


def _ebay_auction(path: Path, experiment: int, n_hint: int = 3) -> tuple[RoundRecord, float]:
    rows = list(csv.DictReader(_read_text(path).splitlines()))
    if not rows:
        raise ValueError(f"{path.name} has no rows")
    last = rows[-1]
    maxes_doc = ast.literal_eval(last["max_bids"])
    n = max(len(maxes_doc), n_hint)
    values: list[float | None] = [None] * n
    events = []
    for row in rows:
        i = _agent_index(row["agent_selected"])
        if i is None:
            continue
        if row.get("value") not in (None, ""):
            values[i] = float(row["value"])
        amount = float(row.get("bid") or 0.0)
        events.append({"day": int(row["period_id"]), "turn": int(row["turn_id"]), "bidder": i,
                       "action": row["action"], "amount": amount, "price": float(row["current_price"]),
                       "leader": _agent_index(row.get("highest_bidder") or "")})
    maxes: list[float | None] = [None] * n
    for agent, m in maxes_doc.items():
        i = _agent_index(str(agent))
        if i is not None and float(m) > 0:
            maxes[i] = float(m)
    reserve = float(last["reserve_price"] or 0)
    price = float(last["current_price"])
    leader = _agent_index(last.get("highest_bidder") or "")
    sold = leader is not None and price >= reserve
    winner = leader if sold else None
    vals = [v if v is not None else float("nan") for v in values]
    payments = [0.0] * n
    profits = [0.0] * n
    if winner is not None:
        payments[winner] = price
        profits[winner] = vals[winner] - price
    days = int(re.match(r"result_(\d+)_", path.name).group(1)) if re.match(r"result_(\d+)_", path.name) else \
        1 + max(e["day"] for e in events)
    return RoundRecord(experiment, 0, vals, vals, None, maxes, winner, price if sold else 0.0, payments, profits,
                       days, [False] * n, [{} for _ in range(n)], events=events), reserve


def _deepseek(path: Path) -> list[RoundRecord]:
    fmt = "first_price" if path.name.upper().startswith("FPSB") else "second_price"
    rows = list(csv.DictReader(_read_text(path).splitlines()))
    out: list[RoundRecord] = []
    session, prev, group = 0, None, []

    def close(group: list[dict[str, str]], rnd: int) -> None:
        values = [float(g["value"]) for g in group]
        bids: list[float | None] = [float(g["bid"]) for g in group]
        top = max(range(len(bids)), key=lambda i: bids[i])  # ties: the first listed (the log has no draw)
        others = sorted((b for i, b in enumerate(bids) if i != top), reverse=True)
        price = bids[top] if fmt == "first_price" else (others[0] if others else 0.0)
        payments = [0.0] * len(bids)
        payments[top] = price
        profits = [values[i] - price if i == top else 0.0 for i in range(len(bids))]
        out.append(RoundRecord(session, rnd, values, values, None, bids, top, price, payments, profits,
                               0, [False] * len(bids), [{} for _ in bids]))

    for row in rows:
        rnd = int(row["round"])
        if prev is not None and rnd != prev:
            close(group, prev - 1)
            group = []
            if rnd < prev:
                session += 1
        group.append(row)
        prev = rnd
    if group and prev is not None:
        close(group, prev - 1)
    return out


def read_logs(root: Path) -> list[Treatment]:
    """Every treatment under ``root`` (a repository, ``experiment_logs/V10``, or one treatment
    folder), with its records; a folder whose name says no format is left out."""
    root = Path(root)
    dirs = sorted({p.parent for p in root.rglob("result_*") if p.suffix in (".json", ".csv")})
    out: list[Treatment] = []
    for d in dirs:
        kind = classify(d.name)
        if kind is None:
            continue
        fmt, info = kind
        t = Treatment(d.relative_to(root).as_posix() if d != root else d.name, fmt, info, 0)
        if fmt == "ebay":
            for f in sorted(d.glob("result_*.csv")):
                rec, reserve = _ebay_auction(f, t.files)
                if any(v != v for v in rec.values):  # NaN: some releases lack the value column
                    t.skipped.append(f"{f.name} (a bidder's value is not in the log)")
                    continue
                t.records.append(rec)
                t.reserve = max(t.reserve, reserve)
                t.files += 1
            t.closing = "soft" if "closing" in d.name else "hard"
        else:
            files = sorted(d.glob("result_*.json"))
            lengths = Counter(int(m.group(1)) for f in files if (m := re.match(r"result_(\d+)_", f.name)))
            usual = lengths.most_common(1)[0][0] if lengths else 0
            for f in files:
                m = re.match(r"result_(\d+)_", f.name)
                if m and int(m.group(1)) < usual:
                    t.skipped.append(f"{f.name} (a pilot of {m.group(1)} rounds)")
                    continue
                t.records += _json_session(json.loads(_read_text(f)), fmt, info, t.files)
                t.files += 1
        if t.records:
            t.n = len(t.records[0].values)
            out.append(t)
    for f in sorted(root.rglob("*_IPV.csv")):
        records = _deepseek(f)
        if records:
            fmt = "first_price" if f.name.upper().startswith("FPSB") else "second_price"
            out.append(Treatment(f.relative_to(root).as_posix(), fmt, "ipv", len(records[0].values), records,
                                 files=1 + max(r.experiment for r in records)))
    return out


def treatment_spec(t: Treatment) -> ir.AuctionSpec:
    """The spec the study's treatment ran (its value model as released), for the theory
    columns of the metrics."""
    def draw(lo: float, hi: float) -> ir.ValueExpr:
        return ir.ValueExpr(terms=(ir.Draw(dist=ir.Uniform(low=lo, high=hi)),), coefs=(1.0,))

    common: tuple[ir.CommonVar, ...] = ()
    if t.information == "affiliated":
        common = (ir.CommonVar(name="c", dist=ir.Uniform(low=0, high=20)),)
        val = ir.ValueExpr(terms=(ir.CommonRef(name="c"), ir.Draw(dist=ir.Uniform(low=0, high=20))), coefs=(1.0, 1.0))
        bidders = tuple(ir.Bidder(name=NAMES[i], valuation=ir.Single(value=val)) for i in range(t.n))
    elif t.information == "common":
        common = (ir.CommonVar(name="V", dist=ir.Uniform(low=20, high=79)),)
        sig = ir.ValueExpr(terms=(ir.CommonRef(name="V"), ir.Draw(dist=ir.Uniform(low=-20, high=20))), coefs=(1.0, 1.0))
        val = ir.ValueExpr(terms=(ir.CommonRef(name="V"),), coefs=(1.0,))
        bidders = tuple(ir.Bidder(name=NAMES[i], valuation=ir.Single(value=val), signal=sig) for i in range(t.n))
    else:
        bidders = tuple(ir.Bidder(name=NAMES[i], valuation=ir.Single(value=draw(0, 99))) for i in range(t.n))
    kw: dict[str, Any] = {}
    if t.format == "ascending_clock":
        kw = {"increment": 1.0, "start": 0.0, "announce_dropouts": "closed" not in t.name}
    if t.format == "ebay":
        kw = {"days": 10, "closing": t.closing, "reserve": t.reserve, "hidden_reserve": t.reserve > 0,
              "increment": 1.0, "start": 0.0}
    # whole-number values drawn with Python's random, as the study drew them (the exact theory of
    # whole values, e.g. the eBay truthful-proxy revenue, applies)
    return ir.AuctionSpec(name=re.sub(r"\W", "_", t.name), items=("item",), bidders=bidders, common=common,
                          mechanism=ir.Format(name=t.format, **kw),
                          simulate=ir.Simulate(integer_values=True, draws="python_random"))


def analyze(root: Path) -> list[dict[str, Any]]:
    """Our metrics (``behaviour.summarise``) for every treatment of the logs under ``root``."""
    from auctionc.backends.simulate import rules as format_rules
    from auctionc.backends.simulate.behaviour import summarise
    from auctionc.backends.simulate.theory import info_model

    out = []
    for t in read_logs(root):
        spec = treatment_spec(t)
        fmt = spec.mechanism
        assert fmt is not None
        model = info_model(spec)
        rules = None
        if fmt.name in format_rules.DYNAMIC_NAMES:
            hi = max(max(r.obs) for r in t.records)
            rules = format_rules.clock_rules(fmt, hi, 0.0)
        metrics, behaviour, theory = summarise(spec, model, fmt, t.records, rules, 0)
        out.append({"treatment": t.name, "format": t.format, "information": t.information, "bidders": t.n,
                    "sessions": t.files, "auctions": len(t.records), "skipped": t.skipped,
                    "metrics": metrics, "behaviour": behaviour,
                    "theory": {k: v for k, v in theory.items() if k not in ("anchors",)}})
    return out

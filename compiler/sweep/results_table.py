"""The results table of a sweep: one row per cell, as Parquet (pyarrow) and CSV.

Only the driver writes it.  Each finished cell replaces the cell's row (a cell rerun after
an error keeps one row) and both files are rewritten at once, each to a temporary file
that then replaces the old one, so a driver killed at any moment leaves the last complete
table: no finished row is lost and none is half-written.  A rerun reads the Parquet file
(the CSV when the Parquet file is gone) and skips the cells it holds.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic
from ..errors import UsageError

E_TABLE = "E1104"

PARQUET = "results.parquet"
CSV = "results.csv"
FORMAT_VERSION = "1"

# (column, arrow type name); param_<name> columns follow these, typed by their values.
COLUMNS: list[tuple[str, str]] = [
    ("cell", "string"), ("index", "int64"), ("spec", "string"), ("spec_file", "string"),
    ("spec_hash", "string"), ("setting", "string"), ("params", "string"), ("backend", "string"),
    ("backend_name", "string"), ("format", "string"), ("options", "string"), ("seed", "int64"),
    ("mode", "string"), ("status", "string"),
    ("revenue", "float64"), ("revenue_ci_low", "float64"), ("revenue_ci_high", "float64"),
    ("welfare", "float64"), ("welfare_ci_low", "float64"), ("welfare_ci_high", "float64"),
    ("efficiency", "float64"), ("certificate_kind", "string"), ("certificate_ok", "bool"),
    ("max_regret", "float64"), ("solve_s", "float64"), ("verify_s", "float64"), ("seconds", "float64"),
    ("model_calls", "int64"), ("cache_hits", "int64"), ("cost_usd", "float64"),
    ("auctionc_version", "string"), ("versions", "string"), ("diagnostic_code", "string"),
    ("diagnostic", "string"), ("attempts", "int64"), ("worker", "string"), ("out_dir", "string"),
    ("finished_at", "string"),
]
_TYPES = dict(COLUMNS)


def _coerce(value: Any, kind: str) -> Any:
    if value is None or value == "":
        return None
    if kind == "float64":
        return float(value)
    if kind == "int64":
        return int(float(value))
    if kind == "bool":
        return value if isinstance(value, bool) else str(value).strip().lower() == "true"
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _param_type(values: list[Any]) -> str:
    present = [v for v in values if v is not None and v != ""]
    try:
        [float(v) for v in present]
    except (TypeError, ValueError):
        return "string"
    return "float64"


class ResultsTable:
    """The rows of one sweep directory, keyed by cell."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.rows: dict[str, dict[str, Any]] = {}

    @property
    def parquet_path(self) -> Path:
        return self.directory / PARQUET

    @property
    def csv_path(self) -> Path:
        return self.directory / CSV

    # ------------------------------------------------------------------ read

    def load(self) -> ResultsTable:
        """The rows on disk (none when the sweep is new)."""
        if self.parquet_path.exists():
            import pyarrow.parquet as pq

            try:
                rows = pq.read_table(self.parquet_path).to_pylist()
            except Exception as e:  # noqa: BLE001 - any unreadable file gets the same answer
                raise UsageError(Diagnostic(
                    E_TABLE, f"cannot read the results table {self.parquet_path} ({type(e).__name__}: {e})",
                    help="remove the file to rebuild it from results.csv, or rerun with --fresh")) from None
        elif self.csv_path.exists():
            with self.csv_path.open(newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            for r in rows:
                for k, v in r.items():
                    r[k] = _coerce(v, _TYPES.get(k, "string")) if k in _TYPES else (v if v != "" else None)
        else:
            rows = []
        for r in rows:
            if not r.get("cell"):
                raise UsageError(Diagnostic(
                    E_TABLE, f"the table in {self.directory} has a row without a cell key",
                    help="this is not an auctionc sweep table; use another --out or rerun with --fresh"))
            self.rows[r["cell"]] = r
        return self

    # ------------------------------------------------------------------ write

    def put(self, row: dict[str, Any]) -> None:
        """Record a finished cell (replacing an earlier row of the same cell) and write."""
        self.rows[row["cell"]] = row
        self.write()

    def columns(self) -> list[tuple[str, str]]:
        rows = list(self.rows.values())
        extra = sorted({k for r in rows for k in r} - set(_TYPES))
        params = [k for k in extra if k.startswith("param_")]
        other = [k for k in extra if not k.startswith("param_")]
        cols = list(COLUMNS)
        cols += [(k, _param_type([r.get(k) for r in rows])) for k in params]
        cols += [(k, "string") for k in other]
        return cols

    def records(self) -> list[dict[str, Any]]:
        """The rows in grid order, every column present and typed."""
        cols = self.columns()
        ordered = sorted(self.rows.values(), key=lambda r: (r.get("index") is None, r.get("index") or 0, r["cell"]))
        return [{k: _coerce(r.get(k), t) for k, t in cols} for r in ordered]

    def write(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.directory.mkdir(parents=True, exist_ok=True)
        cols = self.columns()
        recs = self.records()
        arrow = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_()}
        schema = pa.schema([pa.field(k, arrow[t]) for k, t in cols],
                           metadata={"auctionc_sweep_table": FORMAT_VERSION})
        table = pa.Table.from_pylist(recs, schema=schema)
        tmp = self.parquet_path.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp)
        _replace(tmp, self.parquet_path)
        tmp = self.csv_path.with_suffix(".csv.tmp")
        with tmp.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow([k for k, _ in cols])
            for r in recs:
                w.writerow(["" if r[k] is None else r[k] for k, _ in cols])
            f.flush()
            os.fsync(f.fileno())
        _replace(tmp, self.csv_path)


def _replace(tmp: Path, final: Path) -> None:
    """Make ``tmp`` durable, then put it in place of ``final`` in one step."""
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)

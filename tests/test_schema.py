"""The JSON Schema of the IR kept in the repo (compiler/schema/ir.schema.json) is current.

Refresh it with  .venv/bin/python -m auctionc.frontend  (or UPDATE_GOLDEN=1 on this test)."""

from __future__ import annotations

import json
import os

from auctionc import ir
from auctionc.frontend import SCHEMA_PATH, ir_json_schema, load_text, write_schema


def test_repo_schema_is_current() -> None:
    if os.environ.get("UPDATE_GOLDEN") == "1":
        write_schema()
    stored = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert stored == ir_json_schema(), "the IR changed: run python -m auctionc.frontend"


def test_schema_describes_the_envelope() -> None:
    schema = ir_json_schema()
    assert schema["title"] == "SpecDocument"
    assert set(schema["properties"]) == {"ir_version", "spec"}
    assert {"AuctionSpec", "MarketSpec", "Uniform", "Xor", "LLMAgent"} <= set(schema["$defs"])
    # discriminated unions, closed objects
    assert schema["$defs"]["Bidder"]["additionalProperties"] is False
    spec = load_text("auction a { items 1 bidders 2 { value ~ Uniform(0, 1) } mechanism second_price }")
    doc = json.loads(ir.SpecDocument(spec=spec).model_dump_json())
    assert doc["spec"]["kind"] == "auction" and doc["ir_version"] == 1

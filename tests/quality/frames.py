"""Frames for the test suite in fixtures/registration_suite.json: one clean, one broken on purpose."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl

SUITE = Path(__file__).parent / "fixtures" / "registration_suite.json"
ROWS = 40
INJECTED = '<img src="https://example.invalid/x.png">'


def clean_frame(rows: int = ROWS) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "record_key": [f"K{i:04d}" for i in range(rows)],
            "address": [f"宁波市鄞州区天童南路{i}号" for i in range(rows)],
            "status": [("存续", "注销", "吊销")[i % 3] for i in range(rows)],
            "uscc": [f"91330212MA2{i:07d}" for i in range(rows)],
            "established": [date(1990, 1, 1) + timedelta(days=97 * i) for i in range(rows)],
            "capital": [float(i * 10) for i in range(rows)],
            "uscc_valid": [1] * rows,
            "source": [("a", "b")[i % 2] for i in range(rows)],
            "source_id": list(range(rows)),
        },
        schema_overrides={"uscc_valid": pl.Int8},
    )


def broken_frame() -> pl.DataFrame:
    """Each defect sits in its own row, so each expectation's offending values are known exactly."""
    columns = clean_frame().to_dict(as_series=False)
    columns["record_key"][2] = "K0001"  # duplicates row 1
    columns["record_key"][3] = None
    for row in range(20, 25):  # 12.5 % without address: within the suite's mostly=0.75
        columns["address"][row] = None
    columns["status"][4] = "歇业"
    columns["uscc"][5] = "BAD-USCC"
    columns["uscc"][6] = INJECTED
    columns["established"][7] = date(1800, 1, 1)
    columns["established"][8] = date(9999, 12, 31)
    columns["established"][9] = None  # nulls are not out of range
    columns["capital"][10] = -5.0
    columns["uscc_valid"][30:34] = [0, 0, 0, 0]  # share 36/40 = 0.9
    columns["source"][12], columns["source_id"][12] = "b", 11  # same pair as row 11
    return pl.DataFrame(columns, schema=clean_frame().schema)

"""Build source records as delivered text, standardised the way the pipeline does, for small crafted cases."""

from __future__ import annotations

import polars as pl

from pipelines.domain import standardise, uscc
from pipelines.domain.contract import SPECS
from pipelines.domain.ingest import raw_schema

LINEAGE = {"delivery_date": None, "source_file": "crafted.csv", "file_sha256": "0" * 64, "run_id": "test"}


def valid_uscc(body: str) -> str:
    """A valid code from a 17-character body (e.g. '91330212MA2AB123' + one more character)."""
    return body + uscc.check_character(body)


def bronze(source: str, rows: list[dict]) -> pl.DataFrame:
    """Rows of delivered text for `source`; missing columns are blank, lineage filled in."""
    import datetime as dt

    schema = raw_schema(SPECS[source])
    full = []
    for number, row in enumerate(rows, start=2):
        values = {c: "" for c in schema if schema[c] == pl.String()}
        values.update(LINEAGE, delivery_date=dt.date(2026, 11, 20), source_row=number)
        values.update(row)
        if source == "district":
            values.setdefault("district_file_code", "330212")
            values["record_key"] = f"{values['district_file_code']}-{values['record_no']}"
        full.append(values)
    return pl.DataFrame(full, schema=schema)


def silver(source: str, rows: list[dict]) -> pl.DataFrame:
    return standardise.STANDARDISERS[source](bronze(source, rows).lazy()).collect()

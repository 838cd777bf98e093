"""The project's suites (expectations/<layer>_<source>.json) run on a delivery, and their results as rows.

Dagster-free: the assets call `validate_delivery` and turn outcomes into asset checks; the rows go to the
`quality_result` table (one row per expectation per delivery and layer).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import NamedTuple

import polars as pl

from pipelines.quality.gx_runner import ValidationRun, expectation_labels, load_suite, validate

SUITE_DIR = Path(__file__).resolve().parents[2] / "expectations"
QUALITY_SCHEMA = {
    "source": pl.String,
    "delivery_date": pl.Date,
    "layer": pl.String,
    "suite": pl.String,
    "expectation": pl.String,
    "expectation_type": pl.String,
    "column": pl.String,
    "success": pl.Boolean,
    "severity": pl.String,
    "observed_value": pl.String,
    "unexpected_count": pl.Int64,
    "unexpected_percent": pl.Float64,
    "examples": pl.String,
    "description": pl.String,
    "run_id": pl.String,
}


def suite_path(layer: str, source: str) -> Path:
    return SUITE_DIR / f"{layer}_{source}.json"


def check_name(label: str) -> str:
    """A Dagster check name from an expectation label: expect_x(col) -> expect_x__col."""
    return re.sub(r"_+$", "", re.sub(r"[^A-Za-z0-9]+", "_", label.replace("(", "__")))


class DeclaredCheck(NamedTuple):
    """One expectation of a suite as a Dagster check. `blocking` (meta.blocking in the suite) is for the
    invariants our own loader guarantees: when one fails, the code is wrong and nothing downstream may run.
    What measures a source's data (ERROR or WARN) never stops the city's night; stewards see it."""

    name: str
    severity: str
    description: str
    blocking: bool


def declared_checks(layer: str, source: str) -> list[DeclaredCheck]:
    """Every expectation of a suite, in suite order."""
    suite = load_suite(suite_path(layer, source))
    labels = expectation_labels(suite)
    return [
        DeclaredCheck(
            check_name(label),
            e.get("meta", {}).get("severity", "error"),
            e.get("meta", {}).get("description", label),
            bool(e.get("meta", {}).get("blocking", False)),
        )
        for label, e in zip(labels, suite["expectations"], strict=True)
    ]


def gx_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Booleans as 0/1 so that share expectations (column means) read them; blank text as null (bronze
    keeps a delivered blank as '', which a not-null expectation should count as missing)."""
    blank_as_null = [
        pl.when(pl.col(c).str.strip_chars() != "").then(pl.col(c)).alias(c)
        for c, t in frame.schema.items()
        if t == pl.String
    ]
    return frame.with_columns(pl.col(pl.Boolean).cast(pl.Int8), *blank_as_null)


def referenced_columns(suite: dict) -> list[str]:
    """The columns a suite's expectations read (GX gets only these: converting wide frames costs)."""
    columns: list[str] = []
    for expectation in suite["expectations"]:
        kwargs = expectation.get("kwargs", {})
        columns += [kwargs["column"]] if "column" in kwargs else kwargs.get("column_list", [])
    return list(dict.fromkeys(columns))


def validate_delivery(
    frame: pl.DataFrame, layer: str, source: str, delivery_date: dt.date, as_of: dt.date
) -> ValidationRun:
    path = suite_path(layer, source)
    columns = [c for c in referenced_columns(load_suite(path)) if c in frame.columns]
    batch = f"{layer}_{source}_{delivery_date.isoformat()}"
    parameters = {"as_of": as_of.isoformat(), "as_of_year": str(as_of.year)}
    return validate(gx_frame(frame.select(columns)), path, batch, parameters)


def quality_rows(
    run: ValidationRun, layer: str, source: str, delivery_date: dt.date, run_id: str
) -> pl.DataFrame:
    rows = [
        {
            "source": source,
            "delivery_date": delivery_date,
            "layer": layer,
            "suite": run.suite,
            "expectation": o.expectation,
            "expectation_type": o.expectation_type,
            "column": o.column,
            "success": o.success,
            "severity": o.severity,
            "observed_value": o.observed_value,
            "unexpected_count": o.unexpected_count,
            "unexpected_percent": o.unexpected_percent,
            "examples": json.dumps(o.partial_unexpected, ensure_ascii=False),
            "description": o.description,
            "run_id": run_id,
        }
        for o in run.outcomes
    ]
    return pl.DataFrame(rows, schema=QUALITY_SCHEMA)


UNKNOWN_VOCABULARY = {
    "registration": ["status"],
    "licensing": ["licence_type", "licence_status"],
    "district": ["result", "inspection_type"],
}
METRICS_SCHEMA = {
    "source": pl.String,
    "delivery_date": pl.Date,
    "rows": pl.Int64,
    "valid_uscc_share": pl.Float64,
    "district_mapped_share": pl.Float64,
    "unknown_vocabulary_share": pl.Float64,
}


def delivery_metrics(silver: pl.DataFrame, source: str, delivery_date: dt.date) -> pl.DataFrame:
    """The steward's headline figures for one delivery's standardised rows."""
    unknown = pl.any_horizontal([pl.col(c) == "unknown" for c in UNKNOWN_VOCABULARY[source]])
    return silver.select(
        source=pl.lit(source),
        delivery_date=pl.lit(delivery_date),
        rows=pl.len().cast(pl.Int64),
        valid_uscc_share=pl.col("uscc_is_valid").mean(),
        district_mapped_share=pl.col("district_code").is_not_null().mean(),
        unknown_vocabulary_share=unknown.mean(),
    ).cast(METRICS_SCHEMA)

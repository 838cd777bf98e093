"""Great Expectations suites as Dagster asset checks, rows of quality_result and Data Docs.

Each asset with a suite declares one check per expectation (ERROR for severe, WARN for tolerable ones).
It validates every delivery it processed in the run; a check passes when every such delivery passed,
and its metadata holds the observed value per delivery. When a run processed no new delivery, the checks
report the stored result of the latest delivery, so the UI always shows the current quality.
"""

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.lake import Lake
from pipelines.quality.data_docs import build_data_docs
from pipelines.quality.suites import QUALITY_SCHEMA, check_name, declared_checks, quality_rows, validate_delivery

QUALITY_TABLE = "quality/quality_result"
METRICS_TABLE = "quality/delivery_metrics"
SEVERITY = {"error": dg.AssetCheckSeverity.ERROR, "warn": dg.AssetCheckSeverity.WARN}


def check_specs(key: dg.AssetKey, layer: str, source: str) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=key, description=f"[{severity}] {description}") for name, severity, description in declared_checks(layer, source)]


def data_docs_dir(reports: Path) -> Path:
    return reports / "data_docs"


def run_suite(
    lake: Lake, reports: Path, frames: dict[dt.date, pl.DataFrame], layer: str, source: str, as_of: dt.date, run_id: str
) -> list[dg.AssetCheckResult]:
    """Validate each delivery's rows, store the rows of quality_result, refresh Data Docs, return check results."""
    results = []
    runs = []
    for delivery_date, frame in sorted(frames.items()):
        run = validate_delivery(frame, layer, source, delivery_date, as_of)
        runs.append(run)
        rows = quality_rows(run, layer, source, delivery_date, run_id)
        lake.replace_slice(QUALITY_TABLE, rows, {"source": source, "delivery_date": delivery_date, "layer": layer})
        results.append(rows)
    index = build_data_docs(runs, data_docs_dir(reports)) if runs else data_docs_dir(reports) / "index.html"
    if not results:
        results = [_latest_stored(lake, layer, source)]
    return _check_results(pl.concat(results), layer, source, index)


def _latest_stored(lake: Lake, layer: str, source: str) -> pl.DataFrame:
    if not lake.exists(QUALITY_TABLE):
        return pl.DataFrame(schema=QUALITY_SCHEMA)
    stored = lake.scan(QUALITY_TABLE).filter((pl.col("layer") == layer) & (pl.col("source") == source)).collect()
    return stored.filter(pl.col("delivery_date") == stored["delivery_date"].max()) if stored.height else stored


def _check_results(rows: pl.DataFrame, layer: str, source: str, index: Path) -> list[dg.AssetCheckResult]:
    by_check = rows.with_columns(check=pl.col("expectation").map_elements(check_name, return_dtype=pl.String))
    results = []
    for name, severity, description in declared_checks(layer, source):
        mine = by_check.filter(pl.col("check") == name).sort("delivery_date")
        passed = bool(mine["success"].all()) if mine.height else True
        metadata = {
            "observed": {str(d): v for d, v in mine.select("delivery_date", "observed_value").iter_rows()},
            "deliveries": mine.height,
            "examples": mine.filter(~pl.col("success"))["examples"].to_list()[:3],
            "data_docs": dg.MetadataValue.path(str(index)),
            "rule": description,
        }
        results.append(dg.AssetCheckResult(check_name=name, passed=passed, severity=SEVERITY[severity], metadata=metadata))
    return results

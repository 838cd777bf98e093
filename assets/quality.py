"""Great Expectations suites as Dagster asset checks, rows of quality_result and Data Docs.

Each asset with a suite declares one check per expectation (ERROR for severe, WARN for tolerable ones);
only the invariants of our own loader block downstream assets (see DeclaredCheck).
It validates every delivery it processed in the run; a check passes when every such delivery passed,
and its metadata holds the observed value per delivery. When a run processed no new delivery, the checks
report the stored result of the latest delivery, so the UI always shows the current quality.
"""

import datetime as dt
import warnings
from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.quality import data_docs
from pipelines.quality.gx_runner import ValidationRun
from pipelines.quality.suites import (
    QUALITY_SCHEMA,
    check_name,
    declared_checks,
    quality_rows,
    validate_delivery,
)
from pipelines.storage import catalog
from pipelines.storage.lake import Lake

# Partitioned checks are a preview feature in Dagster 1.13; they are what ties a delivery's check results
# to its partition in the UI (a check of a partitioned asset otherwise shows "Partition —").
warnings.filterwarnings(
    "ignore", category=dg.PreviewWarning, message=".*partitions_def on an AssetCheckSpec.*"
)

SEVERITY = {"error": dg.AssetCheckSeverity.ERROR, "warn": dg.AssetCheckSeverity.WARN}


def check_specs(
    key: dg.AssetKey, layer: str, source: str, partitions_def: dg.PartitionsDefinition | None = None
) -> list[dg.AssetCheckSpec]:
    """One check per expectation; a partitioned asset's checks judge each partition (delivery) alone."""
    return [
        dg.AssetCheckSpec(
            c.name,
            asset=key,
            blocking=c.blocking,
            partitions_def=partitions_def,
            description=f"[{c.severity}{', blocking' if c.blocking else ''}] {c.description}",
        )
        for c in declared_checks(layer, source)
    ]


def data_docs_dir(reports: Path) -> Path:
    return reports / "data_docs"


def validate_and_store(
    lake: Lake, frames: dict[dt.date, pl.DataFrame], layer: str, source: str, as_of: dt.date, run_id: str
) -> list[ValidationRun]:
    """Validate each delivery's rows and store its rows of quality_result. Call it before the write that
    marks the delivery done, so that a run killed in between validates it again on restart."""
    runs = []
    for delivery_date, frame in sorted(frames.items()):
        run = validate_delivery(frame, layer, source, delivery_date, as_of)
        rows = quality_rows(run, layer, source, delivery_date, run_id)
        lake.replace_slice(
            catalog.QUALITY_RESULT, rows, {"source": source, "delivery_date": delivery_date, "layer": layer}
        )
        runs.append(run)
    return runs


def report(
    lake: Lake, reports: Path, runs: list[ValidationRun], validated: list[dt.date], layer: str, source: str
) -> list[dg.AssetCheckResult]:
    """The runs of this step queued for the Data Docs (reports/quality_report renders them), and one check
    result per expectation: the deliveries validated in this step, or the latest stored delivery when none
    was."""
    index = data_docs.queue(runs, data_docs_dir(reports))
    stored = (
        lake.scan(catalog.QUALITY_RESULT)
        .filter((pl.col("layer") == layer) & (pl.col("source") == source))
        .collect()
        if lake.exists(catalog.QUALITY_RESULT)
        else pl.DataFrame(schema=QUALITY_SCHEMA)
    )
    if validated:
        rows = stored.filter(pl.col("delivery_date").is_in(validated))
    else:
        rows = (
            stored.filter(pl.col("delivery_date") == stored["delivery_date"].max())
            if stored.height
            else stored
        )
    return _check_results(rows, layer, source, index)


def _check_results(rows: pl.DataFrame, layer: str, source: str, index: Path) -> list[dg.AssetCheckResult]:
    by_check = rows.with_columns(check=pl.col("expectation").map_elements(check_name, return_dtype=pl.String))
    results = []
    for name, severity, description, _ in declared_checks(layer, source):
        mine = by_check.filter(pl.col("check") == name).sort("delivery_date")
        passed = bool(mine["success"].all()) if mine.height else True
        metadata = {
            "observed": {str(d): v for d, v in mine.select("delivery_date", "observed_value").iter_rows()},
            "deliveries": mine.height,
            "examples": mine.filter(~pl.col("success"))["examples"].to_list()[:3],
            "data_docs": dg.MetadataValue.path(str(index)),
            "rule": description,
        }
        results.append(
            dg.AssetCheckResult(
                check_name=name, passed=passed, severity=SEVERITY[severity], metadata=metadata
            )
        )
    return results

"""Bronze: every delivery as delivered text with lineage, each source's current state, and the quarantine.

- `bronze/<source>_deliveries`: one partition per delivery folder (source, date); every row of every
  readable file, with file, sha256, row and run id.
- `bronze/<source>`: the latest version of each record (latest delivery date wins), merged by key.
- `bronze/landing_inventory`: every file in the landing zone; files outside a delivery folder are quarantined.
- `bronze/quarantine` and `bronze/load_log` are shared tables: each delivery replaces its own slice.
"""

import datetime as dt

import dagster as dg
import polars as pl

from assets.keys import key
from assets.metadata import markdown_table
from assets.quality import check_specs, report, validate_and_store
from assets.retry import on_transient_errors
from pipelines.domain import current_state, landing
from pipelines.domain.contract import SOURCES, SPECS
from pipelines.domain.ingest import LOAD_LOG_SCHEMA, QUARANTINE_SCHEMA, load_delivery, raw_schema
from pipelines.orchestration.resources import LakehouseResource
from pipelines.quality.suites import METRICS_SCHEMA, QUALITY_SCHEMA
from pipelines.storage import catalog
from pipelines.storage.lake import Lake

DELIVERY_PARTITIONS = {
    s: dg.DynamicPartitionsDefinition(name=catalog.delivery_partitions(s)) for s in SOURCES
}


def shared_schemas() -> dict[str, dict[str, pl.DataType]]:
    """Tables that exist from a lake's first run, empty until something arrives: a source that never
    delivered, or a delivery of header-only files, still leaves every downstream reader a typed table."""
    return {
        catalog.LOAD_LOG: LOAD_LOG_SCHEMA,
        catalog.QUARANTINE: QUARANTINE_SCHEMA,
        catalog.QUALITY_RESULT: QUALITY_SCHEMA,
        catalog.DELIVERY_METRICS: METRICS_SCHEMA,
        **{catalog.deliveries(s): raw_schema(SPECS[s]) for s in SOURCES},
    }


class DeliveryLoadConfig(dg.Config):
    """reload_unchanged: also reload deliveries whose files did not change (after a reader fix)."""

    reload_unchanged: bool = False


def _delivery_asset(source: str) -> dg.AssetsDefinition:
    asset = key(catalog.deliveries(source))
    checked = source != "corrections"  # corrections are validated by silver/corrections, row by row

    @dg.asset(
        check_specs=check_specs(asset, "bronze", source, DELIVERY_PARTITIONS[source]) if checked else None,
        key=asset,
        group_name="bronze",
        partitions_def=DELIVERY_PARTITIONS[source],
        kinds={"polars", "delta"},
        description=f"Every delivered {source} row as text, one partition per delivery folder, with "
        "file, sha256 and row lineage. Unreadable files and rows go to bronze/quarantine with a reason. "
        "A delivery whose files did not change since it was loaded is not loaded again.",
    )
    @on_transient_errors
    def deliveries(
        context: dg.AssetExecutionContext, config: DeliveryLoadConfig, lakehouse: LakehouseResource
    ) -> dg.MaterializeResult:
        # One run per delivery, so that its counts and check results are that partition's own.
        lake = lakehouse.lake(context)
        inventory = lakehouse.inventory(lake)
        delivery_date = dt.date.fromisoformat(context.partition_key)
        mine = landing.deliveries(inventory).filter(
            pl.col("source") == source, pl.col("delivery_date") == delivery_date
        )
        todo = mine if config.reload_unchanged else landing.pending(mine, lake.read(catalog.LOAD_LOG))
        runs = []
        for manifest in todo["manifest"]:
            files = inventory.filter(
                pl.col("source") == source,
                pl.col("delivery_date") == delivery_date,
                pl.col("problem").is_null(),
            )
            load = load_delivery(lakehouse.landing, files, manifest, context.run_id)
            slice_of = {"source": source, "delivery_date": delivery_date}
            lake.replace_slice(catalog.deliveries(source), load.rows, {"delivery_date": delivery_date})
            lake.replace_slice(catalog.QUARANTINE, load.quarantine, slice_of)
            if checked:
                runs = validate_and_store(
                    lake,
                    {delivery_date: load.rows},
                    "bronze",
                    source,
                    landing.as_of(inventory),
                    context.run_id,
                )
            lake.replace_slice(catalog.LOAD_LOG, load.log, slice_of)  # last: marks the delivery loaded
            for line in load.log.iter_rows(named=True):
                context.log.info(_progress_line(line))
        if todo.is_empty():
            context.log.info(
                f"{source}/{delivery_date}: unchanged or no longer in the landing zone, not reloaded"
            )
        checks = report(lake, lakehouse.reports, runs, [delivery_date], "bronze", source) if checked else None
        return dg.MaterializeResult(
            check_results=checks,
            metadata=_delivery_metadata(lake, source, delivery_date, reloaded=not todo.is_empty()),
        )

    return deliveries


def _delivery_metadata(lake: Lake, source: str, delivery_date: dt.date, reloaded: bool) -> dict:
    """This delivery's own figures, from its rows of the load log (also when it was not reloaded)."""
    log = (
        lake.scan(catalog.LOAD_LOG)
        .filter(pl.col("source") == source, pl.col("delivery_date") == delivery_date)
        .collect()
    )
    return {
        "delivery": f"{source}/{delivery_date}",
        "loaded_in_this_run": reloaded,
        "files": log.height,
        "rows_read": int(log["rows_read"].sum()),
        "rows_loaded": int(log["rows_loaded"].sum()),
        "rows_quarantined": int(log["rows_quarantined"].sum()),
        "delta_version": lake.version(catalog.deliveries(source)),
        "load_log": markdown_table(log.drop("manifest", "run_id")),
    }


def _current_state_asset(source: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=source,
        key_prefix="bronze",
        group_name="bronze",
        deps=[key(catalog.deliveries(source))],
        kinds={"polars", "delta"},
        description=f"Current state of {source}: the latest delivered version of every record "
        "(latest delivery date wins, last row within a delivery), merged by record_key.",
    )
    @on_transient_errors
    def current(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
        lake = lakehouse.lake(context)
        table = catalog.current(source)
        if not lake.exists(catalog.deliveries(source)):
            context.log.warning(f"no {source} delivery has been loaded yet")
            lake.ensure(table, raw_schema(SPECS[source]))
            return dg.MaterializeResult(metadata={"rows": 0})
        upserts, deletes, records = current_state.changes(
            lake.scan(catalog.deliveries(source)), lake.read(table, current_state.VERSION)
        )
        lake.upsert(table, upserts, key=["record_key"], deleted=deletes)
        context.log.info(
            f"{table}: {records:,} records, {upserts.height:,} new or changed, {deletes.height:,} gone"
        )
        return dg.MaterializeResult(
            metadata={
                "rows": records,
                "upserted": upserts.height,
                "deleted": deletes.height,
                "delta_version": lake.version(table),
            }
        )

    return current


@dg.asset(
    key=["bronze", "landing_inventory"],
    group_name="bronze",
    kinds={"polars", "delta"},
    description="Every file in the landing zone with its sha256; files outside a <source>/<YYYY-MM-DD>/ "
    "folder are quarantined whole.",
)
@on_transient_errors
def landing_inventory(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    lake = lakehouse.lake(context)
    inventory = lakehouse.inventory(lake)
    lake.overwrite(catalog.LANDING_INVENTORY, inventory)
    for table, schema in shared_schemas().items():
        lake.ensure(table, schema)
    problems = inventory.filter(pl.col("problem").is_not_null())
    quarantine = problems.select(
        source=pl.lit("landing"),
        delivery_date=pl.col("delivery_date"),
        file=pl.col("path"),
        file_sha256=pl.col("sha256"),
        row=pl.lit(None, pl.Int64),
        reason=pl.col("problem"),
        raw_text=pl.lit(None, pl.String),
        run_id=pl.lit(context.run_id),
    ).cast(QUARANTINE_SCHEMA)
    lake.replace_slice(catalog.QUARANTINE, quarantine, {"source": "landing"})
    for row in problems.iter_rows(named=True):
        context.log.warning(f"quarantined {row['path']}: {row['problem']}")
    return dg.MaterializeResult(
        metadata={
            "files": inventory.height,
            "quarantined_files": problems.height,
            "bytes": int(inventory["size"].sum() or 0),
        }
    )


def _progress_line(log: dict) -> str:
    counts = (
        f"read {log['rows_read']:,}, loaded {log['rows_loaded']:,}, quarantined {log['rows_quarantined']:,}"
    )
    suffix = f" ({log['reason']})" if log["reason"] else ""
    return f"{log['file']}: {log['status']}: {counts} in {log['seconds']:.1f}s{suffix}"


delivery_assets = [_delivery_asset(s) for s in SOURCES]
current_state_assets = [_current_state_asset(s) for s in SOURCES]

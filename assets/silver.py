"""Silver: each source standardised (names, USCC, districts, dates, phones, vocabularies), incrementally.

A nightly delivery recomputes only the records whose bronze version changed; a change to the normalisers
(NORMALISER_VERSION) recomputes all of them.
"""

import dagster as dg
import polars as pl

from assets.keys import key
from assets.quality import check_specs, report, validate_and_store
from assets.retry import on_transient_errors
from pipelines.domain import incremental, standardise
from pipelines.orchestration.resources import LakehouseResource
from pipelines.quality.suites import delivery_metrics
from pipelines.storage import catalog

SILVER_SOURCES = tuple(standardise.STANDARDISERS)


def _silver_asset(source: str) -> dg.AssetsDefinition:
    asset = key(catalog.silver(source))

    @dg.asset(
        key=asset,
        check_specs=check_specs(asset, "silver", source),
        group_name="silver",
        deps=[key(catalog.current(source)), key(catalog.LANDING_INVENTORY)],
        kinds={"polars", "delta"},
        description=f"{source} records standardised: typed dates, normalised names and matching keys, USCC "
        "validity and parts, district codes with their source, phones and vocabularies; lineage to bronze.",
    )
    @on_transient_errors
    def silver(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
        lake = lakehouse.lake(context)
        table = catalog.silver(source)
        upserts, deletes = standardise.changed(
            source,
            lake.scan(catalog.current(source)),
            lake.read(table, [*standardise.VERSION, incremental.VERSION_COLUMN]),
        )
        # Quality is measured per delivery on the rows this run standardised, before the upsert that marks
        # them done (a run killed in between measures them again).
        upserts, frames = incremental.by_delivery(upserts)
        for delivery_date, frame in frames.items():
            metrics = delivery_metrics(frame, source, delivery_date)
            lake.replace_slice(
                catalog.DELIVERY_METRICS, metrics, {"source": source, "delivery_date": delivery_date}
            )
        runs = validate_and_store(lake, frames, "silver", source, lakehouse.as_of(lake), context.run_id)
        lake.upsert(table, upserts, key=["record_key"], deleted=deletes)
        checks = report(lake, lakehouse.reports, runs, list(frames), "silver", source)
        rows = lake.scan(table).select(pl.len()).collect().item()
        context.log.info(f"{table}: {rows:,} records, {upserts.height:,} recomputed, {deletes.height:,} gone")
        return dg.MaterializeResult(
            check_results=checks,
            metadata={
                "rows": rows,
                "recomputed": upserts.height,
                "deleted": deletes.height,
                "delta_version": lake.version(table),
            },
        )

    return silver


silver_assets = [_silver_asset(s) for s in SILVER_SOURCES]

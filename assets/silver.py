"""Silver: each source standardised (names, USCC, districts, dates, phones, vocabularies), incrementally.

A nightly delivery recomputes only the records whose bronze version changed; a change to the normalisers
(NORMALISER_VERSION) recomputes all of them.
"""

import dagster as dg
import polars as pl

from pipelines.domain import incremental, standardise
from pipelines.domain.standardise import LINEAGE, NORMALISER_VERSION
from pipelines.resources import LakehouseResource

SILVER_SOURCES = tuple(standardise.STANDARDISERS)


def _silver_asset(source: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=source,
        key_prefix="silver",
        group_name="silver",
        deps=[dg.AssetKey(["bronze", source])],
        kinds={"polars", "delta"},
        description=f"{source} records standardised: typed dates, normalised names and matching keys, USCC "
        "validity and parts, district codes with their source, phones and vocabularies; lineage to bronze.",
    )
    def silver(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
        lake = lakehouse.lake(context)
        table = f"silver/{source}"
        upserts, deletes = incremental.changed(
            lake.scan(f"bronze/{source}"),
            lake.read(table),
            ["record_key", *LINEAGE],
            standardise.STANDARDISERS[source],
            NORMALISER_VERSION,
        )
        lake.upsert(table, upserts, key=["record_key"], deleted=deletes)
        rows = lake.scan(table).select(pl.len()).collect().item()
        context.log.info(f"{table}: {rows:,} records, {upserts.height:,} recomputed, {deletes.height:,} gone")
        return dg.MaterializeResult(
            metadata={"rows": rows, "recomputed": upserts.height, "deleted": deletes.height, "delta_version": lake.version(table)}
        )

    return silver




silver_assets = [_silver_asset(s) for s in SILVER_SOURCES]

"""Steward corrections, validated against the warehouse as it was published when the steward decided."""

import dagster as dg
import polars as pl

from assets.keys import key
from assets.retry import on_transient_errors
from pipelines.domain import corrections
from pipelines.domain.contract import ENTITY_SOURCES
from pipelines.domain.corrections import CORRECTABLE_FIELDS, Published
from pipelines.orchestration.resources import LakehouseResource
from pipelines.storage import catalog
from pipelines.storage.lake import Lake

LINEAGE = ["record_key", "delivery_date", "source_file", "source_row"]
EMPTY = {
    catalog.ENTITY_XREF: {"source": pl.String, "record_key": pl.String, "entity_id": pl.String},
    catalog.ENTITY_ISSUE: {"issue_id": pl.String, "evidence_hash": pl.String, "status": pl.String},
    catalog.GOLDEN_ENTITY: {"entity_id": pl.String, **{f: pl.String for f in CORRECTABLE_FIELDS}},
}


def published_state(lake: Lake) -> Published:
    """The last published xref, issues and golden record (empty before the first run)."""
    tables = {
        t: lake.read(t) if lake.exists(t) else pl.DataFrame(schema=schema) for t, schema in EMPTY.items()
    }
    return Published(
        xref=tables[catalog.ENTITY_XREF],
        issues=tables[catalog.ENTITY_ISSUE],
        golden=tables[catalog.GOLDEN_ENTITY],
    )


def silver_records(lake: Lake) -> pl.DataFrame:
    return pl.concat(
        [lake.read(catalog.silver(s), ["record_key"]).with_columns(source=pl.lit(s)) for s in ENTITY_SOURCES]
    )


@dg.asset(
    key=["silver", "corrections"],
    group_name="silver",
    deps=[key(catalog.current("corrections")), *[key(catalog.silver(s)) for s in ENTITY_SOURCES]],
    kinds={"polars", "delta"},
    description="Every steward decision delivered in corrections/, validated once against the published "
    "warehouse (reason is null when valid), with the evidence and the value it was taken on.",
)
@on_transient_errors
def corrections_validated(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    lake = lakehouse.lake(context)
    bronze = lake.read(catalog.current("corrections"))
    done = lake.read(catalog.CORRECTIONS)
    todo = bronze if done is None else bronze.join(done.select(LINEAGE), on=LINEAGE, how="anti")
    validated = pl.DataFrame()
    # Validation reads all of silver and the published state (4 s at 1.5M entities): not on a night that
    # brought no decision, once the table exists.
    if done is None or not todo.is_empty():
        validated = corrections.validate(todo, silver_records(lake), published_state(lake))
        lake.upsert(
            catalog.CORRECTIONS,
            validated.drop("run_id").with_columns(run_id=pl.lit(context.run_id)),
            key=["record_key"],
        )
        for row in validated.filter(pl.col("reason").is_not_null()).iter_rows(named=True):
            context.log.warning(f"correction {row['record_key']} rejected: {row['reason']}")
    table = lake.read(catalog.CORRECTIONS)
    rejected = table.filter(pl.col("reason").is_not_null()).height
    return dg.MaterializeResult(
        metadata={
            "rows": table.height,
            "valid": table.height - rejected,
            "rejected": rejected,
            "validated_now": validated.height,
        }
    )

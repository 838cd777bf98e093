"""History: every published version of each golden record, and the lifecycle events that explain them."""

import dagster as dg
import polars as pl

from assets.curated import upstream_keys
from assets.keys import key
from assets.retry import on_transient_errors
from pipelines.domain import events
from pipelines.domain.contract import ENTITY_SOURCES
from pipelines.orchestration.resources import LakehouseResource
from pipelines.publishing import published_history
from pipelines.publishing.sql_models import model_sql
from pipelines.storage import catalog
from pipelines.storage.lake import Lake


def history_asset(model: str, table: str, key_column: str, what: str) -> dg.AssetsDefinition:
    """A gold table of every published version of a curated model's rows, one key column per row."""

    @dg.asset(
        key=catalog.asset_path(table),
        group_name="gold",
        deps=upstream_keys(model_sql(model)),
        kinds={"polars", "delta"},
        description=f"Every published version of each curated {model} row ({what}), valid_from the as-of "
        "date it was first published to valid_to (exclusive, null while current); a new version only when "
        "a published value changes.",
    )
    @on_transient_errors
    def versions(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
        lake = lakehouse.lake(context)
        as_of = lakehouse.as_of(lake)
        advanced = published_history.advance(lake, table, model_sql(model), key_column, as_of)
        read = (
            "every entity"
            if advanced.entities is None
            else f"{advanced.entities:,} entities whose inputs changed"
        )
        context.log.info(
            f"{table}: {advanced.changed:,} versions opened or closed as of {as_of}, reading {read}"
        )
        return dg.MaterializeResult(
            metadata={
                "versions_of_keys_read": advanced.versions,
                "as_of": as_of.isoformat(),
                "changed": advanced.changed,
                "removed": advanced.removed,
                "entities_read": "all" if advanced.entities is None else advanced.entities,
            }
        )

    return versions


golden_entity_history = history_asset(
    "golden_entity", catalog.GOLDEN_ENTITY_HISTORY, "entity_id", "what the entity was"
)
# An issue's versions say when it was opened, dismissed, reopened and resolved (its status and dates).
entity_issue_history = history_asset(
    "entity_issue", catalog.ENTITY_ISSUE_HISTORY, "issue_id", "each issue's status over time"
)


def delivered_records(lake: Lake) -> pl.DataFrame:
    """Every entity source record's delivery file and row (the cause an event points to)."""
    frames = [
        lake.read(catalog.silver(source), ["record_key", "source_file", "source_row"]).with_columns(
            source=pl.lit(source)
        )
        for source in ENTITY_SOURCES
    ]
    return (
        pl.concat(frames, how="vertical_relaxed")
        .cast(events.RECORD_SCHEMA)
        .select(list(events.RECORD_SCHEMA))
    )


@dg.asset(
    key=["gold", "entity_event"],
    group_name="gold",
    deps=[key(catalog.ENTITY_XREF), key(catalog.GOLDEN_ENTITY), key(catalog.CORRECTION_LOG)],
    kinds={"polars", "delta"},
    description="Append-only entity lifecycle: created, merged_into, split_from, status_changed, "
    "district_changed, corrected, each with its as-of date, the entities involved, the cause (delivery file "
    "and row, match score, correction_log row) and the run id.",
)
@on_transient_errors
def entity_event(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    lake = lakehouse.lake(context)
    as_of = lakehouse.as_of(lake)
    records = delivered_records(lake)
    log = lake.read(catalog.CORRECTION_LOG)
    changes = lake.read(catalog.ENTITY_CHANGES)
    found = pl.concat(
        [
            events.membership(
                events.living(lake.read(catalog.ENTITY_EVENT)),
                lake.read_before_run(catalog.ENTITY_XREF),
                lake.read(catalog.ENTITY_XREF),
                records,
                log,
            ),
            events.changes(
                changes.filter(pl.col("changed_on") == as_of), lake.read(catalog.GOLDEN_ENTITY), records
            ),
            events.corrected(log, as_of),
        ],
        how="diagonal_relaxed",
    )
    stamped = events.stamp(found, as_of, context.run_id)
    added = lake.insert_new(catalog.ENTITY_EVENT, stamped, key=["event_id"])
    counts = dict(stamped.group_by("event_type").len().sort("event_type").iter_rows())
    context.log.info(f"{catalog.ENTITY_EVENT}: {added:,} new events as of {as_of} {counts}")
    return dg.MaterializeResult(metadata={"new_events": added, "as_of": as_of.isoformat(), "by_type": counts})


history_assets = [golden_entity_history, entity_issue_history, entity_event]

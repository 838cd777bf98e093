"""Gold: entity resolution (entity_xref, explained match pairs, learned weights) and the golden record."""

import dagster as dg
import polars as pl

from assets.keys import key
from assets.metadata import markdown_table
from assets.retry import on_transient_errors
from pipelines.domain import alerts, corrections, survivorship
from pipelines.domain.contract import ENTITY_SOURCES
from pipelines.domain.resolution import incremental
from pipelines.domain.resolution.entity_ids import id_number
from pipelines.domain.resolution.resolve import Stopwatch, resolve_entities
from pipelines.orchestration.resources import LakehouseResource
from pipelines.storage import catalog, matching
from pipelines.storage.lake import Lake, diff

SILVER_KEYS = [key(catalog.silver(s)) for s in ENTITY_SOURCES]
PAIR_KEY = ["source_l", "record_key_l", "source_r", "record_key_r"]


def resolved_silver(
    lake: Lake, columns: dict[str, list[str]], xref: pl.DataFrame | None = None
) -> dict[str, pl.DataFrame]:
    """Each named source's silver records, only the given columns, with the entity_id they resolved to."""
    xref = lake.read(catalog.ENTITY_XREF) if xref is None else xref
    return {
        source: lake.read(catalog.silver(source), wanted).join(
            xref.filter(pl.col("source") == source).select("record_key", "entity_id"), on="record_key"
        )
        for source, wanted in columns.items()
    }


def _highest_issued(*frames: pl.DataFrame | None) -> int:
    numbers = [
        f.select(id_number(pl.col("entity_id")).max()).item()
        for f in frames
        if f is not None and not f.is_empty()
    ]
    return max([n for n in numbers if n is not None], default=0)


@dg.asset(
    key=["gold", "entity_xref"],
    group_name="gold",
    deps=[*SILVER_KEYS, key(catalog.CORRECTIONS)],
    kinds={"polars", "rapidfuzz", "delta"},
    description="Every accepted source record and the entity it resolved to (match_method, match_score). "
    "A night re-resolves only the records it changed, with the stored weights; the first night (and the one "
    "after retraining) resolves everything. Also writes the explained fuzzy decisions (gold/match_pairs), "
    "the model (gold/match_weights, gold/match_patterns) and what was resolved (gold/match_records).",
)
@on_transient_errors
def entity_xref(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    lake = lakehouse.lake(context)
    clock = Stopwatch()
    registry = lake.read(catalog.ENTITY_ID_REGISTRY)
    judgements = corrections.judgements(lake.read(catalog.CORRECTIONS))
    settings = lakehouse.settings().matching
    model, previous, silver = (
        matching.stored_model(lake, settings.priors),
        matching.previous(lake),
        matching.silver_records(lake),
    )
    xref_before = previous.xref if previous is not None else lake.read(catalog.ENTITY_XREF)
    highest = _highest_issued(xref_before, registry)
    clock.lap("read lake")
    if model is not None and previous is not None:
        resolution = incremental.resolve_changes(*silver, judgements, previous, highest, settings, model)
    else:
        resolution = resolve_entities(*silver, judgements, xref_before, highest, settings, model)
    clock.lap("resolve")
    xref = resolution.xref.with_columns(run_id=pl.lit(context.run_id))
    upserted, deleted = lake.sync(
        catalog.ENTITY_XREF, xref, key=["source", "record_key"], current=xref_before
    )
    # Issued ids are recorded after the xref that uses them: a run killed in between re-derives the same ids.
    issued = xref.select("entity_id").unique().with_columns(first_run_id=pl.lit(context.run_id))
    known = registry.select("entity_id") if registry is not None else issued.clear().select("entity_id")
    lake.upsert(
        catalog.ENTITY_ID_REGISTRY,
        issued.join(known, on="entity_id", how="anti").sort("entity_id"),
        key=["entity_id"],
    )
    clock.lap("write xref")
    lake.sync(
        catalog.MATCH_PAIRS, resolution.pairs, key=PAIR_KEY, current=previous.pairs if previous else None
    )
    matching.save_model(lake, resolution.model)
    clock.lap("write pairs and model")
    # Last: it tells the next night what changed.
    matching.save_state(lake, resolution.records, judgements, previous.records if previous else None)
    clock.lap("write state")
    stats = resolution.stats
    seconds = {**stats["seconds"], **clock.timings}
    context.log.info(
        f"{stats['records']:,} records -> {stats['entities']:,} entities; {stats['candidate_pairs']:,} candidate pairs scored, "
        f"{stats['affected_records']:,} records re-clustered; {upserted:,} xref rows changed; "
        f"seconds {seconds}"
    )
    methods = xref.group_by("match_method").len().sort("match_method")
    return dg.MaterializeResult(
        metadata={
            "mode": stats["mode"],
            "records": stats["records"],
            "records_reclustered": stats["affected_records"],
            "entities": stats["entities"],
            "candidate_pairs_scored": stats["candidate_pairs"],
            "linked_fuzzy_pairs": stats["linked_pairs"],
            "xref_rows_changed": upserted,
            "xref_rows_removed": deleted,
            "match_methods": dict(methods.iter_rows()),
            "blocking": stats.get("blocking", {}),
            "seconds": seconds,
            "match_weights": markdown_table(resolution.model.as_frame()),
        }
    )


@dg.asset(
    key=["gold", "golden_entity"],
    group_name="gold",
    deps=[key(catalog.ENTITY_XREF), *SILVER_KEYS, key(catalog.CORRECTIONS)],
    kinds={"polars", "delta"},
    description="One trusted row per entity: survivorship by source trust, steward corrections on top, "
    "per-field provenance (<source>:<record_key> or steward:<name>), licence and inspection counts. "
    "Status and district changes are appended to gold/entity_changes.",
)
@on_transient_errors
def golden_entity(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    lake = lakehouse.lake(context)
    xref = lake.read(catalog.ENTITY_XREF)
    sources = resolved_silver(lake, survivorship.SILVER_COLUMNS, xref)
    as_of = lakehouse.as_of(lake)
    overrides = corrections.overrides(lake.read(catalog.CORRECTIONS))
    inputs = survivorship.fingerprints(
        sources["registration"], sources["licensing"], sources["district"], overrides, as_of
    ).join(xref.select("entity_id").unique(), on="entity_id", how="semi")  # not overrides of merged-away ids
    before = lake.read(catalog.GOLDEN_ENTITY)
    # Only entities whose inputs changed since their row was built (all of them on the first night).
    stale = survivorship.stale(inputs, lake.read(catalog.GOLDEN_INPUTS) if before is not None else None)
    part = {name: frame.join(stale, on="entity_id", how="semi") for name, frame in sources.items()}
    table = survivorship.golden(stale, part["registration"], part["licensing"], part["district"], as_of)
    table = survivorship.apply_overrides(table, overrides.join(stale, on="entity_id", how="semi"))
    # The rows to compare with: the rebuilt entities' and those of entities that are gone.
    previous = (
        before.join(inputs, on="entity_id", how="anti").vstack(before.join(stale, on="entity_id", how="semi"))
        if before is not None
        else None
    )
    # Changes are recorded before the table they compare against moves on: a rerun finds them again.
    changes = alerts.entity_changes(previous, table, as_of)
    lake.insert_new(catalog.ENTITY_CHANGES, changes, key=["entity_id", "field", "changed_on"])
    upserts, deletes = diff(table.with_columns(run_id=pl.lit(context.run_id)), previous, key=["entity_id"])
    lake.upsert(catalog.GOLDEN_ENTITY, upserts, key=["entity_id"], deleted=deletes)
    lake.sync(catalog.GOLDEN_INPUTS, inputs, key=["entity_id"])  # last: it says which rows are up to date
    context.log.info(
        f"{catalog.GOLDEN_ENTITY}: {inputs.height:,} entities, {stale.height:,} rebuilt, {upserts.height:,} changed, "
        f"{deletes.height:,} gone, {changes.height:,} status/district changes"
    )
    return dg.MaterializeResult(
        metadata={
            "entities": inputs.height,
            "rebuilt": stale.height,
            "changed": upserts.height,
            "removed": deletes.height,
            "status_or_district_changes": changes.height,
        }
    )


gold_assets = [entity_xref, golden_entity]

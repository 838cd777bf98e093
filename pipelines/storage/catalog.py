"""Every lake table: its name, the assets that write it, its key and its partitioning. The only place a
`layer/table` name is written: assets, jobs, sensors, the runner, lineage and the benchmarks read it here.

No Dagster: asset keys are `layer/name` strings (the Dagster layer turns them into `AssetKey`s).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.domain.contract import ENTITY_SOURCES, SOURCES

LAKE_LAYERS = ("bronze", "silver", "gold", "quality")


@dataclass(frozen=True)
class Table:
    """A Delta table under the lake root. `writers` are the assets that write it (several for a table each
    writes its own slice of); `partitions` names the dynamic partitions of a per-delivery table."""

    path: str
    key: tuple[str, ...] = ()
    writers: tuple[str, ...] = ()
    partitions: str | None = None
    description: str = ""

    @property
    def layer(self) -> str:
        return self.path.split("/")[0]

    @property
    def name(self) -> str:
        return self.path.split("/")[1]


def deliveries(source: str) -> str:
    """Every delivered row of a source, one partition per delivery folder."""
    return f"bronze/{source}_deliveries"


def current(source: str) -> str:
    """A source's current state: the latest delivered version of each record."""
    return f"bronze/{source}"


def silver(source: str) -> str:
    return f"silver/{source}"


def delivery_partitions(source: str) -> str:
    """The name of a source's dynamic partitions (one per delivery date)."""
    return f"{source}_deliveries"


LANDING_INVENTORY = "bronze/landing_inventory"
LOAD_LOG = "bronze/load_log"
QUARANTINE = "bronze/quarantine"
QUALITY_RESULT = "quality/quality_result"
DELIVERY_METRICS = "quality/delivery_metrics"
CORRECTIONS = silver("corrections")
ENTITY_XREF = "gold/entity_xref"
ENTITY_ID_REGISTRY = "gold/entity_id_registry"
MATCH_PAIRS = "gold/match_pairs"
MATCH_WEIGHTS = "gold/match_weights"
MATCH_PATTERNS = "gold/match_patterns"
MATCH_RECORDS = "gold/match_records"  # each record as last resolved: tells the next night what changed
GOLDEN_ENTITY = "gold/golden_entity"
GOLDEN_INPUTS = "gold/golden_inputs"  # per entity, a fingerprint of what its golden row was built from
ENTITY_CHANGES = "gold/entity_changes"
ENTITY_ISSUE = "gold/entity_issue"
CORRECTION_LOG = "gold/correction_log"
SUPERVISION_TASK = "gold/supervision_task"
GOLDEN_ENTITY_HISTORY = "gold/golden_entity_history"
ENTITY_ISSUE_HISTORY = "gold/entity_issue_history"
ENTITY_EVENT = "gold/entity_event"
PUBLICATION_LOG = "gold/publication_log"
WAREHOUSE_ASSET = "curated/warehouse"

_DELIVERY_WRITERS = tuple(deliveries(s) for s in SOURCES)
_CHECKED_DELIVERIES = tuple(deliveries(s) for s in ENTITY_SOURCES)  # corrections are checked in silver
_SILVER_WRITERS = tuple(silver(s) for s in ENTITY_SOURCES)

TABLES: dict[str, Table] = {
    t.path: t
    for t in [
        *(
            Table(deliveries(s), ("source_file", "source_row"), partitions=delivery_partitions(s))
            for s in SOURCES
        ),
        *(Table(current(s), ("record_key",)) for s in SOURCES),
        *(Table(silver(s), ("record_key",)) for s in SOURCES),
        Table(LANDING_INVENTORY, ("path",)),
        Table(LOAD_LOG, ("source", "delivery_date", "file"), writers=_DELIVERY_WRITERS),
        Table(
            QUARANTINE,
            ("source", "delivery_date", "file", "row"),
            writers=(*_DELIVERY_WRITERS, LANDING_INVENTORY),
        ),
        Table(
            QUALITY_RESULT,
            ("layer", "source", "delivery_date", "expectation"),
            writers=(*_CHECKED_DELIVERIES, *_SILVER_WRITERS),
        ),
        Table(DELIVERY_METRICS, ("source", "delivery_date"), writers=_SILVER_WRITERS),
        Table(ENTITY_XREF, ("source", "record_key")),
        Table(ENTITY_ID_REGISTRY, ("entity_id",), writers=(ENTITY_XREF,)),
        Table(MATCH_PAIRS, writers=(ENTITY_XREF,)),
        Table(MATCH_WEIGHTS, writers=(ENTITY_XREF,)),
        Table(MATCH_PATTERNS, writers=(ENTITY_XREF,)),
        Table(MATCH_RECORDS, ("source", "record_key"), writers=(ENTITY_XREF,)),
        Table(GOLDEN_ENTITY, ("entity_id",)),
        Table(GOLDEN_INPUTS, ("entity_id",), writers=(GOLDEN_ENTITY,)),
        Table(ENTITY_CHANGES, writers=(GOLDEN_ENTITY,)),
        Table(ENTITY_ISSUE, ("issue_id",)),
        Table(CORRECTION_LOG),
        Table(SUPERVISION_TASK),
        Table(GOLDEN_ENTITY_HISTORY, ("entity_id", "valid_from")),
        Table(ENTITY_ISSUE_HISTORY, ("issue_id", "valid_from")),
        Table(ENTITY_EVENT, ("event_id",)),
        # One row per published warehouse: its as-of date and every lake table's version, for `asof`.
        Table(PUBLICATION_LOG, ("run_id",), writers=(WAREHOUSE_ASSET,)),
    ]
}


def asset_path(table: str) -> list[str]:
    """The asset key path of the asset that is this table (`dg.AssetKey(asset_path(t))`)."""
    return table.split("/")


def writers(path: str) -> tuple[str, ...]:
    """The assets (as `layer/name`) that write a lake table: its own asset unless the catalog says others."""
    table = TABLES.get(path)
    return table.writers if table and table.writers else (path,)

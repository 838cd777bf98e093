"""A gold history table advanced by one night's publication of a curated model (golden_entity, entity_issue).

The history is a function of what the model publishes (pipelines/domain/history.py). Running the model over
the whole lake, and comparing every key's open version, cost 8 s a night at 1.5M entities for golden_entity,
whatever the night changed. So a night re-reads only the entities whose input rows changed since the history
was last advanced: each write keeps the input versions it was advanced from in its Delta commit, and Delta's
change data feed of each input since then names the entities. The model runs on their input rows alone (it
is built by entity: publishing/incremental.py), and only their keys' versions are read and advanced. Keys are
independent in `history.advance`, so this equals advancing the whole table. Whole, as before: the first
night, a model not built by entity, a history without recorded inputs or with other ones, an as-of date
earlier than one already published (a rollback), a feed that cannot tell, or a model whose columns changed.
No Dagster here.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
from sqlglot.errors import SqlglotError

from pipelines.domain import history
from pipelines.publishing import incremental, sql_models
from pipelines.storage import catalog
from pipelines.storage.lake import Lake
from pipelines.storage.warehouse import connect_with_lake

INPUTS = "entity_lakehouse.inputs"  # commit metadata: {lake table: version} the history was advanced from
ENTITY = "entity_id"
CHANGED = "_changed_entity"


@dataclass(frozen=True)
class Advanced:
    versions: int  # of the keys advanced (all of them when whole)
    changed: int  # versions opened or closed
    removed: int  # versions dropped by a rewind to the as-of date
    entities: int | None  # entities re-read; None: advanced whole


def advance(lake: Lake, table: str, sql: str, key: str, as_of: dt.date) -> Advanced:
    """Advance `table` (the history of a curated model, one row per `key`) by what the model's `sql`
    publishes now."""
    inputs = {
        f"{layer}/{name}": lake.version(f"{layer}/{name}")
        for layer, name in sql_models.referenced_tables(sql)
        if layer in catalog.LAKE_LAYERS
    }
    metadata = {INPUTS: json.dumps(inputs, sort_keys=True)}
    entities = _changed_entities(lake, table, inputs, as_of) if incremental.is_incremental(sql) else None
    if entities is not None:
        now = published(lake.root, sql, inputs, entities)
        keys = pl.concat([_keys_of(lake, table, key, entities), now[key]]).unique()
        part = lake.scan(table).filter(pl.col(key).is_in(keys.implode())).collect()
        if set(part.columns) == {*now.columns, history.VALID_FROM, history.VALID_TO}:
            updated = history.advance(part, now, as_of, key)
            changed, removed = lake.sync(
                table, updated, [key, history.VALID_FROM], current=part, metadata=metadata
            )
            return Advanced(updated.height, changed, removed, entities.len())
    current = lake.read(table)
    updated = history.advance(current, published(lake.root, sql, inputs), as_of, key)
    changed, removed = lake.sync(
        table, updated, [key, history.VALID_FROM], current=current, metadata=metadata
    )
    return Advanced(updated.height, changed, removed, None)


def published(
    lake_dir: Path, sql: str, inputs: dict[str, int], entities: pl.Series | None = None
) -> pl.DataFrame:
    """The rows the model publishes from the lake at these input versions (of these entities only)."""
    with connect_with_lake(":memory:", lake_dir, sql, versions=inputs) as connection:
        if entities is not None:
            connection.register(CHANGED, pl.DataFrame({ENTITY: entities}).to_arrow())
            keyed = frozenset(
                (layer, name)
                for layer, name in sql_models.referenced_tables(sql)
                if layer in incremental.OWNED_BY_ENTITY and ENTITY in _columns(connection, f"{layer}.{name}")
            )
            try:
                sql = sql_models.restricted_to_entities(sql, keyed, CHANGED)
            except SqlglotError:  # the model over every entity, then theirs: the same rows, only slower
                sql = f"select * from ({sql}) where {ENTITY} in (select {ENTITY} from {CHANGED})"
        return connection.sql(sql).pl()


def _changed_entities(lake: Lake, table: str, inputs: dict[str, int], as_of: dt.date) -> pl.Series | None:
    """The entities whose input rows changed since the history was last advanced; None: advance it whole."""
    recorded = lake.commit_metadata(table, INPUTS)
    before = json.loads(recorded) if recorded else None
    if before is None or set(before) != set(inputs):
        return None
    latest = lake.scan(table).select(pl.col(history.VALID_FROM).max()).collect().item()
    if latest is not None and as_of < latest:
        return None
    found = [lake.changed_values(name, version, ENTITY) for name, version in before.items()]
    if any(values is None for values in found):
        return None
    return pl.concat(found).drop_nulls().unique()


def _keys_of(lake: Lake, table: str, key: str, entities: pl.Series) -> pl.Series:
    """The keys any version of these entities holds (an issue's versions can name two entities)."""
    versions = lake.scan(table).filter(pl.col(ENTITY).is_in(entities.implode()))
    return versions.select(key).collect()[key]


def _columns(connection: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [row[0] for row in connection.execute(f"describe {relation}").fetchall()]

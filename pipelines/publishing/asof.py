"""The curated warehouse as it was published on a date, rebuilt from the lake's history: no stored copies.

Each published warehouse logs its as-of date and the Delta version of every lake table it was built from
(gold/publication_log). `asof(D)` takes the last publication whose as-of date is on or before D, runs every
curated model over the lake tables at those versions (Delta time travel), and rebuilds golden_entity from
golden_entity_history with the contract's as-of query, so that the two agree by construction and by test.
Maintenance keeps the files of those versions for the retention window (settings.toml [maintenance]).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.publishing import lineage, seeds, service_index, sql_macros
from pipelines.publishing.sql_models import model_names, model_sql
from pipelines.storage import catalog
from pipelines.storage.lake import Lake, register_delta

PUBLICATION_SCHEMA = {
    "run_id": pl.String,
    "as_of": pl.Date,
    "published_at": pl.Datetime("us"),
    "versions": pl.String,
}
# The contract's as-of query; the history layer is registered as `latest` (today's history, not D's).
GOLDEN_AS_OF = """
select * exclude (valid_from, valid_to)
from latest.golden_entity_history
where valid_from <= ? and (valid_to is null or valid_to > ?)
order by entity_id
"""


class NothingPublished(Exception):
    """No warehouse was published on or before the requested date (or the log is missing)."""


@dataclass(frozen=True)
class Publication:
    run_id: str
    as_of: dt.date
    versions: dict[str, int]


def publication_row(lake: Lake, as_of: dt.date, published_at: dt.datetime) -> pl.DataFrame:
    """The row logging a publication: every lake table's current version."""
    versions = {
        t: lake.version(t) for t in sorted(catalog.TABLES) if t != catalog.PUBLICATION_LOG and lake.exists(t)
    }
    row = {
        "run_id": lake.run_id,
        "as_of": as_of,
        "published_at": published_at,
        "versions": json.dumps(versions, sort_keys=True),
    }
    return pl.DataFrame([row], schema=PUBLICATION_SCHEMA)


def publication_on(lake: Lake, day: dt.date) -> Publication:
    """The last publication whose as-of date is on or before `day`."""
    log = lake.read(catalog.PUBLICATION_LOG)
    earlier = log.filter(pl.col("as_of") <= day).sort("as_of", "published_at") if log is not None else None
    if earlier is None or earlier.is_empty():
        raise NothingPublished(f"no warehouse was published on or before {day} (lake {lake.root})")
    last = earlier.row(-1, named=True)
    return Publication(last["run_id"], last["as_of"], json.loads(last["versions"]))


def models_in_order() -> list[str]:
    """Curated models, each after the curated models it reads."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        for table in lineage.referenced_tables(model_sql(name)):
            layer, upstream = table.split("/", 1)
            if layer == lineage.CURATED and upstream != name:
                visit(upstream)
        ordered.append(name)

    for name in model_names():
        visit(name)
    return ordered


def write_asof(lake_root: Path, day: dt.date, out: Path) -> tuple[Publication, list[str]]:
    """Write the curated tables as published on `day` to a new DuckDB file `out`; returns the publication
    used and the tables written. Built under a temporary name and renamed, so `out` is whole or absent."""
    lake = Lake(lake_root)
    publication = publication_on(lake, day)
    out.parent.mkdir(parents=True, exist_ok=True)
    building = out.with_name(f"{out.name}.building")
    building.unlink(missing_ok=True)
    with duckdb.connect(str(building)) as connection:
        written = [
            name for name in models_in_order() if _build_model(connection, lake_root, name, publication)
        ]
        if "golden_entity" in written:
            register_delta(
                connection, lake_root / catalog.GOLDEN_ENTITY_HISTORY, "latest", "golden_entity_history"
            )
            connection.execute(f"create or replace table main.golden_entity as {GOLDEN_AS_OF}", [day, day])
        service_index.build(connection)  # as the night published it, so `serve` can serve this file alike
        connection.execute("checkpoint")
    os.replace(building, out)
    return publication, written


def _build_model(
    connection: duckdb.DuckDBPyConnection, lake_root: Path, name: str, publication: Publication
) -> bool:
    """Run one model over the lake tables at the publication's versions; False when a table it reads did not
    exist then (a model added later was not in that night's warehouse)."""
    sql = model_sql(name)
    tables = [t.split("/", 1) for t in lineage.referenced_tables(sql)]
    lake_tables = [(layer, table) for layer, table in tables if layer in catalog.LAKE_LAYERS]
    if any(f"{layer}/{table}" not in publication.versions for layer, table in lake_tables):
        return False
    if any(layer == lineage.CURATED and not _has_table(connection, table) for layer, table in tables):
        return False
    for layer, table in lake_tables:
        register_delta(
            connection,
            lake_root / layer / table,
            layer,
            table,
            version=publication.versions[f"{layer}/{table}"],
        )
    # Seeds and macros are code, read as they are now (reference data is versioned with the repository).
    seeds.register_duckdb(connection, [table for layer, table in tables if layer == seeds.SCHEMA])
    sql_macros.define_duckdb(connection)
    connection.execute(f"create or replace table main.{name} as {sql}")
    return True


def _has_table(connection: duckdb.DuckDBPyConnection, name: str) -> bool:
    query = "select count(*) from duckdb_tables() where database_name = current_database() and table_name = ?"
    return connection.execute(query, [name]).fetchone()[0] > 0

"""The curated DuckDB warehouse, without Dagster: a staging file per run, models read the lake and seeds
through in-memory catalogs, the lineage table travels with the models, and one rename publishes.

A run's staging file `<warehouse>.<run_id>.building` starts as a copy of the published warehouse, so whatever
the run does not build (a partial run from the UI) is carried over as it was, and a model can replace only
the rows of the entities that changed (publishing/incremental.py). Publishing swaps the staging file into
place with one rename, so a reader never sees half a night.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict
from pathlib import Path

import duckdb
import polars as pl

from pipelines.publishing import incremental, lineage, seeds, service_index, sql_macros, sql_models
from pipelines.storage import catalog
from pipelines.storage.lake import register_delta


def staging_path(warehouse: Path, run_id: str) -> Path:
    return warehouse.with_name(f"{warehouse.name}.{run_id}.building")


def staging(warehouse: Path, run_id: str) -> Path:
    """The run's staging file; the first step of the run to ask makes it a copy of the published warehouse
    (copied under another name, then linked into place: a step killed while copying leaves no half copy)."""
    staging = staging_path(warehouse, run_id)
    staging.parent.mkdir(parents=True, exist_ok=True)
    if warehouse.exists() and not staging.exists():
        copying = staging.with_name(f"{staging.name}.copying.{os.getpid()}")
        shutil.copyfile(warehouse, copying)
        try:
            os.link(copying, staging)  # never replaces a staging file another step has begun to write
        except FileExistsError:
            pass
        copying.unlink()
    return staging


def connect_with_lake(
    database: Path | str, lake_dir: Path, sql: str, versions: dict[str, int] | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection where `<layer>.<table>` names the lake's Delta tables a model reads (at `versions`
    where given, else as they are now), `seed.<name>` its seeds, and the macros of sql/macros.sql are defined."""
    connection = duckdb.connect(str(database))
    tables = sql_models.referenced_tables(sql)
    for layer, table in tables:
        if layer in catalog.LAKE_LAYERS:
            version = (versions or {}).get(f"{layer}/{table}")
            register_delta(connection, lake_dir / layer / table, layer, table, version=version)
    seeds.register_duckdb(connection, [table for layer, table in tables if layer == seeds.SCHEMA])
    sql_macros.define_duckdb(connection)
    return connection


LINEAGE_TABLE = "column_lineage"
LINEAGE_SCHEMA = {
    "model": pl.String, "column_name": pl.String, "depth": pl.Int32, "downstream_table": pl.String,
    "downstream_column": pl.String, "upstream_table": pl.String, "upstream_column": pl.String,
    "derived_by": pl.String, "path": pl.String,
}  # fmt: skip


def upstream_schema(connection: duckdb.DuckDBPyConnection, sql: str) -> dict[str, list[str]]:
    """`layer/table` -> column names of every table the model reads, as this connection sees them."""
    schema = {}
    for table in lineage.referenced_tables(sql):
        layer, name = table.split("/", 1)
        relation = f"main.{name}" if layer == lineage.CURATED else f"{layer}.{name}"
        schema[table] = [row[0] for row in connection.execute(f"describe {relation}").fetchall()]
    return schema


def recorded_models(connection: duckdb.DuckDBPyConnection) -> dict[str, dict[str, list[lineage.Column]]]:
    """The direct (depth 1) lineage of every model already in this warehouse file, to walk through them."""
    if not _has_lineage_table(connection):
        return {}
    models: dict[str, dict[str, list[lineage.Column]]] = {}
    query = f"select model, column_name, upstream_table, upstream_column from main.{LINEAGE_TABLE} where depth = 1"
    for model, column, table, upstream in connection.execute(query).fetchall():
        inputs = models.setdefault(model, {}).setdefault(column, [])
        if table is not None:
            inputs.append((table, upstream))
    return models


def _has_lineage_table(connection: duckdb.DuckDBPyConnection) -> bool:
    # fetchall, not fetchone: DuckDB 2 refuses register() while a result is partly fetched.
    query = "select count(*) from duckdb_tables() where schema_name = 'main' and table_name = ? and database_name = current_database()"
    return connection.execute(query, [LINEAGE_TABLE]).fetchall()[0][0] > 0


def store_lineage(connection: duckdb.DuckDBPyConnection, model: str, rows: list[lineage.LineageRow]) -> None:
    """Replace the model's rows of the warehouse's column_lineage table."""
    frame = (
        pl.DataFrame([asdict(r) for r in rows], schema=LINEAGE_SCHEMA)
        if rows
        else pl.DataFrame(schema=LINEAGE_SCHEMA)
    )
    connection.register("_lineage_rows", frame.to_arrow())
    connection.execute(
        f"create table if not exists main.{LINEAGE_TABLE} as select * from _lineage_rows limit 0"
    )
    connection.execute(f"delete from main.{LINEAGE_TABLE} where model = ?", [model])
    connection.execute(f"insert into main.{LINEAGE_TABLE} by name select * from _lineage_rows")
    connection.unregister("_lineage_rows")


def publish(staging_file: Path, warehouse: Path, run_id: str) -> tuple[list[str], list[str]]:
    """Build the service's tables, checkpoint, and rename the staging file into place.
    Returns (every table published, the models carried over from the last warehouse unbuilt)."""
    if not staging_file.exists():  # a run that built no model: publish the last warehouse again
        staging(warehouse, run_id)
    with duckdb.connect(str(staging_file)) as connection:
        service_index.build(connection, run_id)
        carried = incremental.built_before(connection, run_id)
        for table in incremental.STAGING_ONLY:
            connection.execute(f"drop table if exists main.{table}")
        connection.execute("checkpoint")
        tables = [
            r[0] for r in connection.execute("select table_name from duckdb_tables() order by 1").fetchall()
        ]
        free = _free_share(connection)
    if free > REWRITE_FREE_SHARE:
        _rewrite(staging_file)
    os.replace(staging_file, warehouse)
    for leftover in warehouse.parent.glob(f"{warehouse.name}.*.building*"):
        leftover.unlink()  # staging files of runs that were killed before publishing
    return tables, carried


# A file carried forward night after night keeps the blocks that replaced rows and tables freed; DuckDB
# reuses them but never gives them back. Past this share of free blocks the publish writes a fresh copy.
REWRITE_FREE_SHARE = 0.3


def _free_share(connection: duckdb.DuckDBPyConnection) -> float:
    total, free = connection.execute(
        "select total_blocks, free_blocks from pragma_database_size() where database_name = current_database()"
    ).fetchall()[0]
    return free / total if total else 0.0


def _rewrite(staging_file: Path) -> None:
    """Copy every table (with its indexes) into a fresh file that takes the staging file's place."""
    fresh = staging_file.with_name(f"{staging_file.name}.rewrite")
    fresh.unlink(missing_ok=True)
    with duckdb.connect(str(fresh)) as connection:
        connection.execute("attach ? as carried (read_only)", [str(staging_file)])
        connection.execute(f"copy from database carried to {_identifier(connection)}")
        connection.execute("detach carried")
        connection.execute("checkpoint")
    os.replace(fresh, staging_file)


def _identifier(connection: duckdb.DuckDBPyConnection) -> str:
    return '"' + connection.execute("select current_database()").fetchall()[0][0].replace('"', '""') + '"'

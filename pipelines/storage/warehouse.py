"""The curated DuckDB warehouse, without Dagster: a staging file per run, models read the lake and seeds
through in-memory catalogs, the lineage table travels with the models, and one rename publishes.

All models of a run are built into `<warehouse>.<run_id>.building`; publishing carries over from the
published file whatever this run did not rebuild (a partial run from the UI), then swaps the staging file
into place with one rename, so a reader never sees half a night.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import duckdb
import polars as pl

from pipelines.publishing import lineage, seeds, service_index, sql_macros, sql_models
from pipelines.storage import catalog
from pipelines.storage.lake import register_delta


def staging_path(warehouse: Path, run_id: str) -> Path:
    return warehouse.with_name(f"{warehouse.name}.{run_id}.building")


def staging(warehouse: Path, run_id: str) -> Path:
    staging = staging_path(warehouse, run_id)
    staging.parent.mkdir(parents=True, exist_ok=True)
    return staging


def carry_over(connection: duckdb.DuckDBPyConnection, published: Path) -> list[str]:
    """Copy from the published warehouse the tables (and lineage rows) of models this run did not build."""
    if not published.exists():
        return []
    connection.execute("attach ? as published (read_only)", [str(published)])
    built = {
        r[0]
        for r in connection.execute(
            "select table_name from duckdb_tables() where database_name = current_database()"
        ).fetchall()
    }
    old = [
        r[0]
        for r in connection.execute(
            "select table_name from duckdb_tables() where database_name = 'published'"
        ).fetchall()
    ]
    # The service's tables are built again at every publish from the tables published with them.
    copied = [t for t in old if t not in built and t not in service_index.NOT_CARRIED_OVER]
    for table in copied:
        connection.execute(f'create table main."{table}" as select * from published.main."{table}"')
    if LINEAGE_TABLE in built and LINEAGE_TABLE in old:
        connection.execute(
            f"insert into main.{LINEAGE_TABLE} by name select * from published.main.{LINEAGE_TABLE} "
            f"where model not in (select distinct model from main.{LINEAGE_TABLE})"
        )
    connection.execute("detach published")
    return copied


def connect_with_lake(database: Path | str, lake_dir: Path, sql: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection where `<layer>.<table>` names the lake's Delta tables a model reads, `seed.<name>`
    its seeds, and the macros of sql/macros.sql are defined."""
    connection = duckdb.connect(str(database))
    tables = sql_models.referenced_tables(sql)
    for layer, table in tables:
        if layer in catalog.LAKE_LAYERS:
            register_delta(connection, lake_dir / layer / table, layer, table)
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


def publish(staging_file: Path, warehouse: Path) -> tuple[list[str], list[str]]:
    """Carry over what this run did not build, checkpoint, and rename the staging file into place.
    Returns (every table published, the tables carried over)."""
    with duckdb.connect(str(staging_file)) as connection:
        carried = carry_over(connection, warehouse)
        service_index.build(connection)
        connection.execute("checkpoint")
        tables = [
            r[0] for r in connection.execute("select table_name from duckdb_tables() order by 1").fetchall()
        ]
    os.replace(staging_file, warehouse)
    for leftover in warehouse.parent.glob(f"{warehouse.name}.*.building*"):
        leftover.unlink()  # staging files of runs that were killed before publishing
    return tables, carried

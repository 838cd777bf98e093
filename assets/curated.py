"""Curated: one asset per `sql/curated/*.sql` model, built into a staging DuckDB file, then published at once.

Models read lake tables as `<layer>.<table>` (deltalake lists each table's snapshot, DuckDB reads the
parquet files: its delta extension needs a download). All models of a run are built into a fresh
`<warehouse>.<run_id>.building`; `curated/warehouse` carries over from the published file whatever this run
did not rebuild (a partial run from the UI), then swaps the file into place with one rename, so a reader
never sees half a night.

Column lineage is computed when a model is built, from its SQL and the schemas of the tables it reads as
they are then (pipelines/publishing/lineage.py): the models read lake tables through `select *`, and the gold
tables' columns exist only in their Delta logs, which a fresh machine loading the definitions may not have
yet. Each materialisation carries `dagster/column_lineage` (stored; only Dagster+ draws it), the column
schema with each column's inputs, and a readable lineage table down to bronze; the same rows go to the
warehouse's `column_lineage` table, written with the model in the staging file and published with it.
"""


import datetime as dt
import os
from dataclasses import asdict
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from assets.retry import on_transient_errors
from assets.keys import writer_keys
from assets.metadata import markdown_table
from pipelines.storage import catalog
from pipelines.publishing import asof, lineage
from pipelines.storage.lake import register_delta
from pipelines.orchestration.resources import LakehouseResource

SQL_DIR = Path(__file__).resolve().parent.parent / "sql" / "curated"


def model_sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def referenced_tables(sql: str) -> list[tuple[str, str]]:
    """(layer, table) of every table a model reads: lake layers, or `curated` for another model."""
    tables = set()
    for table in sqlglot.parse_one(sql, read="duckdb").find_all(exp.Table):
        layer = table.db or "curated"
        if layer in (*catalog.LAKE_LAYERS, "curated", "main"):
            tables.add(("curated" if layer == "main" else layer, table.name))
    ctes = {c.alias for c in sqlglot.parse_one(sql, read="duckdb").find_all(exp.CTE)}
    return sorted(t for t in tables if not (t[0] == "curated" and t[1] in ctes))


def upstream_keys(sql: str) -> list[dg.AssetKey]:
    keys: list[dg.AssetKey] = []
    for layer, table in referenced_tables(sql):
        keys.extend(writer_keys(f"{layer}/{table}"))
    return sorted(set(keys), key=lambda k: k.to_user_string())


def staging_path(warehouse: Path, run_id: str) -> Path:
    return warehouse.with_name(f"{warehouse.name}.{run_id}.building")


def _staging(warehouse: Path, run_id: str) -> Path:
    staging = staging_path(warehouse, run_id)
    staging.parent.mkdir(parents=True, exist_ok=True)
    return staging


def _carry_over(connection: duckdb.DuckDBPyConnection, published: Path) -> list[str]:
    """Copy from the published warehouse the tables (and lineage rows) of models this run did not build."""
    if not published.exists():
        return []
    connection.execute("attach ? as published (read_only)", [str(published)])
    built = {r[0] for r in connection.execute("select table_name from duckdb_tables() where database_name = current_database()").fetchall()}
    old = [r[0] for r in connection.execute("select table_name from duckdb_tables() where database_name = 'published'").fetchall()]
    copied = [t for t in old if t not in built]
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
    """A DuckDB connection where `<layer>.<table>` names the lake's Delta tables a model reads."""
    connection = duckdb.connect(str(database))
    for layer, table in referenced_tables(sql):
        if layer not in catalog.LAKE_LAYERS:
            continue
        register_delta(connection, lake_dir / layer / table, layer, table)
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
    frame = pl.DataFrame([asdict(r) for r in rows], schema=LINEAGE_SCHEMA) if rows else pl.DataFrame(schema=LINEAGE_SCHEMA)
    connection.register("_lineage_rows", frame.to_arrow())
    connection.execute(f"create table if not exists main.{LINEAGE_TABLE} as select * from _lineage_rows limit 0")
    connection.execute(f"delete from main.{LINEAGE_TABLE} where model = ?", [model])
    connection.execute(f"insert into main.{LINEAGE_TABLE} by name select * from _lineage_rows")
    connection.unregister("_lineage_rows")


def lineage_metadata(direct: dict[str, list[lineage.Column]], rows: list[lineage.LineageRow], columns: list[tuple[str, str]]) -> dict:
    """`dagster/column_lineage` (upstream columns by the asset keys that write them: a shared lake table's
    writers), the column schema with each column's inputs, and the readable lineage table down to bronze
    (by lake table name)."""
    deps = {
        column: [dg.TableColumnDep(asset_key=key, column_name=upstream) for table, upstream in inputs for key in writer_keys(table)]
        for column, inputs in direct.items()
    }
    inputs = {c: ", ".join(f"{t}.{u}" for t, u in direct.get(c, [])) for c, _ in columns}
    schema = dg.TableSchema(
        columns=[dg.TableColumn(c, t, description=f"← {inputs[c]}" if inputs[c] else "← no column (literal or count)") for c, t in columns]
    )
    table = pl.DataFrame(lineage.summary(rows, [c for c, _ in columns]), schema=["column", "← model SQL", "← … down to bronze"], orient="row")
    return {
        "dagster/column_schema": schema,
        "dagster/column_lineage": dg.TableColumnLineage(deps_by_column=deps),
        "column_lineage": dg.MetadataValue.md(markdown_table(table, max_rows=table.height).value + LINEAGE_NOTE),
    }


LINEAGE_NOTE = """
The same rows, with depth and path, are in the warehouse table `column_lineage`
(`select * from column_lineage where model = '<model>' and column_name = '<column>' order by depth`).
Bronze rows carry their delivery_date, source_file, source_row and file_sha256; to find the record behind
one golden value, join its `<field>_source` to `record_lineage.record_ref`.
"""


def _model_asset(name: str) -> dg.AssetsDefinition:
    sql = model_sql(name)
    description = sql.splitlines()[0].removeprefix("--").strip()

    @dg.asset(
        key=["curated", name],
        group_name="curated",
        deps=upstream_keys(sql),
        kinds={"duckdb", "sql"},
        description=description,
        metadata={"sql": dg.MetadataValue.md(f"```sql\n{sql}\n```"), "sql_file": f"sql/curated/{name}.sql"},
    )
    @on_transient_errors
    def model(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
        staging = _staging(lakehouse.warehouse, context.run_id)
        with connect_with_lake(staging, Path(lakehouse.lake_dir), sql) as connection:
            connection.execute("begin transaction")  # the table and its lineage rows change together
            connection.execute(f"create or replace table main.{name} as {sql}")
            rows = connection.execute(f"select count(*) from main.{name}").fetchone()[0]
            columns = [(c[0], c[1]) for c in connection.execute(f"describe main.{name}").fetchall()]
            try:
                direct = lineage.column_lineage(sql, upstream_schema(connection, sql))
                steps = lineage.walk(name, direct, recorded_models(connection))
            except (lineage.LineageError, SqlglotError) as error:  # never lose the night's data over lineage
                direct, steps = None, []
                problem = f"{type(error).__name__}: {error}"
                context.log.warning(f"{name}: no column lineage: {problem}")
            store_lineage(connection, name, steps)
            connection.execute("commit")
        if direct is None:
            schema = dg.TableSchema(columns=[dg.TableColumn(c, t) for c, t in columns])
            return dg.MaterializeResult(metadata={"dagster/row_count": rows, "dagster/column_schema": schema, "column_lineage_error": problem})
        if list(direct) != [c for c, _ in columns]:
            context.log.warning(f"{name}: sqlglot names the columns {list(direct)}, the table has {[c for c, _ in columns]}")
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, **lineage_metadata(direct, steps, columns)})

    return model


model_names = sorted(p.stem for p in SQL_DIR.glob("*.sql"))
model_assets = [_model_asset(n) for n in model_names]


@dg.asset(
    key=["curated", "warehouse"],
    group_name="curated",
    deps=[dg.AssetKey(["curated", n]) for n in model_names],
    kinds={"duckdb"},
    description="Publishes the night's curated DuckDB file in one rename: readers see all of it or none. Logs the "
    "publication (as-of date, every lake table's Delta version) to gold/publication_log for `entity-lakehouse asof`.",
)
@on_transient_errors
def warehouse(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    staging = _staging(lakehouse.warehouse, context.run_id)
    with duckdb.connect(str(staging)) as connection:
        carried = _carry_over(connection, lakehouse.warehouse)
        connection.execute("checkpoint")
        tables = [r[0] for r in connection.execute("select table_name from duckdb_tables() order by 1").fetchall()]
    os.replace(staging, lakehouse.warehouse)
    for leftover in lakehouse.warehouse.parent.glob(f"{lakehouse.warehouse.name}.*.building*"):
        leftover.unlink()  # staging files of runs that were killed before publishing
    lake = lakehouse.lake(context)
    # Logged after the rename: a publication in the log was seen by readers (wall time only orders the log).
    lake.insert_new(catalog.PUBLICATION_LOG, asof.publication_row(lake, lakehouse.as_of(lake), dt.datetime.now()), key=["run_id"])
    context.log.info(f"published {lakehouse.warehouse} with {len(tables)} tables" + (f" ({len(carried)} carried over)" if carried else ""))
    return dg.MaterializeResult(metadata={"path": str(lakehouse.warehouse), "tables": ", ".join(tables), "carried_over": ", ".join(carried)})

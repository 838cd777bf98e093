"""Curated: one asset per `sql/curated/*.sql` model, built into a staging DuckDB file, then published at once.

Models read lake tables as `<layer>.<table>` (Delta read through deltalake/pyarrow: DuckDB's delta
extension needs a download). All models of a run are built into `<warehouse>.<run_id>.building`;
`curated/warehouse` then swaps it into place with one rename, so a reader never sees half a night.
"""


import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import sqlglot
from deltalake import DeltaTable
from sqlglot import exp

from assets.bronze import SHARED_TABLES
from pipelines.resources import LakehouseResource

SQL_DIR = Path(__file__).resolve().parent.parent / "sql" / "curated"
LAKE_LAYERS = ("bronze", "silver", "gold", "quality")


def model_sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def referenced_tables(sql: str) -> list[tuple[str, str]]:
    """(layer, table) of every table a model reads: lake layers, or `curated` for another model."""
    tables = set()
    for table in sqlglot.parse_one(sql, read="duckdb").find_all(exp.Table):
        layer = table.db or "curated"
        if layer in (*LAKE_LAYERS, "curated", "main"):
            tables.add(("curated" if layer == "main" else layer, table.name))
    ctes = {c.alias for c in sqlglot.parse_one(sql, read="duckdb").find_all(exp.CTE)}
    return sorted(t for t in tables if not (t[0] == "curated" and t[1] in ctes))


def upstream_keys(sql: str) -> list[dg.AssetKey]:
    keys: list[dg.AssetKey] = []
    for layer, table in referenced_tables(sql):
        keys.extend(SHARED_TABLES.get(f"{layer}/{table}", [dg.AssetKey([layer, table])]))
    return sorted(set(keys), key=lambda k: k.to_user_string())


def staging_path(warehouse: Path, run_id: str) -> Path:
    return warehouse.with_name(f"{warehouse.name}.{run_id}.building")


def _staging(warehouse: Path, run_id: str) -> Path:
    """This run's staging file, started from the published warehouse so that a partial run publishes all."""
    staging = staging_path(warehouse, run_id)
    if not staging.exists():
        staging.parent.mkdir(parents=True, exist_ok=True)
        if warehouse.exists():
            shutil.copyfile(warehouse, staging)
    return staging


def connect_with_lake(database: Path | str, lake_dir: Path, sql: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection where `<layer>.<table>` names the lake's Delta tables a model reads."""
    connection = duckdb.connect(str(database))
    for layer, table in referenced_tables(sql):
        if layer not in LAKE_LAYERS:
            continue
        dataset = DeltaTable(str(lake_dir / layer / table)).to_pyarrow_dataset()
        connection.register(f"{layer}__{table}", dataset)
        connection.execute(f"attach if not exists ':memory:' as {layer}")
        connection.execute(f"create or replace view {layer}.{table} as select * from {layer}__{table}")
    return connection


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
    def model(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
        staging = _staging(lakehouse.warehouse, context.run_id)
        with connect_with_lake(staging, Path(lakehouse.lake_dir), sql) as connection:
            connection.execute(f"create or replace table main.{name} as {sql}")
            rows = connection.execute(f"select count(*) from main.{name}").fetchone()[0]
            columns = connection.execute(f"describe main.{name}").fetchall()
        schema = dg.TableSchema(columns=[dg.TableColumn(c[0], c[1]) for c in columns])
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, "dagster/column_schema": schema})

    return model


model_names = sorted(p.stem for p in SQL_DIR.glob("*.sql"))
model_assets = [_model_asset(n) for n in model_names]


@dg.asset(
    key=["curated", "warehouse"],
    group_name="curated",
    deps=[dg.AssetKey(["curated", n]) for n in model_names],
    kinds={"duckdb"},
    description="Publishes the night's curated DuckDB file in one rename: readers see all of it or none.",
)
def warehouse(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    staging = staging_path(lakehouse.warehouse, context.run_id)
    with duckdb.connect(str(staging)) as connection:
        connection.execute("checkpoint")
        tables = [r[0] for r in connection.execute("select table_name from duckdb_tables() order by 1").fetchall()]
    os.replace(staging, lakehouse.warehouse)
    for leftover in lakehouse.warehouse.parent.glob(f"{lakehouse.warehouse.name}.*.building*"):
        leftover.unlink()  # staging files of runs that were killed before publishing
    context.log.info(f"published {lakehouse.warehouse} with {len(tables)} tables")
    return dg.MaterializeResult(metadata={"path": str(lakehouse.warehouse), "tables": ", ".join(tables)})

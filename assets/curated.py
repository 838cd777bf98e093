"""Curated: one asset per `sql/curated/*.sql` model, built into a staging DuckDB file, then published at once.

Models read lake tables as `<layer>.<table>` (deltalake lists each table's snapshot, DuckDB reads the
parquet files: its delta extension needs a download). All models of a run are built into
`<warehouse>.<run_id>.building`, a copy of the published file: a model marked `-- incremental by entity_id`
replaces only the rows of the entities whose inputs changed (pipelines/publishing/incremental.py), and
whatever the run does not build (a partial run from the UI) stays as it was. `curated/warehouse` then swaps
the file into place with one rename, so a reader never sees half a night.

Column lineage is computed when a model is built, from its SQL and the schemas of the tables it reads as
they are then (pipelines/publishing/lineage.py): the models read lake tables through `select *`, and the gold
tables' columns exist only in their Delta logs, which a fresh machine loading the definitions may not have
yet. Each materialisation carries `dagster/column_lineage` (stored; only Dagster+ draws it), the column
schema with each column's inputs, and a readable lineage table down to bronze; the same rows go to the
warehouse's `column_lineage` table, written with the model in the staging file and published with it.
"""

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl
from sqlglot.errors import SqlglotError

from assets.keys import writer_keys
from assets.metadata import markdown_table
from assets.retry import on_transient_errors
from pipelines.orchestration.resources import LakehouseResource
from pipelines.publishing import asof, incremental, lineage, sql_models
from pipelines.storage import catalog
from pipelines.storage import warehouse as warehouse_file


def upstream_keys(sql: str) -> list[dg.AssetKey]:
    keys: list[dg.AssetKey] = []
    for layer, table in sql_models.referenced_tables(sql):
        keys.extend(writer_keys(f"{layer}/{table}"))
    return sorted(set(keys), key=lambda k: k.to_user_string())


def lineage_metadata(
    direct: dict[str, list[lineage.Column]], rows: list[lineage.LineageRow], columns: list[tuple[str, str]]
) -> dict:
    """`dagster/column_lineage` (upstream columns by the asset keys that write them: a shared lake table's
    writers), the column schema with each column's inputs, and the readable lineage table down to bronze
    (by lake table name)."""
    deps = {
        column: [
            dg.TableColumnDep(asset_key=key, column_name=upstream)
            for table, upstream in inputs
            for key in writer_keys(table)
        ]
        for column, inputs in direct.items()
    }
    inputs = {c: ", ".join(f"{t}.{u}" for t, u in direct.get(c, [])) for c, _ in columns}
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(
                c, t, description=f"← {inputs[c]}" if inputs[c] else "← no column (literal or count)"
            )
            for c, t in columns
        ]
    )
    table = pl.DataFrame(
        lineage.summary(rows, [c for c, _ in columns]),
        schema=["column", "← model SQL", "← … down to bronze"],
        orient="row",
    )
    return {
        "dagster/column_schema": schema,
        "dagster/column_lineage": dg.TableColumnLineage(deps_by_column=deps),
        "column_lineage": dg.MetadataValue.md(
            markdown_table(table, max_rows=table.height).value + LINEAGE_NOTE
        ),
    }


LINEAGE_NOTE = """
The same rows, with depth and path, are in the warehouse table `column_lineage`
(`select * from column_lineage where model = '<model>' and column_name = '<column>' order by depth`).
Bronze rows carry their delivery_date, source_file, source_row and file_sha256; to find the record behind
one golden value, join its `<field>_source` to `record_lineage.record_ref`.
"""


def _model_asset(name: str) -> dg.AssetsDefinition:
    sql = sql_models.model_sql(name)
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
        staging = warehouse_file.staging(lakehouse.warehouse, context.run_id)
        lake_dir = Path(lakehouse.lake_dir)
        versions = incremental.input_versions(lake_dir, sql)
        with warehouse_file.connect_with_lake(staging, lake_dir, sql, versions) as connection:
            connection.execute("begin transaction")  # the table, its state and its lineage change together
            built = incremental.build(connection, name, sql, lake_dir, versions, context.run_id)
            rows = connection.execute(f"select count(*) from main.{name}").fetchone()[0]
            columns = [(c[0], c[1]) for c in connection.execute(f"describe main.{name}").fetchall()]
            try:
                direct = lineage.column_lineage(
                    sql, warehouse_file.upstream_schema(connection, sql), lakehouse.cache / "lineage"
                )
                steps = lineage.walk(name, direct, warehouse_file.recorded_models(connection))
            except (lineage.LineageError, SqlglotError) as error:  # never lose the night's data over lineage
                direct, steps = None, []
                problem = f"{type(error).__name__}: {error}"
                context.log.warning(f"{name}: no column lineage: {problem}")
            warehouse_file.store_lineage(connection, name, steps)
            connection.execute("commit")
        (context.log.info if built.mode == "replaced" else context.log.debug)(
            f"{name}: {built.mode}, {built.reason}"
        )
        build = {"build": built.mode, "build_reason": built.reason}
        if direct is None:
            schema = dg.TableSchema(columns=[dg.TableColumn(c, t) for c, t in columns])
            return dg.MaterializeResult(
                metadata={
                    "dagster/row_count": rows,
                    "dagster/column_schema": schema,
                    "column_lineage_error": problem,
                    **build,
                }
            )
        if list(direct) != [c for c, _ in columns]:
            context.log.warning(
                f"{name}: sqlglot names the columns {list(direct)}, the table has {[c for c, _ in columns]}"
            )
        return dg.MaterializeResult(
            metadata={"dagster/row_count": rows, **build, **lineage_metadata(direct, steps, columns)}
        )

    return model


model_names = sql_models.model_names()
model_assets = [_model_asset(n) for n in model_names]


@dg.asset(
    key=["curated", "warehouse"],
    group_name="curated",
    # The access summary (assets/service.py) is written into the same staging file before the rename.
    deps=[
        *(dg.AssetKey(["curated", n]) for n in model_names),
        dg.AssetKey(["curated", "access_daily_summary"]),
    ],
    kinds={"duckdb"},
    description="Publishes the night's curated DuckDB file in one rename: readers see all of it or none. Logs the "
    "publication (as-of date, every lake table's Delta version) to gold/publication_log for `entity-lakehouse asof`.",
)
@on_transient_errors
def warehouse(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    tables, carried = warehouse_file.publish(
        warehouse_file.staging_path(lakehouse.warehouse, context.run_id), lakehouse.warehouse, context.run_id
    )
    lake = lakehouse.lake(context)
    # Logged after the rename: a publication in the log was seen by readers (wall time only orders the log).
    lake.insert_new(
        catalog.PUBLICATION_LOG,
        asof.publication_row(lake, lakehouse.as_of(lake), dt.datetime.now()),
        key=["run_id"],
    )
    context.log.info(
        f"published {lakehouse.warehouse} with {len(tables)} tables"
        + (f" ({len(carried)} carried over)" if carried else "")
    )
    return dg.MaterializeResult(
        metadata={
            "path": str(lakehouse.warehouse),
            "tables": ", ".join(tables),
            "carried_over": ", ".join(carried),
        }
    )

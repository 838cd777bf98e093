"""Run the curated DuckDB models (`sql/curated/*.sql`) on Spark, for provinces too large for one DuckDB.

The SQL files stay the single source: `transpile` turns DuckDB SQL into Spark SQL with sqlglot, and
rewrites every lake reference `<layer>.<table>` to one flat view name `<layer>__<table>` (a seed
`seed.<name>` likewise: `register_seeds`). `register_lake_tables` creates those views, from the Delta
tables read through deltalake/pyarrow (local mode, no extra jars) or natively with delta-spark
(`native_delta=True`, a cluster). Flat view names work in both modes and need no metastore: Spark SQL
reads `gold.golden_entity` as database.table, and a temporary view cannot be qualified by a database
(global temp views are all in the one `global_temp` database).

    python -m pipelines.publishing.spark_models --lake data/lake [--out data/warehouse/spark] [model ...]

No Dagster imports: this runs on a cluster driver that only has pyspark, sqlglot, deltalake and polars.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import sqlglot
from sqlglot import exp

from pipelines.publishing import seeds, sql_macros
from pipelines.publishing.sql_models import model_names, model_sql, referenced_tables
from pipelines.storage import catalog

CURATED_SCHEMAS = ("curated", "main")  # how a model may name another model (the DuckDB file's catalog/schema)

LOCAL_CONF = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # Spark 4's default, pinned: overflow and bad casts fail as in DuckDB instead of giving NULL.
    "spark.sql.ansi.enabled": "true",
}


# --------------------------------------------------------------------------------------------- session


def spark_session(
    master: str = "local[2]", conf: Mapping[str, str] | None = None, app_name: str = "entity-lakehouse"
):
    """A SparkSession for the curated models: local defaults, any of them overridden by `conf`.

    Local (`local[...]`): driver bound to 127.0.0.1, UI off, 4 shuffle partitions, UTC. On a cluster pass
    its master (or "" to keep what spark-submit set) and e.g. {"spark.sql.shuffle.partitions": "800",
    "spark.driver.host": <driver address>, ...}; the values in `conf` win.
    """
    from pyspark.sql import SparkSession

    settings = dict(LOCAL_CONF)
    if not master.startswith("local"):
        for key in (
            "spark.driver.host",
            "spark.driver.bindAddress",
            "spark.sql.shuffle.partitions",
            "spark.default.parallelism",
        ):
            settings.pop(key)
    else:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no "hostname resolves to a loopback" warning
        # Spark creates its (unused: only temp views here) warehouse dir at start: not in the caller's cwd.
        settings["spark.sql.warehouse.dir"] = str(
            Path(tempfile.gettempdir()) / "entity-lakehouse-spark-warehouse"
        )
    settings.update(conf or {})
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# --------------------------------------------------------------------------------------------- SQL


def view_name(layer: str, table: str) -> str:
    """The flat Spark view name of lake table `<layer>.<table>`."""
    return f"{layer}__{table}"


class UnportableSQL(ValueError):
    """A DuckDB construct Spark SQL would run with different results: rewrite the model portably."""


def transpile(sql: str, flatten_layers: bool = True, keep_order: bool = True) -> str:
    """DuckDB SQL -> Spark SQL: sqlglot's transpiler on the AST, plus fix-ups, each for a reason.

    Needed by the current models: (1) and (8). The others were found by running DuckDB and the transpiled
    SQL side by side on Spark 4.3 (sqlglot 30.30) and make constructs a future model may use give the
    same answer instead of a silently different one:

    1. `<layer>.<table>` -> `<layer>__<table>`, `curated.<model>`/`main.<model>` -> `<model>`
       (`flatten_layers`): the temp views `register_lake_tables`/`run_model` create. Spark SQL reads
       `gold.golden_entity` as database.table and a temp view cannot live in a database. Done on the
       AST, so CTEs, aliases and string literals that look like `gold.x` are never touched; an unaliased
       table keeps its old name as alias, so `golden_entity.col` and `gold.golden_entity.col` resolve.
    2. Day of week: DuckDB `dayofweek`/`weekday`/`dow` count Sunday = 0, Spark's `DAYOFWEEK` Sunday = 1
       and its `WEEKDAY` Monday = 0; sqlglot copies the names. -> `(DAYOFWEEK(x) - 1)`, and ISO
       `isodow` (Monday = 1 .. Sunday = 7) -> `(WEEKDAY(x) + 1)` (sqlglot's own isodow is wrong).
    3. Quantiles: DuckDB `quantile`/`quantile_disc(x, q)` -> `PERCENTILE_DISC(q) WITHIN GROUP (ORDER BY x)`,
       `quantile_cont(x, q)` -> `PERCENTILE(x, q)`. sqlglot writes `PERCENTILE_CONT(x, q)` (Spark: wrong
       number of arguments), `PERCENTILE(x, q)` for `quantile` (continuous, DuckDB's is discrete) and
       `PERCENTILE_APPROX` for a WITHIN GROUP disc. Checked equal on 40 groups at 4 quantiles.
    4. `regexp_replace(s, p, r, 'g')`: sqlglot drops the options; Spark always replaces every match.
       'g' is then right; 'i' becomes a `(?i)` prefix; a DuckDB back-reference `\\1` in the replacement
       becomes Java's `$1` (and a literal `$` is escaped). Without 'g' DuckDB replaces only the first
       match, which Spark cannot: UnportableSQL.
    5. LIKE/ILIKE without ESCAPE: DuckDB has no escape character, Spark's default is `\\`: a backslash in
       a literal pattern is doubled so that it stays a plain character.
    6. `concat(a, b, ...)`: sqlglot keeps DuckDB's skip-NULLs semantics with `COALESCE(x, '')`, which
       fails in Spark (ANSI) for a non-string x: each argument is cast to STRING first.
    7. Refused (UnportableSQL) because Spark gives other rows without an error: `list()`/`array_agg()`
       (-> COLLECT_LIST drops NULLs and ignores ORDER BY) and `UNION [ALL] BY NAME` (no Spark SQL form).
    8. Macros of sql/macros.sql (`month_no(d)`) are inlined: Spark SQL has none (pipelines/sql_macros.py).
    9. `keep_order=False` drops the outermost ORDER BY (not one under LIMIT). The models end in ORDER
       BY for DuckDB's storage order; a top-level Spark sort is a global range shuffle, at 180M rows only
       worth paying if output files should be sorted (min/max skipping). Kept by default: faithful first.

    sqlglot already handles, and the tests check on real data: DuckDB's default NULLS LAST (explicit
    for Spark, whose ascending default is NULLS FIRST), `count(*) filter (where ...)`, `bool_or`,
    `x::bigint`, `concat_ws`, `"column"` -> `` `column` ``, `round`, `string_agg(... order by ...)`.
    Left as is because Spark fails loudly instead (ANSI mode on): `x / 0` (DuckDB: inf/NaN; write
    `x / nullif(y, 0)`), out-of-range list index, `first(x order by y)` (write `arg_min(x, y)`).
    """
    tree = sql_macros.inline(sqlglot.parse_one(sql, read="duckdb"))
    problems = _unportable(tree)
    if problems:
        raise UnportableSQL("; ".join(problems))
    if flatten_layers:
        _flatten_layers(tree)
    tree = tree.transform(_portable)
    if (
        not keep_order
        and isinstance(tree, exp.Query)
        and tree.args.get("order")
        and not tree.args.get("limit")
    ):
        tree.set("order", None)
    return tree.sql(dialect="spark", pretty=True)


DOW_PARTS = {"dow", "dayofweek", "weekday"}
ISODOW_PARTS = {"isodow"}
REGEX_OPTIONS = {"g", "i", "c"}


def _unportable(tree: exp.Expression) -> list[str]:
    problems = []
    for node in tree.find_all(exp.ArrayAgg):
        problems.append(f"`{node.sql('duckdb')}`: Spark's COLLECT_LIST drops NULLs and ignores ORDER BY")
    for node in tree.find_all(exp.Union):
        if node.args.get("by_name"):
            problems.append("UNION BY NAME has no Spark SQL form: list the columns in the same order")
    for node in tree.find_all(exp.RegexpReplace):
        options = node.args.get("modifiers")
        text = node.sql("duckdb")
        if options is None:
            problems.append(
                f"`{text}` replaces only the first match in DuckDB, every match in Spark: add 'g'"
            )
        elif not options.is_string or not set(options.name) <= REGEX_OPTIONS or "g" not in options.name:
            problems.append(f"`{text}`: only the options g, i, c transpile ('g' required)")
        elif not node.args["replacement"].is_string:
            problems.append(f"`{text}`: the replacement must be a literal (back-reference syntax differs)")
    return problems


def _portable(node: exp.Expression) -> exp.Expression:
    """One node rewritten for Spark where DuckDB and Spark differ (see `transpile`).

    `Expression.transform` (on a copy) does not descend into a node that was replaced: a replacement
    transforms its arguments itself; a node fixed in place is returned as is and its children are visited.
    """
    if isinstance(node, exp.DayOfWeek):
        return _dow(node.this.transform(_portable))
    if isinstance(node, exp.DayOfWeekIso):
        return _isodow(node.this.transform(_portable))
    if isinstance(node, exp.Extract) and node.this.name.lower() in DOW_PARTS | ISODOW_PARTS:
        arg = node.expression.transform(_portable)
        return _dow(arg) if node.this.name.lower() in DOW_PARTS else _isodow(arg)
    if isinstance(node, exp.Anonymous):
        name, args = node.name.lower(), node.expressions
        if name in ("date_part", "datepart") and len(args) == 2 and args[0].is_string:
            part = args[0].name.lower()
            if part in DOW_PARTS | ISODOW_PARTS:
                arg = args[1].transform(_portable)
                return _dow(arg) if part in DOW_PARTS else _isodow(arg)
        if name == "weekday" and len(args) == 1:
            return _dow(args[0].transform(_portable))
    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont | exp.PercentileDisc):
        ordered = node.expression.expressions
        if len(ordered) == 1 and not ordered[0].args.get("desc"):
            column, quantile = ordered[0].this.transform(_portable), node.this.this
            return (
                _disc(column, quantile)
                if isinstance(node.this, exp.PercentileDisc)
                else _cont(column, quantile)
            )
    if isinstance(node, exp.Quantile | exp.PercentileDisc | exp.PercentileCont) and not isinstance(
        node.parent, exp.WithinGroup
    ):
        quantile = node.args.get("quantile") or node.args.get("expression")
        if quantile is not None and not isinstance(quantile, exp.Array):
            column = node.this.transform(_portable)
            return (
                _cont(column, quantile) if isinstance(node, exp.PercentileCont) else _disc(column, quantile)
            )
    if isinstance(node, exp.RegexpReplace) and node.args.get("modifiers") is not None:
        options = node.args["modifiers"].name
        node.set("modifiers", None)
        if "i" in options:
            pattern = node.expression
            node.set(
                "expression",
                exp.Literal.string("(?i)" + pattern.name)
                if pattern.is_string
                else exp.Concat(expressions=[exp.Literal.string("(?i)"), pattern]),
            )
        node.set("replacement", exp.Literal.string(_java_replacement(node.args["replacement"].name)))
        return node
    if isinstance(node, exp.Like | exp.ILike) and not isinstance(node.parent, exp.Escape):
        pattern = node.expression
        if pattern.is_string and "\\" in pattern.name:
            node.set("expression", exp.Literal.string(pattern.name.replace("\\", "\\\\")))
    if isinstance(node, exp.Concat) and node.args.get("coalesce"):
        node.set("expressions", [a if a.is_string else exp.cast(a, "string") for a in node.expressions])
        return node
    return node


def _dow(x: exp.Expression) -> exp.Expression:  # DuckDB: Sunday 0 .. Saturday 6
    return exp.Paren(
        this=exp.Sub(this=exp.Anonymous(this="DAYOFWEEK", expressions=[x]), expression=exp.Literal.number(1))
    )


def _isodow(x: exp.Expression) -> exp.Expression:  # ISO: Monday 1 .. Sunday 7
    return exp.Paren(
        this=exp.Add(this=exp.Anonymous(this="WEEKDAY", expressions=[x]), expression=exp.Literal.number(1))
    )


def _cont(column: exp.Expression, quantile: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="PERCENTILE", expressions=[column, quantile.copy()])


def _disc(column: exp.Expression, quantile: exp.Expression) -> exp.Expression:
    order = exp.Order(expressions=[exp.Ordered(this=column, nulls_first=False)])
    return exp.WithinGroup(
        this=exp.Anonymous(this="PERCENTILE_DISC", expressions=[quantile.copy()]), expression=order
    )


def _java_replacement(duckdb_replacement: str) -> str:
    """RE2 replacement (`\\1` back-reference, `$` literal) -> Java's (`$1`, `\\$`)."""
    out, i = [], 0
    text = duckdb_replacement
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1].isdigit():
            out.append("$" + text[i + 1])
            i += 2
            continue
        if char == "\\" and i + 1 < len(text) and text[i + 1] == "\\":
            out.append("\\\\")
            i += 2
            continue
        out.append("\\$" if char == "$" else char)
        i += 1
    return "".join(out)


def _flatten_layers(tree: exp.Expression) -> None:
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    targets = []
    for table in tree.find_all(exp.Table):
        if table.db in (*catalog.LAKE_LAYERS, seeds.SCHEMA):
            targets.append((table, view_name(table.db, table.name)))
        elif table.db in CURATED_SCHEMAS and table.name not in ctes:
            targets.append((table, table.name))
    scope = {id(t): id(t.find_ancestor(exp.Select)) for t, _ in targets}
    bare = [(scope[id(t)], t.name) for t, _ in targets if not t.alias]
    for table, flat_name in targets:
        flat = exp.to_table(flat_name)
        if table.args.get("alias") is not None:
            flat.set("alias", table.args["alias"].copy())
        elif bare.count((scope[id(table)], table.name)) == 1 and flat_name != table.name:
            flat.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
        table.replace(flat)
    for column in tree.find_all(exp.Column):  # gold.golden_entity.col -> golden_entity.col
        qualifiers = (*catalog.LAKE_LAYERS, seeds.SCHEMA, *CURATED_SCHEMAS)
        if column.args.get("db") is not None and column.text("db") in qualifiers:
            column.set("db", None)
            column.set("catalog", None)


# --------------------------------------------------------------------------------------------- lake


def arrow_for_spark(table):
    """A pyarrow table PySpark accepts: string_view/binary_view (what deltalake and polars may hand out)
    become large_string/large_binary, also inside lists, structs and maps."""
    import pyarrow as pa

    def fix(t: pa.DataType) -> pa.DataType:
        if t == pa.string_view():
            return pa.large_string()
        if t == pa.binary_view():
            return pa.large_binary()
        if (
            pa.types.is_list_view(t)
            or pa.types.is_large_list_view(t)
            or pa.types.is_list(t)
            or pa.types.is_large_list(t)
        ):
            return pa.large_list(pa.field(t.value_field.name, fix(t.value_type), t.value_field.nullable))
        if pa.types.is_struct(t):
            return pa.struct([pa.field(f.name, fix(f.type), f.nullable) for f in t])
        if pa.types.is_map(t):
            return pa.map_(fix(t.key_type), fix(t.item_type))
        if pa.types.is_dictionary(t):
            return fix(t.value_type)
        return t

    schema = pa.schema([pa.field(f.name, fix(f.type), f.nullable) for f in table.schema])
    return table if schema == table.schema else table.cast(schema)


def register_lake_tables(
    spark,
    lake_dir: Path | str,
    tables: Iterable[tuple[str, str]],
    native_delta: bool = False,
    views: set[str] | None = None,
) -> list[str]:
    """Create a temp view `<layer>__<table>` for each lake table (the names `transpile` writes); a name
    already in `views` is kept as it is, and each new one is added to it.

    Local (default): the Delta table's current version read with deltalake -> pyarrow -> a Spark
    DataFrame (arrow goes to the JVM in batches; fine up to a few GB on the driver).
    Cluster (`native_delta=True`): `spark.read.format("delta").load(path)` needs the delta-spark package
    on the cluster (`--packages io.delta:delta-spark_2.13:<version matching Spark>`) and the Delta SQL
    extension; executors then read the files in parallel and nothing passes through the driver.
    `lake_dir` may be any URI Spark and deltalake understand (s3a://, abfss://, a local path).
    """
    views = set() if views is None else views
    names = []
    for layer, table in sorted(set(tables)):
        name = view_name(layer, table)
        if layer not in catalog.LAKE_LAYERS or name in views:
            continue
        path = f"{str(lake_dir).rstrip('/')}/{layer}/{table}"
        if native_delta:
            frame = spark.read.format("delta").load(path)
        else:
            from deltalake import DeltaTable

            arrow = arrow_for_spark(DeltaTable(path).to_pyarrow_dataset().to_table())
            frame = spark.createDataFrame(arrow)
        frame.createOrReplaceTempView(name)
        views.add(name)
        names.append(name)
    return names


def register_seeds(spark, names: Iterable[str], views: set[str] | None = None) -> list[str]:
    """Create a temp view `seed__<name>` for each seed (the names `transpile` writes), from the frame the
    DuckDB path loads too (pipelines/seeds.py); like `register_lake_tables`, once per name in `views`."""
    views = set() if views is None else views
    created = []
    for name in sorted(set(names)):
        view = view_name(seeds.SCHEMA, name)
        if view in views:
            continue
        spark.createDataFrame(arrow_for_spark(seeds.read_seed(name).to_arrow())).createOrReplaceTempView(view)
        views.add(view)
        created.append(view)
    return created


def run_model(
    spark, name: str, lake_dir: Path | str, native_delta: bool = False, views: set[str] | None = None
):
    """The curated model `name` as a Spark DataFrame, after registering the lake tables it reads.

    A model that reads another model (`curated.x`, `main.x` or bare `x`) gets that model run first and
    registered as the temp view `x`, materialised. Pass one `views` set to every call of a session: each
    lake table, seed and upstream model is then registered once, not again for every model that reads it.
    """
    views = set() if views is None else views
    sql = model_sql(name)
    tables = referenced_tables(sql)
    models = set(model_names())
    for layer, table in tables:
        if layer == "curated" and table in models and table not in views:
            # Materialised once (localCheckpoint), so that the models reading it plan over its rows, not over
            # its whole chain of SQL again: planning the month grids' inlined chains was most of the time.
            # Local checkpoints live on the executors; losing one fails the run, which is then run again.
            upstream = run_model(spark, table, lake_dir, native_delta, views).localCheckpoint()
            upstream.createOrReplaceTempView(table)
            views.add(table)
    register_lake_tables(
        spark, lake_dir, [t for t in tables if t[0] in catalog.LAKE_LAYERS], native_delta, views
    )
    register_seeds(spark, [table for layer, table in tables if layer == seeds.SCHEMA], views)
    return spark.sql(transpile(sql))


def to_polars(df):
    """A Spark DataFrame collected to polars through arrow (for comparisons and small results)."""
    import polars as pl

    return pl.from_arrow(df.toArrow())


# --------------------------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    import argparse
    import time

    parser = argparse.ArgumentParser(
        prog="python -m pipelines.publishing.spark_models", description=__doc__.splitlines()[0]
    )
    parser.add_argument("models", nargs="*", help="models to run (default: all in sql/curated)")
    parser.add_argument("--lake", default=os.environ.get("ENTITY_LAKE_DIR", "data/lake"))
    parser.add_argument(
        "--master", default="local[2]", help='Spark master ("" keeps the one spark-submit set)'
    )
    parser.add_argument("--native-delta", action="store_true", help="read Delta with delta-spark (cluster)")
    parser.add_argument("--out", help="write each model as parquet to OUT/<model> (default: only count rows)")
    parser.add_argument("--show-sql", action="store_true", help="print the transpiled Spark SQL")
    args = parser.parse_args(argv)

    lake = args.lake if "://" in args.lake else str(Path(args.lake).resolve())
    started = time.perf_counter()
    spark = spark_session(args.master)
    print(
        f"spark {spark.version} {spark.sparkContext.master}: session in {time.perf_counter() - started:.1f} s"
    )
    names, models_started, views = args.models or model_names(), time.perf_counter(), set()
    for name in names:
        began = time.perf_counter()
        if args.show_sql:
            print(transpile(model_sql(name)))
        frame = run_model(spark, name, lake, args.native_delta, views)
        if args.out:
            frame.write.mode("overwrite").parquet(f"{args.out.rstrip('/')}/{name}")
            rows = spark.read.parquet(f"{args.out.rstrip('/')}/{name}").count()
        else:
            rows = frame.count()
        print(f"  {name:<24} {rows:>12,} rows  {time.perf_counter() - began:6.1f} s")
    print(f"{len(names)} models in {time.perf_counter() - models_started:.1f} s (after the session)")
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

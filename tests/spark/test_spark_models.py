"""Every curated model gives the same rows on Spark (transpiled) as on DuckDB, on a lake the real pipeline built.

The lake is the shared demo run's (tests/conftest.py: 1500 entities, 3 days); one Spark session per module.
All tests share one xdist group, so `make test` (-n 3 --dist loadgroup) starts the JVM once.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import time
from pathlib import Path

import polars as pl
import pytest

from tests.extras import require

require("pyspark")

from pipelines.publishing import spark_models  # noqa: E402
from tests.conftest import Run  # noqa: E402

pytestmark = pytest.mark.xdist_group("spark")

MAIN_MODELS = ("golden_entity", "entity_xref", "entity_issue")
TIMINGS: dict[str, float] = {}


# --------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def spark():
    started = time.perf_counter()
    # A JVM that lives a minute: the quick JIT tier and the serial collector (the defaults compile and collect
    # on every core, taking the other test workers' CPU for no gain in time).
    session = spark_models.spark_session(
        conf={"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}
    )
    TIMINGS["spark session start"] = time.perf_counter() - started
    yield session
    session.stop()
    for label, seconds in TIMINGS.items():
        print(f"\n[spark timings] {label}: {seconds:.1f} s", end="")


@pytest.fixture(scope="module")
def lake(pipeline: Run) -> Path:
    """The shared demo run's lake (tests/conftest.py), read only."""
    return pipeline.paths.lake


@pytest.fixture(scope="module")
def duckdb_results(lake: Path, pipeline: Run) -> dict[str, pl.DataFrame]:
    """Each model as the real run built it into the warehouse (computed on the lake if it is newer)."""
    import duckdb

    results = {}
    with duckdb.connect(str(pipeline.paths.warehouse), read_only=True) as connection:
        built = {r[0] for r in connection.sql("select table_name from duckdb_tables()").fetchall()}
        for name in spark_models.model_names():
            if name in built:
                results[name] = pl.from_arrow(connection.sql(f"select * from main.{name}").to_arrow_table())
    for name in set(spark_models.model_names()) - set(results):  # a model added after the run started
        from pipelines.storage.warehouse import connect_with_lake

        sql = spark_models.model_sql(name)
        with connect_with_lake(":memory:", lake, sql) as connection:
            results[name] = pl.from_arrow(connection.sql(sql).to_arrow_table())
    return results


@pytest.fixture(scope="module")
def spark_results(spark, lake: Path) -> dict[str, pl.DataFrame]:
    """Each model run on Spark, or the error that stopped it (so that each model's test reports its own)."""
    started = time.perf_counter()
    results, views = {}, set()
    for name in spark_models.model_names():
        try:
            results[name] = spark_models.to_polars(spark_models.run_model(spark, name, lake, views=views))
        except Exception as error:  # noqa: BLE001 - reported by the model's test
            results[name] = error
    TIMINGS[f"all {len(results)} models on spark (incl. lake registration)"] = time.perf_counter() - started
    return results


# --------------------------------------------------------------------------------------------- comparison


def family(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "integer"
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        return "fractional"
    if dtype in (pl.String, pl.Categorical, pl.Enum):
        return "string"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    return str(dtype.base_type())


def normalise(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, float | decimal.Decimal):
        number = float(value)
        return "NaN" if math.isnan(number) else round(number, 6) + 0.0
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return tuple(normalise(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, normalise(v)) for k, v in value.items()))
    return value


def sort_key(row: tuple) -> tuple:
    return tuple((v is not None, repr(v) if isinstance(v, tuple) else v) for v in row)


def row_set(frame: pl.DataFrame) -> list[tuple]:
    return sorted((tuple(normalise(v) for v in row) for row in frame.iter_rows()), key=sort_key)


def diff_message(name: str, duck: list[tuple], spark: list[tuple], columns: list[str]) -> str:
    only_duck = sorted(set(duck) - set(spark), key=sort_key)[:3]
    only_spark = sorted(set(spark) - set(duck), key=sort_key)[:3]
    return (
        f"{name}: {len(duck)} DuckDB rows vs {len(spark)} Spark rows; columns {columns}\n"
        f"only in DuckDB: {only_duck}\nonly in Spark: {only_spark}"
    )


# ------------------------------- tests without the lake: first, so they run while another worker may build it


def test_string_view_arrow_reaches_spark(spark) -> None:
    import pyarrow as pa

    table = pa.table(
        {
            "s": pa.array(["a", None], pa.string_view()),
            "l": pa.array([["x"], None], pa.list_(pa.string_view())),
        }
    )
    frame = spark.createDataFrame(spark_models.arrow_for_spark(table))
    assert sorted(frame.collect(), key=lambda r: r.s is None) == [(("a", ["x"])), ((None, None))]


PROBE_EXPRESSIONS = {
    "day of week": [
        "dayofweek(d)",
        "weekday(d)",
        "extract(dow from d)",
        "date_part('dow', d)",
        "isodow(d)",
        "extract(isodow from d)",
        "date_part('isodow', d)",
    ],
    "regexp_replace": [
        r"regexp_replace(s, '[a-z]', 'X', 'g')",
        r"regexp_replace(s, '[a-z]', 'X', 'gi')",
        r"regexp_replace(s, '([a-z])_([a-z])', '\2$\1', 'g')",
        r"regexp_replace(s, 'a', '\\', 'g')",
    ],
    "like": [
        r"s like 'a\_b'",
        r"s like 'x\%'",
        r"s ilike 'A\_%'",
        "s like 'a!_b' escape '!'",
        "s like 'a_b'",
    ],
    "concat": ["concat(s, i, d, '-')", "concat_ws('/', s, i)", "s || i"],
    "dates": [
        "date_diff('day', d, date '2026-12-31')",
        "strftime(d, '%d.%m.%Y')",
        "date_trunc('month', d)",
        "d + 3",
    ],
}
PROBE_AGGREGATES = [
    "quantile_cont(x, 0.5)",
    "quantile_cont(x, 0.3)",
    "quantile_disc(x, 0.3)",
    "quantile(x, 0.5)",
    "median(x)",
    "percentile_cont(0.25) within group (order by x)",
    "percentile_disc(0.25) within group (order by x)",
    "string_agg(s, ',' order by s desc)",
    "count(*) filter (where i > 0)",
    "bool_or(s like 'a%')",
    "arg_min(s, i)",
]


@pytest.fixture(scope="module")
def probe(spark):
    """A small frame in both engines as `gold.t`, with NULLs, negatives, week days and regex-special text."""
    import duckdb
    import pyarrow as pa

    n = 40
    table = pa.table(
        {
            "g": [k % 3 for k in range(n)],
            "i": [None if k % 7 == 0 else k - 20 for k in range(n)],
            "x": [None if k % 5 == 0 else ((k * 37) % 23) / 4 for k in range(n)],
            "s": [
                None if k % 9 == 0 else ["ab", "a_b", "Cd", "a%c", "x\\y", "$1", "b_a"][k % 7]
                for k in range(n)
            ],
            "d": [None if k % 11 == 0 else dt.date(2026, 11, 1) + dt.timedelta(days=k) for k in range(n)],
        }
    )
    connection = duckdb.connect()
    connection.register("gold__t", table)
    connection.execute("attach ':memory:' as gold")
    connection.execute("create view gold.t as select * from gold__t")
    spark.createDataFrame(spark_models.arrow_for_spark(table)).createOrReplaceTempView("gold__t")
    yield connection
    connection.close()


def _same_rows(connection, spark, sql: str) -> None:
    duck = row_set(pl.from_arrow(connection.sql(sql).to_arrow_table()))
    spark_sql = spark_models.transpile(sql)
    got = row_set(spark_models.to_polars(spark.sql(spark_sql)))
    assert [tuple(map(str, r)) for r in got] == [tuple(map(str, r)) for r in duck], f"{sql}\n-> {spark_sql}"


@pytest.mark.parametrize("expression", [e for group in PROBE_EXPRESSIONS.values() for e in group])
def test_transpile_fixups_give_duckdb_results(expression: str, probe, spark) -> None:
    _same_rows(probe, spark, f"select i, {expression} as v from gold.t")


@pytest.mark.parametrize("aggregate", PROBE_AGGREGATES)
def test_transpiled_aggregates_give_duckdb_results(aggregate: str, probe, spark) -> None:
    _same_rows(probe, spark, f"select g, {aggregate} as v from gold.t group by g")


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("select regexp_replace(s, 'a', 'b') from gold.t", "first match"),
        ("select regexp_replace(s, 'a', 'b', 'gs') from gold.t", "options"),
        ("select g, list(s order by s) from gold.t group by g", "COLLECT_LIST"),
        ("select g, array_agg(s) from gold.t group by g", "COLLECT_LIST"),
        ("select g from gold.t union all by name select g from gold.t", "BY NAME"),
    ],
)
def test_transpile_refuses_what_spark_would_answer_differently(sql: str, reason: str) -> None:
    with pytest.raises(spark_models.UnportableSQL, match=reason):
        spark_models.transpile(sql)


def test_transpile_flattens_lake_references_only() -> None:
    sql = """
        with golden as (select * from gold.golden_entity)
        select golden.entity_id, g.name, gold.golden_entity.uscc, 'gold.golden_entity' as label
        from golden
        join gold.golden_entity using (entity_id)
        left join silver.registration as g on g.uscc = golden.uscc
        left join curated.entity_xref x on x.entity_id = golden.entity_id
        order by 1
    """
    spark_sql = spark_models.transpile(sql)
    assert "gold__golden_entity AS golden_entity" in spark_sql
    assert "silver__registration AS g" in spark_sql
    assert "entity_xref AS x" in spark_sql and "curated." not in spark_sql
    assert "'gold.golden_entity' AS label" in spark_sql
    assert "golden_entity.uscc" in spark_sql and "gold.golden_entity.uscc" not in spark_sql
    assert "ORDER BY" in spark_sql
    assert "ORDER BY" not in spark_models.transpile(sql, keep_order=False)
    assert "gold.golden_entity" in spark_models.transpile(sql, flatten_layers=False)


def test_transpiled_models_keep_duckdb_null_ordering() -> None:
    """DuckDB sorts NULLS LAST by default, Spark NULLS FIRST when ascending: each sort key must keep DuckDB's."""
    import sqlglot
    from sqlglot import exp

    def orderings(sql: str, dialect: str) -> list[tuple[str, bool, bool]]:
        tree = sqlglot.parse_one(sql, read=dialect)
        return [
            (o.this.sql(), bool(o.args.get("desc")), bool(o.args.get("nulls_first")))
            for o in tree.find_all(exp.Ordered)
        ]

    for name in spark_models.model_names():
        duck_sql = spark_models.model_sql(name)
        duck = orderings(duck_sql, "duckdb")
        assert [d[1:] for d in orderings(spark_models.transpile(duck_sql), "spark")] == [
            d[1:] for d in duck
        ], name


# --------------------------------------------------------------------------------------------- tests on the lake


@pytest.mark.parametrize("name", spark_models.model_names())
def test_model_gives_the_same_rows_on_spark_and_duckdb(name: str, duckdb_results, spark_results) -> None:
    duck, spark = duckdb_results[name], spark_results[name]
    if isinstance(spark, Exception):
        shown = (
            ""
            if isinstance(spark, spark_models.UnportableSQL)
            else spark_models.transpile(spark_models.model_sql(name))
        )
        pytest.fail(
            f"{name} does not run on Spark: {type(spark).__name__}: {str(spark).splitlines()[0]}\n{shown}"
        )
    assert spark.columns == duck.columns
    families = {c: (family(duck.schema[c]), family(spark.schema[c])) for c in duck.columns}
    assert {c: f for c, f in families.items() if f[0] != f[1]} == {}
    duck_rows, spark_rows = row_set(duck), row_set(spark)
    assert duck_rows == spark_rows, diff_message(name, duck_rows, spark_rows, duck.columns)


def test_main_models_are_populated(duckdb_results, spark_results) -> None:
    for name in MAIN_MODELS:
        frame = spark_results[name]
        assert frame.height >= 200, f"{name} has only {frame.height} rows"
        assert frame.height == duckdb_results[name].height
        assert frame.select(pl.all().null_count()).row(0) != tuple([frame.height] * frame.width)
        assert frame["entity_id"].null_count() < frame.height
    assert spark_results["golden_entity"]["entity_id"].n_unique() == spark_results["golden_entity"].height

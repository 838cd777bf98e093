"""The curated SQL stays readable: short models, reference data in seed files, shared expressions once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest
import sqlglot
from polars.testing import assert_frame_equal
from sqlglot import exp

from pipelines.publishing import seeds, sql_macros, sql_models

CURATED = Path(__file__).resolve().parents[1] / "sql" / "curated"
MAX_MODEL_LINES = 200  # a longer model is several models: split it into intermediate models of one grain each


def models() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(CURATED.glob("*.sql"))}


def test_no_model_is_over_200_lines() -> None:
    lengths = {name: len(sql.splitlines()) for name, sql in models().items()}
    assert {name: n for name, n in lengths.items() if n > MAX_MODEL_LINES} == {}


def test_models_hold_no_reference_data() -> None:
    """Lists of values belong in sql/seeds/, where a reviewer reads them as a table."""
    trees = {name: sqlglot.parse_one(sql, read="duckdb") for name, sql in models().items()}
    inline = [name for name, tree in trees.items() if tree.find(exp.Values)]
    assert inline == []


def test_the_district_seed_is_the_divisions_module() -> None:
    """sql/seeds/district.csv is generated from pipelines/domain/divisions.py: regenerate it with
    `python -m pipelines.publishing.seeds` when a division changes."""
    assert_frame_equal(seeds.read_seed("district"), seeds.district())
    assert seeds.read_seed("district").height == 10


def test_every_seed_is_read_by_a_model_and_every_seed_read_exists() -> None:
    read = {
        table.name
        for sql in models().values()
        for table in sqlglot.parse_one(sql, read="duckdb").find_all(exp.Table)
        if table.db == seeds.SCHEMA
    }
    assert read == set(seeds.seed_names())


def test_seed_columns_have_their_declared_types() -> None:
    # not the integer the CSV text would suggest
    assert seeds.read_seed("district").schema["district_code"] == pl.String
    assert seeds.read_seed("size_band").schema["upper_wan"] == pl.Float64
    assert seeds.read_seed("risk_point").schema["points"] == pl.Int32


def test_seeds_are_read_from_their_own_catalog_and_not_stored() -> None:
    with duckdb.connect() as connection:
        seeds.register_duckdb(connection, ["risk_level"])
        levels = connection.sql("select level from seed.risk_level order by min_points").fetchall()
        stored = connection.sql(
            "select count(*) from duckdb_tables() where database_name = current_database()"
        ).fetchall()
    assert levels == [("low",), ("medium",), ("high",)] and stored == [(0,)]


@pytest.mark.parametrize("day", [dt.date(1, 1, 1), dt.date(2025, 12, 31), dt.date(2026, 1, 1), None])
def test_month_no_is_the_same_inlined_as_defined(day: dt.date | None) -> None:
    """Spark runs the macro inlined (spark_models.transpile), DuckDB as defined: both give one number."""
    query = "select month_no(d) as m from (select cast(? as date) as d)"
    inlined = sql_macros.inline(sqlglot.parse_one(query, read="duckdb")).sql("duckdb")
    with duckdb.connect() as connection:
        sql_macros.define_duckdb(connection)
        defined = connection.execute(query, [day]).fetchall()
        assert connection.execute(inlined, [day]).fetchall() == defined
    assert "month_no" not in inlined.lower()
    assert defined == [(None if day is None else day.year * 12 + day.month - 1,)]


def test_a_model_restricted_to_some_entities_reads_only_their_rows_and_gives_their_result() -> None:
    # A full outer join and a window over each entity: DuckDB does not push a filter on the result into them.
    sql = """
    with scored as (select entity_id, score from gold.scores),
    tagged as (select entity_id, tag from tags as t where t.tag <> 'x')
    select coalesce(scored.entity_id, tagged.entity_id) as entity_id, tag,
        row_number() over (partition by coalesce(scored.entity_id, tagged.entity_id) order by tag) as n
    from scored full outer join tagged on scored.entity_id = tagged.entity_id
    """
    restricted = sql_models.restricted_to_entities(
        sql, frozenset({("gold", "scores"), ("curated", "tags")}), "chosen"
    )
    tree = sqlglot.parse_one(restricted, read="duckdb")
    assert {cte.alias for cte in tree.find_all(exp.CTE)} == {"scored", "tagged"}
    with duckdb.connect() as db:
        db.execute("create schema gold")
        db.execute(
            "create table gold.scores as select 'E' || (i % 5) as entity_id, i as score from range(20) t(i)"
        )
        db.execute(
            "create table tags as select 'E' || (i % 7) as entity_id, 't' || i as tag from range(30) t(i)"
        )
        db.execute("create table chosen as select * from (values ('E1'), ('E6'), (null)) v(entity_id)")
        whole = db.execute(f"select * from ({sql}) where entity_id in ('E1', 'E6') order by all").fetchall()
        assert whole and db.execute(f"select * from ({restricted}) order by all").fetchall() == whole
        plan = db.execute(f"explain {restricted}").fetchall()[0][1]
        assert plan.count("chosen") == 2  # each input read through the entity filter

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

from pipelines.publishing import seeds, sql_macros

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

"""column_lineage on synthetic SQL, the walk, and the hand-maintained lake map against the code it describes."""

from __future__ import annotations

import importlib

import pytest

from pipelines.domain import standardise
from pipelines.domain.contract import SPECS
from pipelines.domain.ingest import raw_schema
from pipelines.publishing import lineage

SCHEMA = {
    "silver/licensing": ["record_key", "holder_name", "uscc", "licence_status", "valid_until", "issued_on"],
    "gold/entity_xref": ["source", "record_key", "entity_id", "match_score"],
    "gold/golden_entity": ["entity_id", "name", "legal_rep"],
    "curated/licence_fact": ["licence_no", "entity_id"],
}
SQL = """
with licences as (select * from silver.licensing),
xref as (select record_key, entity_id from gold.entity_xref where source = 'licensing'),
per_entity as (
    select xref.entity_id, count(*) as licences, max(licences.valid_until) as last_valid_until,
           sum(case when licences.licence_status = 'valid' then 1 else 0 end) as valid_licences
    from licences join xref on licences.record_key = xref.record_key
    group by xref.entity_id
)
select
    golden.entity_id,
    coalesce(golden.name, l.holder_name) as name,
    case when per_entity.valid_licences > 0 then 'licensed' else golden.legal_rep end as label,
    per_entity.licences,
    per_entity.last_valid_until,
    row_number() over (partition by golden.legal_rep order by l.issued_on) as rank_in_rep,
    'v1' as version,
    fact.licence_no
from gold.golden_entity as golden
left join per_entity on golden.entity_id = per_entity.entity_id
left join licences as l on l.uscc = golden.entity_id
left join licence_fact as fact on fact.entity_id = golden.entity_id
"""


def test_a_cached_answer_is_reused_only_for_the_same_sql_and_schemas(tmp_path, monkeypatch) -> None:
    parsed = lineage.column_lineage(SQL, SCHEMA, tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 1

    def no_parsing(*args):  # noqa: ANN002, ANN202 - a second night must not parse again
        raise AssertionError("parsed although the answer was cached")

    monkeypatch.setattr(lineage, "_parse_lineage", no_parsing)
    lineage._column_lineage.cache_clear()  # as in a new process
    assert lineage.column_lineage(SQL, SCHEMA, tmp_path) == parsed
    wider = {**SCHEMA, "gold/golden_entity": [*SCHEMA["gold/golden_entity"], "district_code"]}
    with pytest.raises(AssertionError, match="parsed although"):
        lineage.column_lineage(SQL, wider, tmp_path)  # another schema is another answer
    monkeypatch.undo()
    damaged = next(tmp_path.glob("*.json"))
    damaged.write_text("{not json", encoding="utf-8")
    assert lineage.column_lineage(SQL, SCHEMA, tmp_path) == parsed  # parsed again, not a crash


def test_ctes_joins_aggregates_coalesce_case_windows_and_literals() -> None:
    found = lineage.column_lineage(SQL, SCHEMA)
    assert list(found) == [
        "entity_id",
        "name",
        "label",
        "licences",
        "last_valid_until",
        "rank_in_rep",
        "version",
        "licence_no",
    ]
    assert found["entity_id"] == [("gold/golden_entity", "entity_id")]
    assert found["name"] == [("gold/golden_entity", "name"), ("silver/licensing", "holder_name")]  # coalesce
    assert found["label"] == [
        ("gold/golden_entity", "legal_rep"),
        ("silver/licensing", "licence_status"),
    ]  # case
    assert found["licences"] == []  # count(*) reads no column
    assert found["last_valid_until"] == [
        ("silver/licensing", "valid_until")
    ]  # aggregate through a CTE of `select *`
    assert found["rank_in_rep"] == [
        ("gold/golden_entity", "legal_rep"),
        ("silver/licensing", "issued_on"),
    ]  # window
    assert found["version"] == []  # literal
    assert found["licence_no"] == [("curated/licence_fact", "licence_no")]  # another model (unqualified)


def test_select_star_is_expanded_from_the_schema() -> None:
    found = lineage.column_lineage("with x as (select * from gold.entity_xref) select * from x", SCHEMA)
    assert found == {c: [("gold/entity_xref", c)] for c in SCHEMA["gold/entity_xref"]}


def test_union_branches_both_count() -> None:
    sql = "select record_key as k from silver.licensing union all select 'x' || record_key as k from gold.entity_xref"
    assert lineage.column_lineage(sql, SCHEMA) == {
        "k": [("gold/entity_xref", "record_key"), ("silver/licensing", "record_key")]
    }


def test_a_table_without_a_schema_is_refused() -> None:
    with pytest.raises(lineage.LineageError, match="no schema for gold/entity_issue"):
        lineage.column_lineage("select * from gold.entity_issue", SCHEMA)


def test_referenced_tables_skip_ctes() -> None:
    assert lineage.referenced_tables(SQL) == [
        "curated/licence_fact",
        "gold/entity_xref",
        "gold/golden_entity",
        "silver/licensing",
    ]


def test_the_walk_goes_through_models_and_the_lake_down_to_bronze() -> None:
    direct = {"name": [("curated/shared", "name")], "version": []}
    models = {"shared": {"name": [("gold/golden_entity", "name")]}}
    rows = lineage.walk("open", direct, models)
    name = {(r.depth, r.upstream_table, r.upstream_column) for r in rows if r.column_name == "name"}
    assert (1, "curated/shared", "name") in name
    assert (2, "gold/golden_entity", "name") in name
    assert (3, "silver/licensing", "holder_name") in name and (3, "silver/corrections", "new_value") in name
    assert (4, "bronze/registration", "name") in name
    assert (5, "bronze/registration_deliveries", "name") in name
    [version] = [r for r in rows if r.column_name == "version"]
    assert (version.depth, version.upstream_table, version.derived_by) == (1, None, "sql/curated/open.sql")
    deepest = max((r for r in rows if r.column_name == "name"), key=lambda r: r.depth)
    assert deepest.path.startswith("curated/open.name ← curated/shared.name ← gold/golden_entity.name ← ")


def test_a_column_computed_in_python_ends_with_its_writer() -> None:
    rows = lineage.walk("m", {"score": [("gold/entity_xref", "match_score")]})
    assert [(r.depth, r.upstream_table, r.derived_by) for r in rows] == [
        (1, "gold/entity_xref", "sql/curated/m.sql"),
        (2, None, "assets.gold.entity_xref"),
    ]


# ----------------------------------------------------------------------------- the lake map vs the code

SILVER_COLUMNS = {
    "silver/registration": standardise.REGISTRATION_COLUMNS,
    "silver/licensing": standardise.LICENSING_COLUMNS,
    "silver/district": standardise.DISTRICT_COLUMNS,
}


def test_every_silver_column_is_mapped_to_the_bronze_columns_it_is_computed_from() -> None:
    for table, columns in SILVER_COLUMNS.items():
        unmapped = [c for c in columns if (table, c) not in lineage.LAKE_LINEAGE]
        assert unmapped == [], f"add {table} columns {unmapped} to pipelines/publishing/lineage.py (_silver)"
        bronze = table.replace("silver/", "bronze/")
        for column in columns:
            for upstream_table, upstream in lineage.LAKE_LINEAGE[(table, column)].upstream:
                assert upstream_table == bronze and upstream in raw_schema(SPECS[bronze.split("/")[1]]), (
                    table,
                    column,
                    upstream,
                )


def test_listed_silver_columns_exist() -> None:
    listed = {c for (t, c) in lineage.LAKE_LINEAGE if t in SILVER_COLUMNS and c not in SILVER_COLUMNS[t]}
    assert listed == set()


def test_every_derivation_names_a_function_that_exists() -> None:
    names = {d.by for d in lineage.LAKE_LINEAGE.values()} | set(lineage.WRITERS.values())
    for dotted in sorted(names):
        module, _, attribute = dotted.rpartition(".")
        assert hasattr(importlib.import_module(module), attribute), dotted

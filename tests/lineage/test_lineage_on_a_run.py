"""Column lineage on a real run: Dagster's stored metadata, the warehouse's column_lineage table, and the
auditor's walk in SQL from a published value to the delivery file and row it came from."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import dagster as dg
import duckdb
import polars as pl
import pytest
from deltalake import DeltaTable

from pipelines.domain.contract import SPECS
from pipelines.domain.readers import read_file
from pipelines.publishing import lineage
from pipelines.publishing.sql_models import model_names
from tests.conftest import Run

SOURCES = ("registration", "licensing", "district", "corrections")


class Built:
    """The shared demo run (tests/conftest.py) and its Dagster instance, read only."""

    def __init__(self, run: Run) -> None:
        self.paths = run.paths
        self.instance = dg.DagsterInstance.from_config(str(self.paths.dagster_home))

    def materialization(self, model: str) -> dg.AssetMaterialization:
        event = self.instance.get_latest_materialization_event(dg.AssetKey(["curated", model]))
        assert event is not None and event.asset_materialization is not None, (
            f"curated/{model} was not materialised"
        )
        return event.asset_materialization

    def deps(self, model: str, column: str) -> set[tuple[str, str]]:
        """(asset key, column) of a curated column as Dagster stored it."""
        stored = self.materialization(model).metadata["dagster/column_lineage"].value
        assert isinstance(stored, dg.TableColumnLineage)
        return {(d.asset_key.to_user_string(), d.column_name) for d in stored.deps_by_column[column]}

    def sql(self, query: str, params: list | None = None) -> pl.DataFrame:
        with duckdb.connect(str(self.paths.warehouse), read_only=True) as connection:
            return connection.sql(query, params=params or []).pl()


@pytest.fixture(scope="module")
def built(pipeline: Run) -> Iterator[Built]:
    run = Built(pipeline)
    yield run
    run.instance.dispose()


# --------------------------------------------------------------------------------- Dagster's metadata


def test_every_model_has_column_lineage_for_every_column(built: Built) -> None:
    for model in model_names():
        metadata = built.materialization(model).metadata
        assert "column_lineage_error" not in metadata, (model, metadata.get("column_lineage_error"))
        schema = [c.name for c in metadata["dagster/column_schema"].value.columns]
        table = built.sql(f"select * from main.{model} limit 0").columns
        stored = metadata["dagster/column_lineage"].value
        assert schema == table and set(stored.deps_by_column) == set(table), model
        assert "| column | ← model SQL | ← … down to bronze |" in metadata["column_lineage"].value, model
        # Counts and literals read no column (lineage follows values, not the rows filters pick), but
        # every model reads something.
        assert any(stored.deps_by_column.values()), f"{model}: no column reads an upstream column"


def test_spot_checks_through_dagster(built: Built) -> None:
    assert built.deps("golden_entity", "name") == {("gold/golden_entity", "name")}
    assert built.deps("golden_entity", "is_zombie") == {("gold/entity_issue", "issue_type")}
    assert built.deps("golden_entity", "issue_count") == set()  # count(*)
    assert built.deps("licence_fact", "entity_id") == {("gold/entity_xref", "entity_id")}
    assert built.deps("licence_fact", "licence_no") == {("silver/licensing", "record_key")}
    assert built.deps("inspection_fact", "supervising_district_code") == {
        ("silver/district", "district_file_code")
    }
    assert built.deps("delivery_quality", "failed_expectations") >= {("silver/registration", "success")}
    # A shared lake table is written by several assets: its columns are named by each writer's key.
    deliveries = {f"bronze/{s}_deliveries" for s in SOURCES}
    assert built.deps("load_summary", "rows_loaded") == {(k, "rows_loaded") for k in deliveries}
    assert built.deps("load_summary", "load_seconds") == {(k, "seconds") for k in deliveries}
    assert built.deps("quarantine", "reason") == {
        (k, "reason") for k in (*deliveries, "bronze/landing_inventory", "silver/corrections")
    }
    assert ("silver/corrections", "steward") in built.deps("quarantine", "raw_text")
    assert built.deps("record_lineage", "source_row") == {(f"silver/{s}", "source_row") for s in SOURCES}
    assert built.deps("record_lineage", "entity_id") == {("gold/entity_xref", "entity_id")}


def test_the_column_schema_shows_each_columns_inputs(built: Built) -> None:
    columns = {
        c.name: c.description
        for c in built.materialization("golden_entity").metadata["dagster/column_schema"].value.columns
    }
    assert columns["name"] == "← gold/golden_entity.name"
    assert columns["issue_count"].startswith("← no column")


# --------------------------------------------------------------------------------- the warehouse table


def test_column_lineage_table_covers_every_model_column(built: Built) -> None:
    covered = built.sql("select distinct model, column_name from column_lineage where depth = 1")
    for model in model_names():
        columns = set(built.sql(f"select * from main.{model} limit 0").columns)
        assert set(covered.filter(pl.col("model") == model)["column_name"]) == columns, model


def test_golden_name_walks_down_to_the_delivered_columns(built: Built) -> None:
    rows = built.sql(
        "select depth, upstream_table, upstream_column, derived_by from column_lineage "
        "where model = 'golden_entity' and column_name = 'name' order by depth"
    )
    found = {(d, t, c) for d, t, c, _ in rows.iter_rows()}
    assert (1, "gold/golden_entity", "name") in found
    assert {
        (2, "silver/registration", "name"),
        (2, "silver/licensing", "holder_name"),
        (2, "silver/district", "name"),
        (2, "silver/corrections", "new_value"),
    } <= found
    assert (3, "bronze/registration", "name") in found and (
        4,
        "bronze/registration_deliveries",
        "name",
    ) in found
    assert rows.filter(pl.col("depth") == 2)["derived_by"].unique().to_list() == [
        "pipelines.domain.survivorship.golden"
    ]


def test_quarantine_reason_comes_from_bronze_and_rejected_corrections(built: Built) -> None:
    rows = built.sql(
        "select depth, upstream_table, upstream_column from column_lineage where model = 'quarantine' and column_name = 'reason'"
    )
    found = {tuple(r) for r in rows.iter_rows()}
    assert {
        (1, "bronze/quarantine", "reason"),
        (1, "silver/corrections", "reason"),
        (2, "bronze/corrections", "action"),
    } <= found


def test_every_walk_ends_in_bronze_or_says_what_computed_it(built: Built) -> None:
    """Every non-bronze column reached is followed further: to an upstream column, or to a row saying
    which SQL or function computed it from no column (nothing silently stops at silver or gold)."""
    rows = built.sql("select * from column_lineage")
    reached = rows.filter(
        pl.col("upstream_table").is_not_null() & ~pl.col("upstream_table").str.starts_with("bronze/")
    )
    followed = rows.select(
        "model", "column_name", upstream_table="downstream_table", upstream_column="downstream_column"
    ).unique()
    dead_ends = reached.join(
        followed, on=["model", "column_name", "upstream_table", "upstream_column"], how="anti"
    )
    assert dead_ends.is_empty(), dead_ends.select("model", "column_name", "path").to_dicts()[:5]


def test_the_lake_map_names_columns_that_exist(built: Built) -> None:
    schemas = {}
    for log in built.paths.lake.glob("*/*/_delta_log"):
        table = log.parent
        schemas[f"{table.parent.name}/{table.name}"] = {
            f.name for f in DeltaTable(str(table)).schema().fields
        }
    for (table, column), derivation in lineage.LAKE_LINEAGE.items():
        for name, col in [(table, column), *derivation.upstream]:
            assert col in schemas[name], (
                f"pipelines/publishing/lineage.py names {name}.{col}, which the lake does not have"
            )
    assert set(lineage.WRITERS) <= set(schemas)


# --------------------------------------------------------------------------------- the auditor's walk

WALK = """
select g.entity_id, g.name, g.name_source, r.source, r.record_key, r.delivery_date, r.source_file, r.source_row, r.file_sha256
from golden_entity g
join record_lineage r on r.record_ref = g.name_source
where g.entity_id = ?
"""


def test_from_a_published_name_to_the_file_and_row_it_was_delivered_in(built: Built) -> None:
    """For a name from each source: the SQL walk names a file whose bytes match the recorded sha256 and
    whose row, read as delivered, holds the published name."""
    picks = built.sql(
        "select any_value(entity_id) as entity_id from golden_entity "
        # 个体工商户 may have no name at all (a null name from its registration): nothing to walk to.
        "where name_source not like 'steward:%' and name is not null group by split_part(name_source, ':', 1)"
    )
    assert picks.height >= 2  # registration and at least one of licensing/district
    for entity_id in picks["entity_id"]:
        [walk] = built.sql(WALK, [entity_id]).iter_rows(named=True)
        path = built.paths.landing / walk["source_file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == walk["file_sha256"]
        spec = SPECS[walk["source"]]
        delivered = read_file(path, spec).rows.filter(pl.col("source_row") == walk["source_row"])
        name_column = "holder_name" if walk["source"] == "licensing" else "name"
        assert delivered.height == 1 and delivered[name_column][0].strip() == walk["name"], walk
        assert walk["delivery_date"].isoformat() in walk["source_file"]


def test_every_provenance_reference_resolves_to_a_record(built: Built) -> None:
    unresolved = built.sql("""
        with provenance as (
            unpivot (select entity_id, name_source, address_source, legal_rep_source, status_source, district_code_source from golden_entity)
            on columns(* exclude entity_id) into name field value record_ref
        )
        select provenance.* from provenance
        left join record_lineage using (record_ref)
        where record_lineage.record_ref is null and provenance.record_ref not like 'steward:%'
    """)
    assert unresolved.is_empty(), unresolved.head(5).to_dicts()

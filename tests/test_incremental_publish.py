"""A model built by the entities whose inputs changed equals the same model built whole, after any sequence
of lake changes: rows changed, added and deleted (merges that rewrite whole files), records moved between
entities through entity_xref, compaction. Where the change cannot be told by entity, the model is built
whole, and says why."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from deltalake import DeltaTable, write_deltalake
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.publishing import incremental
from pipelines.storage import warehouse
from pipelines.storage.lake import WITH_CHANGE_FEED, Lake
from pipelines.storage.maintenance import maintain_table

# Each entity's value and its registration records' values, through entity_xref (as shared_entity does), and
# each record with its entity, if any.
SQL = f"""-- a test model
{incremental.MARKER}
with records as (
    select xref.entity_id, string_agg(registration.value, ',' order by registration.value) as record_values
    from silver.registration as registration
    join gold.entity_xref as xref on xref.record_key = registration.record_key and xref.source = 'registration'
    group by xref.entity_id
)
select golden.entity_id, golden.value, records.record_values
from gold.golden_entity as golden
left join records on records.entity_id = golden.entity_id
union all
-- one row per record, without an entity when entity_xref has none for it (as record_lineage)
select xref.entity_id, registration.record_key, registration.value
from silver.registration as registration
left join gold.entity_xref as xref on xref.record_key = registration.record_key and xref.source = 'registration'
"""
ENTITIES = [f"E{n}" for n in range(8)]
RECORDS = [f"R{n}" for n in range(12)]


def build(lake_dir: Path, database: Path, run_id: str, sql: str = SQL) -> incremental.Built:
    versions = incremental.input_versions(lake_dir, sql)
    with warehouse.connect_with_lake(database, lake_dir, sql, versions) as connection:
        connection.execute("begin transaction")
        built = incremental.build(connection, "model", sql, lake_dir, versions, run_id)
        connection.execute("commit")
    return built


def rows(database: Path) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute("select * from model order by all").fetchall()


def full(lake_dir: Path, tmp: Path, night: int) -> list[tuple]:
    database = tmp / f"full-{night}.duckdb"
    assert build(lake_dir, database, f"full-{night}").mode == "rebuilt"
    return rows(database)


def start(lake_dir: Path, change_feed: bool = True) -> Lake:
    """A lake of three tables, created with Delta's change data feed on (as the lake creates them) or
    without it (as lakes created before 2026-12-07 are)."""
    lake = Lake(lake_dir, run_id="night-0")
    golden = pl.DataFrame(
        {
            "entity_id": ENTITIES,
            "value": [f"v{n}" for n in range(len(ENTITIES))],
            "unread": [0] * len(ENTITIES),
        }
    )  # the model never reads `unread`
    registration = pl.DataFrame({"record_key": RECORDS, "value": [f"r{n}" for n in range(len(RECORDS))]})
    xref = pl.DataFrame(
        {"source": "registration", "record_key": RECORDS, "entity_id": [ENTITIES[n % 8] for n in range(12)]}
    )
    for table, frame in (
        ("gold/golden_entity", golden),
        ("silver/registration", registration),
        ("gold/entity_xref", xref),
    ):
        write_deltalake(
            str(lake_dir / table), frame.to_arrow(), configuration=WITH_CHANGE_FEED if change_feed else None
        )
    return lake


change = st.one_of(
    st.tuples(st.just("golden"), st.sampled_from(ENTITIES), st.text("abc", max_size=2)),
    st.tuples(st.just("drop_golden"), st.sampled_from(ENTITIES), st.just("")),
    st.tuples(st.just("record"), st.sampled_from(RECORDS), st.text("xyz", max_size=2)),
    st.tuples(st.just("move"), st.sampled_from(RECORDS), st.sampled_from(ENTITIES)),
    st.tuples(st.just("unlink"), st.sampled_from(RECORDS), st.just("")),
    st.tuples(
        st.just("compact"),
        st.sampled_from(["gold/golden_entity", "silver/registration", "gold/entity_xref"]),
        st.just(""),
    ),
)


def apply(lake: Lake, kind: str, key: str, value: str) -> None:
    if kind == "golden":
        changed = pl.DataFrame({"entity_id": [key], "value": [value], "unread": [len(value)]})
        lake.upsert("gold/golden_entity", changed, key=["entity_id"])
    elif kind == "drop_golden":
        lake.upsert("gold/golden_entity", pl.DataFrame(schema={"entity_id": pl.String, "value": pl.String}),
                    key=["entity_id"], deleted=pl.DataFrame({"entity_id": [key]}))  # fmt: skip
    elif kind == "record":
        lake.upsert(
            "silver/registration", pl.DataFrame({"record_key": [key], "value": [value]}), key=["record_key"]
        )
    elif kind == "move":
        moved = pl.DataFrame({"source": ["registration"], "record_key": [key], "entity_id": [value]})
        lake.upsert("gold/entity_xref", moved, key=["source", "record_key"])
    elif kind == "unlink":
        lake.upsert("gold/entity_xref", pl.DataFrame(schema={"source": pl.String, "record_key": pl.String, "entity_id": pl.String}),
                    key=["source", "record_key"], deleted=pl.DataFrame({"source": ["registration"], "record_key": [key]}))  # fmt: skip
    else:
        maintain_table(lake.root / key, retention_days=400, target_file_mib=128, run_id="maintenance")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    nights=st.lists(st.lists(change, min_size=0, max_size=4), min_size=1, max_size=4),
    change_feed=st.booleans(),
)
def test_replacing_the_changed_entities_equals_a_full_build(
    tmp_path_factory: pytest.TempPathFactory, nights: list, change_feed: bool
) -> None:
    never_whole = pytest.MonkeyPatch()  # however many of these 8 entities change, replace them
    never_whole.setattr(incremental, "WHOLE_BUILD_SHARE", float("inf"))
    tmp = tmp_path_factory.mktemp("incremental")
    lake = start(tmp / "lake", change_feed)
    published = tmp / "published.duckdb"
    assert build(lake.root, published, "night-0").mode == "rebuilt"
    for night, changes in enumerate(nights, start=1):
        for kind, key, value in changes:
            apply(lake, kind, key, value)
        built = build(lake.root, published, f"night-{night}")
        assert built.mode == "replaced", built.reason
        assert rows(published) == full(lake.root, tmp, night), changes
    never_whole.undo()


def test_a_night_without_changes_replaces_nothing(tmp_path: Path) -> None:
    lake = start(tmp_path / "lake")
    build(lake.root, tmp_path / "w.duckdb", "night-0")
    assert build(lake.root, tmp_path / "w.duckdb", "night-1") == incremental.Built(
        "replaced", "the rows of 0 entities whose inputs changed", 0
    )


def test_a_column_the_model_does_not_read_changes_nothing(tmp_path: Path) -> None:
    lake = start(tmp_path / "lake")
    build(lake.root, tmp_path / "w.duckdb", "night-0")
    unread = pl.DataFrame({"entity_id": ["E1"], "value": ["v1"], "unread": [7]})
    lake.upsert("gold/golden_entity", unread, key=["entity_id"])
    assert build(lake.root, tmp_path / "w.duckdb", "night-1").entities == 0


def test_what_cannot_be_told_by_entity_is_built_whole(tmp_path: Path) -> None:
    lake = start(tmp_path / "lake", change_feed=False)  # a table read from its files (see below for the feed)
    database = tmp_path / "w.duckdb"
    build(lake.root, database, "night-0")
    # The SQL changed: the recorded build says nothing about the new one.
    assert (
        build(lake.root, database, "night-1", SQL + " where true").reason
        == "its SQL, seeds or macros changed"
    )
    build(lake.root, database, "night-2")
    # A column was added to an input.
    widened = pl.DataFrame({"entity_id": ["E1"], "value": ["w"], "extra": [1]})
    write_deltalake(
        str(lake.root / "gold/golden_entity"), widened.to_arrow(), mode="append", schema_mode="merge"
    )
    assert build(lake.root, database, "night-3").reason == "the columns of gold/golden_entity changed"
    # The version it was built from was vacuumed.
    lake.upsert(
        "gold/golden_entity",
        pl.DataFrame({"entity_id": ["E2"], "value": ["x"], "extra": [2]}),
        key=["entity_id"],
    )
    table = DeltaTable(str(lake.root / "gold/golden_entity"))
    table.optimize.compact()
    table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    assert build(lake.root, database, "night-4").reason == "an earlier version's files were vacuumed"
    assert rows(database) == full(lake.root, tmp_path, 4)
    # Too many entities changed to replace them one by one (21 rows: 8 entities, 12 records, the appended E1).
    for entity in ENTITIES[:5]:
        apply(lake, "golden", entity, "changed")
    assert (
        build(lake.root, database, "night-5").reason
        == "5 entities changed, too many of 21 rows to replace them one by one"
    )
    assert rows(database) == full(lake.root, tmp_path, 5)
    # A model not marked as built by entity.
    unmarked = SQL.replace(incremental.MARKER, "--")
    assert build(lake.root, database, "night-6", unmarked).reason == "not built by entity"


def test_the_change_feed_tells_the_changes_after_the_files_were_compacted_and_vacuumed(
    tmp_path: Path,
) -> None:
    lake = start(tmp_path / "lake")
    database = tmp_path / "w.duckdb"
    build(lake.root, database, "night-0")
    apply(lake, "golden", "E2", "x")
    table = DeltaTable(str(lake.root / "gold/golden_entity"))
    table.optimize.compact()
    table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    assert not (
        set(DeltaTable(str(lake.root / "gold/golden_entity"), version=0).file_uris()) & set(table.file_uris())
    )
    built = build(lake.root, database, "night-1")
    assert (built.mode, built.entities) == ("replaced", 1)
    assert rows(database) == full(lake.root, tmp_path, 1)


def test_a_retried_step_keeps_what_its_first_attempt_replaced(tmp_path: Path) -> None:
    lake = start(tmp_path / "lake")
    database = tmp_path / "w.duckdb"
    build(lake.root, database, "night-0")
    apply(lake, "golden", "E3", "new")
    assert build(lake.root, database, "night-1").entities == 1
    assert build(lake.root, database, "night-1").reason == "built earlier in this run"
    with duckdb.connect(str(database), read_only=True) as connection:
        assert connection.execute(f"select entity_id from {incremental.CHANGED}").fetchall() == [("E3",)]


def test_a_warehouse_carried_forward_gives_back_the_space_it_freed(tmp_path: Path) -> None:
    """A night that frees much of the carried-forward file (here a large table dropped; in a year, tables
    rebuilt smaller) publishes a fresh file with the tables and their indexes, not the old file's size."""
    published = tmp_path / "curated.duckdb"
    with duckdb.connect(str(published)) as connection:
        connection.execute("create table golden_entity as select 'E' || range as entity_id, 'X' || range as uscc, "
                           "'宁波' || range as name, '330203' as district_code from range(100000)")  # fmt: skip
        connection.execute(
            "create table retired_model as select range as id, md5(range::varchar) as v from range(1000000)"
        )
    warehouse.publish(warehouse.staging(published, "night-0"), published, "night-0")
    before = published.stat().st_size
    staging = warehouse.staging(published, "night-1")
    with duckdb.connect(str(staging)) as connection:
        connection.execute("drop table retired_model")
    warehouse.publish(staging, published, "night-1")
    assert published.stat().st_size < 0.6 * before
    with duckdb.connect(str(published), read_only=True) as connection:
        assert connection.execute("select count(*) from golden_entity").fetchall() == [(100000,)]
        indexes = {row[0] for row in connection.execute("select index_name from duckdb_indexes()").fetchall()}
        assert {"golden_entity__entity_id", "golden_entity__uscc"} <= indexes

"""The bigram name index: a search through it returns exactly what the scan of every name returns."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.publishing import service_index
from pipelines.service import name_search, queries
from pipelines.service.keys import Caller
from pipelines.storage import warehouse
from tests.conftest import Run
from tests.service.conftest import DISTRICT

pytestmark = pytest.mark.xdist_group("service")

CALLERS = (
    Caller("public", "open"),
    Caller("partner", "partner", "a" * 64),
    Caller("officer", "internal", "b" * 64),
    Caller("district", "internal", "c" * 64, (DISTRICT,)),
)
TABLES = service_index.ENTITY_TABLE


@pytest.fixture(scope="module")
def cursor(service_run: Run) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:")
    connection.execute("attach ? as w (read_only)", [str(service_run.paths.warehouse)])
    connection.execute("use w")
    return connection


@pytest.fixture(scope="module")
def names(cursor: duckdb.DuckDBPyConnection) -> list[str]:
    sql = "select distinct name from open_entity where length(name) >= 2 order by name"
    return [r[0] for r in cursor.execute(sql).fetchall()]


def scanned(cursor: duckdb.DuckDBPyConnection, caller: Caller, q: str) -> list[str]:
    """The reference: every visible entity whose name contains q or whose USCC starts with it, by a scan."""
    district = "district_code in (select unnest(?))" if caller.districts else "? is not null"
    sql = (
        f"select entity_id from {TABLES[caller.scope]} where {district} "
        "and (contains(name, ?) or starts_with(uscc, upper(?))) order by entity_id"
    )
    return [r[0] for r in cursor.execute(sql, [list(caller.districts) or True, q, q]).fetchall()]


def indexed(cursor: duckdb.DuckDBPyConnection, caller: Caller, q: str) -> list[str]:
    index = name_search.read_index(cursor)
    ids, page = [], 1
    while True:
        result = queries.search(cursor, caller, queries.Search(q=q, page=page, page_size=100), index)
        ids += [item["entity_id"] for item in result["items"]]
        if page * 100 >= result["total"]:
            assert len(ids) == result["total"]
            return ids
        page += 1


def test_the_published_warehouse_has_the_index(cursor: duckdb.DuckDBPyConnection) -> None:
    assert name_search.read_index(cursor).present
    indexes = {r[0] for r in cursor.execute("select index_name from duckdb_indexes()").fetchall()}
    expected = {f"{t}__{c}" for t, columns in service_index.LOOKUPS.items() for c in columns}
    assert expected <= indexes
    for table in service_index.BIGRAM_TABLES.values():
        grams = cursor.execute(f"select count(*), count(distinct gram) from {table}").fetchone()
        assert grams[0] > 1000 and grams[1] > 100, table


def fragments(names: list[str]) -> st.SearchStrategy[str]:
    """Pieces of real names (the common case), and text mixing name characters, ASCII and LIKE wildcards."""
    alphabet = sorted({c for n in names[:200] for c in n} | set("9133AaZ%_ '"))
    piece = st.builds(
        lambda name, start, length: name[start % len(name) :][:length],
        st.sampled_from(names),
        st.integers(0, 30),
        st.integers(1, 6),
    )
    return st.one_of(piece, st.text(st.sampled_from(alphabet), min_size=1, max_size=4))


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.name)
def test_indexed_search_returns_what_the_scan_returns(
    cursor: duckdb.DuckDBPyConnection, names: list[str], caller: Caller
) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(q=fragments(names))
    def same(q: str) -> None:
        assert indexed(cursor, caller, q) == scanned(cursor, caller, q), q

    same()


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.name)
def test_a_two_character_fragment_is_answered_by_the_bigram_table_alone(
    cursor: duckdb.DuckDBPyConnection, names: list[str], caller: Caller
) -> None:
    index = name_search.read_index(cursor)
    pieces = {name[i : i + 2] for name in names[::7] for i in range(0, len(name) - 1, 3)}
    fragments = sorted(p for p in pieces if all("\u4e00" <= c <= "\u9fff" for c in p))[:40]  # not a USCC
    assert len(fragments) == 40
    for q in fragments:
        assert name_search.bigram_only(q, index), q
        assert indexed(cursor, caller, q) == scanned(cursor, caller, q), q
    # Filtered by status, the same fragment goes through the entity table, and agrees with the scan.
    for q in fragments[:5]:
        query = queries.Search(q=q, status="active", page_size=100)
        found = queries.search(cursor, caller, query, index)
        expected = [e for e in scanned(cursor, caller, q) if e in active(cursor, caller)]
        assert [item["entity_id"] for item in found["items"]] == expected[:100] and found["total"] == len(
            expected
        )


def active(cursor: duckdb.DuckDBPyConnection, caller: Caller) -> set[str]:
    sql = f"select entity_id from {TABLES[caller.scope]} where status = 'active'"
    return {r[0] for r in cursor.execute(sql).fetchall()}


def test_a_publish_keeps_what_the_run_did_not_build_but_not_the_old_bigram_table(tmp_path: Path) -> None:
    published = tmp_path / "curated.duckdb"
    with duckdb.connect(str(published)) as connection:
        connection.execute(
            "create table entity_name_bigram as select 'ab' as gram, 'E000000001' as entity_id"
        )
        connection.execute("create table model_not_built_tonight as select 1 as x")
    staging = warehouse.staging(published, "run-1")  # a copy of the published file
    with duckdb.connect(str(staging)) as connection:
        connection.execute(
            "create table golden_entity as select 'E000000001' as entity_id, 'X' as uscc, '宁波甲乙' as name, "
            "'330203' as district_code"
        )
    tables, _ = warehouse.publish(staging, published, "run-1")
    assert "model_not_built_tonight" in tables
    assert "entity_name_bigram" not in tables and service_index.BIGRAM_TABLES["internal"] in tables


INTERNAL_EXTRAS = (
    "reg_no", "phone", "deregistered_on", "revoked_on", "registered_capital_wan", "business_scope",
    "in_abnormal_list", "abnormal_reason", "last_annual_report_year",
)  # fmt: skip
NAME = st.one_of(st.none(), st.text(alphabet="宁波甬兴电子a", max_size=6))
SAME = object()  # the scope publishes the internal name
DISTRICTS = st.sampled_from(["330203", "330212"])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            NAME, st.one_of(st.just(SAME), NAME), st.one_of(st.just(SAME), NAME), DISTRICTS, st.booleans()
        ),
        max_size=12,
    )
)
def test_each_scope_bigram_table_holds_the_bigrams_of_the_names_that_scope_publishes(
    entities: list[tuple],
) -> None:
    """Built whole, the partner and open tables copy internal's rows of the entities they publish with the
    same name and district, and split the other names themselves: the same rows as splitting every name."""
    connection = duckdb.connect()
    for table in ("golden_entity", "shared_entity", "open_entity"):
        connection.execute(
            f"create table {table} (entity_id varchar, uscc varchar, name varchar, district_code varchar)"
        )
    for column in INTERNAL_EXTRAS:  # what internal_entity adds from shared_entity
        connection.execute(f"alter table shared_entity add column {column} varchar")
    for number, (internal, partner, public, district, moved) in enumerate(entities):
        entity = f"E{number:09d}"
        partner, public = (internal if name is SAME else name for name in (partner, public))
        connection.execute("insert into golden_entity values (?, null, ?, ?)", [entity, internal, district])
        elsewhere = "330299" if moved else district  # a scope may publish another district, too
        connection.execute(
            "insert into shared_entity by name select ? as entity_id, ? as name, ? as district_code",
            [entity, partner, elsewhere],
        )
        connection.execute("insert into open_entity values (?, null, ?, ?)", [entity, public, district])
    service_index.build(connection)
    for scope, table in service_index.ENTITY_TABLE.items():
        expected = connection.execute(
            f"select distinct substr(name, i, 2), entity_id, district_code from {table}, range(1, length(name)) as r(i)"
        ).fetchall()
        found = connection.execute(
            f"select gram, entity_id, district_code from {service_index.BIGRAM_TABLES[scope]}"
        ).fetchall()
        assert sorted(found) == sorted(expected), scope
        assert len(found) == len(set(found)), scope

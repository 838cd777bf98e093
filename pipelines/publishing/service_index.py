"""What the data service looks entities up by, built into the warehouse at every publish.

- ART indexes on `entity_id` (and `uscc`) of every table a profile reads: without them each of a profile's
  lookups scans its whole table (8 ms for record_lineage at 100k entities, 1.5 ms with the index).
- `internal_entity`: the golden record with the registration's extra fields, what internal callers see of an
  entity. Read as a join per row, a search page of 20 internal rows took 29 ms at 1.5M entities; from this
  table, 15 ms.
- `entity_name_bigram_<scope>`: every two-character fragment (bigram) of every entity name the scope
  publishes, with the entity's district. A search for a name fragment `q` is `contains(name, q)`, a scan of
  every name (1.5M at city scale). Each bigram of `q` is a bigram of any name containing `q`, so the entities
  holding all of `q`'s bigrams are a superset of the answer: the service looks them up by equality here
  (sorted by bigram, so DuckDB's zone maps skip almost every row group) and keeps those whose name contains
  `q` — the same rows as the scan. For a `q` of two characters the bigram rows are the answer itself.

Built from the staging file's own tables, so they always describe the tables they are published with; each
scope's names are indexed apart (open, partner and internal names can differ). None changes a published row.
On a night whose models replaced only some entities' rows (publishing/incremental.py), the derived tables
replace those entities' rows too, and DuckDB keeps the indexes up to date; a bigram table is sorted again
(built whole) once the rows appended since its last sort pass RESORT_SHARE of it. No Dagster here.
"""

from __future__ import annotations

import duckdb

from pipelines.publishing import incremental

# The table a scope's entity fields come from (internal: golden_entity), and its bigram table.
ENTITY_TABLE = {"open": "open_entity", "partner": "shared_entity", "internal": "golden_entity"}
ENTITY_TABLES = tuple(ENTITY_TABLE.values())
BIGRAM_TABLES = {scope: f"entity_name_bigram_{scope}" for scope in ENTITY_TABLE}
INTERNAL_ENTITY = "internal_entity"
# Tables built here from the published ones at every publish; and the one bigram table of every scope that
# warehouses published before 2026-12-07 hold, dropped.
DERIVED_TABLES = (INTERNAL_ENTITY, *BIGRAM_TABLES.values())
LEGACY_TABLES = ("entity_name_bigram",)
# Appended rows (by entity replacement) beyond this share of a bigram table: sort it again.
RESORT_SHARE = 0.1
# Every table the service reads one entity's rows from, and the columns it looks them up by.
LOOKUPS = {
    **{table: ("entity_id", "uscc") for table in ENTITY_TABLES},
    INTERNAL_ENTITY: ("entity_id",),
    **{
        table: ("entity_id",)
        for table in (
            "licence_fact", "open_licence", "inspection_fact", "entity_tag", "entity_issue",
            "supervision_task", "record_lineage",
        )
    },
}  # fmt: skip

INTERNAL_ENTITY_SQL = """
select * from (
    select golden.*, shared.reg_no, shared.phone, shared.deregistered_on, shared.revoked_on,
        shared.registered_capital_wan, shared.business_scope, shared.in_abnormal_list, shared.abnormal_reason,
        shared.last_annual_report_year
    from main.golden_entity as golden
    left join main.shared_entity as shared on golden.entity_id = shared.entity_id
)
where {where}
"""

# Each name's distinct bigrams as a list, unnested: a third faster than a lateral `range` and a DISTINCT over
# every (bigram, entity) row of the city (13.8M at 1.5M entities), with the same rows. The entities are
# chosen first: DuckDB did not push the filter below the lateral form (2.2 s a scope a night, now 0.15 s).
GRAMS_SQL = """
select unnest(list_distinct(list_transform(range(1, length(name)), lambda i: substr(name, i, 2)))) as gram,
    entity_id, district_code
from main.{entities}
where length(name) >= 2 and {where}
"""


def build(connection: duckdb.DuckDBPyConnection, run_id: str | None = None) -> dict[str, int]:
    """Build the derived tables and index the tables present in the connection's main schema (a partial
    warehouse may lack some); by the entities this run replaced where it can (`run_id`), else whole.
    Returns the indexes in place and the bigram rows written."""
    for table in LEGACY_TABLES:
        connection.execute(f"drop table if exists main.{table}")
    present = _tables(connection)
    if {"golden_entity", "shared_entity"} <= present:
        changed = _changed(connection, ("golden_entity", "shared_entity"), run_id, INTERNAL_ENTITY in present)
        _derive(connection, INTERNAL_ENTITY, INTERNAL_ENTITY_SQL, changed, order="entity_id")
        present.add(INTERNAL_ENTITY)
    else:
        connection.execute(f"drop table if exists main.{INTERNAL_ENTITY}")
    indexes = 0
    for table, columns in LOOKUPS.items():
        for column in columns if table in present else ():
            connection.execute(f"create index if not exists {table}__{column} on main.{table} ({column})")
            indexes += 1
    return {"indexes": indexes, "bigrams": _bigrams(connection, present, run_id)}


def _tables(connection: duckdb.DuckDBPyConnection) -> set[str]:
    query = "select table_name from duckdb_tables() where database_name = current_database()"
    return {row[0] for row in connection.execute(query).fetchall()}


def _changed(
    connection: duckdb.DuckDBPyConnection, models: tuple[str, ...], run_id: str | None, derived_exists: bool
) -> str | None:
    """A relation of the entities whose rows of `models` this run replaced; None: build whole."""
    if run_id is None or not derived_exists:
        return None
    relations = [incremental.changed_this_run(connection, model, run_id) for model in models]
    return None if None in relations else " union ".join(relations)


def _derive(
    connection: duckdb.DuckDBPyConnection, table: str, select: str, changed: str | None, order: str
) -> int:
    """Build `table` whole (sorted) or replace the rows of the changed entities; returns the rows appended."""
    if changed is None:
        connection.execute(f"drop table if exists main.{table}")
        connection.execute(f"create table main.{table} as {select.format(where='true')} order by {order}")
        return 0
    where = f"entity_id in (select entity_id from ({changed}))"
    connection.execute(f"delete from main.{table} where {where}")
    inserted = connection.execute(f"insert into main.{table} by name {select.format(where=where)}")
    return inserted.fetchall()[0][0]


def _bigrams(connection: duckdb.DuckDBPyConnection, present: set[str], run_id: str | None) -> int:
    rows, internal_whole = 0, False
    for scope in SCOPES_INTERNAL_FIRST:
        entities, bigrams = ENTITY_TABLE[scope], BIGRAM_TABLES[scope]
        if entities not in present:
            connection.execute(f"drop table if exists main.{bigrams}")
            continue
        changed = _changed(connection, (entities,), run_id, bigrams in present)
        appended = _appended(connection, bigrams) if changed is not None else 0
        if appended and appended > RESORT_SHARE * _count(connection, bigrams):
            changed, appended = None, 0  # too much of it unsorted: its zone maps no longer skip
        if changed is None and internal_whole:
            appended = _from_internal(connection, scope)
        else:
            appended += _derive(
                connection, bigrams, GRAMS_SQL.replace("{entities}", entities), changed, "gram"
            )
        if scope == "internal":
            internal_whole = changed is None
        if run_id is not None:
            connection.execute(incremental.STATE_DDL)
            connection.execute(f"delete from main.{incremental.STATE} where model = ?", [bigrams])
            connection.execute(
                f"insert into main.{incremental.STATE} values (?, null, null, ?, 'derived', ?)",
                [bigrams, run_id, appended],
            )
        rows += _count(connection, bigrams)
    return rows


# Internal first: the other scopes publish the same name and district for almost every entity (for every one
# of the 1.5M demo entities), so a whole build copies internal's freshly sorted rows of those entities (3.9 s
# a scope at 1.5M) instead of splitting and sorting every name again (12.9 s).
SCOPES_INTERNAL_FIRST = ("internal", "partner", "open")
SAME_AS_INTERNAL = """
select entity_id from main.{entities} as scoped join main.{internal} as internal using (entity_id)
where scoped.name is not distinct from internal.name
    and scoped.district_code is not distinct from internal.district_code
"""


def _from_internal(connection: duckdb.DuckDBPyConnection, scope: str) -> int:
    """Build a scope's bigram table whole from the internal one, built whole and sorted just before: its rows
    of the entities the scope publishes with the same name and district (a filter keeps their order), then
    the grams of the rest, appended. Returns the rows appended."""
    entities, bigrams = ENTITY_TABLE[scope], BIGRAM_TABLES[scope]
    same = SAME_AS_INTERNAL.format(entities=entities, internal=ENTITY_TABLE["internal"])
    connection.execute(f"drop table if exists main.{bigrams}")
    connection.execute(
        f"create table main.{bigrams} as select * from main.{BIGRAM_TABLES['internal']} "
        f"where entity_id in ({same})"
    )
    rest = GRAMS_SQL.replace("{entities}", entities).format(where=f"entity_id not in ({same})")
    return connection.execute(f"insert into main.{bigrams} by name {rest}").fetchall()[0][0]


def _count(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    return connection.execute(f"select count(*) from main.{table}").fetchall()[0][0]


def _appended(connection: duckdb.DuckDBPyConnection, bigrams: str) -> int:
    """Rows appended to the bigram table since it was last sorted (none recorded: sort it again)."""
    if incremental.STATE not in _tables(connection):
        return 0
    query = f"select entities from main.{incremental.STATE} where model = ?"
    rows = connection.execute(query, [bigrams]).fetchall()
    return rows[0][0] or 0 if rows else 0

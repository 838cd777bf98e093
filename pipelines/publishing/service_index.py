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

Built from the staging file's own tables after carry-over, so they always describe the tables they are
published with; each scope's names are indexed apart (open, partner and internal names can differ).
None changes a published row, and none is carried over (DERIVED_TABLES). No Dagster here.
"""

from __future__ import annotations

import duckdb

# The table a scope's entity fields come from (internal: golden_entity), and its bigram table.
ENTITY_TABLE = {"open": "open_entity", "partner": "shared_entity", "internal": "golden_entity"}
ENTITY_TABLES = tuple(ENTITY_TABLE.values())
BIGRAM_TABLES = {scope: f"entity_name_bigram_{scope}" for scope in ENTITY_TABLE}
INTERNAL_ENTITY = "internal_entity"
# Tables built here from the published ones at every publish, never carried over from the last warehouse;
# nor is the one bigram table of every scope that warehouses published before 2026-12-07 hold.
DERIVED_TABLES = (INTERNAL_ENTITY, *BIGRAM_TABLES.values())
NOT_CARRIED_OVER = (*DERIVED_TABLES, "entity_name_bigram")
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

INTERNAL_ENTITY_SQL = f"""
create table main.{INTERNAL_ENTITY} as
select golden.*, shared.reg_no, shared.phone, shared.deregistered_on, shared.revoked_on,
    shared.registered_capital_wan, shared.business_scope, shared.in_abnormal_list, shared.abnormal_reason,
    shared.last_annual_report_year
from main.golden_entity as golden
left join main.shared_entity as shared on golden.entity_id = shared.entity_id
order by golden.entity_id
"""

BIGRAM_SQL = """
create table main.{bigrams} as
with grams as (
    select distinct substr(name, position, 2) as gram, entity_id, district_code
    from main.{entities}, range(1, length(name)) as positions(position)
    where length(name) >= 2
)
select gram, entity_id, district_code from grams order by gram, entity_id
"""


def build(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Build the derived tables and index the tables present in the connection's main schema (a partial
    warehouse may lack some); returns the indexes created and the bigram rows written."""
    for table in DERIVED_TABLES:
        connection.execute(f"drop table if exists main.{table}")
    present = {
        row[0]
        for row in connection.execute(
            "select table_name from duckdb_tables() where database_name = current_database()"
        ).fetchall()
    }
    if {"golden_entity", "shared_entity"} <= present:
        connection.execute(INTERNAL_ENTITY_SQL)
        present.add(INTERNAL_ENTITY)
    indexes = 0
    for table, columns in LOOKUPS.items():
        for column in columns if table in present else ():
            connection.execute(f"create index if not exists {table}__{column} on main.{table} ({column})")
            indexes += 1
    return {"indexes": indexes, "bigrams": _bigrams(connection, present)}


def _bigrams(connection: duckdb.DuckDBPyConnection, present: set[str]) -> int:
    rows = 0
    for scope, entities in ENTITY_TABLE.items():
        if entities in present:
            connection.execute(BIGRAM_SQL.format(bigrams=BIGRAM_TABLES[scope], entities=entities))
            rows += connection.execute(f"select count(*) from main.{BIGRAM_TABLES[scope]}").fetchone()[0]
    return rows

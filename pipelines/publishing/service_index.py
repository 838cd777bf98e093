"""What the data service looks entities up by, built into the warehouse at every publish.

- ART indexes on `entity_id` (and `uscc`) of every table a profile reads: without them each of a profile's
  lookups scans its whole table (8 ms for record_lineage at 100k entities, 1.5 ms with the index).
- `entity_name_bigram`: every two-character fragment (bigram) of every published entity name. A search for a
  name fragment `q` is `contains(name, q)`, a scan of every name (1.5M at city scale). Each bigram of `q` is a
  bigram of any name containing `q`, so the entities holding all of `q`'s bigrams are a superset of the
  answer: the service looks them up by equality here (sorted by bigram, so DuckDB's zone maps skip almost
  every row group) and keeps those whose name contains `q` — the same rows as the scan.

Built from the staging file's own tables after carry-over, so both always describe the tables they are
published with; the names of all three scopes are indexed (open, partner and internal names can differ).
Neither changes a published row. No Dagster here.
"""

from __future__ import annotations

import duckdb

BIGRAM_TABLE = "entity_name_bigram"
ENTITY_TABLES = ("golden_entity", "shared_entity", "open_entity")
# Every table the service reads one entity's rows from, and the columns it looks them up by.
LOOKUPS = {
    **{table: ("entity_id", "uscc") for table in ENTITY_TABLES},
    **{
        table: ("entity_id",)
        for table in (
            "licence_fact", "open_licence", "inspection_fact", "entity_tag", "entity_issue",
            "supervision_task", "record_lineage",
        )
    },
}  # fmt: skip

BIGRAM_SQL = """
create or replace table main.{table} as
with names as (
    {names}
),
grams as (
    select distinct substr(name, position, 2) as gram, entity_id
    from names, range(1, length(name)) as positions(position)
)
select gram, entity_id from grams order by gram, entity_id
"""


def build(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Index the tables present in the connection's main schema (a partial warehouse may lack some);
    returns the indexes created and the bigram rows written."""
    present = {
        row[0]
        for row in connection.execute(
            "select table_name from duckdb_tables() where database_name = current_database()"
        ).fetchall()
    }
    indexes = 0
    for table, columns in LOOKUPS.items():
        for column in columns if table in present else ():
            connection.execute(f"create index if not exists {table}__{column} on main.{table} ({column})")
            indexes += 1
    return {"indexes": indexes, "bigrams": _bigrams(connection, [t for t in ENTITY_TABLES if t in present])}


def _bigrams(connection: duckdb.DuckDBPyConnection, tables: list[str]) -> int:
    if not tables:
        return 0
    names = "\n    union\n    ".join(
        f"select entity_id, name from main.{t} where length(name) >= 2" for t in tables
    )
    connection.execute(BIGRAM_SQL.format(table=BIGRAM_TABLE, names=names))
    return connection.execute(f"select count(*) from main.{BIGRAM_TABLE}").fetchone()[0]

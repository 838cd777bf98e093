"""What the data service looks entities up by, built into the warehouse at every publish.

- `entity_profile_<scope>`: every entity's profile at each scope, rendered as JSON (service_profiles.py),
  with ART indexes on `entity_id` and `uscc`: a profile is one lookup of one row.
- ART indexes on `entity_id` of the three entity tables, which a search page's rows are read from.
- `entity_name_bigram`: every two-character fragment (bigram) of every published entity name. A search for a
  name fragment `q` is `contains(name, q)`, a scan of every name (1.5M at city scale). Each bigram of `q` is a
  bigram of any name containing `q`, so the entities holding all of `q`'s bigrams are a superset of the
  answer: the service looks them up by equality here (sorted by bigram, so DuckDB's zone maps skip almost
  every row group) and keeps those whose name contains `q` — the same rows as the scan.

Built from the staging file's own tables after carry-over, so they always describe the tables they are
published with; the names of all three scopes are indexed (open, partner and internal names can differ).
None changes a published row, and none is carried over (DERIVED_TABLES). No Dagster here.
"""

from __future__ import annotations

import duckdb

from pipelines.publishing import service_profiles

BIGRAM_TABLE = "entity_name_bigram"
ENTITY_TABLES = ("golden_entity", "shared_entity", "open_entity")
# Tables built here from the published ones at every publish, never carried over from the last warehouse.
DERIVED_TABLES = (BIGRAM_TABLE, *service_profiles.PROFILE_TABLES.values())

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
    """Index the tables present in the connection's main schema (a partial warehouse may lack some) and
    render the profiles; returns the indexes created, the bigram rows and the profile rows written."""
    present = {
        row[0]
        for row in connection.execute(
            "select table_name from duckdb_tables() where database_name = current_database()"
        ).fetchall()
    }
    tables = [t for t in ENTITY_TABLES if t in present]
    for table in tables:
        connection.execute(f"create index if not exists {table}__entity_id on main.{table} (entity_id)")
    return {
        "indexes": len(tables),
        "bigrams": _bigrams(connection, tables),
        "profiles": service_profiles.build(connection),
    }


def _bigrams(connection: duckdb.DuckDBPyConnection, tables: list[str]) -> int:
    if not tables:
        return 0
    names = "\n    union\n    ".join(
        f"select entity_id, name from main.{t} where length(name) >= 2" for t in tables
    )
    connection.execute(BIGRAM_SQL.format(table=BIGRAM_TABLE, names=names))
    return connection.execute(f"select count(*) from main.{BIGRAM_TABLE}").fetchone()[0]

"""What the data service looks entities up by, built into the warehouse at every publish.

- `entity_profile_<scope>`: every entity's profile at each scope, rendered as JSON (service_profiles.py),
  with ART indexes on `entity_id` and `uscc`: a profile is one lookup of one row.
- ART indexes on `entity_id` of the three entity tables, which a search page's rows are read from.
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

from pipelines.publishing import service_profiles

# The table a scope's entity fields come from (internal: golden_entity), and its bigram table.
ENTITY_TABLE = {"open": "open_entity", "partner": "shared_entity", "internal": "golden_entity"}
ENTITY_TABLES = tuple(ENTITY_TABLE.values())
BIGRAM_TABLES = {scope: f"entity_name_bigram_{scope}" for scope in ENTITY_TABLE}
# Tables built here from the published ones at every publish, never carried over from the last warehouse.
DERIVED_TABLES = (*BIGRAM_TABLES.values(), *service_profiles.DERIVED_TABLES)

BIGRAM_SQL = """
create or replace table main.{bigrams} as
with grams as (
    select distinct substr(name, position, 2) as gram, entity_id, district_code
    from main.{entities}, range(1, length(name)) as positions(position)
    where length(name) >= 2
)
select gram, entity_id, district_code from grams order by gram, entity_id
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
    rows = 0
    for scope, entities in ENTITY_TABLE.items():
        connection.execute(f"drop table if exists main.{BIGRAM_TABLES[scope]}")
        if entities in tables:
            connection.execute(BIGRAM_SQL.format(bigrams=BIGRAM_TABLES[scope], entities=entities))
            rows += connection.execute(f"select count(*) from main.{BIGRAM_TABLES[scope]}").fetchone()[0]
    return rows

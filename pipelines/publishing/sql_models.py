"""The SQL models (`sql/curated/<name>.sql`): their names, their SQL and the tables each reads. The one
parser of model SQL: DuckDB publishing, the Spark port and column lineage all ask it.

A model reads a lake table as `<layer>.<table>`, a seed as `seed.<name>`, and another model by its bare
name (or `main.<name>` / `curated.<name>`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import sqlglot
from sqlglot import exp

from pipelines.storage import catalog

SQL_DIR = Path(__file__).resolve().parents[2] / "sql" / "curated"
CURATED = "curated"
SEED = "seed"
_MODEL_SCHEMAS = (CURATED, "main")


def model_names() -> list[str]:
    return sorted(p.stem for p in SQL_DIR.glob("*.sql"))


def model_sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=512)
def referenced_tables(sql: str) -> tuple[tuple[str, str], ...]:
    """(layer, table) of every table the SQL reads: a lake layer, `seed`, or `curated` for another model;
    the SQL's own CTEs excluded."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    tables = set()
    for table in tree.find_all(exp.Table):
        if table.db in (*catalog.LAKE_LAYERS, SEED):
            tables.add((table.db, table.name))
        elif table.db in _MODEL_SCHEMAS or (not table.db and table.name not in ctes):
            tables.add((CURATED, table.name))
    return tuple(sorted(tables))

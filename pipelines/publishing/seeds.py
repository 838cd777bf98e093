"""Seeds: the reference tables the curated models read as `seed.<name>`, one CSV file each in `sql/seeds/`.

Reference data (industry keywords, size bands, risk points, districts) sits in files a reviewer can read
and diff, not in `VALUES` lists inside the SQL. DuckDB (assets/curated.py) and Spark (spark_models.py)
load the same frames from here. A seed generated from Python reference data (`GENERATED`: the districts,
from pipelines/domain/divisions.py) is written by `python -m pipelines.publishing.seeds`; a test fails when the file
and its source differ, so there is one hand-written copy.

No Dagster here: the Spark driver imports it too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pipelines.domain.divisions import DIVISIONS

if TYPE_CHECKING:
    import duckdb

ROOT = Path(__file__).resolve().parents[2]
SEED_DIR = ROOT / "sql" / "seeds"
SCHEMA = "seed"  # models name a seed `seed.<name>`

# CSV has no types: every column is text unless listed here (a district code must stay a string).
COLUMN_TYPES: dict[str, dict[str, pl.DataType]] = {
    "size_band": {"lower_wan": pl.Float64(), "upper_wan": pl.Float64()},
    "risk_point": {"points": pl.Int32()},
    "risk_level": {"min_points": pl.Int32(), "max_points": pl.Int32()},
}


def district() -> pl.DataFrame:
    """Ningbo's county-level districts (GB/T 2260 code and name), in code order."""
    return pl.DataFrame(
        {"district_code": [d.code for d in DIVISIONS], "district_name": [d.name for d in DIVISIONS]}
    ).sort("district_code")


GENERATED: dict[str, Callable[[], pl.DataFrame]] = {"district": district}


def seed_names() -> list[str]:
    return sorted(p.stem for p in SEED_DIR.glob("*.csv"))


def seed_path(name: str) -> Path:
    return SEED_DIR / f"{name}.csv"


def seed_file(name: str) -> str:
    """The seed's file relative to the repository, as lineage names it."""
    return str(seed_path(name).relative_to(ROOT))


def read_seed(name: str) -> pl.DataFrame:
    frame = pl.read_csv(seed_path(name), infer_schema=False)
    return frame.with_columns(pl.col(c).cast(t) for c, t in COLUMN_TYPES.get(name, {}).items())


def register_duckdb(connection: duckdb.DuckDBPyConnection, names: Iterable[str]) -> None:
    """Make each seed queryable as `seed.<name>` in an in-memory catalog, so that nothing of it is stored
    in the database file the connection writes (as the lake tables: pipelines/lake.register_delta)."""
    connection.execute(f"attach if not exists ':memory:' as {SCHEMA}")
    for name in names:
        connection.register("_seed_rows", read_seed(name).to_arrow())
        connection.execute(f'create or replace table {SCHEMA}."{name}" as select * from _seed_rows')
        connection.unregister("_seed_rows")


def write_generated() -> list[Path]:
    """Write every generated seed from its Python source."""
    written = []
    for name, build in GENERATED.items():
        build().write_csv(seed_path(name))
        written.append(seed_path(name))
    return written


if __name__ == "__main__":
    for path in write_generated():
        print(f"wrote {path}")

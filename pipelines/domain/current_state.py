"""Current state of a source: the latest version of every record, whatever order deliveries arrived in.

The latest delivery date wins; within one delivery the last row wins (files in path order, then rows).
The result is a function of the delivery table alone, so a late delivery can never overwrite a newer one
and reloading changes nothing. A version is named by its lineage (delivery_date, source_file, source_row)
and the run that loaded it (a forced reload that parsed a file differently is a new version), so what
changed is found on those columns, and only the changed rows are read in full.
"""

from __future__ import annotations

import polars as pl

VERSION = ["record_key", "delivery_date", "source_file", "source_row", "run_id"]


def latest_versions(deliveries: pl.LazyFrame) -> pl.LazyFrame:
    """One row per record_key: the lineage of its latest version."""
    return (
        deliveries.select(VERSION)
        .sort("delivery_date", "source_file", "source_row")
        .group_by("record_key", maintain_order=True)
        .last()
    )


def changes(
    deliveries: pl.LazyFrame, current_versions: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """(full rows to upsert, record_keys to delete, records in the new state) given the current table's
    versions (VERSION columns; None when the table does not exist yet)."""
    target = latest_versions(deliveries).collect()
    if current_versions is None:
        changed, deleted = target, pl.DataFrame(schema={"record_key": pl.String})
    else:
        changed = target.join(current_versions, on=VERSION, how="anti")
        deleted = current_versions.select("record_key").join(
            target.select("record_key"), on="record_key", how="anti"
        )
    rows = deliveries.join(changed.lazy(), on=VERSION, how="semi").collect().sort("record_key")
    return rows, deleted, target.height

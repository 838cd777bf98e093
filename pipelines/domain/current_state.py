"""Current state of a source: the latest version of every record, whatever order deliveries arrived in.

The latest delivery date wins; within one delivery the last row wins (files in path order, then rows).
The result is a function of the delivery table alone, so a late delivery can never overwrite a newer one
and reloading changes nothing.
"""

from __future__ import annotations

import polars as pl

IGNORED_IN_COMPARISON = ("run_id",)


def latest(deliveries: pl.LazyFrame) -> pl.LazyFrame:
    """One row per record_key: the version from the latest delivery, last row within it."""
    return (
        deliveries.sort("delivery_date", "source_file", "source_row")
        .group_by("record_key", maintain_order=True)
        .last()
        .sort("record_key")
    )


def changes(target: pl.DataFrame, current: pl.DataFrame | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows to upsert, keys to delete) that turn `current` into `target`, compared by content and lineage."""
    if current is None:
        return target, target.clear().select("record_key")
    compared = [c for c in target.columns if c not in IGNORED_IN_COMPARISON]

    def fingerprint(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select("record_key", _hash=frame.select(compared).hash_rows())

    old = fingerprint(current.select(compared).cast(target.select(compared).schema, strict=False))
    new = fingerprint(target)
    changed_keys = new.join(old, on=["record_key", "_hash"], how="anti").select("record_key")
    upserts = target.join(changed_keys, on="record_key", how="semi")
    deletes = old.join(new, on="record_key", how="anti").select("record_key")
    return upserts, deletes

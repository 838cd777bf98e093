"""Recompute only what changed: a derived row is stale when its source row's version (lineage) changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

VERSION_COLUMN = "normaliser_version"


def changed(
    upstream: pl.LazyFrame,
    derived: pl.DataFrame | None,
    version_columns: list[str],
    derive: Callable[[pl.LazyFrame], pl.LazyFrame],
    code_version: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(derived rows to upsert, record_keys to delete) so that `derived` == derive(upstream).

    `version_columns` identify a version of an upstream row (record_key + its delivery lineage); rows whose
    version is already derived are skipped, unless the derivation code's version changed.
    """
    stale = derived is None or derived.is_empty() or (derived[VERSION_COLUMN] != code_version).any()
    todo = (
        upstream
        if stale
        else upstream.join(derived.lazy().select(version_columns), on=version_columns, how="anti")
    )
    upserts = derive(todo).with_columns(pl.lit(code_version).alias(VERSION_COLUMN)).collect()
    if derived is None:
        return upserts, pl.DataFrame(schema={"record_key": pl.String})
    deletes = (
        derived.lazy()
        .select("record_key")
        .join(upstream.select("record_key"), on="record_key", how="anti")
        .collect()
    )
    return upserts, deletes


def by_delivery(rows: pl.DataFrame) -> tuple[pl.DataFrame, dict[dt.date, pl.DataFrame]]:
    """(rows sorted by delivery_date, one zero-copy slice of them per delivery date): unlike partition_by,
    the slices share the sorted frame's memory, which matters when the first delivery is the whole city."""
    rows = rows.sort("delivery_date", maintain_order=True)
    dates = rows["delivery_date"]
    slices = {}
    for day in dates.unique(maintain_order=True):
        start, end = dates.search_sorted(day, "left"), dates.search_sorted(day, "right")
        slices[day] = rows.slice(start, end - start)
    return rows, slices

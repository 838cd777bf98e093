"""Current state of a source: the latest version of every record, whatever order deliveries arrived in.

The latest delivery date wins; within one delivery the last row wins (files in path order, then rows).
The result is a function of the delivery table alone, so a late delivery can never overwrite a newer one
and reloading changes nothing.
"""

from __future__ import annotations

import polars as pl


def latest(deliveries: pl.LazyFrame) -> pl.LazyFrame:
    """One row per record_key: the version from the latest delivery, last row within it."""
    return (
        deliveries.sort("delivery_date", "source_file", "source_row")
        .group_by("record_key", maintain_order=True)
        .last()
        .sort("record_key")
    )

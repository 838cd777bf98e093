"""Versioned history of a published table: one row per version, valid from the as-of date it was first
published until (exclusive) the as-of date a different value replaced it.

A night's publication replaces whatever was published on its as-of date or later (a rerun of the same
deliveries, or a landing zone rolled back): history is rewound to the as-of date first, then advanced. So the
history is a function of the nights' last publications, and reading it "as of D" gives what D published.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

VALID_FROM, VALID_TO = "valid_from", "valid_to"
# Stamped by every run: a new run id alone is not a new published value.
NOT_COMPARED = ("run_id",)


def rewind(history: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """History as it stood before anything was published on `as_of` or later."""
    kept = history.filter(pl.col(VALID_FROM) < as_of)
    return kept.with_columns(
        pl.when(pl.col(VALID_TO) >= as_of).then(None).otherwise(pl.col(VALID_TO)).alias(VALID_TO)
    )


def advance(history: pl.DataFrame | None, published: pl.DataFrame, as_of: dt.date, key: str) -> pl.DataFrame:
    """The history after `published` (the whole table, one row per key) was published on `as_of`.

    Unchanged keys keep their open version; changed keys get their open version closed at `as_of` and a
    new one opened; keys no longer published are closed; new keys are opened."""
    stamped = published.with_columns(
        pl.lit(as_of).alias(VALID_FROM), pl.lit(None, dtype=pl.Date).alias(VALID_TO)
    )
    if history is None or history.is_empty():
        return stamped.sort(key, VALID_FROM)
    # Columns a new version added are null in older versions; columns it dropped leave the history.
    aligned = [pl.col(c) if c in history.columns else pl.lit(None).alias(c) for c in stamped.columns]
    history = rewind(history.select(aligned).cast(stamped.schema, strict=False), as_of)
    is_open = pl.col(VALID_TO).is_null()
    current = history.filter(is_open)
    compared = [c for c in published.columns if c not in NOT_COMPARED]
    unchanged = _fingerprint(current, key, compared).join(
        _fingerprint(published, key, compared), on=[key, "_hash"], how="semi"
    )
    kept_keys = unchanged.select(key)
    closed = current.join(kept_keys, on=key, how="anti").with_columns(pl.lit(as_of).alias(VALID_TO))
    opened = stamped.join(kept_keys, on=key, how="anti")
    return pl.concat(
        [history.filter(~is_open), current.join(kept_keys, on=key, how="semi"), closed, opened]
    ).sort(key, VALID_FROM)


def as_of(history: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """The versions valid on `day`, without the validity columns: the table as published on that day."""
    valid = (pl.col(VALID_FROM) <= day) & (pl.col(VALID_TO).is_null() | (pl.col(VALID_TO) > day))
    return history.filter(valid).drop(VALID_FROM, VALID_TO)


def problems(history: pl.DataFrame, key: str) -> list[str]:
    """Gaps are allowed (an entity may vanish and return); overlaps, empty versions and two open versions
    of one key are not, nor two consecutive versions with the same values."""
    ordered = history.sort(key, VALID_FROM).with_columns(
        _next_from=pl.col(VALID_FROM).shift(-1).over(key), _prev_to=pl.col(VALID_TO).shift(1).over(key)
    )
    found = []
    if ordered.filter(pl.col(VALID_TO) <= pl.col(VALID_FROM)).height:
        found.append("a version ends before it starts")
    if ordered.filter(pl.col(VALID_TO).is_null() & pl.col("_next_from").is_not_null()).height:
        found.append("an open version is followed by another")
    if ordered.filter(pl.col(VALID_TO) > pl.col("_next_from")).height:
        found.append("two versions overlap")
    compared = [c for c in history.columns if c not in (*NOT_COMPARED, VALID_FROM, VALID_TO)]
    hashed = ordered.with_columns(_hash=ordered.select(compared).hash_rows())
    repeated = hashed.filter(
        (pl.col("_hash") == pl.col("_hash").shift(1).over(key)) & (pl.col("_prev_to") == pl.col(VALID_FROM))
    )
    if repeated.height:
        found.append("two adjacent versions have the same values")
    return found


def _fingerprint(frame: pl.DataFrame, key: str, compared: list[str]) -> pl.DataFrame:
    return frame.select(key, _hash=frame.select(compared).hash_rows())

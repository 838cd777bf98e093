"""The life of an issue: ids that never renumber, statuses from detections and steward decisions.

- `issue_id` is a digest of what the issue is about (issue_type, source, record_key), so the same issue
  keeps its id in every run; `evidence_hash` is a digest of its evidence.
- Status each run: not detected -> `resolved`; detected -> the latest steward decision (`confirmed`,
  `dismissed`, `corrected`) if it was taken on the same evidence, else `open`. So a dismissal holds while
  the evidence is unchanged and the issue reopens when it changes.
- `first_detected_on` is kept from the first run that saw the issue (as-of dates, not the wall clock);
  `resolved_on` is the as-of date of the first run that no longer detected it, null while it is detected.
  Nothing here moves with the as-of date alone, so a night rewrites only the issues it changed (a nightly
  "last detected" date, which this table held until 2026-12-07, rewrote every open issue, its history
  versions and the warehouse's rows every night).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl

DECISION_STATUS = {"confirm": "confirmed", "dismiss": "dismissed", "correct": "corrected"}


def _digest(values: pl.Series, length: int) -> pl.Series:
    return pl.Series(
        [hashlib.sha1(v.encode("utf-8")).hexdigest()[:length] for v in values.to_list()], dtype=pl.String
    )


def with_ids(detected: pl.DataFrame) -> pl.DataFrame:
    """Adds `issue_id` (I + 16 hex of the issue's identity) and `evidence_hash`."""
    identity = pl.concat_str(["issue_type", "source", "record_key"], separator="|")
    keyed = detected.with_columns(_identity=identity)
    return keyed.with_columns(
        issue_id=pl.lit("I") + _digest(keyed["_identity"], 16),
        evidence_hash=_digest(keyed["evidence"], 16),
    ).drop("_identity")


def update(
    detected: pl.DataFrame, previous: pl.DataFrame | None, decisions: pl.DataFrame, as_of: dt.date
) -> pl.DataFrame:
    """The new entity_issue table from this run's detections, the last table and steward decisions."""
    current = with_ids(detected)
    latest = _latest_decisions(decisions)
    decided = current.join(latest, on="issue_id", how="left", suffix="_decided")
    status = (
        pl.when(pl.col("evidence_hash") == pl.col("evidence_hash_decided"))
        .then(pl.col("action").replace_strict(DECISION_STATUS, default="open"))
        .otherwise(pl.lit("open"))
    )
    current = decided.with_columns(status=status, resolved_on=pl.lit(None, pl.Date)).drop(
        "action", "evidence_hash_decided"
    )
    if previous is None or previous.is_empty():
        return current.with_columns(first_detected_on=pl.lit(as_of)).sort("issue_id")
    previous = _with_resolved_on(previous)
    current = current.join(previous.select("issue_id", "first_detected_on"), on="issue_id", how="left")
    current = current.with_columns(pl.col("first_detected_on").fill_null(as_of))
    gone = previous.join(current.select("issue_id"), on="issue_id", how="anti").with_columns(
        status=pl.lit("resolved"), resolved_on=pl.col("resolved_on").fill_null(as_of)
    )
    return pl.concat([current, gone.select(current.columns)], how="vertical_relaxed").sort("issue_id")


def _with_resolved_on(previous: pl.DataFrame) -> pl.DataFrame:
    """A table written before `resolved_on` (with `last_detected_on`, the last as-of date an issue was
    detected): a resolved issue was found gone after that date, at the earliest the next day."""
    if "resolved_on" in previous.columns:
        return previous
    found_gone = pl.col("last_detected_on") + pl.duration(days=1)
    return previous.with_columns(
        resolved_on=pl.when(pl.col("status") == "resolved").then(found_gone).cast(pl.Date)
    ).drop("last_detected_on")


def _latest_decisions(decisions: pl.DataFrame) -> pl.DataFrame:
    """Per issue, the steward decision that counts: the latest decided_on, then the latest delivered."""
    issue_decisions = decisions.filter(
        pl.col("action").is_in(list(DECISION_STATUS)) & pl.col("issue_id").is_not_null()
    )
    return (
        issue_decisions.sort("issue_id", "decided_on", "delivery_date", "source_file", "source_row")
        .group_by("issue_id", maintain_order=True)
        .last()
        .select("issue_id", "action", "evidence_hash")
    )

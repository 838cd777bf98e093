"""Entity lifecycle events: what happened to an entity on an as-of date, which entities it involved and why.

- `created`: an entity id appears whose records belonged to no living entity before (cause: its first record's
  delivery file and row).
- `split_from`: an entity id appears with records that belonged to an entity that lives on (cause: the
  record that moved, and the steward's `different` judgement when one split them).
- `merged_into`: a living entity id disappears and its records now belong to another entity (cause: the
  match method and score of the record that joined, and the steward's `same` judgement when one decided it).
- `status_changed` / `district_changed`: from gold/entity_changes (cause: the record that supplied the value).
- `corrected`: a steward's `correct` decision applied (cause: the correction_log row).

Living entities come from the event log itself (created or split, not merged since), so a run that died after
resolving but before recording events is caught up by the next one. Each event's id is a digest of what
happened, so a rerun over the same deliveries records nothing twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl

EVENT_SCHEMA = {
    "event_id": pl.String,
    "event_type": pl.String,
    "event_on": pl.Date,
    "entity_id": pl.String,
    "related_entity_id": pl.String,
    "field": pl.String,
    "before": pl.String,
    "after": pl.String,
    "cause": pl.String,
    "match_score": pl.Float64,
    "correction_id": pl.String,
    "run_id": pl.String,
}
RECORD_SCHEMA = {
    "source": pl.String,
    "record_key": pl.String,
    "source_file": pl.String,
    "source_row": pl.Int64,
}
_IDENTITY = ("event_type", "event_on", "entity_id", "related_entity_id", "field", "before", "after")
_CHANGE_TYPES = {"status": "status_changed", "district_code": "district_changed"}


def living(events: pl.DataFrame | None) -> pl.Series:
    """Entity ids created or split off and not merged away since, by the event log."""
    if events is None or events.is_empty():
        return pl.Series("entity_id", [], dtype=pl.String)
    born = events.filter(pl.col("event_type").is_in(["created", "split_from"])).select(
        "entity_id", "event_on"
    )
    merged = (
        events.filter(pl.col("event_type") == "merged_into")
        .group_by("entity_id")
        .agg(gone_on=pl.col("event_on").max())
    )
    last_born = born.group_by("entity_id").agg(pl.col("event_on").max())
    alive = last_born.join(merged, on="entity_id", how="left").filter(
        pl.col("gone_on").is_null() | (pl.col("event_on") > pl.col("gone_on"))
    )
    return alive["entity_id"].sort()


def membership(
    alive: pl.Series,
    previous_xref: pl.DataFrame | None,
    xref: pl.DataFrame,
    records: pl.DataFrame,
    judgements: pl.DataFrame,
) -> pl.DataFrame:
    """created / split_from / merged_into events from the living entities, the xref before and after this run,
    each record's delivery file and row, and the steward judgements logged (correction_log rows)."""
    before = (previous_xref if previous_xref is not None else xref.clear()).select(
        "source", "record_key", old_entity_id="entity_id"
    )
    now = xref.select("source", "record_key", "entity_id", "match_method", "match_score").join(
        before, on=["source", "record_key"], how="left"
    )
    current_ids = xref["entity_id"].unique()
    gone = alive.filter(~alive.is_in(current_ids.implode()))
    # Only the records of new entities and of gone ones can name an event: they alone are sorted (each
    # event's cause is its entity's first record) and given their delivery file and row, not every record.
    new = _with_delivery(now.filter(~pl.col("entity_id").is_in(alive.implode())), records)
    moved = new.filter(
        pl.col("old_entity_id").is_in(alive.implode()) & pl.col("old_entity_id").is_in(current_ids.implode())
    )
    split = (
        moved.group_by("entity_id", maintain_order=True)
        .first()
        .join(_by_pair(judgements, "different"), on=["source", "record_key"], how="left")
    )
    created = (
        new.join(split.select("entity_id"), on="entity_id", how="anti")
        .group_by("entity_id", maintain_order=True)
        .first()
    )
    joined = _with_delivery(
        now.filter(
            pl.col("old_entity_id").is_in(gone.implode()) & (pl.col("entity_id") != pl.col("old_entity_id"))
        ),
        records,
    )
    merged = (
        joined.group_by("old_entity_id", maintain_order=True)
        .first()
        .join(_by_pair(judgements, "same"), on=["source", "record_key"], how="left")
    )
    return pl.concat(
        [
            created.select("entity_id", event_type=pl.lit("created"), cause=_record_cause()),
            split.select(
                "entity_id",
                "correction_id",
                event_type=pl.lit("split_from"),
                related_entity_id="old_entity_id",
                cause=pl.concat_str(_record_cause(), _judged(), ignore_nulls=True),
            ),
            merged.select(
                "correction_id",
                "match_score",
                entity_id="old_entity_id",
                event_type=pl.lit("merged_into"),
                related_entity_id="entity_id",
                cause=pl.concat_str(
                    _record_cause(),
                    pl.lit("; matched by "),
                    pl.col("match_method"),
                    _score(),
                    _judged(),
                    ignore_nulls=True,
                ),
            ),
        ],
        how="diagonal_relaxed",
    )


def _with_delivery(rows: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """The rows with their record's delivery file and row, in (entity, record) order."""
    joined = rows.join(records, on=["source", "record_key"], how="left")
    return joined.sort("entity_id", "source", "record_key")


def changes(today: pl.DataFrame, golden: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """status_changed / district_changed from the night's gold/entity_changes rows, caused by the record
    that now supplies the field (the golden `<field>_source`: `<source>:<record_key>` or `steward:<name>`)."""
    sources = golden.select(
        "entity_id", status="status_source", district_code="district_code_source"
    ).unpivot(index="entity_id", variable_name="field", value_name="supplied_by")
    found = today.join(sources, on=["entity_id", "field"], how="left").with_columns(
        source=pl.col("supplied_by").str.split_exact(":", 1).struct.field("field_0"),
        record_key=pl.col("supplied_by").str.split_exact(":", 1).struct.field("field_1"),
    )
    found = found.join(records, on=["source", "record_key"], how="left")
    return found.select(
        "entity_id",
        "field",
        "before",
        "after",
        event_type=pl.col("field").replace_strict(_CHANGE_TYPES),
        cause=pl.coalesce(_record_cause(), pl.col("supplied_by")),
    )


def corrected(log: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """A `correct` decision of a steward applied on this as-of date, with its correction_log row."""
    applied = log.filter((pl.col("action") == "correct") & (pl.col("applied_on") == as_of))
    return applied.select(
        "entity_id",
        "field",
        "before",
        "after",
        "correction_id",
        event_type=pl.lit("corrected"),
        cause=pl.format(
            "correction_log {} by {} ({} row {})", "correction_id", "steward", "source_file", "source_row"
        ),
    )


def stamp(events: pl.DataFrame, as_of: dt.date, run_id: str) -> pl.DataFrame:
    """The events in the table's schema, dated `as_of`, with digested ids and this run's id."""
    typed = events.with_columns(event_on=pl.lit(as_of), run_id=pl.lit(run_id))
    typed = pl.concat(
        [pl.DataFrame(schema=EVENT_SCHEMA).drop("event_id"), typed], how="diagonal_relaxed"
    ).cast({c: t for c, t in EVENT_SCHEMA.items() if c != "event_id"})
    identity = typed.select(
        pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in _IDENTITY], separator="|")
    ).to_series()
    ids = pl.Series(
        "event_id",
        ["V" + hashlib.sha1(v.encode("utf-8")).hexdigest()[:16] for v in identity.to_list()],
        dtype=pl.String,
    )
    return (
        typed.with_columns(ids)
        .select(list(EVENT_SCHEMA))
        .unique("event_id", keep="first", maintain_order=True)
        .sort("entity_id", "event_type")
    )


def _by_pair(log: pl.DataFrame, action: str) -> pl.DataFrame:
    """A judgement's two records, each as the (source, record_key) it concerns, with its correction_log id."""
    chosen = log.filter(pl.col("action") == action).sort("applied_on", "correction_id")
    sides = [
        chosen.select("correction_id", source=f"{side}_source", record_key=f"{side}_key")
        for side in ("left", "right")
    ]
    return pl.concat(sides).unique(["source", "record_key"], keep="last", maintain_order=True)


def _record_cause() -> pl.Expr:
    return pl.format("{}:{} ({} row {})", "source", "record_key", "source_file", "source_row")


def _score() -> pl.Expr:
    return pl.when(pl.col("match_score").is_not_null()).then(pl.format(" {}", pl.col("match_score").round(4)))


def _judged() -> pl.Expr:
    return pl.when(pl.col("correction_id").is_not_null()).then(
        pl.format("; steward judgement {}", "correction_id")
    )

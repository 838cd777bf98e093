"""Steward decisions from `corrections` deliveries: validated against what the steward saw, then applied.

A row is valid when its action's target exists in the published warehouse (issue_id in entity_issue,
entity_id in entity_xref, both records of a judgement in silver) and a `correct` names a correctable field
with a usable value. Invalid rows are rejected with a reason (the curated quarantine shows them).
Decisions on issues remember the evidence they were taken on (`evidence_hash`), so that a dismissal
lapses when the evidence changes, and every row remembers the published value it was about (`before`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

from pipelines.domain import divisions
from pipelines.domain.contract import ENTITY_SOURCES
from pipelines.domain.dates import parse_date_expr
from pipelines.domain.vocab import ENTITY_STATUS

CORRECTABLE_FIELDS = ("name", "legal_rep", "address", "district_code", "entity_type", "status")
NORMALISED_STATUSES = sorted(set(ENTITY_STATUS.values()) | {"unknown"})
# What a steward decided and who decided it: together with the date, the identity of a correction.
DECISION = (
    "action",
    "issue_id",
    "entity_id",
    "field",
    "new_value",
    "left_source",
    "left_key",
    "right_source",
    "right_key",
    "steward",
)
TEXT_COLUMNS = (*DECISION, "comment")


def _clean(frame: pl.DataFrame) -> pl.DataFrame:
    texts = {c: pl.col(c).fill_null("").str.strip_chars() for c in TEXT_COLUMNS if c in frame.columns}
    cleaned = frame.with_columns(**texts, decided_on=parse_date_expr(pl.col("decided_on")))
    return cleaned.with_columns(
        action=pl.col("action").str.to_lowercase(),
        **{c: pl.when(pl.col(c) != "").then(pl.col(c)) for c in texts if c not in ("action", "steward")},
    )


@dataclass(frozen=True)
class Published:
    """What the steward saw: the warehouse as last published (before this run changes it)."""

    xref: pl.DataFrame  # source, record_key, entity_id
    issues: pl.DataFrame  # issue_id, evidence_hash, status
    golden: pl.DataFrame  # entity_id and the correctable fields


def validate(corrections: pl.DataFrame, records: pl.DataFrame, published: Published) -> pl.DataFrame:
    """Every correction row with `reason` (null when valid), `correction_id`, the `evidence_hash` of the
    decided issue and `before`: the published value the decision is about.

    `records`: (source, record_key) of silver, for judgements naming records not yet resolved.
    """
    rows = _clean(corrections)
    known_records = records.select(pl.concat_str("source", "record_key", separator="|").alias("ref"))["ref"]
    published_entities = published.xref.select("entity_id").unique()
    rows = rows.join(
        published.issues.select("issue_id", "evidence_hash", issue_status="status"), on="issue_id", how="left"
    )
    left_ref = pl.concat_str("left_source", "left_key", separator="|")
    right_ref = pl.concat_str("right_source", "right_key", separator="|")
    is_issue_action = pl.col("action").is_in(["confirm", "dismiss"])
    is_judgement = pl.col("action").is_in(["same", "different"])
    checks = [
        (pl.col("steward") == "", "missing steward"),
        (pl.col("decided_on").is_null(), "missing or unparseable decided_on"),
        (is_issue_action & pl.col("issue_id").is_null(), "confirm/dismiss needs an issue_id"),
        (
            pl.col("issue_id").is_not_null() & pl.col("evidence_hash").is_null(),
            "unknown issue_id (not in the published entity_issue)",
        ),
        ((pl.col("action") == "correct") & pl.col("entity_id").is_null(), "correct needs an entity_id"),
        (
            (pl.col("action") == "correct")
            & pl.col("entity_id").is_not_null()
            & ~pl.col("entity_id").is_in(published_entities["entity_id"].implode()),
            "unknown entity_id (not in the published entity_xref)",
        ),
        (
            (pl.col("action") == "correct") & ~pl.col("field").fill_null("").is_in(list(CORRECTABLE_FIELDS)),
            f"field is not correctable (one of {', '.join(CORRECTABLE_FIELDS)})",
        ),
        ((pl.col("action") == "correct") & pl.col("new_value").is_null(), "correct needs a new_value"),
        (
            (pl.col("action") == "correct")
            & (pl.col("field") == "district_code")
            & ~pl.col("new_value").fill_null("").is_in(list(divisions.BY_CODE)),
            "district_code must be a Ningbo division code",
        ),
        (
            (pl.col("action") == "correct")
            & (pl.col("field") == "status")
            & ~pl.col("new_value").fill_null("").is_in(NORMALISED_STATUSES),
            f"status must be one of {', '.join(NORMALISED_STATUSES)}",
        ),
        (
            is_judgement
            & (
                ~pl.col("left_source").fill_null("").is_in(list(ENTITY_SOURCES))
                | ~pl.col("right_source").fill_null("").is_in(list(ENTITY_SOURCES))
            ),
            "same/different needs left_source and right_source (registration, licensing or district)",
        ),
        (
            is_judgement
            & (
                ~left_ref.fill_null("").is_in(known_records.implode())
                | ~right_ref.fill_null("").is_in(known_records.implode())
            ),
            "same/different names a record that does not exist",
        ),
        (is_judgement & (left_ref == right_ref), "same/different needs two different records"),
    ]
    reason = pl.concat_str(
        [pl.when(broken).then(pl.lit(text)) for broken, text in checks], separator="; ", ignore_nulls=True
    )
    judged = rows.with_columns(reason=pl.when(reason != "").then(reason))
    return _with_before(judged.with_columns(correction_id=_correction_ids(judged)), published)


def _with_before(rows: pl.DataFrame, published: Published) -> pl.DataFrame:
    """`before`: the issue's status, the entity's field value, or the two records' entity ids."""
    golden_long = published.golden.select("entity_id", *CORRECTABLE_FIELDS).unpivot(
        index="entity_id", variable_name="field", value_name="field_before"
    )
    ids = published.xref.select("source", "record_key", "entity_id")
    rows = (
        rows.join(golden_long, on=["entity_id", "field"], how="left")
        .join(
            ids.rename({"source": "left_source", "record_key": "left_key", "entity_id": "left_entity"}),
            on=["left_source", "left_key"],
            how="left",
        )
        .join(
            ids.rename({"source": "right_source", "record_key": "right_key", "entity_id": "right_entity"}),
            on=["right_source", "right_key"],
            how="left",
        )
    )
    pair_before = pl.concat_str(
        pl.col("left_entity").fill_null("unresolved"),
        pl.col("right_entity").fill_null("unresolved"),
        separator=" / ",
    )
    before = (
        pl.when(pl.col("action").is_in(["confirm", "dismiss"]))
        .then(pl.col("issue_status"))
        .when(pl.col("action") == "correct")
        .then(pl.col("field_before"))
        .when(pl.col("action").is_in(["same", "different"]))
        .then(pair_before)
    )
    return rows.with_columns(before=before).drop(
        "field_before", "left_entity", "right_entity", "issue_status"
    )


def _correction_ids(rows: pl.DataFrame) -> pl.Series:
    """A digest of the decision itself, so the same decision delivered again is the same correction."""
    text = rows.select(
        pl.concat_str(
            [pl.col(c).fill_null("") for c in DECISION] + [pl.col("decided_on").cast(pl.String)],
            separator="|",
        )
    )
    return pl.Series(
        "correction_id",
        ["C" + hashlib.sha1(t.encode()).hexdigest()[:16] for t in text.to_series().to_list()],
        dtype=pl.String,
    )


def judgements(corrections: pl.DataFrame) -> pl.DataFrame:
    """same/different decisions; for a pair judged more than once, the latest decision counts."""
    pairs = corrections.filter(pl.col("reason").is_null() & pl.col("action").is_in(["same", "different"]))
    ordered = pl.concat_str(
        pl.min_horizontal(
            pl.concat_str("left_source", "left_key"), pl.concat_str("right_source", "right_key")
        ),
        pl.max_horizontal(
            pl.concat_str("left_source", "left_key"), pl.concat_str("right_source", "right_key")
        ),
        separator="|",
    )
    return (
        pairs.with_columns(_pair=ordered)
        .sort("_pair", "decided_on", "delivery_date", "source_file", "source_row")
        .group_by("_pair", maintain_order=True)
        .last()
        .select("action", "left_source", "left_key", "right_source", "right_key")
    )


def overrides(corrections: pl.DataFrame) -> pl.DataFrame:
    """entity_id, field, value, steward: the latest `correct` per (entity, field)."""
    return (
        corrections.filter(pl.col("reason").is_null() & (pl.col("action") == "correct"))
        .sort("entity_id", "field", "decided_on", "delivery_date", "source_file", "source_row")
        .group_by("entity_id", "field", maintain_order=True)
        .last()
        .select("entity_id", "field", value="new_value", steward="steward", correction_id="correction_id")
    )

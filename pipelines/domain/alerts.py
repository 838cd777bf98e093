"""Change alerts -> supervision tasks (自动预警): what a delivery changed that a district must act on.

Reasons: an entity deregistered/revoked while holding a valid licence, a licence expiring within the
warning window, an entity moved to another district, a new high-severity issue. Each task has an id
digested from what changed, so it is raised once per change, however many runs see it.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl

from pipelines.domain.text import template

TASK_SCHEMA = {
    "task_id": pl.String,
    "entity_id": pl.String,
    "district_code": pl.String,
    "reason": pl.String,
    "detail": pl.String,
    "due_on": pl.Date,
    "source_change": pl.String,
    "created_on": pl.Date,
}
CHANGE_SCHEMA = {
    "entity_id": pl.String,
    "field": pl.String,
    "before": pl.String,
    "after": pl.String,
    "changed_on": pl.Date,
}


def entity_changes(previous: pl.DataFrame | None, current: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Status and district changes of entities that existed in the previous golden record."""
    if previous is None or previous.is_empty():
        return pl.DataFrame(schema=CHANGE_SCHEMA)
    found = []
    for field in ("status", "district_code"):
        joined = current.select("entity_id", after=field).join(
            previous.select("entity_id", before=field), on="entity_id"
        )
        changed = joined.filter(pl.col("before").fill_null("") != pl.col("after").fill_null(""))
        found.append(
            changed.select(
                "entity_id", field=pl.lit(field), before="before", after="after", changed_on=pl.lit(as_of)
            )
        )
    return pl.concat(found).cast(CHANGE_SCHEMA)


def _task_ids(frame: pl.DataFrame) -> pl.Series:
    keys = (
        frame.select(pl.concat_str("reason", "entity_id", "source_change", separator="|"))
        .to_series()
        .to_list()
    )
    return pl.Series(
        "task_id", ["T" + hashlib.sha1(k.encode()).hexdigest()[:16] for k in keys], dtype=pl.String
    )


def tasks(
    changes: pl.DataFrame,
    golden: pl.DataFrame,
    licensing: pl.DataFrame,
    issues: pl.DataFrame,
    as_of: dt.date,
    warning_days: int,
    due_days: dict[str, int],
) -> pl.DataFrame:
    """Tasks raised by the changes of this as-of date (golden: entity_id, district_code, active_licence_count);
    each is due `due_days[reason]` days later (settings.toml [rules] task_due_days)."""
    district = golden.select("entity_id", "district_code", "active_licence_count")
    today = changes.filter(pl.col("changed_on") == as_of)
    not_active = today.filter(
        (pl.col("field") == "status")
        & pl.col("after").is_in(["revoked", "deregistered", "cancelled", "moved_out"])
    )
    found = [
        not_active.join(district.filter(pl.col("active_licence_count") > 0), on="entity_id").select(
            "entity_id",
            "district_code",
            reason=pl.lit("deregistered_with_valid_licence"),
            detail=template(
                "主体登记状态由{}变为{}，仍持有{}张有效许可证", "before", "after", "active_licence_count"
            ),
            source_change=pl.struct(field="field", before="before", after="after").struct.json_encode(),
        ),
        today.filter(pl.col("field") == "district_code")
        .join(district.drop("district_code"), on="entity_id")
        .select(
            "entity_id",
            district_code="after",
            reason=pl.lit("moved_district"),
            detail=template("主体所属区县由{}变为{}", "before", "after"),
            source_change=pl.struct(field="field", before="before", after="after").struct.json_encode(),
        ),
    ]
    expiring = licensing.filter(
        (pl.col("licence_status") == "valid")
        & pl.col("valid_until").is_between(as_of, as_of + dt.timedelta(days=warning_days))
    ).join(district, on="entity_id")
    found.append(
        expiring.select(
            "entity_id",
            "district_code",
            reason=pl.lit("licence_expiring"),
            detail=template(
                "{} {}将于{}到期", "licence_type_raw", "record_key", pl.col("valid_until").cast(pl.String)
            ),
            source_change=pl.struct(
                licence="record_key", valid_until=pl.col("valid_until").cast(pl.String)
            ).struct.json_encode(),
            due_on="valid_until",
        )
    )
    new_high = issues.filter(
        (pl.col("severity") == "high") & (pl.col("status") == "open") & (pl.col("first_detected_on") == as_of)
    )
    found.append(
        new_high.join(district, on="entity_id").select(
            "entity_id",
            "district_code",
            reason=pl.lit("new_high_issue"),
            detail="detail",
            source_change=pl.struct(issue_id="issue_id", issue_type="issue_type").struct.json_encode(),
        )
    )
    raised = pl.concat(found, how="diagonal_relaxed")
    due = pl.coalesce(
        pl.col("due_on"),
        pl.lit(as_of) + pl.duration(days=pl.col("reason").replace_strict(due_days, default=None)),
    )
    raised = raised.with_columns(due_on=due, created_on=pl.lit(as_of))
    return (
        raised.with_columns(task_id=_task_ids(raised))
        .select(list(TASK_SCHEMA))
        .cast(TASK_SCHEMA)
        .unique("task_id", keep="first", maintain_order=True)
    )

"""Issues for stewards, the audit log of their decisions, and supervision tasks for districts."""

import dagster as dg
import polars as pl

from assets.gold import resolved_silver
from assets.keys import key
from assets.retry import on_transient_errors
from pipelines.domain import alerts, issue_lifecycle
from pipelines.domain.corrections import CORRECTABLE_FIELDS
from pipelines.domain.flags import SILVER_COLUMNS, Sources, detect
from pipelines.orchestration.resources import LakehouseResource
from pipelines.storage import catalog
from pipelines.storage.lake import Lake

GOLD_DEPS = [key(catalog.GOLDEN_ENTITY), key(catalog.ENTITY_XREF), key(catalog.CORRECTIONS)]


@dg.asset(
    key=["gold", "entity_issue"],
    group_name="gold",
    deps=GOLD_DEPS,
    kinds={"polars", "delta"},
    description="Zombie and inconsistency flags (the warehouse contract's issue types) with Chinese detail "
    "and JSON evidence; ids stable for the same issue; statuses from steward decisions and detections.",
)
@on_transient_errors
def entity_issue(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    lake = lakehouse.lake(context)
    sources = resolved_silver(lake, SILVER_COLUMNS)
    as_of = lakehouse.as_of(lake)
    golden = lake.read(catalog.GOLDEN_ENTITY, ["entity_id", "registration_record_key"])
    detected = detect(Sources(**sources, golden=golden, as_of=as_of, settings=lakehouse.settings().rules))
    decisions = lake.read(catalog.CORRECTIONS).filter(pl.col("reason").is_null())
    table = issue_lifecycle.update(detected, lake.read(catalog.ENTITY_ISSUE), decisions, as_of)
    upserted, deleted = lake.sync(
        catalog.ENTITY_ISSUE, table.with_columns(run_id=pl.lit(context.run_id)), key=["issue_id"]
    )
    counts = table.group_by("issue_type", "status").len().sort("issue_type", "status")
    context.log.info(f"{catalog.ENTITY_ISSUE}: {detected.height:,} detected, {upserted:,} changed")
    return dg.MaterializeResult(
        metadata={
            "detected": detected.height,
            "open": table.filter(pl.col("status") == "open").height,
            "changed": upserted,
            "by_type_and_status": {f"{t} / {s}": n for t, s, n in counts.iter_rows()},
        }
    )


@dg.asset(
    key=["gold", "correction_log"],
    group_name="gold",
    deps=[key(catalog.ENTITY_ISSUE), *GOLD_DEPS],
    kinds={"polars", "delta"},
    description="Append-only audit log: every applied steward decision once — who, when, what, before and after.",
)
@on_transient_errors
def correction_log(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    lake = lakehouse.lake(context)
    valid = lake.read(catalog.CORRECTIONS).filter(pl.col("reason").is_null())
    after = _after_values(valid, lake)
    log = after.select(
        "correction_id",
        "steward",
        "decided_on",
        "action",
        "issue_id",
        "entity_id",
        "field",
        "left_source",
        "left_key",
        "right_source",
        "right_key",
        "before",
        "after",
        "comment",
        "source_file",
        "source_row",
        applied_on=pl.lit(lakehouse.as_of(lake)),
        run_id=pl.lit(context.run_id),
    ).unique("correction_id", keep="first", maintain_order=True)
    added = lake.insert_new(catalog.CORRECTION_LOG, log, key=["correction_id"])
    context.log.info(f"{catalog.CORRECTION_LOG}: {added} decisions logged")
    return dg.MaterializeResult(
        metadata={"logged_now": added, "rows": lake.read(catalog.CORRECTION_LOG, ["correction_id"]).height}
    )


def _after_values(valid: pl.DataFrame, lake: Lake) -> pl.DataFrame:
    issues = lake.read(catalog.ENTITY_ISSUE).select("issue_id", issue_after="status")
    golden = (
        lake.read(catalog.GOLDEN_ENTITY)
        .select("entity_id", *CORRECTABLE_FIELDS)
        .cast({f: pl.String for f in CORRECTABLE_FIELDS})
    )
    golden_long = golden.unpivot(index="entity_id", variable_name="field", value_name="field_after")
    ids = lake.read(catalog.ENTITY_XREF).select("source", "record_key", "entity_id")
    joined = (
        valid.join(issues, on="issue_id", how="left")
        .join(golden_long, on=["entity_id", "field"], how="left")
        .join(
            ids.rename({"source": "left_source", "record_key": "left_key", "entity_id": "left_after"}),
            on=["left_source", "left_key"],
            how="left",
        )
        .join(
            ids.rename({"source": "right_source", "record_key": "right_key", "entity_id": "right_after"}),
            on=["right_source", "right_key"],
            how="left",
        )
    )
    after = (
        pl.when(pl.col("action").is_in(["confirm", "dismiss"]))
        .then(pl.col("issue_after"))
        .when(pl.col("action") == "correct")
        .then(pl.col("field_after"))
        .otherwise(pl.concat_str("left_after", "right_after", separator=" / "))
    )
    return joined.with_columns(after=after)


@dg.asset(
    key=["gold", "supervision_task"],
    group_name="gold",
    deps=[key(catalog.ENTITY_ISSUE), *GOLD_DEPS],
    kinds={"polars", "delta"},
    description="Supervision tasks for the responsible district, raised once per change: deregistered or "
    "revoked while licensed, licence expiring soon, moved district, new high-severity issue.",
)
@on_transient_errors
def supervision_task(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    lake = lakehouse.lake(context)
    as_of = lakehouse.as_of(lake)
    licensing = resolved_silver(lake, {"licensing": SILVER_COLUMNS["licensing"]})["licensing"]
    changes = (
        lake.read(catalog.ENTITY_CHANGES)
        if lake.exists(catalog.ENTITY_CHANGES)
        else pl.DataFrame(schema=alerts.CHANGE_SCHEMA)
    )
    golden = lake.read(catalog.GOLDEN_ENTITY, ["entity_id", "district_code", "active_licence_count"])
    raised = alerts.tasks(
        changes,
        golden,
        licensing,
        lake.read(catalog.ENTITY_ISSUE),
        as_of,
        lakehouse.settings().rules.licence_expiry_warning_days,
        lakehouse.settings().rules.task_due_days,
    )
    added = lake.insert_new(
        catalog.SUPERVISION_TASK, raised.with_columns(run_id=pl.lit(context.run_id)), key=["task_id"]
    )
    by_reason = raised.group_by("reason").len().sort("reason")
    context.log.info(f"{catalog.SUPERVISION_TASK}: {added} new tasks")
    return dg.MaterializeResult(
        metadata={"new_tasks": added, "raised_this_as_of": dict(by_reason.iter_rows())}
    )


issue_assets = [entity_issue, correction_log, supervision_task]

"""Lake maintenance as a Dagster job: compaction, checkpoints and vacuum, weekly, beside the nightly runs.

The op takes the lakehouse resource, so the run holds the lake's writer lock (waiting for a nightly run as
any scheduled run does); it never runs while a night writes. Before/after file counts and bytes go to the
step's output metadata (the run page) and, per table, to an observation of the table's asset.
"""

from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.orchestration.resources import LakehouseResource
from pipelines.storage import catalog
from pipelines.storage.maintenance import TableReport, maintain


@dg.op(description="Compact, checkpoint and vacuum every lake table within the configured retention window.")
def maintain_lake(context: dg.OpExecutionContext, lakehouse: LakehouseResource) -> dg.Output[int]:
    config = lakehouse.settings().maintenance
    reports = maintain(
        Path(lakehouse.lake_dir), config.retention_days, config.target_file_mib, context.run_id
    )
    for report in reports:
        if catalog.writers(report.table) == (report.table,):  # the table is an asset of its own
            context.log_event(
                dg.AssetObservation(asset_key=catalog.asset_path(report.table), metadata=report.as_dict())
            )
    table = pl.DataFrame([r.as_dict() for r in reports])
    context.log.info(
        f"maintained {len(reports)} tables: "
        f"files {_total(reports, 'files_before')} -> {_total(reports, 'files_after')}"
    )
    return dg.Output(
        len(reports),
        metadata={
            "retention_days": config.retention_days,
            "files_before": _total(reports, "files_before"),
            "files_after": _total(reports, "files_after"),
            "bytes_before": _total(reports, "bytes_before"),
            "bytes_after": _total(reports, "bytes_after"),
            "active_files_before": _total(reports, "active_files_before"),
            "active_files_after": _total(reports, "active_files_after"),
            "vacuumed_files": _total(reports, "vacuumed_files"),
            "tables": dg.MetadataValue.md(_markdown(table)),
        },
    )


def _total(reports: list[TableReport], field: str) -> int:
    return sum(getattr(r, field) for r in reports)


def _markdown(table: pl.DataFrame) -> str:
    header = "| " + " | ".join(table.columns) + " |\n|" + "---|" * table.width + "\n"
    return header + "".join("| " + " | ".join(str(v) for v in row) + " |\n" for row in table.iter_rows())


@dg.job(
    description="Lake maintenance: compaction, checkpoints, vacuum (retention: settings.toml [maintenance])."
)
def maintain_lake_job() -> None:
    maintain_lake()


weekly_lake_maintenance = dg.ScheduleDefinition(
    name="weekly_lake_maintenance",
    job=maintain_lake_job,
    cron_schedule="0 4 * * 0",
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={"entity_lakehouse/trigger": "weekly_lake_maintenance"},
    description="Compacts, checkpoints and vacuums the lake every Sunday at 04:00 Asia/Shanghai, after the "
    "nightly consolidation (02:00); if that run still holds the lake, maintenance waits for it.",
)

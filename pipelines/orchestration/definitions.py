"""The code location: every asset, job, schedule and sensor, with the lakehouse resource."""

from __future__ import annotations

import dagster as dg

from assets import (
    analysis,
    bronze,
    corrections,
    curated,
    gold,
    history,
    issues,
    reports,
    seeds,
    service,
    sharing,
    silver,
)
from pipelines.domain import settings
from pipelines.orchestration import jobs, maintenance, retraining, schedules, sensors
from pipelines.orchestration.progress import progress_logger
from pipelines.orchestration.resources import LakehouseResource
from pipelines.storage import paths


def build(locations: paths.Paths) -> dg.Definitions:
    return dg.Definitions(
        assets=[
            *bronze.delivery_assets,
            *bronze.current_state_assets,
            bronze.landing_inventory,
            *silver.silver_assets,
            corrections.corrections_validated,
            *gold.gold_assets,
            *history.history_assets,
            *issues.issue_assets,
            reports.steward_worksheets,
            reports.quality_report,
            reports.run_report,
            *seeds.seed_specs,
            *curated.model_assets,
            service.access_daily_summary,
            curated.warehouse,
            *sharing.sharing_assets,
            analysis.monthly_analysis,
        ],
        jobs=[
            *jobs.ingest_jobs,
            jobs.consolidate_job,
            jobs.analyse_month_job,
            maintenance.maintain_lake_job,
            retraining.retrain_matching_job,
        ],
        schedules=[
            schedules.nightly_consolidation,
            maintenance.weekly_lake_maintenance,
            retraining.monthly_retraining,
        ],
        sensors=[sensors.landing_sensor, sensors.analysis_after_publish],
        resources={
            "lakehouse": LakehouseResource.from_paths(
                locations, lock_wait_seconds=settings.load().run.daemon_lock_wait_seconds
            )
        },
        executor=dg.in_process_executor,
        loggers={"progress": progress_logger},
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Loaded by `dagster dev` (workspace.yaml): paths from the environment, else the contract defaults."""
    return build(paths.resolve())

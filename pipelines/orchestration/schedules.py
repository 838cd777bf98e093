"""The nightly rebuild: the whole warehouse from what is loaded, at 02:00 Beijing time."""

import dagster as dg

from pipelines.orchestration import jobs

nightly_consolidation = dg.ScheduleDefinition(
    name="nightly_consolidation",
    job=jobs.consolidate_job,
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={"entity_lakehouse/trigger": "nightly_consolidation"},
    description="Rebuilds silver, gold and the curated warehouse every night at 02:00 Asia/Shanghai from the "
    "deliveries loaded so far (the landing sensor loads them as they arrive).",
)

"""Deliveries load as they land: the landing sensor registers each new delivery folder as a partition,
requests one ingest run per new or changed delivery, and the consolidation once all of them are loaded."""

import hashlib
from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.domain import landing
from pipelines.domain.contract import SOURCES
from pipelines.orchestration import jobs
from pipelines.orchestration.resources import LakehouseResource
from pipelines.publishing import analysis_report
from pipelines.storage import catalog
from pipelines.storage.lake import Lake


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


@dg.sensor(
    jobs=[*jobs.ingest_jobs, jobs.consolidate_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Loads each new or changed delivery folder (one partition run per delivery), then rebuilds the "
    "warehouse once everything that landed is loaded.",
)
def landing_sensor(
    context: dg.SensorEvaluationContext, lakehouse: LakehouseResource
) -> dg.SensorResult | dg.SkipReason:
    lake = Lake(Path(lakehouse.lake_dir))
    inventory = landing.scan(lakehouse.landing, digest_cache=lake.read(catalog.LANDING_INVENTORY))
    current = landing.deliveries(inventory)
    pending = landing.pending(current, lake.read(catalog.LOAD_LOG))
    partitions = [
        dg.AddDynamicPartitionsRequest(catalog.delivery_partitions(source), new)
        for source in SOURCES
        if (
            new := sorted(
                {d.isoformat() for d in current.filter(pl.col("source") == source)["delivery_date"]}
                - set(context.instance.get_dynamic_partitions(catalog.delivery_partitions(source)))
            )
        )
    ]
    requests = [
        dg.RunRequest(
            run_key=f"{source}:{day.isoformat()}:{_digest(manifest)}",  # a changed folder is a new run
            job_name=jobs.ingest_job_name(source),
            partition_key=day.isoformat(),
            tags={
                "entity_lakehouse/deliveries": f"{source}/{day.isoformat()}",
                "entity_lakehouse/trigger": "landing_sensor",
            },
        )
        for source, day, manifest in pending.select("source", "delivery_date", "manifest").iter_rows()
    ]
    fingerprint = _digest("\n".join(current["manifest"].to_list()))
    if not requests and current.height and fingerprint != context.cursor:
        # Everything that landed is loaded and the warehouse has not been built from exactly this: build it.
        requests.append(
            dg.RunRequest(
                run_key=f"consolidate:{fingerprint}",
                job_name=jobs.consolidate_job.name,
                tags={"entity_lakehouse/trigger": "landing_sensor"},
            )
        )
        return dg.SensorResult(
            run_requests=requests, dynamic_partitions_requests=partitions, cursor=fingerprint
        )
    if not requests and not partitions:
        return dg.SkipReason(f"no new delivery in {lakehouse.landing}")
    return dg.SensorResult(
        run_requests=requests, dynamic_partitions_requests=partitions, cursor=context.cursor
    )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[jobs.consolidate_job],
    request_job=jobs.analyse_month_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After each published warehouse (the nightly schedule's or the landing sensor's), builds the "
    "monthly analysis of the last complete month and the current one. `entity-lakehouse run` builds its own.",
)
def analysis_after_publish(
    context: dg.RunStatusSensorContext, lakehouse: LakehouseResource
) -> dg.SensorResult | dg.SkipReason:
    if "entity_lakehouse/batch" in context.dagster_run.tags:
        return dg.SkipReason("the command line's batch builds its analysis itself")
    warehouse = Path(lakehouse.warehouse_path)
    known = set(context.instance.get_dynamic_partitions(analysis_report.PARTITIONS))
    new = [m for m in analysis_report.available_months(warehouse) if m not in known]
    run = context.dagster_run.run_id
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"{run}:{month}",
                partition_key=month,
                tags={"entity_lakehouse/trigger": "analysis_after_publish"},
            )
            for month in analysis_report.latest_months(warehouse)
        ],
        dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(analysis_report.PARTITIONS, new)]
        if new
        else [],
    )

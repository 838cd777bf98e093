"""A warehouse published by the daemon (the nightly schedule or the landing sensor) gets its monthly analysis
too: the run-status sensor asks for the latest months; a batch of `entity-lakehouse run` builds its own."""

from __future__ import annotations

import dagster as dg

from pipelines.orchestration import sensors
from pipelines.orchestration.resources import LakehouseResource
from pipelines.publishing import analysis_report
from tests.conftest import Run


def evaluate(
    pipeline: Run, run: dg.DagsterRun, instance: dg.DagsterInstance
) -> dg.SensorResult | dg.SkipReason:
    success = next(
        e.dagster_event for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)
    )
    with dg.build_run_status_sensor_context(
        sensor_name="analysis_after_publish",
        dagster_event=success,
        dagster_instance=instance,
        dagster_run=run,
        resources={"lakehouse": LakehouseResource.from_paths(pipeline.paths, lock_wait_seconds=0)},
    ) as context:
        return sensors.analysis_after_publish(context)


def test_a_daemon_publish_requests_the_latest_months_and_a_batch_does_not(pipeline: Run) -> None:
    with dg.DagsterInstance.from_config(str(pipeline.paths.dagster_home)) as instance:
        consolidation = instance.get_run_by_id(pipeline.batch.consolidate_run_id)
        assert isinstance(evaluate(pipeline, consolidation, instance), dg.SkipReason)
        by_daemon = consolidation.with_tags({"entity_lakehouse/trigger": "nightly_consolidation"})
        result = evaluate(pipeline, by_daemon, instance)
    assert isinstance(result, dg.SensorResult)
    months = analysis_report.latest_months(pipeline.paths.warehouse)
    assert [r.partition_key for r in result.run_requests] == months and months
    assert len({r.run_key for r in result.run_requests}) == len(months)

"""The nightly schedule and the landing sensor, evaluated with Dagster's testing APIs on a real landing zone."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from pipelines.orchestration.resources import LakehouseResource
from pipelines.orchestration.runner import run_batch
from pipelines.orchestration.schedules import nightly_consolidation
from pipelines.orchestration.sensors import landing_sensor
from pipelines.storage import paths
from tests.conftest import generate_demo

pytestmark = pytest.mark.xdist_group("operations")


def test_the_nightly_schedule_rebuilds_the_warehouse_at_two_beijing_time() -> None:
    assert nightly_consolidation.cron_schedule == "0 2 * * *"
    assert nightly_consolidation.execution_timezone == "Asia/Shanghai"
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 11, 28, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    )
    requests = nightly_consolidation.evaluate_tick(context).run_requests
    assert len(requests) == 1 and nightly_consolidation.job_name == "consolidate_job"
    assert requests[0].tags["entity_lakehouse/trigger"] == "nightly_consolidation"


def test_the_landing_sensor_loads_new_deliveries_then_consolidates_once(tmp_path: Path) -> None:
    demo = generate_demo(tmp_path / "demo", entities=600, days=2)
    locations = paths.resolve(
        landing=demo.landing,
        lake=tmp_path / "lake",
        warehouse=tmp_path / "wh" / "c.duckdb",
        dagster_home=tmp_path / "dh",
    )
    resource = LakehouseResource.from_paths(locations, lock_wait_seconds=0)
    instance = dg.DagsterInstance.ephemeral()

    def tick(cursor: str | None = None) -> dg.SensorResult | dg.SkipReason:
        with dg.build_sensor_context(
            instance=instance, cursor=cursor, resources={"lakehouse": resource}
        ) as context:
            return landing_sensor(context)

    first = tick()
    keys = {r.partition_key for r in first.run_requests}
    jobs = {r.job_name for r in first.run_requests}
    assert keys == {"2026-11-20", "2026-11-21"} and jobs == {
        "ingest_registration_job",
        "ingest_licensing_job",
        "ingest_district_job",
        "ingest_corrections_job",
    } - ({"ingest_corrections_job"} if not (demo.landing / "corrections").exists() else set())
    added = {
        (r.partitions_def_name, key) for r in first.dynamic_partitions_requests for key in r.partition_keys
    }
    assert ("registration_deliveries", "2026-11-20") in added and (
        "district_deliveries",
        "2026-11-21",
    ) in added
    assert len({r.run_key for r in first.run_requests}) == len(first.run_requests)

    run_batch(locations, echo=lambda *_: None, analyse=False)  # everything loaded
    recorded = dg.DagsterInstance.from_config(str(locations.dagster_home))  # the run's own instance
    assert recorded.get_dynamic_partitions("registration_deliveries") == ["2026-11-20", "2026-11-21"]
    for request in first.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    settled = tick()
    assert [r.job_name for r in settled.run_requests] == ["consolidate_job"]
    assert isinstance(tick(settled.cursor), dg.SkipReason)

    late = demo.landing / "registration" / "2026-11-25"
    late.mkdir()
    shutil.copy(
        next((demo.landing / "registration" / "2026-11-21").glob("*.csv")), late / "resend_with_new_name.csv"
    )
    (late / "resend_with_new_name.csv").write_bytes((late / "resend_with_new_name.csv").read_bytes() + b"\n")
    again = tick(settled.cursor)
    assert [(r.job_name, r.partition_key) for r in again.run_requests] == [
        ("ingest_registration_job", "2026-11-25")
    ]

"""`entity-lakehouse run`: load every new or changed delivery, then consolidate, through Dagster.

Each delivery is its own partition run of its source's ingest job; then one run of `consolidate_job`. All
runs go to the persistent instance in DAGSTER_HOME, so `make ui` shows them, tagged with one batch id.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import polars as pl
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from assets.bronze import LOAD_LOG_TABLE, QUARANTINE_TABLE
from pipelines import definitions, jobs
from pipelines.domain import landing
from pipelines.domain.contract import SOURCES
from pipelines.lake import Lake, exclusive
from pipelines.paths import Paths
from pipelines.resources import INVENTORY_TABLE

INSTANCE_YAML = """\
telemetry:
  enabled: false
run_retries:
  enabled: true
  max_retries: 2
"""
QUIET_RUN_CONFIG = {"loggers": {"progress": {}}}


class RunFailed(Exception):
    """A Dagster run of the batch failed; the message is one line for the operator."""


@dataclass
class BatchResult:
    batch_id: str
    run_ids: list[str] = field(default_factory=list)
    deliveries_loaded: list[str] = field(default_factory=list)
    seconds: float = 0.0


def prepare_instance(dagster_home: Path) -> dg.DagsterInstance:
    """The persistent instance `make ui` reads, with telemetry off (no network here)."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE_YAML, encoding="utf-8")
    return dg.DagsterInstance.from_config(str(dagster_home))


def run_batch(paths: Paths, echo=print) -> BatchResult:
    """Load pending deliveries and consolidate. Raises RunFailed or LakeBusy with a one-line reason."""
    started = time.perf_counter()
    # The lock comes first, so that a second run is turned away at once, before the instance set-up
    # (the CLI takes it earlier still, honouring --wait; the lock is re-entrant).
    with exclusive(paths.lake):
        paths.export_env()
        instance = prepare_instance(paths.dagster_home)
        defs = definitions.build(paths)
        result = BatchResult(batch_id=uuid.uuid4().hex[:12])
        lake = Lake(paths.lake)
        inventory = landing.scan(paths.landing, lake.read(INVENTORY_TABLE))
        todo = landing.pending(landing.deliveries(inventory), lake.read(LOAD_LOG_TABLE))
        _register_partitions(instance, inventory)
        echo(f"landing {paths.landing}: {inventory.height} files, {todo.height} deliveries to load")
        for source, dates in todo.group_by("source", maintain_order=True).agg("delivery_date").iter_rows():
            keys = instance.get_dynamic_partitions(f"{source}_deliveries")
            wanted = [k for k in keys if dt.date.fromisoformat(k) in set(dates)]
            echo(f"{source}: {len(wanted)} deliveries ({', '.join(wanted)})")
            job = defs.resolve_job_def(jobs.ingest_job_name(source))
            # One run over the range of partitions; unchanged ones inside the range are skipped.
            tags = {ASSET_PARTITION_RANGE_START_TAG: wanted[0], ASSET_PARTITION_RANGE_END_TAG: wanted[-1]}
            _execute(job, instance, result, tags=tags, deliveries=",".join(f"{source}/{k}" for k in wanted))
            result.deliveries_loaded += [f"{source}/{k}" for k in wanted]
        echo("consolidate")
        _execute(defs.resolve_job_def("consolidate_job"), instance, result, tags={}, deliveries="")
    result.seconds = time.perf_counter() - started
    return result


def _register_partitions(instance: dg.DagsterInstance, inventory: pl.DataFrame) -> None:
    for source in SOURCES:
        dates = inventory.filter(pl.col("source") == source, pl.col("problem").is_null())["delivery_date"]
        keys = sorted({d.isoformat() for d in dates})
        name = f"{source}_deliveries"
        new = [k for k in keys if not instance.has_dynamic_partition(name, k)]
        if new:
            instance.add_dynamic_partitions(name, new)


def _execute(job: dg.JobDefinition, instance: dg.DagsterInstance, batch: BatchResult, tags: dict[str, str], deliveries: str) -> None:
    tags = {**tags, "entity_lakehouse/batch": batch.batch_id}
    if deliveries:
        tags["entity_lakehouse/deliveries"] = deliveries
    outcome = job.execute_in_process(run_config=QUIET_RUN_CONFIG, instance=instance, tags=tags, raise_on_error=False)
    batch.run_ids.append(outcome.run_id)
    if not outcome.success:
        raise RunFailed(f"{job.name} run {outcome.run_id} failed: {_first_failure(outcome)}")


def _first_failure(outcome: dg.ExecuteInProcessResult) -> str:
    for event in outcome.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause is not None and error.cls_name == "DagsterExecutionStepExecutionError":
                error = error.cause
            return f"step {event.step_key}: {error.message.strip().splitlines()[0]}"
    return "see the run in the Dagster UI"


def summary(paths: Paths, batch: BatchResult) -> str:
    """Rows per table, quarantined rows, wall time and where the results are."""
    lake = Lake(paths.lake)
    lines = [f"run batch {batch.batch_id}: {len(batch.run_ids)} Dagster runs in {batch.seconds:.1f}s", "", "Delta tables:"]
    for table in sorted(_tables(paths.lake)):
        rows = pl.scan_delta(str(paths.lake / table)).select(pl.len()).collect().item()
        lines.append(f"  {table:<36} {rows:>12,} rows  (version {lake.version(table)})")
    quarantine = lake.read(QUARANTINE_TABLE)
    if quarantine is not None:
        whole = quarantine.filter(pl.col("row").is_null()).height
        lines += ["", f"quarantined: {whole} whole files, {quarantine.height - whole} rows (table quarantine)"]
    lines += [
        "",
        f"lake:          {paths.lake}",
        f"warehouse:     {paths.warehouse}",
        f"run report:    {paths.reports / 'index.html'}",
        f"data docs:     {paths.reports / 'data_docs' / 'index.html'}",
        f"quality:       {paths.reports / 'quality' / 'index.html'}",
        f"worksheets:    {paths.reports / 'worksheets'}",
        f"open data:     {paths.warehouse.parent / 'open_data'}",
        f"runs:          DAGSTER_HOME={paths.dagster_home} (make ui, then http://127.0.0.1:3000)",
        "",
        "try:",
        f"  {sys.executable} -c \"import duckdb; print(duckdb.connect('{paths.warehouse}', read_only=True).sql(",
        "    'select district_code, count(*) entities, count(*) filter (where is_zombie) zombies from golden_entity group by 1 order by 1'))\"",
    ]
    return "\n".join(lines)


def _tables(lake_root: Path) -> list[str]:
    return [p.parent.relative_to(lake_root).as_posix() for p in lake_root.glob("*/*/_delta_log")]

"""`entity-lakehouse run`: load every new or changed delivery, then consolidate, through Dagster.

Each delivery is its own partition run of its source's ingest job; then one run of `consolidate_job`, then the
monthly analysis of the latest months (one partition run each of `analyse_month_job`). All
runs go to the persistent instance in DAGSTER_HOME, so `make ui` shows them, tagged with one batch id.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.domain import landing
from pipelines.domain.contract import SOURCES
from pipelines.orchestration import definitions, jobs
from pipelines.publishing import analysis_report
from pipelines.storage import catalog
from pipelines.storage.lake import Lake, exclusive
from pipelines.storage.paths import Paths

INSTANCE_YAML = """\
telemetry:
  enabled: false
run_retries:
  enabled: true
  max_retries: 2
  retry_on_asset_or_op_failure: false
"""
QUIET_RUN_CONFIG = {"loggers": {"progress": {}}}


class RunFailed(Exception):
    """A Dagster run of the batch failed; the message is one line for the operator."""


@dataclass
class BatchResult:
    batch_id: str
    run_ids: list[str] = field(default_factory=list)
    deliveries_loaded: list[str] = field(default_factory=list)
    consolidate_run_id: str = (
        ""  # the run that built and published the warehouse (the analysis runs follow it)
    )
    seconds: float = 0.0


def prepare_instance(dagster_home: Path) -> dg.DagsterInstance:
    """The persistent instance `make ui` reads, with telemetry off (no network here)."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE_YAML, encoding="utf-8")
    return dg.DagsterInstance.from_config(str(dagster_home))


def run_batch(paths: Paths, echo=print, analyse: bool = True) -> BatchResult:
    """Load pending deliveries, consolidate, then (unless `analyse` is off) build the monthly analysis of
    the latest months. Raises RunFailed or LakeBusy with a one-line reason."""
    started = time.perf_counter()
    # The lock comes first, so that a second run is turned away at once, before the instance set-up
    # (the CLI takes it earlier still, honouring --wait; the lock is re-entrant).
    with exclusive(paths.lake):
        paths.export_env()
        instance = prepare_instance(paths.dagster_home)
        defs = definitions.build(paths)
        result = BatchResult(batch_id=uuid.uuid4().hex[:12])
        lake = Lake(paths.lake)
        inventory = landing.scan(paths.landing, lake.read(catalog.LANDING_INVENTORY))
        todo = landing.pending(landing.deliveries(inventory), lake.read(catalog.LOAD_LOG))
        _register_partitions(instance, inventory)
        echo(f"landing {paths.landing}: {inventory.height} files, {todo.height} deliveries to load")
        for source, delivery_date in (
            todo.sort("source", "delivery_date").select("source", "delivery_date").iter_rows()
        ):
            # One run per delivery: each partition carries its own counts and check results.
            key = delivery_date.isoformat()
            echo(f"{source}: delivery {key}")
            job = defs.resolve_job_def(jobs.ingest_job_name(source))
            _execute(job, instance, result, deliveries=f"{source}/{key}", partition_key=key)
            result.deliveries_loaded.append(f"{source}/{key}")
        echo("consolidate")
        _execute(defs.resolve_job_def("consolidate_job"), instance, result)
        result.consolidate_run_id = result.run_ids[-1]
        for month in _register_months(instance, paths.warehouse) if analyse else []:
            echo(f"analysis {month}")
            _execute(defs.resolve_job_def(jobs.ANALYSE_MONTH_JOB), instance, result, partition_key=month)
    result.seconds = time.perf_counter() - started
    return result


def _register_partitions(instance: dg.DagsterInstance, inventory: pl.DataFrame) -> None:
    for source in SOURCES:
        dates = inventory.filter(pl.col("source") == source, pl.col("problem").is_null())["delivery_date"]
        name = catalog.delivery_partitions(source)
        _add_partitions(instance, name, {d.isoformat() for d in dates})


def _add_partitions(instance: dg.DagsterInstance, name: str, keys: set[str]) -> None:
    """Register the keys not yet known, reading the known ones once (one query per key grew with the
    lake's age: three a night, every night of the year)."""
    new = sorted(keys - set(instance.get_dynamic_partitions(name)))
    if new:
        instance.add_dynamic_partitions(name, new)


def _register_months(instance: dg.DagsterInstance, warehouse: Path) -> list[str]:
    """Every month of the published warehouse becomes a partition of the monthly analysis (a past month
    can be rebuilt from the UI); returns the months to build now: the last complete one and the current."""
    _add_partitions(instance, analysis_report.PARTITIONS, set(analysis_report.available_months(warehouse)))
    return analysis_report.latest_months(warehouse)


def _execute(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    batch: BatchResult,
    deliveries: str = "",
    partition_key: str | None = None,
) -> None:
    tags = {"entity_lakehouse/batch": batch.batch_id}
    if deliveries:
        tags["entity_lakehouse/deliveries"] = deliveries
    outcome = job.execute_in_process(
        run_config=QUIET_RUN_CONFIG,
        instance=instance,
        tags=tags,
        partition_key=partition_key,
        raise_on_error=False,
    )
    batch.run_ids.append(outcome.run_id)
    log = batch_log(instance, batch.batch_id)
    _append_log(log, instance, job.name, outcome)
    if not outcome.success:
        raise RunFailed(
            f"{_first_failure(outcome)} (job {job.name}, Dagster run {outcome.run_id}; full log: {log})"
        )


def batch_log(instance: dg.DagsterInstance, batch_id: str) -> Path:
    """One plain-text log per batch under DAGSTER_HOME/logs, with each failed step's whole traceback."""
    return Path(instance.root_directory) / "logs" / f"batch-{batch_id}.log"


def _append_log(
    path: Path, instance: dg.DagsterInstance, job_name: str, outcome: dg.ExecuteInProcessResult
) -> None:
    """The run's whole event log (our progress lines included), each failure with its traceback."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log:
        log.write(f"== {job_name} run {outcome.run_id}: {'success' if outcome.success else 'FAILED'}\n")
        for entry in instance.all_logs(outcome.run_id):
            stamp = dt.datetime.fromtimestamp(entry.timestamp).isoformat(timespec="seconds")
            level = logging.getLevelName(entry.level)
            log.write(f"{stamp} {level:<7} {entry.step_key or '-'}: {entry.message}\n")
            event = entry.dagster_event
            if (
                event is not None
                and event.is_step_failure
                and event.step_failure_data
                and event.step_failure_data.error
            ):
                log.write(event.step_failure_data.error.to_string() + "\n")


def _first_failure(outcome: dg.ExecuteInProcessResult) -> str:
    """The failed step and its exception's own first line, under Dagster's wrapping errors."""
    for event in outcome.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause is not None and (
                error.cls_name.startswith("Dagster") or error.cls_name == "RetryRequested"
            ):
                error = error.cause
            message = (error.message.strip().splitlines() or [""])[0]
            return f"step {event.step_key} failed: {message}"
    return "the run failed before any step ran"


def summary(paths: Paths, batch: BatchResult) -> str:
    """Rows per table, quarantined rows, wall time and where the results are."""
    lake = Lake(paths.lake)
    lines = [
        f"run batch {batch.batch_id}: {len(batch.run_ids)} Dagster runs in {batch.seconds:.1f}s",
        "",
        "Delta tables:",
    ]
    for table in sorted(_tables(paths.lake)):
        rows = pl.scan_delta(str(paths.lake / table)).select(pl.len()).collect().item()
        lines.append(f"  {table:<36} {rows:>12,} rows  (version {lake.version(table)})")
    quarantine = lake.read(catalog.QUARANTINE)
    if quarantine is not None:
        whole = quarantine.filter(pl.col("row").is_null()).height
        lines += [
            "",
            f"quarantined: {whole} whole files, {quarantine.height - whole} rows (table quarantine)",
        ]
    lines += [
        "",
        f"lake:          {paths.lake}",
        f"warehouse:     {paths.warehouse}",
        f"run report:    {paths.reports / 'index.html'}",
        f"data docs:     {paths.reports / 'data_docs' / 'index.html'}",
        f"quality:       {paths.reports / 'quality' / 'index.html'}",
        f"worksheets:    {paths.reports / 'worksheets'}",
        f"open data:     {paths.warehouse.parent / 'open_data'}",
        f"analysis:      {paths.reports / 'analysis'} (index.html and analysis.pdf per month)",
        f"runs:          DAGSTER_HOME={paths.dagster_home} (make ui, then http://127.0.0.1:3000)",
        "",
        "try:",
        f"  {sys.executable} -c \"import duckdb; print(duckdb.connect('{paths.warehouse}', read_only=True).sql(",
        "    'select district_code, count(*) entities, count(*) filter (where is_zombie) zombies from golden_entity group by 1 order by 1'))\"",
    ]
    return "\n".join(lines)


def _tables(lake_root: Path) -> list[str]:
    return [p.parent.relative_to(lake_root).as_posix() for p in lake_root.glob("*/*/_delta_log")]

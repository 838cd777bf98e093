"""Lake maintenance: compacts many small files into few, keeps every version readable, reports before/after,
and holds the lake lock (it never runs while another writer holds the lake)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from deltalake import DeltaTable

from pipelines.orchestration import maintenance
from pipelines.orchestration.resources import LakehouseResource
from pipelines.storage import catalog
from pipelines.storage.lake import Lake, exclusive
from pipelines.storage.maintenance import maintain_table, retention_properties

NIGHTS = 12


def nightly_lake(root: Path) -> Lake:
    """A lake whose golden table took one small write a night, and whose event log grew by appends."""
    lake = Lake(root)
    for night in range(NIGHTS):
        lake.overwrite(
            catalog.GOLDEN_ENTITY,
            pl.DataFrame({"entity_id": [f"E{i}" for i in range(night + 1)], "night": night}),
        )
        lake.insert_new(
            catalog.ENTITY_EVENT,
            pl.DataFrame({"event_id": [f"V{night}"], "night": [night]}),
            key=["event_id"],
        )
    return lake


def run_job(root: Path, lock_wait_seconds: float = 0) -> dg.ExecuteInProcessResult:
    resource = LakehouseResource(
        landing_dir=str(root / "l"),
        lake_dir=str(root / "lake"),
        warehouse_path=str(root / "w.duckdb"),
        lock_wait_seconds=lock_wait_seconds,
    )
    return maintenance.maintain_lake_job.execute_in_process(
        resources={"lakehouse": resource}, raise_on_error=False
    )


def test_maintenance_compacts_and_keeps_every_version_readable(tmp_path: Path) -> None:
    lake = nightly_lake(tmp_path / "lake")
    events_before = len(DeltaTable(str(lake.path(catalog.ENTITY_EVENT))).file_uris())
    result = run_job(tmp_path)
    assert result.success
    output = result.output_for_node("maintain_lake")
    assert output == 2
    metadata = next(e for e in result.all_events if e.is_successful_output).event_specific_data.metadata
    assert (
        metadata["active_files_before"].value == events_before + 1 > metadata["active_files_after"].value == 2
    )
    assert {"files_before", "files_after", "bytes_before", "bytes_after", "tables"} <= set(metadata)
    events = DeltaTable(str(lake.path(catalog.ENTITY_EVENT)))
    assert len(events.file_uris()) == 1
    assert retention_properties(400).items() <= events.metadata().configuration.items()
    assert (
        pl.read_delta(str(lake.path(catalog.ENTITY_EVENT)), version=3).height == 4
    )  # older versions still read
    observed = result.asset_observations_for_node("maintain_lake")
    assert {o.asset_key.to_user_string() for o in observed} == {catalog.GOLDEN_ENTITY, catalog.ENTITY_EVENT}


def test_maintenance_waits_for_the_writer_lock(tmp_path: Path) -> None:
    lake = nightly_lake(tmp_path / "lake")
    holding, release = threading.Event(), threading.Event()

    def nightly_run() -> None:
        with exclusive(lake.root):
            holding.set()
            release.wait(30)

    writer = threading.Thread(target=nightly_run)
    writer.start()
    holding.wait(10)
    try:
        result = run_job(tmp_path)
    finally:
        release.set()
        writer.join()
    assert not result.success
    assert len(DeltaTable(str(lake.path(catalog.ENTITY_EVENT))).file_uris()) == NIGHTS  # untouched
    assert run_job(tmp_path).success


@pytest.mark.parametrize("days", [30])
def test_retention_shorter_than_asof_is_refused(tmp_path: Path, days: int) -> None:
    from pipelines.domain import settings

    text = settings.DEFAULT_FILE.read_text(encoding="utf-8").replace(
        "retention_days = 400", f"retention_days = {days}"
    )
    (tmp_path / "settings.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="shorter than"):
        settings.load(tmp_path / "settings.toml")


def test_change_feed_files_older_than_the_window_are_deleted_and_newer_ones_kept(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    table = "gold/golden_entity"
    lake.upsert(table, pl.DataFrame({"entity_id": ["E1", "E2"], "name": ["甲", "乙"]}), key=["entity_id"])
    for name in ("丙", "丁"):  # two merges: each writes the rows it changed into _change_data
        lake.upsert(table, pl.DataFrame({"entity_id": ["E1"], "name": [name]}), key=["entity_id"])
    old, new = sorted((lake.path(table) / "_change_data").glob("*.parquet"), key=lambda f: f.stat().st_mtime)
    year_and_half_ago = old.stat().st_mtime - 550 * 86_400
    os.utime(old, (year_and_half_ago, year_and_half_ago))
    report = maintain_table(lake.path(table), retention_days=400, target_file_mib=128, run_id="m")
    assert not old.exists() and new.exists()
    assert report.vacuumed_files >= 1
    assert lake.read(table).sort("entity_id")["name"].to_list() == ["丁", "乙"]

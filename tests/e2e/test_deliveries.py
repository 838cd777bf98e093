"""Delivery semantics: late deliveries never override newer ones, re-deliveries change nothing,
a rerun over the same landing zone adds no Delta version. (Two runs at once: tests/e2e/test_publish.py.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from pipelines.orchestration.runner import run_batch
from tests.conftest import Demo, Run, copy_landing, copy_of_run, run_pipeline

DATA_TABLES = [
    "bronze/registration_deliveries",
    "bronze/licensing_deliveries",
    "bronze/district_deliveries",
    "bronze/registration",
    "bronze/licensing",
    "bronze/district",
    "silver/registration",
    "silver/licensing",
    "silver/district",
    "gold/entity_xref",
    "gold/golden_entity",
    "gold/entity_issue",
]


def versions(lake: Path) -> dict[str, int]:
    return {t: DeltaTable(str(lake / t)).version() for t in DATA_TABLES}


def content(lake: Path, table: str) -> pl.DataFrame:
    frame = pl.read_delta(str(lake / table))
    return frame.drop([c for c in frame.columns if c == "run_id"]).sort(frame.columns[0:2])


def test_a_late_delivery_never_overrides_a_newer_one(demo: Demo, pipeline: Run, tmp_path: Path) -> None:
    late = json.loads((demo.truth / "deliveries.json").read_text())["late_delivery"]
    folder = f"{late['source']}/{late['date']}"
    landing = copy_landing(demo, tmp_path / "landing", leave_out=[folder])
    first = run_pipeline(tmp_path / "arrival_order", demo, landing)
    shutil.copytree(demo.landing / folder, landing / folder)  # the late folder arrives after the newer ones
    run_batch(first.paths, echo=lambda *_: None, analyse=False)
    current = pl.read_delta(str(first.paths.lake / f"bronze/{late['source']}")).filter(
        pl.col("record_key").is_in(late["updated_keys"])
    )
    assert current.height == len(late["updated_keys"])
    assert (current["delivery_date"].cast(pl.String) == late["updated_again_in"]).all()
    # The end state is what loading everything at once gives (the shared run loaded the whole landing zone).
    for table in ("bronze/licensing", "silver/licensing"):
        assert content(first.paths.lake, table).equals(content(pipeline.paths.lake, table)), table


def test_a_rerun_and_a_redelivery_change_nothing(demo: Demo, pipeline: Run, tmp_path: Path) -> None:
    landing = copy_landing(demo, tmp_path / "landing")  # copies keep their mtimes: the same files
    run = copy_of_run(pipeline, tmp_path / "lake", landing)
    before = versions(run.paths.lake)
    run_batch(run.paths, echo=lambda *_: None, analyse=False)
    assert versions(run.paths.lake) == before
    # The same bytes again, in a new delivery folder: loaded as nothing, no new version of any data table.
    original = next((demo.landing / "registration").glob("*/reg_incremental_*.csv"))
    (landing / "registration" / "2026-11-30").mkdir()
    shutil.copy(original, landing / "registration" / "2026-11-30" / "resent.csv")
    run_batch(run.paths, echo=lambda *_: None, analyse=False)
    after = versions(run.paths.lake)
    changed = {t for t in DATA_TABLES if after[t] != before[t]}
    assert not changed & {
        "bronze/registration_deliveries",
        "bronze/registration",
        "silver/registration",
        "gold/entity_xref",
    }
    log = pl.read_delta(str(run.paths.lake / "bronze/load_log")).filter(
        pl.col("file") == "registration/2026-11-30/resent.csv"
    )
    assert log["status"].to_list() == ["duplicate"]

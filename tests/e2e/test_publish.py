"""Publishing: a reader with the warehouse open during a run always sees a whole night, old or new, and a
second writer is turned away; the run command's exit codes and one-line errors."""

from __future__ import annotations

import fcntl
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from benchmarks import stages
from tests.conftest import Run, copy_landing, copy_of_run

pytestmark = pytest.mark.xdist_group("publish")


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


def observe(warehouse: Path) -> tuple[frozenset[str], bool, str]:
    """(tables, whether golden_entity and entity_xref agree, as-of date) of the published file."""
    with duckdb.connect(str(warehouse), read_only=True) as db:
        tables = frozenset(r[0] for r in db.sql("select table_name from duckdb_tables()").fetchall())
        entities = db.sql("select count(*) from golden_entity").fetchall()[0][0]
        resolved = db.sql("select count(distinct entity_id) from entity_xref").fetchall()[0][0]
        as_of = str(db.sql("select max(delivery_date) from load_summary").fetchall()[0][0])
    return tables, entities == resolved, as_of


def test_during_a_run_a_reader_sees_a_whole_warehouse_and_a_second_run_is_refused(
    pipeline: Run, tmp_path: Path
) -> None:
    """While a run writes a new night: a reader with the warehouse open always sees a whole night, old or
    new; a second run fails at once with a one-line reason; and the lake is whole afterwards."""
    landing = copy_landing(pipeline.demo, tmp_path / "landing")
    first = copy_of_run(pipeline, tmp_path / "run", landing)
    tables, consistent, before = observe(first.paths.warehouse)
    assert consistent and len(tables) >= 17
    new_day = landing / "registration" / "2026-11-30"
    new_day.mkdir()
    original = next((landing / "registration").glob("*/reg_incremental_*.csv"))
    (new_day / "next.csv").write_bytes(original.read_bytes() + b"\n")  # new bytes, same rows
    locations = first.paths
    command = stages.run_command(landing, tmp_path / "run")  # the CLI over `first`
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for_lock(locations.lake)
    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    seen = []
    while run.poll() is None:
        seen.append(observe(locations.warehouse))
        time.sleep(0.2)  # a reader's pace; polling harder only takes CPU from the run it watches
    assert run.returncode == 0, run.stderr.read()[-2000:]
    seen.append(observe(locations.warehouse))
    assert len(seen) > 20
    assert all(t == tables and ok for t, ok, _ in seen), [s for s in seen if s[0] != tables or not s[1]][:3]
    assert {as_of for _, _, as_of in seen} == {before, "2026-11-30"}
    assert not list(locations.warehouse.parent.glob("*.building"))
    assert second.returncode == 75
    assert second.stderr.strip().startswith("error: the lake") and "being written by pid" in second.stderr
    assert "Traceback" not in second.stderr
    loaded = pl.read_delta(str(locations.lake / "bronze/load_log")).filter(
        pl.col("file") == "registration/2026-11-30/next.csv"
    )
    assert loaded["status"].to_list() == ["loaded"]  # the first run wrote the night whole


def wait_for_lock(lake: Path) -> None:
    """Until another process holds the lake's writer lock (the file alone may be left from an earlier run)."""
    deadline = time.monotonic() + 120
    while True:
        assert time.monotonic() < deadline, "the run never took the lock"
        if (lake / ".writer.lock").exists():
            with open(lake / ".writer.lock") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return
                fcntl.flock(handle, fcntl.LOCK_UN)
        time.sleep(0.2)


def test_exit_codes_and_one_line_errors(tmp_path: Path) -> None:
    missing = subprocess.run(
        cli("run", "--landing", str(tmp_path / "nowhere"), "--lake", str(tmp_path / "lake")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2 and missing.stderr.strip().startswith(
        f"error: landing zone {tmp_path / 'nowhere'} does not exist ("
    )
    usage = subprocess.run(cli("run", "--no-such-option"), capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2
    landing = tmp_path / "landing" / "registration" / "2026-11-20"
    landing.mkdir(parents=True)
    (landing / "r.csv").write_text(
        "主体身份代码,名称,成立日期,登记状态\nK1,甲,2020-01-01,存续\n", encoding="utf-8"
    )
    lake = tmp_path / "lake"
    (lake / "bronze" / "load_log" / "_delta_log").mkdir(parents=True)
    (lake / "bronze" / "load_log" / "_delta_log" / "00000000000000000000.json").write_text(
        "{not json", encoding="utf-8"
    )
    broken = subprocess.run(
        cli(
            "run",
            "--landing",
            str(tmp_path / "landing"),
            "--lake",
            str(lake),
            "--warehouse",
            str(tmp_path / "w" / "c.duckdb"),
            "--dagster-home",
            str(tmp_path / "dh"),
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert broken.returncode == 1
    errors = [line for line in broken.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in broken.stderr


def test_a_busy_lake_turns_a_run_away_at_once_or_after_its_wait(tmp_path: Path) -> None:
    from pipelines.storage.lake import exclusive

    (tmp_path / "landing" / "registration" / "2026-11-20").mkdir(parents=True)
    (tmp_path / "landing" / "registration" / "2026-11-20" / "r.csv").write_text(
        "主体身份代码\nK1\n", encoding="utf-8"
    )
    command = cli(
        "run",
        "--landing",
        str(tmp_path / "landing"),
        "--lake",
        str(tmp_path / "lake"),
        "--warehouse",
        str(tmp_path / "w" / "c.duckdb"),
        "--dagster-home",
        str(tmp_path / "dh"),
    )
    with exclusive(tmp_path / "lake"):
        at_once = subprocess.run(command, capture_output=True, text=True, timeout=120)
        started = time.monotonic()
        patient = subprocess.run([*command, "--wait", "3"], capture_output=True, text=True, timeout=120)
        waited = time.monotonic() - started
    for busy in (at_once, patient):
        assert busy.returncode == 75, busy.stderr[-2000:]
        assert busy.stderr.strip().startswith(f"error: the lake {tmp_path / 'lake'} is being written by pid")
    assert waited >= 3  # --wait waited before giving up
    assert not (tmp_path / "dh").exists()  # turned away before any instance set-up

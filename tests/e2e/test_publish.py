"""Publishing: a reader with the warehouse open during a run always sees a whole night, old or new;
the run command's exit codes and one-line errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

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


def test_a_reader_during_a_run_sees_a_whole_previous_or_new_warehouse(pipeline: Run, tmp_path: Path) -> None:
    landing = copy_landing(pipeline.demo, tmp_path / "landing")
    first = copy_of_run(pipeline, tmp_path / "run", landing)
    tables, consistent, before = observe(first.paths.warehouse)
    assert consistent and len(tables) >= 17
    new_day = landing / "registration" / "2026-11-30"
    new_day.mkdir()
    shutil.copy(next((landing / "registration" / "2026-11-21").glob("*.csv")), new_day / "next.csv")
    (new_day / "next.csv").write_bytes((new_day / "next.csv").read_bytes() + b"\n")  # new bytes, same rows
    locations = first.paths
    run = subprocess.Popen(
        cli(
            "run",
            "--landing",
            str(landing),
            "--lake",
            str(locations.lake),
            "--warehouse",
            str(locations.warehouse),
            "--dagster-home",
            str(locations.dagster_home),
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
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

"""A run killed at any point and started again ends with the same tables as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import Run, workspace

pytestmark = pytest.mark.xdist_group("pipeline")
VOLATILE = {"run_id", "seconds", "mtime_ns", "first_run_id"}  # who and when, not what


def tables(lake: Path) -> dict[str, pl.DataFrame]:
    found = {}
    for log in sorted(lake.glob("*/*/_delta_log")):
        name = log.parent.relative_to(lake).as_posix()
        frame = pl.read_delta(str(log.parent))
        kept = [c for c in frame.columns if c not in VOLATILE]
        found[name] = frame.select(kept).sort(kept, nulls_last=True)
    return found


@pytest.mark.parametrize("kill_after_seconds", [9, 30])
def test_killed_and_restarted_equals_uninterrupted(pipeline: Run, tmp_path: Path, kill_after_seconds: int) -> None:
    locations = workspace(tmp_path, pipeline.demo.landing)
    command = [sys.executable, "-m", "pipelines.cli", "run", "--landing", str(locations.landing), "--lake", str(locations.lake),
               "--warehouse", str(locations.warehouse), "--dagster-home", str(locations.dagster_home)]
    victim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(kill_after_seconds)
    if victim.poll() is None:
        os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    assert victim.returncode != 0, "the run finished before it could be killed: kill it earlier"
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    expected, got = tables(pipeline.paths.lake), tables(locations.lake)
    assert sorted(got) == sorted(expected)
    different = [name for name in expected if not got[name].equals(expected[name])]
    assert different == []

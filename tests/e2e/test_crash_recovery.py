"""A run killed at any point and started again ends with the same tables as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import polars as pl

from benchmarks import stages
from tests.conftest import Run, workspace

# Who and when, not what. A publication records the Delta versions it read: after a restart a table may
# have more commits, so the numbers differ while the content they name is the same.
VOLATILE = {"run_id", "seconds", "mtime_ns", "first_run_id", "published_at", "versions"}


def tables(lake: Path) -> dict[str, pl.DataFrame]:
    found = {}
    for log in sorted(lake.glob("*/*/_delta_log")):
        name = log.parent.relative_to(lake).as_posix()
        frame = pl.read_delta(str(log.parent))
        kept = [c for c in frame.columns if c not in VOLATILE]
        found[name] = frame.select(kept).sort(kept, nulls_last=True)
    return found


def kill_when_logged(command: list[str], marker: str) -> int:
    """Start a run and SIGKILL its whole process group the moment a progress line contains `marker`.

    Killing on a step's own progress line, not after a fixed delay, puts the kill at the same point
    of the run on a fast machine and a slow one.
    """
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    victim = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=environment,
        start_new_session=True,
    )
    watchdog = threading.Timer(600, lambda: os.killpg(victim.pid, signal.SIGKILL))
    watchdog.start()
    try:
        assert victim.stdout is not None
        for line in victim.stdout:
            if marker in line:
                os.killpg(victim.pid, signal.SIGKILL)
                break
        return victim.wait()
    finally:
        watchdog.cancel()


def test_killed_twice_and_restarted_equals_uninterrupted(pipeline: Run, tmp_path: Path) -> None:
    """Killed inside the per-delivery ingest runs, restarted and killed again inside consolidation between
    two gold commits, then restarted to the end: the tables of one uninterrupted run."""
    locations = workspace(tmp_path, pipeline.demo.landing)
    command = stages.run_command(locations.landing, tmp_path)  # the CLI over `locations`
    for marker in ("bronze__licensing_deliveries", "gold__entity_xref"):
        returncode = kill_when_logged(command, marker)
        assert returncode == -signal.SIGKILL, f"the run ended ({returncode}) before it logged {marker!r}"
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    expected, got = tables(pipeline.paths.lake), tables(locations.lake)
    assert sorted(got) == sorted(expected)
    different = [name for name in expected if not got[name].equals(expected[name])]
    assert different == []

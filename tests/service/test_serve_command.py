"""`entity-lakehouse serve` as operators start it: a process that serves the published warehouse, and a clear
start-up error (exit 1, one line) when there is none."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pipelines.service.workers import per_worker
from tests.conftest import Run
from tests.service.conftest import free_port

pytestmark = pytest.mark.xdist_group("service")


def serve(*options: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", "serve", *options]


def test_the_serve_command_answers_over_http(service_run: Run) -> None:
    port = free_port()
    process = subprocess.Popen(serve("--warehouse", str(service_run.paths.warehouse), "--port", str(port)),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline, health = time.monotonic() + 60, None
        while health is None and time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None and health.status_code == 200, (
            process.stderr.read() if process.poll() else ""
        )
        entities = service_run.sql("select count(*) as n from golden_entity")["n"].item()
        assert health.json()["status"] == "ok" and health.json()["entities"] == entities
        assert httpx.get(f"http://127.0.0.1:{port}/v1/entities/nope", timeout=5).status_code == 404
    finally:
        process.terminate()
        process.wait(10)


def test_serving_no_warehouse_is_a_clear_start_up_error(tmp_path: Path) -> None:
    done = subprocess.run(serve("--warehouse", str(tmp_path / "none.duckdb"), "--port", str(free_port())),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: no published warehouse at {tmp_path / 'none.duckdb'} (run `entity-lakehouse run`)"
    ]


def test_several_workers_answer_and_log_every_request(service_run: Run, tmp_path: Path) -> None:
    warehouse = tmp_path / "curated.duckdb"
    shutil.copy(service_run.paths.warehouse, warehouse)
    port = free_port()
    process = subprocess.Popen(serve("--warehouse", str(warehouse), "--port", str(port), "--workers", "2"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline, statuses = time.monotonic() + 60, []
        while not statuses and time.monotonic() < deadline and process.poll() is None:
            try:
                statuses.append(httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code)
            except httpx.TransportError:
                time.sleep(0.2)
        for _ in range(19):  # a new connection each, so both workers may answer
            statuses.append(
                httpx.get(f"http://127.0.0.1:{port}/v1/entities/E999999999", timeout=5).status_code
            )
        assert statuses == [200] + [404] * 19, process.stderr.read() if process.poll() else statuses
    finally:
        process.terminate()
        process.wait(10)
    records = [line for f in (tmp_path / "access_log").glob("*.jsonl") for line in f.read_text().splitlines()]
    assert len(records) == 20 and all(json.loads(r)["status"] in (200, 404) for r in records)


@pytest.mark.parametrize(
    ("rate", "workers", "share"),
    [("120/minute", 1, "120/minute"), ("120/minute", 2, "60/minute"), ("10 per second;100/hour", 4,
     "2 per second;25/hour"), ("1/minute", 2, "1/minute")],
)  # fmt: skip
def test_each_worker_allows_its_share_of_a_rate(rate: str, workers: int, share: str) -> None:
    assert per_worker(rate, workers) == share

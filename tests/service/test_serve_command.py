"""`entity-lakehouse serve` as operators start it: a process that serves the published warehouse, and a clear
start-up error (exit 1, one line) when there is none."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

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

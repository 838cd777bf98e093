"""A publish while requests stream in: each response whole from one warehouse; the new one is served next."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from pipelines.publishing import service_index
from tests.conftest import Run
from tests.service.conftest import Keys, serving

pytestmark = pytest.mark.xdist_group("service")
MARK = "B:"


def second_warehouse(first: Path, target: Path) -> int:
    """A copy of the published warehouse with fewer entities and marked names: entities it keeps."""
    shutil.copy(first, target)
    with duckdb.connect(str(target)) as connection:
        for table in ("golden_entity", "shared_entity"):
            connection.execute(f"delete from {table} where entity_id > 'E000000300'")
            connection.execute(f"update {table} set name = ? || coalesce(name, '')", [MARK])
        service_index.build(connection)  # as every publish does, after the tables
        return connection.execute("select count(*) from golden_entity").fetchone()[0]


def test_a_publish_during_requests_is_picked_up_whole(service_run: Run, keys: Keys, tmp_path: Path) -> None:
    served = tmp_path / "warehouse" / "curated.duckdb"
    served.parent.mkdir()
    shutil.copy(service_run.paths.warehouse, served)
    with duckdb.connect(str(served), read_only=True) as connection:
        before = connection.execute("select count(*) from golden_entity").fetchone()[0]
    after = second_warehouse(served, tmp_path / "next.duckdb")
    responses: list[dict] = []
    with serving(served, keys.path) as url:
        client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys.internal}"}, timeout=30)
        stop = threading.Event()

        def stream() -> None:
            while not stop.is_set():
                responses.append(client.get("/v1/entities", params={"page_size": 100, "page": 3}).json())

        threads = [threading.Thread(target=stream) for _ in range(4)]
        for thread in threads:
            thread.start()
        while len(responses) < 40:
            time.sleep(0.01)
        os.replace(
            tmp_path / "next.duckdb", served
        )  # how the pipeline publishes: a new file renamed over the old
        seen = len(responses)
        while len(responses) < seen + 40:
            time.sleep(0.01)
        stop.set()
        for thread in threads:
            thread.join()
        assert client.get("/v1/health").json()["entities"] == after
    for body in responses:
        marked = {(item["name"] or "").startswith(MARK) for item in body["items"]}
        assert (body["total"], marked) in ((before, {False}), (after, {True}), (after, set())), body["total"]
    assert {r["total"] for r in responses} == {before, after}

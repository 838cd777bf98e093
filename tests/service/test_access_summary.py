"""The daily access summary: real requests to the served warehouse, then a run publishes who read what."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import httpx
import pytest

from pipelines.orchestration.runner import run_batch
from pipelines.publishing import data_dictionary
from pipelines.service import access_log, access_summary
from tests.conftest import Run, workspace
from tests.service.conftest import Keys, serving

pytestmark = pytest.mark.xdist_group("service")


def summary_rows(warehouse: Path) -> dict[tuple[str, str], tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute(
            f"select caller, scope, requests, status_2xx, status_4xx, rows_returned, day "
            f"from {access_summary.TABLE}"
        ).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def test_a_run_publishes_the_daily_summary_of_real_requests(
    service_run: Run, keys: Keys, tmp_path: Path
) -> None:
    folder = tmp_path / "night"
    for part in ("lake", "dagster_home"):
        shutil.copytree(getattr(service_run.paths, part), folder / part)
    (folder / "warehouse").mkdir()
    shutil.copy(service_run.paths.warehouse, folder / "warehouse" / "curated.duckdb")
    locations = workspace(folder, service_run.demo.landing)
    with serving(locations.warehouse, keys.path) as url:
        partner = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys.partner}"}, timeout=30)
        for _ in range(3):
            assert partner.get("/v1/entities", params={"page_size": 4}).status_code == 200
        assert httpx.get(f"{url}/v1/entities/E999999999", timeout=30).status_code == 404
    lines = sum(1 for f in access_log.log_files(access_log.folder_for(locations.warehouse)) for _ in open(f))
    assert lines == 4  # the serving fixture waits for the server without a request
    run_batch(locations, echo=lambda *_: None, analyse=False)
    rows = summary_rows(locations.warehouse)
    assert rows[("tax-bureau", "partner")][:4] == (3, 3, 0, 12)
    assert rows[("public", "open")][:4] == (1, 0, 1, 0)
    assert len({r[4] for r in rows.values()}) == 1


def test_no_or_an_empty_log_gives_a_typed_empty_table(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "2026-12-01.jsonl").write_text("", encoding="utf-8")
    with duckdb.connect(":memory:") as connection:
        for folder in (tmp_path / "missing", tmp_path / "empty"):
            assert access_summary.write(connection, folder).rows == 0
            types = dict(connection.execute(f"select column_name, data_type from duckdb_columns() "
                                            f"where table_name = '{access_summary.TABLE}'").fetchall())  # fmt: skip
            assert types["day"] == "DATE" and types["requests"] == "BIGINT" and types["p95_ms"] == "DOUBLE"


def test_the_access_summary_is_never_exported() -> None:
    for audience in (data_dictionary.OPEN_DATA, data_dictionary.SHARING):
        assert access_summary.TABLE not in data_dictionary.exported_tables(audience)

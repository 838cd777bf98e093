"""The daily access summary: real requests to the served warehouse, then a run publishes who read what."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import duckdb
import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def _entry(day: str, caller: str, status: int) -> str:
    entry = access_log.Entry(
        f"{day}T08:00:00.000+00:00", caller, "partner", "GET", "/v1/entities", {}, status, 2, 5.0, "127.0.0.1"
    )
    return orjson.dumps(dataclasses.asdict(entry)).decode() + "\n"  # fmt: skip


def _summary(connection: duckdb.DuckDBPyConnection) -> list[tuple]:
    return connection.execute(
        f"select * exclude (log_bytes) from {access_summary.TABLE} order by all"
    ).fetchall()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    nights=st.lists(
        st.lists(st.tuples(st.sampled_from(["01", "02", "03"]), st.sampled_from(["a", "b"]),
                           st.sampled_from([200, 404, 429]), st.booleans()), max_size=6),
        min_size=1, max_size=4,
    )
)  # fmt: skip
def test_summarising_the_changed_days_equals_summarising_the_whole_log(
    tmp_path_factory: pytest.TempPathFactory, nights: list[list[tuple[str, str, int, bool]]]
) -> None:
    # Each night appends requests to some days' files, or deletes a day's file (log retention: the day has
    # left the log, and no request is written to it again).
    folder = tmp_path_factory.mktemp("log")
    retired: set[str] = set()
    with duckdb.connect(":memory:") as carried:
        for night in nights:
            for day, caller, status, delete in night:
                path = folder / f"2026-12-{day}.jsonl"
                if delete:
                    path.unlink(missing_ok=True)
                    retired.add(day)
                elif day not in retired:
                    with path.open("a", encoding="utf-8") as log:
                        log.write(_entry(f"2026-12-{day}", caller, status))
            access_summary.write(carried, folder)
            with duckdb.connect(":memory:") as whole:
                access_summary.write(whole, folder)
                assert _summary(carried) == _summary(whole)


def test_a_night_reads_only_the_days_whose_file_changed(tmp_path: Path) -> None:
    for day in ("01", "02"):
        (tmp_path / f"2026-12-{day}.jsonl").write_text(_entry(f"2026-12-{day}", "a", 200), encoding="utf-8")
    with duckdb.connect(":memory:") as connection:
        assert access_summary.write(connection, tmp_path).days_read == 2
        # Day 01's file damaged in place, its size kept: a night that re-read it would fail.
        old = tmp_path / "2026-12-01.jsonl"
        old.write_text("x" * old.stat().st_size, encoding="utf-8")
        with (tmp_path / "2026-12-02.jsonl").open("a", encoding="utf-8") as log:
            log.write(_entry("2026-12-02", "b", 429))
        published = access_summary.write(connection, tmp_path)
        assert (published.days_read, published.records, published.rows) == (1, 3, 3)

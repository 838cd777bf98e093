"""Every landing zone a bureau can send publishes a whole warehouse, or is refused with a one-line reason.

The shapes are cut from a small generated landing zone (seed 5, not the seed 7 the rules were tuned on):
sources absent, a source that only ever sent corrections, header-only files, nothing but unreadable files.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pytest

from pipelines.publishing import service_index
from pipelines.service import queries
from pipelines.service.keys import Caller
from pipelines.service.warehouse import Warehouse
from tests.conftest import Demo, run_pipeline
from tests.e2e.test_contract import CONTRACT

SQL_MODELS = {p.stem for p in (Path(__file__).resolve().parents[2] / "sql" / "curated").glob("*.sql")}
SOURCES = ("registration", "licensing", "district", "corrections")


def keep_only(landing: Path, sources: set[str]) -> None:
    for folder in landing.iterdir():
        if folder.name not in sources:
            shutil.rmtree(folder)


def header_only(landing: Path) -> None:
    for csv in landing.rglob("*.csv"):
        csv.write_bytes(csv.read_bytes().split(b"\n")[0] + b"\n")
    for xlsx in landing.rglob("*.xlsx"):
        try:
            book = openpyxl.load_workbook(xlsx)
        except Exception:  # noqa: BLE001 - the demo's deliberately broken workbook stays broken
            continue
        book.worksheets[0].delete_rows(2, book.worksheets[0].max_row)
        book.save(xlsx)


def unreadable(landing: Path) -> None:
    for file in landing.rglob("*"):
        if file.is_file():
            file.write_bytes(
                b"\x00\x01 not a spreadsheet: " + str(file).encode()
            )  # unique: not a re-delivery


SHAPES = {
    "no_corrections": lambda landing: keep_only(landing, {"registration", "licensing", "district"}),
    "only_registration": lambda landing: keep_only(landing, {"registration"}),
    "only_licensing": lambda landing: keep_only(landing, {"licensing"}),
    "only_district": lambda landing: keep_only(landing, {"district"}),
    "only_corrections": lambda landing: keep_only(landing, {"corrections"}),
    "header_only": header_only,
    "all_quarantined": unreadable,
}


# The monthly analysis (seconds of PDF each) on the shapes that leave its tables empty in different ways;
# with every source present it runs on the shared demo run, with nothing readable on `all_quarantined`.
ANALYSED = {"only_registration", "only_licensing", "only_district", "only_corrections", "all_quarantined"}


def published_tables(warehouse: Path) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return {
            row[0]
            for row in connection.execute("select table_name from information_schema.tables").fetchall()
        }


def assert_served(warehouse: Path) -> None:
    """The data service opens the published warehouse and answers from it at every scope: a search through the
    bigram table alone (two characters), one through the entity table, and a profile; empty where nothing came.
    """
    snapshot = Warehouse(warehouse).snapshot()
    cursor = snapshot.cursor()
    entity = cursor.execute("select min(entity_id) from golden_entity").fetchone()[0]
    for scope, table in service_index.ENTITY_TABLE.items():
        caller = Caller("shape", scope)
        for q in ("宁波", "宁波市"):
            found = queries.search(cursor, caller, queries.Search(q=q, page_size=100), snapshot.name_index)
            sql = f"select count(*) from {table} where contains(name, ?)"
            assert found["total"] == cursor.execute(sql, [q]).fetchone()[0], (scope, q)
        profile = queries.profile(cursor, caller, entity or "E000000001")
        assert (profile is not None) == (entity is not None), scope


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_landing_shape_publishes_every_contract_table(
    small_demo: Demo, tmp_path: Path, shape: str
) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(small_demo.landing, landing)
    SHAPES[shape](landing)
    run = run_pipeline(tmp_path, small_demo, landing, analyse=shape in ANALYSED)
    tables = published_tables(run.paths.warehouse)
    assert SQL_MODELS <= tables, SQL_MODELS - tables
    for table, columns in CONTRACT.items():
        assert columns <= set(run.sql(f"select * from {table} limit 0").columns)
    landed = {f.parent.parent.name for f in landing.rglob("*") if f.is_file()}
    loaded = set(run.sql("select distinct source from entity_xref")["source"])
    assert loaded <= landed  # nothing invented for an absent source
    assert_served(run.paths.warehouse)
    if shape == "all_quarantined":
        assert run.sql("select count(*) as n from golden_entity")["n"].item() == 0
        files = sum(1 for f in landing.rglob("*") if f.is_file())
        assert run.sql("select count(*) as n from quarantine where row is null")["n"].item() == files


def test_one_entity_publishes(tmp_path: Path) -> None:
    fixture = (
        Path(__file__).resolve().parents[1]
        / "fixtures"
        / "handwritten"
        / "landing"
        / "registration"
        / "2026-11-20"
    )
    source = next(fixture.glob("*.csv")).read_text(encoding="utf-8-sig").splitlines()
    target = tmp_path / "landing" / "registration" / "2026-11-20" / "one.csv"
    target.parent.mkdir(parents=True)
    target.write_text("\n".join(source[:2]) + "\n", encoding="utf-8")
    run = run_pipeline(tmp_path, Demo(tmp_path / "landing", tmp_path / "none"), analyse=True)
    golden = run.sql("select name, registration_record_key from golden_entity")
    assert golden.rows() == [("宁波甬江精密机械有限公司", "3302030100000101")]
    assert SQL_MODELS <= published_tables(run.paths.warehouse)
    assert_served(run.paths.warehouse)


@pytest.mark.parametrize("layout", ["missing", "empty", "empty_folders"])
def test_a_landing_zone_with_nothing_delivered_is_a_usage_error(tmp_path: Path, layout: str) -> None:
    landing = tmp_path / "landing"
    if layout != "missing":
        landing.mkdir()
    if layout == "empty_folders":
        (landing / "registration" / "2026-11-20").mkdir(parents=True)
    command = [sys.executable, "-m", "pipelines.cli", "run", "--landing", str(landing), "--lake", str(tmp_path / "lake"),
               "--warehouse", str(tmp_path / "w.duckdb"), "--dagster-home", str(tmp_path / "dh")]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(landing) in lines[0] and "<source>/<YYYY-MM-DD>" in lines[0]
    assert not (tmp_path / "lake").exists()

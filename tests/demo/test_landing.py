"""The landing zone follows the extract contract: layout, headers, encodings, formats, hostile text."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from pipelines.domain.contract import SPECS, normalise_header
from pipelines.domain.divisions import BY_CODE
from tests.demo.conftest import Demo
from tests.demo.reading import canonical_header, decode, table

pytestmark = pytest.mark.xdist_group("demo")  # one worker generates the shared demo

LAYOUT = re.compile(r"^(registration|licensing|district|corrections)/\d{4}-\d{2}-\d{2}/[^/]+\.(csv|xlsx)$")


def _loadable(demo: Demo) -> pl.DataFrame:
    return demo.read("files").filter(pl.col("quarantine_reason").is_null())


def test_same_seed_gives_the_same_bytes(demo: Demo, demo_again: Demo) -> None:
    first = sorted(p.relative_to(demo.landing) for p in demo.landing.rglob("*") if p.is_file())
    second = sorted(p.relative_to(demo_again.landing) for p in demo_again.landing.rglob("*") if p.is_file())
    assert first == second
    for path in first:
        assert (demo.landing / path).read_bytes() == (demo_again.landing / path).read_bytes(), path
    for name in ("entities", "records", "issues", "files", "bad_rows", "judgements"):
        assert demo.read(name).equals(demo_again.read(name)), name
    assert (demo.truth / "deliveries.json").read_bytes() == (
        demo_again.truth / "deliveries.json"
    ).read_bytes()


def test_every_file_on_disk_is_in_the_truth(demo: Demo) -> None:
    on_disk = {p.relative_to(demo.landing).as_posix() for p in demo.landing.rglob("*") if p.is_file()}
    assert on_disk == set(demo.read("files")["path"])


def test_loadable_files_follow_the_layout(demo: Demo) -> None:
    for path in _loadable(demo)["path"]:
        assert LAYOUT.match(path), path
        if path.startswith("district/"):
            code = Path(path).name[:6]
            assert code in BY_CODE and re.match(r"^\d{6}_[a-z]+\.(csv|xlsx)$", Path(path).name), path


def test_headers_map_to_the_contract(demo: Demo) -> None:
    for row in _loadable(demo).iter_rows(named=True):
        if row["source"] == "corrections":
            continue
        header = table(demo.landing / row["path"], row["encoding"])[0]
        canonical = canonical_header(row["source"], header)
        assert None not in canonical, (row["path"], header)
        spec = SPECS[row["source"]]
        assert set(spec.required_headers) <= set(canonical), row["path"]


def test_every_synonym_is_used_somewhere(demo: Demo) -> None:
    used: dict[str, set[str]] = {}
    for row in _loadable(demo).iter_rows(named=True):
        used.setdefault(row["source"], set()).update(normalise_header(h) for h in row["headers"])
    for source in ("registration", "licensing", "district"):
        for column, synonyms in SPECS[source].headers.items():
            for synonym in synonyms:
                assert normalise_header(synonym) in used[source], (source, column, synonym)
    assert "注册资本（万元）" in {h for hs in demo.read("files")["headers"] for h in hs}


def test_encodings_and_formats_vary_as_promised(demo: Demo) -> None:
    files = _loadable(demo)
    for row in files.filter(pl.col("format") == "csv").iter_rows(named=True):
        data = (demo.landing / row["path"]).read_bytes()
        text = decode(data, row["encoding"])
        if row["encoding"] == "gb18030" and re.search(r"[\u4e00-\u9fff]", text):
            try:
                data.decode("utf-8")
                raise AssertionError(f"{row['path']} is UTF-8, not GB18030")
            except UnicodeDecodeError:
                pass
    by_source = files.group_by("source").agg(pl.col("encoding").unique(), pl.col("format").unique())
    encodings = dict(zip(by_source["source"], by_source["encoding"], strict=True))
    formats = dict(zip(by_source["source"], by_source["format"], strict=True))
    assert {"utf-8", "utf-8-sig", "gb18030"} <= set(encodings["district"])
    assert (
        "gb18030" in encodings["licensing"]
        and "xlsx" in formats["licensing"]
        and "xlsx" in formats["district"]
    )
    assert files.filter(pl.col("source") == "district")["date_style"].n_unique() >= 7


def test_spreadsheet_text_is_never_a_formula(demo: Demo) -> None:
    hostile_seen = 0
    for row in _loadable(demo).filter(pl.col("format") == "xlsx").iter_rows(named=True):
        sheet = openpyxl.load_workbook(demo.landing / row["path"]).worksheets[0]
        for cells in sheet.iter_rows():
            for cell in cells:
                if isinstance(cell.value, str) and cell.value[:1] in "=+-@":
                    assert cell.data_type == "s", (row["path"], cell.coordinate, cell.value)
                    hostile_seen += cell.value in (
                        '=HYPERLINK("http://x","y")',
                        "@SUM(1,2)",
                        "+cmd|' /C calc'!A0",
                    )
    assert hostile_seen >= 3


def test_spreadsheets_have_real_date_cells_and_fixed_timestamps(demo: Demo) -> None:
    dated = 0
    for row in _loadable(demo).filter(pl.col("format") == "xlsx").iter_rows(named=True):
        with zipfile.ZipFile(demo.landing / row["path"]) as archive:
            stamps = {info.date_time[:3] for info in archive.infolist()}
            assert stamps == {tuple(int(x) for x in row["path"].split("/")[1].split("-"))}
        if row["date_style"] == "excel":
            sheet = openpyxl.load_workbook(demo.landing / row["path"], read_only=True).worksheets[0]
            dated += sum(
                cell.is_date for line in sheet.iter_rows(min_row=2) for cell in line if cell.value is not None
            )
    assert dated > 0


def test_hostile_names_load_verbatim_from_csv(demo: Demo) -> None:
    names = set(
        demo.read("records").filter(pl.col("source") == "registration")["name_in_record"].drop_nulls()
    )
    assert {"'); DROP TABLE golden_entity;--", '=HYPERLINK("http://x","y")', "@SUM(1,2)"} <= names


def test_no_delivered_table_is_empty_or_a_copy_by_accident(demo: Demo) -> None:
    files = demo.read("files").filter(pl.col("quarantine_reason").is_null())
    assert files.filter(pl.col("good_rows") == 0).height == 0
    contents: dict[bytes, str] = {}
    for row in files.iter_rows(named=True):
        data = (demo.landing / row["path"]).read_bytes()
        if data in contents:
            assert row["is_identical_redelivery_of"] == contents[data], row["path"]
        contents.setdefault(data, row["path"])

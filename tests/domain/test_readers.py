"""The file readers: every encoding, format and header synonym loads; every bad file or row says why."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.domain.contract import SPECS, header_index, normalise_header
from pipelines.domain.readers import UnreadableFile, read_file
from pipelines.domain.row_rules import split_rows

REG_HEADER = ["主体身份代码", "名称", "成立日期", "登记状态", "住所"]
REG_ROWS = [
    ["K1", "宁波市鄞州区甬兴餐饮管理有限公司", "2020-01-02", "存续", "宁波市鄞州区钟公庙街道天童南路1号"],
    ["K2", "'); DROP TABLE golden_entity;--", "2020/1/3", "吊销，未注销", "x"],
    ["K3", '=HYPERLINK("http://x","y")', "2020年1月4日", "注销", "y, with comma"],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    import csv

    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    for r, values in enumerate([header, *rows], start=1):
        for c, value in enumerate(values, start=1):
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # literal text, even when it starts with "="
    book.save(path)
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings_load_the_same_text(tmp_path: Path, encoding: str) -> None:
    read = read_file(write_csv(tmp_path / "r.csv", REG_HEADER, REG_ROWS, encoding), SPECS["registration"])
    assert read.encoding == encoding
    assert read.rows["name"].to_list() == [r[1] for r in REG_ROWS]
    assert read.rows["source_row"].to_list() == [2, 3, 4]
    assert read.bad_rows.is_empty()


def test_xlsx_reads_cell_values_and_literal_formula_text(tmp_path: Path) -> None:
    import datetime as dt

    rows = [[*REG_ROWS[0][:2], dt.date(2020, 1, 2), *REG_ROWS[0][3:]], REG_ROWS[2]]
    read = read_file(write_xlsx(tmp_path / "r.xlsx", REG_HEADER, rows), SPECS["registration"])
    assert read.rows["name"].to_list() == [REG_ROWS[0][1], REG_ROWS[2][1]]
    assert read.rows["established_on"].to_list() == ["2020-01-02 00:00:00", "2020年1月4日"]
    assert read.rows["source_row"].to_list() == [2, 3]


@pytest.mark.parametrize("source", sorted(SPECS))
def test_every_header_synonym_maps_to_its_column(tmp_path: Path, source: str) -> None:
    spec = SPECS[source]
    for canonical, synonyms in spec.headers.items():
        for synonym in synonyms:
            header = [spec.headers[c][0] for c in spec.required_headers if c != canonical] + [synonym]
            read = read_file(write_csv(tmp_path / "s.csv", header, [["v"] * len(header)]), spec)
            assert read.headers[synonym] == canonical


def test_full_width_and_spaced_headers_match() -> None:
    index = header_index(SPECS["registration"])
    assert index[normalise_header("注册资本（万元）")] == "registered_capital_wan"
    assert index[normalise_header(" 登记 状态 ")] == "status"


def test_bad_rows_are_set_aside_with_reasons_and_row_numbers(tmp_path: Path) -> None:
    body = (
        "\r\n".join(
            [
                ",".join(REG_HEADER),
                'K1,"multi\r\nline name",2020-01-02,存续,a',
                "K2,short",
                ",no key,2020-01-02,存续,b",
                "K4,bad date,2020-13-45,存续,c",
                "K5,bad status,2020-01-02,营业中,d",
                "",
                "K6,too,many,values,here,and,more",
                "K7,fine,2020-01-02,在业,e",
            ]
        )
        + "\r\n"
    )
    (tmp_path / "r.csv").write_text(body, encoding="utf-8")
    read = read_file(tmp_path / "r.csv", SPECS["registration"])
    assert read.bad_rows["source_row"].to_list() == [3, 8]
    assert read.bad_rows["raw_text"].to_list() == ["K2,short", "K6,too,many,values,here,and,more"]
    good, bad = split_rows(read.rows, SPECS["registration"])
    assert good["record_key"].to_list() == ["K1", "K7"]
    assert good["source_row"].to_list() == [2, 9]
    reasons = dict(zip(bad["source_row"].to_list(), bad["reason"].to_list(), strict=True))
    assert reasons[4].startswith("missing record_key")
    assert reasons[5].startswith("unparseable required date established_on: 2020-13-45")
    assert reasons[6] == "status outside the vocabulary: 营业中"


def test_row_numbers_stay_exact_across_read_blocks(tmp_path: Path) -> None:
    rows = [
        [f"K{i}", f"名称{i}" + ("\n续" if i % 97 == 0 else ""), "2020-01-02", "存续", "x" * 200]
        for i in range(60_000)
    ]
    rows[41_234] = ["BAD", "short"]
    read = read_file(write_csv(tmp_path / "big.csv", REG_HEADER, rows), SPECS["registration"])
    assert read.bad_rows["source_row"].to_list() == [41_236]
    numbers = dict(zip(read.rows["record_key"].to_list(), read.rows["source_row"].to_list(), strict=True))
    assert numbers["K0"] == 2 and numbers["K41233"] == 41_235 and numbers["K41235"] == 41_237
    assert numbers["K59999"] == 60_001


@pytest.mark.parametrize("ending", ["", "\n", "\r\n\r\n"])
def test_a_header_without_records_is_an_empty_delivery(tmp_path: Path, ending: str) -> None:
    (tmp_path / "h.csv").write_text(",".join(REG_HEADER) + ending, encoding="utf-8")
    read = read_file(tmp_path / "h.csv", SPECS["registration"])
    assert read.rows.height == 0 and read.bad_rows.height == 0
    assert "record_key" in read.rows.columns


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.csv", b"", "empty file"),
        ("u16.csv", "主体身份代码,名称\n".encode("utf-16"), "UTF-16"),
        ("bin.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary content"),
        (
            "bad.csv",
            "主体身份代码,名称,成立日期,登记状态\n".encode() + b"\xff\xfe\xfa\x80\x81\n",
            "wrong encoding",
        ),
        (
            "trunc.csv",
            "主体身份代码,名称,成立日期,登记状态\nK1,甲,2020-01-01,存续\nK2,乙,20".encode(),
            "truncated",
        ),
        ("unknown.csv", "主体身份代码,名称,成立日期,登记状态,颜色\n".encode(), "unknown header"),
        ("missing.csv", "主体身份代码,名称,登记状态\n".encode(), "missing required header"),
        ("dup.csv", "主体身份代码,名称,企业名称,成立日期,登记状态\n".encode(), "both mean name"),
        ("notes.pdf", b"%PDF-1.4", "not a csv or xlsx"),
        ("cut.xlsx", b"PK\x03\x04" + b"\x00" * 40, "not a readable xlsx"),
    ],
)
def test_unreadable_files_say_why(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(UnreadableFile, match=reason):
        read_file(tmp_path / name, SPECS["registration"])


def test_truncated_xlsx_is_unreadable(tmp_path: Path) -> None:
    whole = write_xlsx(tmp_path / "r.xlsx", REG_HEADER, REG_ROWS).read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UnreadableFile, match="xlsx"):
        read_file(tmp_path / "cut.xlsx", SPECS["registration"])
    assert zipfile.is_zipfile(io.BytesIO(whole))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=2_000)
    | st.text(max_size=500).map(lambda t: ("主体身份代码,名称,成立日期,登记状态\n" + t).encode())
)
def test_arbitrary_bytes_never_crash_the_csv_reader(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    try:
        read = read_file(path, SPECS["registration"])
    except UnreadableFile as problem:
        assert str(problem)
        return
    assert isinstance(read.rows, pl.DataFrame)
    good, bad = split_rows(read.rows, SPECS["registration"])
    assert good.height + bad.height == read.rows.height

"""Bad input, a fixed small set per run (never proportional to N), on the first and on later deliveries.

Bad rows go into otherwise good files: a missing key, a wrong column count, an unparseable required date,
a value outside a closed vocabulary. Each is a copy of a real row under a fresh key, so a pipeline that
wrongly loads it shows up as an extra record. Bad files are quarantined whole: wrong encoding, truncated,
not a table, empty, missing a required header, carrying an unknown header, in an unknown source folder or
in a folder that is not a date.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from pipelines.demo import files, formats
from pipelines.demo.formats import FileStyle
from pipelines.demo.records import COLUMNS

FRESH_KEY_BASE = 900_000


@dataclass(frozen=True)
class BadRow:
    reason: str  # missing_key | column_count | bad_required_date | vocabulary
    column: str  # canonical column that is wrong ("" for column_count)
    value: str
    delta: int = 0  # column_count: +1 an extra field, -1 a field short


def rows_for(source: str, day: int, stub: str, days: int, xlsx_day: int | None = None) -> tuple[BadRow, ...]:
    """The bad rows planted in one file (most files get none)."""
    last = days - 1
    if source == "registration":
        if day == 0 and stub == "reg_enterprise":
            return (
                BadRow("missing_key", "record_key", ""),
                BadRow("bad_required_date", "established_on", "2019-02-30"),
                BadRow("vocabulary", "status", "在营（开业）企业"),
            )
        if day == last and day > 0:
            return (
                BadRow("column_count", "", "", +1),
                BadRow("vocabulary", "status", "正常"),
                BadRow("bad_required_date", "established_on", "不详"),
            )
    if source == "licensing":
        if day == 0 and stub == "lic_food_business":
            return (
                BadRow("missing_key", "record_key", ""),
                BadRow("vocabulary", "licence_type", "食品流通许可"),
                BadRow("bad_required_date", "issued_on", "2021-13-01"),
            )
        csv_last = last if last != xlsx_day else last - 1
        if day == csv_last and day > 0:
            return (
                BadRow("column_count", "", "", -1),
                BadRow("vocabulary", "licence_status", "过期"),
                BadRow("missing_key", "record_key", ""),
            )
    if source == "district":
        if day == 0 and stub == "330203":
            return (
                BadRow("column_count", "", "", +1),
                BadRow("bad_required_date", "inspected_on", "待定"),
                BadRow("vocabulary", "inspection_type", "飞行检查"),
            )
        if day == 0 and stub == "330212":
            return (
                BadRow("missing_key", "record_no", ""),
                BadRow("vocabulary", "result", "合格"),
                BadRow("bad_required_date", "inspected_on", "2025年13月1日"),
            )
        if day == last and day > 0 and stub == "330205":
            return (
                BadRow("vocabulary", "result", "通过"),
                BadRow("missing_key", "record_no", ""),
                BadRow("column_count", "", "", -1),
            )
    return ()


def fresh_key(source: str, template: dict[str, object], serial: int) -> str:
    """A key no good record uses (sequences of real keys stay far below FRESH_KEY_BASE)."""
    if source == "registration":
        return f"{str(template['record_key'])[:6]}{FRESH_KEY_BASE * 1000 + serial:010d}"
    if source == "licensing":
        return f"JY1330212{FRESH_KEY_BASE + serial:06d}0"
    return f"{FRESH_KEY_BASE + serial}"


def insert_rows(
    text: pl.DataFrame,
    source: str,
    bad: tuple[BadRow, ...],
    rng: np.random.Generator,
    next_serial: Callable[[], int],
    template: pl.DataFrame | None,
) -> tuple[pl.DataFrame, list[dict[str, object]]]:
    """Bad rows spread through `text` (rows of one file); returns the rows and where each bad one went.

    Row numbers count like a spreadsheet: header = 1, first data row = 2.
    """
    if not bad:
        return text, []
    pool = text if text.height else template
    assert pool is not None and pool.height, "no row to copy a bad row from"
    key = "record_no" if source == "district" else "record_key"
    positions = np.sort(rng.choice(text.height + len(bad), size=len(bad), replace=False)).tolist()
    frame, placed = text, []
    for row, position in zip(bad, positions, strict=True):
        picked = pool.row(int(rng.integers(pool.height)), named=True)
        copy = {c: picked.get(c) for c in frame.columns}
        copy[key] = fresh_key(source, copy, next_serial())
        if row.column:
            copy[row.column] = row.value
        copy["_bad"] = row.reason
        frame = pl.concat(
            [frame.slice(0, position), pl.DataFrame([copy], schema=frame.schema), frame.slice(position)]
        )
        placed.append(
            {
                "row": position + 2,
                "reason": row.reason,
                "column": row.column or None,
                "value": row.value if row.column else None,
                "delta": row.delta,
            }
        )
    return frame, placed


def break_column_counts(
    data: bytes, placed: list[dict[str, object]], encoding: str, terminator: str
) -> bytes:
    """Give the placed column_count rows one field too many or too few (CSV only)."""
    targets = [p for p in placed if p["reason"] == "column_count"]
    if not targets:
        return data
    newline = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    starts = np.concatenate([[0], newline + 1])
    extra = ",多余字段".encode(encoding)
    pieces, cursor = [], 0
    for target in sorted(targets, key=lambda p: int(p["row"])):  # type: ignore[arg-type]
        line = int(target["row"]) - 1  # type: ignore[arg-type]
        end = int(newline[line]) - (len(terminator) - 1)
        begin = int(starts[line])
        if int(target["delta"]) > 0:  # type: ignore[arg-type]
            pieces += [data[cursor:end], extra]
            cursor = end
        else:
            cut = data.rfind(b",", begin, end)
            pieces.append(data[cursor:cut])
            cursor = end
    pieces.append(data[cursor:])
    return b"".join(pieces)


# --- whole files -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadFile:
    source: str
    delivered: date | None  # None: the folder is not a delivery date
    folder: str
    name: str
    data: bytes
    reason: str
    encoding: str | None
    rows: pl.DataFrame | None

    @property
    def path(self) -> str:
        return f"{self.source}/{self.folder}/{self.name}"


def bad_files(samples: dict[str, pl.DataFrame], dates: tuple[date, ...]) -> list[BadFile]:
    """The quarantine cases: copied rows under fresh keys in unreadable files (or no table at all)."""
    day = lambda i: dates[min(i, len(dates) - 1)]  # noqa: E731
    registration, licensing, district = samples["registration"], samples["licensing"], samples["district"]
    reg_csv, lic_csv, dis_csv = (_table_csv(s, samples[s]) for s in ("registration", "licensing", "district"))
    folder = lambda d: d.isoformat()  # noqa: E731
    not_a_date = dates[min(1, len(dates) - 1)].strftime("%Y%m%d")
    return [
        BadFile(
            "registration",
            day(0),
            folder(day(0)),
            f"reg_legacy_export_{day(0):%Y%m%d}.csv",
            reg_csv.decode("utf-8").encode("utf-16"),
            "encoding",
            "utf-16",
            registration,
        ),
        BadFile(
            "licensing",
            day(0),
            folder(day(0)),
            f"licence_scan_{day(0):%Y%m%d}.pdf",
            _pdf(),
            "not_tabular",
            None,
            None,
        ),
        BadFile(
            "unknown_source",
            day(0),
            folder(day(0)),
            "x.csv",
            reg_csv,
            "unknown_source",
            "utf-8",
            registration,
        ),
        BadFile(
            "registration",
            None,
            not_a_date,
            "registration.csv",
            reg_csv,
            "bad_delivery_folder",
            "utf-8",
            registration,
        ),
        BadFile(
            "registration", day(1), folder(day(1)), f"reg_empty_{day(1):%Y%m%d}.csv", b"", "empty", None, None
        ),
        BadFile(
            "licensing",
            day(1),
            folder(day(1)),
            f"lic_resend_{day(1):%Y%m%d}.csv",
            _undecodable(lic_csv),
            "encoding",
            "invalid",
            licensing,
        ),
        BadFile(
            "district",
            day(2),
            folder(day(2)),
            "330205_jiangbei_supplement.csv",
            _truncated_csv(dis_csv),
            "truncated",
            "utf-8",
            district,
        ),
        BadFile(
            "district",
            day(2),
            folder(day(2)),
            "330212_yinzhou_supplement.xlsx",
            _truncated_xlsx(district, day(2)),
            "truncated",
            None,
            district,
        ),
        BadFile(
            "district",
            day(3),
            folder(day(3)),
            "330226_ninghai_attachment.csv",
            gzip.compress(dis_csv, mtime=0),
            "not_tabular",
            "binary",
            None,
        ),
        BadFile(
            "licensing",
            day(3),
            folder(day(3)),
            f"lic_missing_header_{day(3):%Y%m%d}.csv",
            _table_csv("licensing", licensing.drop("issued_on")),
            "missing_required_header",
            "utf-8",
            licensing,
        ),
        BadFile(
            "district",
            day(4),
            folder(day(4)),
            "330281_yuyao_extra.csv",
            _table_csv("district", district, unknown="检查人员"),
            "unknown_header",
            "utf-8",
            district,
        ),
        BadFile(
            "licensing",
            day(4),
            folder(day(4)),
            f"lic_archive_{day(4):%Y%m%d}.zip",
            _zip(lic_csv, day(4)),
            "not_tabular",
            None,
            None,
        ),
    ]


def _table_csv(source: str, rows: pl.DataFrame, unknown: str | None = None) -> bytes:
    """A plain UTF-8 CSV of the rows (plus one column the contract does not know, if asked)."""
    style = FileStyle("csv", "utf-8", "iso", 0)
    columns = [c for c in formats.column_order(COLUMNS[source], style) if c in rows.columns]
    table = rows.select(columns)
    table.columns = formats.headers(source, columns, style)
    if unknown:
        table = table.with_columns(pl.lit("王伟").alias(unknown))
    return files.csv_bytes(table, "utf-8")


def _pdf() -> bytes:
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def _undecodable(data: bytes) -> bytes:
    """Bytes that are neither UTF-8 nor GB18030 (0xFF never starts a character in either)."""
    lines = data.split(b"\n")
    return b"\n".join(lines[:3] + [line.replace(b",", b",\xff\x80", 1) for line in lines[3:6]] + lines[6:])


def _truncated_csv(data: bytes) -> bytes:
    """Cut in the middle of a row, before a comma: no final newline, and a last row short of at least one
    field. (Cut after the comma, a row could end with every field present and only the last one blank,
    which no reader can tell from a whole file: seed 11 did that, and its truth then disagreed.)"""
    middle = len(data) * 2 // 3
    return data[: data.find(b",", middle)]


def _truncated_xlsx(rows: pl.DataFrame, stamp: date) -> bytes:
    style = formats.DISTRICT_STYLES["330212"].file
    columns = [c for c in formats.column_order(COLUMNS["district"], style) if c in rows.columns]
    table = rows.select(columns)
    table.columns = formats.headers("district", columns, style)
    data = files.xlsx_bytes(table, stamp, "检查记录")
    return data[: len(data) * 3 // 5]


def _zip(data: bytes, stamp: date) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("licences.csv", date_time=(stamp.year, stamp.month, stamp.day, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3
        archive.writestr(info, data)
    return buffer.getvalue()

"""Read one delivered file into text columns named per the contract, or say why it cannot be read.

Every value stays the delivered text (no type inference); rows that do not fit the header are set aside
with their raw text. `source_row` is the row as a spreadsheet shows it: header = 1, first record = 2
(a CSV record with an embedded line break is still one row, as Excel shows it).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from pipelines.domain.contract import SourceSpec, header_index, normalise_header

UTF8_BOM = b"\xef\xbb\xbf"
BAD_ROW_SCHEMA = {"source_row": pl.Int64, "reason": pl.String, "raw_text": pl.String}


class UnreadableFile(Exception):
    """The whole file is quarantined; the message is the reason a steward reads."""


@dataclass(frozen=True)
class FileRead:
    rows: pl.DataFrame  # canonical text columns + source_row
    bad_rows: pl.DataFrame  # source_row, reason, raw_text
    encoding: str
    file_format: str
    headers: dict[str, str]  # delivered header -> canonical column


def read_file(path: Path, spec: SourceSpec) -> FileRead:
    """Read a csv or xlsx delivery file. Raises UnreadableFile with a reason."""
    data = path.read_bytes()
    if not data:
        raise UnreadableFile("empty file (0 bytes)")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(data, spec)
    if suffix == ".xlsx":
        return _read_xlsx(data, spec)
    raise UnreadableFile(f"not a csv or xlsx file (extension {suffix or 'none'!r})")


def utf8(data: bytes) -> tuple[bytes, str]:
    """(the file as UTF-8 bytes without BOM, the encoding it was delivered in): UTF-8 with or without BOM,
    else GB18030 (a superset of GBK). UTF-8 input is validated, not copied."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFile("UTF-16 text: the contract allows UTF-8 or GB18030 only")
    if b"\x00" in data:
        raise UnreadableFile("binary content (NUL bytes): not a text csv")
    if data.startswith(UTF8_BOM):
        body = data[len(UTF8_BOM) :]
        _decode_or_reject(body, "utf-8")
        return body, "utf-8-sig"
    try:
        data.decode("utf-8")
        return data, "utf-8"
    except UnicodeDecodeError as error:
        if error.reason == "unexpected end of data":
            raise UnreadableFile("truncated file: ends inside a UTF-8 character") from None
    return _decode_or_reject(data, "gb18030").encode("utf-8"), "gb18030"


def _decode_or_reject(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise UnreadableFile(f"not valid {encoding} at byte {error.start}: wrong encoding") from None


def _read_csv(data: bytes, spec: SourceSpec) -> FileRead:
    content, encoding = utf8(data)
    header_line, _, body = content.partition(b"\n")
    try:
        delivered = next(csv.reader([header_line.decode("utf-8").rstrip("\r")]), [])
    except csv.Error as error:
        raise UnreadableFile(f"the header row is not valid csv: {error}") from None
    headers = map_headers(delivered, spec)
    names = [f"c{i}" for i in range(len(delivered))]
    if not body.strip():  # a header and no records: an empty delivery, not a bad file
        empty = pl.DataFrame(schema={h: pl.String for h in delivered})
        return _finish(empty, np.array([], dtype=np.int64), [], headers, encoding, "csv")
    # Fast path in parallel; the rows of a file with bad rows need the serial parse to be numbered.
    table, bad = _parse_csv(body, names, use_threads=True)
    if bad:
        table, bad = _parse_csv(body, names, use_threads=False)
    # pyarrow numbers rows from the first line it reads (the first record) as 1; the header is row 1 here.
    bad = [(number + 1, reason, raw) for number, reason, raw in bad]
    if bad and not content.endswith((b"\n", b"\r")) and bad[-1][0] == table.num_rows + len(bad) + 1:
        raise UnreadableFile("truncated file: the last record is incomplete and has no line end")
    rows = pl.from_arrow(table)
    assert isinstance(rows, pl.DataFrame)
    rows = rows.rename(dict(zip(names, delivered, strict=True)))
    return _finish(rows, _row_numbers(table.num_rows, [b[0] for b in bad]), bad, headers, encoding, "csv")


def _parse_csv(
    body: bytes, names: list[str], use_threads: bool
) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    bad: list[tuple[int, str, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        reason = f"wrong column count: {row.actual_columns} values, header has {row.expected_columns}"
        bad.append((row.number, reason, row.text))
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=use_threads, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as error:
        raise UnreadableFile(f"not parseable as csv: {error}") from None
    return table, bad


def _row_numbers(good_rows: int, bad_numbers: list[int]) -> np.ndarray:
    """Spreadsheet row numbers of the good records: every number from 2 on that is not a bad row."""
    every = np.arange(2, good_rows + len(bad_numbers) + 2, dtype=np.int64)
    return np.setdiff1d(every, np.asarray(bad_numbers, dtype=np.int64), assume_unique=True)


def _read_xlsx(data: bytes, spec: SourceSpec) -> FileRead:
    import fastexcel  # only needed for sheets

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise UnreadableFile("not a readable xlsx workbook (truncated or not a zip archive)")
    try:
        reader = fastexcel.read_excel(data)
        sheet = reader.load_sheet(0, header_row=None, dtypes="string")
        frame = pl.from_arrow(sheet.to_arrow())
    except Exception as error:  # fastexcel raises its own exception types per failure kind
        raise UnreadableFile(f"not a readable xlsx workbook: {type(error).__name__}: {error}") from None
    assert isinstance(frame, pl.DataFrame)
    if frame.height == 0:
        raise UnreadableFile("empty workbook: the first sheet has no header row")
    first = frame.row(0)
    width = max((i + 1 for i, v in enumerate(first) if v not in (None, "")), default=0)
    delivered = [v or "" for v in first[:width]]
    headers = map_headers(delivered, spec)
    body = frame.slice(1)
    extra = body.columns[width:]
    overflow = (
        pl.any_horizontal([pl.col(c).is_not_null() & (pl.col(c) != "") for c in extra])
        if extra
        else pl.lit(False)
    )
    numbered = body.with_columns(
        source_row=pl.int_range(2, body.height + 2, dtype=pl.Int64), _overflow=overflow
    )
    bad_frame = numbered.filter(pl.col("_overflow"))
    bad = [
        (row, f"wrong column count: values beyond the header's {width} columns", _raw_text(values))
        for row, *values in bad_frame.select("source_row", *body.columns).iter_rows()
    ]
    good = numbered.filter(~pl.col("_overflow"))
    rows = good.select(body.columns[:width]).rename(dict(zip(body.columns[:width], delivered, strict=True)))
    rows = rows.with_columns(pl.all().fill_null(""))
    return _finish(rows, good["source_row"].to_numpy(), bad, headers, "xlsx", "xlsx")


def _raw_text(values: list[str | None]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(["" if v is None else v for v in values])
    return out.getvalue().rstrip(",")


def map_headers(delivered: list[str], spec: SourceSpec) -> dict[str, str]:
    """Delivered header -> canonical column; unknown, duplicate or missing required headers are unreadable."""
    index = header_index(spec)
    mapping: dict[str, str] = {}
    unknown = [h for h in delivered if normalise_header(h) not in index]
    if unknown:
        raise UnreadableFile(f"unknown header(s) for {spec.name}: {', '.join(repr(h) for h in unknown)}")
    seen: dict[str, str] = {}
    for header in delivered:
        canonical = index[normalise_header(header)]
        if canonical in seen:
            raise UnreadableFile(f"headers {seen[canonical]!r} and {header!r} both mean {canonical}")
        seen[canonical] = header
        mapping[header] = canonical
    missing = [c for c in spec.required_headers if c not in seen]
    if missing:
        wanted = ", ".join(spec.headers[c][0] for c in missing)
        raise UnreadableFile(f"missing required header(s) for {spec.name}: {wanted}")
    return mapping


def _finish(
    rows: pl.DataFrame,
    row_numbers: np.ndarray,
    bad: list[tuple[int, str, str]],
    headers: dict[str, str],
    encoding: str,
    file_format: str,
) -> FileRead:
    canonical = rows.rename(headers).with_columns(source_row=pl.Series(row_numbers, dtype=pl.Int64))
    blank = pl.all_horizontal([pl.col(c).str.strip_chars() == "" for c in headers.values()])
    canonical = canonical.filter(~blank)  # an empty line or row is not a record
    bad_rows = pl.DataFrame(bad, schema=BAD_ROW_SCHEMA, orient="row")
    return FileRead(canonical, bad_rows, encoding, file_format, headers)

"""Bytes of delivered files: CSV in UTF-8 / UTF-8 with BOM / GB18030, and minimal XLSX.

The XLSX writer builds the sheet XML with polars expressions (fast at a million cells) and zips it with
fixed timestamps, so the same data gives the same bytes. Text is written as inline strings: a value such as
`=HYPERLINK(...)` is a string cell, never a formula. Dates become real date cells (serial + date format).
"""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import polars as pl

EXCEL_EPOCH_OFFSET = 25569  # Excel serial of 1970-01-01

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_CORE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<dc:creator>{creator}</dc:creator>"
    '<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}T00:00:00Z</dcterms:created>'
    '<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}T00:00:00Z</dcterms:modified>'
    "</cp:coreProperties>"
)


def csv_bytes(frame: pl.DataFrame, encoding: str, line_terminator: str = "\n") -> bytes:
    """RFC 4180 CSV (quotes only where needed) in the given encoding."""
    buffer = io.BytesIO()
    frame.write_csv(
        buffer, line_terminator=line_terminator, quote_style="necessary", include_bom=encoding == "utf-8-sig"
    )
    data = buffer.getvalue()
    if encoding in ("utf-8", "utf-8-sig"):
        return data
    return data.decode("utf-8").encode(encoding)


def write_csv(path: Path, frame: pl.DataFrame, encoding: str, line_terminator: str = "\n") -> None:
    """`csv_bytes` straight to disk (UTF-8 files are streamed by polars, never held as bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if encoding in ("utf-8", "utf-8-sig"):
        frame.write_csv(
            path,
            line_terminator=line_terminator,
            quote_style="necessary",
            include_bom=encoding == "utf-8-sig",
        )
    else:
        path.write_bytes(csv_bytes(frame, encoding, line_terminator))


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _escape(text: pl.Expr) -> pl.Expr:
    return (
        text.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
    )


def _cell(column: str, letter: str, row: pl.Expr, numeric: bool, is_date: bool) -> pl.Expr:
    """One cell's XML, null for an empty value (the cell is left out).

    Text is an inline string; `numeric` columns holding a number become number cells; `is_date` columns
    holding an ISO date become date cells (serial number, date format). Anything else stays text.
    """
    ref = pl.concat_str([pl.lit(f'<c r="{letter}'), row])
    text = pl.col(column).cast(pl.Utf8)
    cell = pl.concat_str(
        [ref, pl.lit('" t="inlineStr"><is><t xml:space="preserve">'), _escape(text), pl.lit("</t></is></c>")]
    )
    if numeric:
        number_cell = pl.concat_str([ref, pl.lit('"><v>'), text, pl.lit("</v></c>")])
        cell = pl.when(text.str.contains(r"^\d+(\.\d+)?$")).then(number_cell).otherwise(cell)
    if is_date:
        day = text.str.to_date("%Y-%m-%d", strict=False)
        serial = (day.cast(pl.Int32) + EXCEL_EPOCH_OFFSET).cast(pl.Utf8)
        date_cell = pl.concat_str([ref, pl.lit('" s="1"><v>'), serial, pl.lit("</v></c>")])
        cell = pl.when(day.is_not_null()).then(date_cell).otherwise(cell)
    return pl.when(text.is_null() | (text == "")).then(None).otherwise(cell)


def sheet_xml(
    frame: pl.DataFrame, numeric: frozenset[str] = frozenset(), dates: frozenset[str] = frozenset()
) -> bytes:
    """The worksheet part: a header row of strings, then one row per record."""
    letters = [_column_letter(i) for i in range(frame.width)]
    header = "".join(
        f'<c r="{letter}1" t="inlineStr"><is><t xml:space="preserve">{_escape_text(name)}</t></is></c>'
        for letter, name in zip(letters, frame.columns, strict=True)
    )
    row = (pl.int_range(pl.len()) + 2).cast(pl.Utf8)
    cells = [
        _cell(c, letter, row, c in numeric, c in dates)
        for c, letter in zip(frame.columns, letters, strict=True)
    ]
    rows = frame.select(
        pl.concat_str(
            [pl.lit('<row r="'), row, pl.lit('">'), *cells, pl.lit("</row>")], ignore_nulls=True
        ).alias("x")
    )
    body = rows["x"].str.join("").item() if frame.height else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        f'<row r="1">{header}</row>{body}</sheetData></worksheet>'
    ).encode()


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xlsx_bytes(
    frame: pl.DataFrame,
    stamp: date,
    sheet: str = "Sheet1",
    numeric: frozenset[str] = frozenset(),
    dates: frozenset[str] = frozenset(),
) -> bytes:
    """A one-sheet workbook; zip entries and document properties dated `stamp`, never the clock."""
    parts = (
        ("[Content_Types].xml", _CONTENT_TYPES.encode()),
        ("_rels/.rels", _ROOT_RELS.encode()),
        ("docProps/core.xml", _CORE.format(creator="市场监管数据导出", stamp=stamp.isoformat()).encode()),
        ("xl/workbook.xml", _WORKBOOK.format(sheet=_escape_text(sheet)).encode()),
        ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS.encode()),
        ("xl/styles.xml", _STYLES.encode()),
        ("xl/worksheets/sheet1.xml", sheet_xml(frame, numeric, dates)),
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=(stamp.year, stamp.month, stamp.day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=6)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)

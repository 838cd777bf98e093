"""Reading delivered files back the simple way (csv module, openpyxl), independent of the pipeline's readers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl

from pipelines.domain.contract import SPECS, header_index, normalise_header


def decode(data: bytes, encoding: str) -> str:
    if encoding == "utf-8-sig":
        assert data.startswith(b"\xef\xbb\xbf")
    elif encoding == "utf-8":
        assert not data.startswith(b"\xef\xbb\xbf")
    return data.decode(encoding)


def table(path: Path, encoding: str | None) -> list[list[str]]:
    """Rows of a delivered table as text, header first (xlsx: cell values, blanks as "")."""
    if path.suffix == ".xlsx":
        sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    assert encoding is not None
    return list(csv.reader(io.StringIO(decode(path.read_bytes(), encoding), newline="")))


def canonical_header(source: str, header: list[str]) -> list[str | None]:
    index = header_index(SPECS[source])
    return [index.get(normalise_header(h)) for h in header]


def key_column(source: str) -> str:
    return "record_no" if source == "district" else "record_key"

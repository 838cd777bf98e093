"""The landing zone as written: every file with its rows (hidden truth columns included) and its fate.

The ground truth is computed from exactly what landed, so every writer goes through `Landing`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.demo import bad_input, files, formats
from pipelines.demo.formats import FileStyle
from pipelines.demo.records import COLUMNS, DATE_COLUMNS, KEPT_COLUMNS


@dataclass
class WrittenFile:
    source: str
    delivery_date: date | None
    path: str  # relative to the landing directory
    fmt: str
    encoding: str | None
    date_style: str | None
    headers: list[str]
    rows: pl.DataFrame | None  # canonical columns + hidden ones + `_bad`; None when the file holds no table
    quarantine: str | None = None  # expected whole-file quarantine reason class
    identical_of: str | None = None
    is_late: bool = False
    bad_rows: list[dict[str, object]] = field(default_factory=list)
    header_variant: int | None = None  # formats.headers: which synonym of each column the file uses

    @property
    def rows_written(self) -> int:
        return 0 if self.rows is None else self.rows.height


@dataclass
class Landing:
    root: Path
    rng: np.random.Generator
    written: list[WrittenFile] = field(default_factory=list)
    serial: int = 0

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial

    def write(
        self,
        source: str,
        day: date,
        name: str,
        style: FileStyle,
        rows: pl.DataFrame,
        sheet: str = "Sheet1",
        bad: tuple[bad_input.BadRow, ...] = (),
    ) -> WrittenFile:
        """Lay out one delivered table (dates in the file's style, headers of its variant) and write it."""
        text = _as_text(rows.with_columns(_bad=pl.lit(None, dtype=pl.Utf8)), source, style)
        text, placed = bad_input.insert_rows(
            text, source, bad, self.rng, self.next_serial, self.template(source)
        )
        columns = formats.column_order(COLUMNS[source], style)
        header = formats.headers(source, columns, style)
        table = text.select(
            pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in columns
        )  # blank = empty field
        table.columns = header
        relative = f"{source}/{day.isoformat()}/{name}.{style.fmt}"
        path = self.root / relative
        if style.fmt == "xlsx":
            as_dates = (
                {c for c in columns if c in DATE_COLUMNS[source]} if style.date_style == "excel" else set()
            )
            data = files.xlsx_bytes(
                table,
                day,
                sheet,
                numeric=frozenset(h for h, c in zip(header, columns, strict=True) if c == "penalty_amount"),
                dates=frozenset(h for h, c in zip(header, columns, strict=True) if c in as_dates),
            )
            files.write(path, data)
        elif any(p["reason"] == "column_count" for p in placed):
            assert style.encoding is not None
            data = files.csv_bytes(table, style.encoding, style.line_terminator)
            files.write(
                path, bad_input.break_column_counts(data, placed, style.encoding, style.line_terminator)
            )
        else:
            assert style.encoding is not None
            files.write_csv(path, table, style.encoding, style.line_terminator)
        kept = [c for c in text.columns if c.startswith("_") or c in KEPT_COLUMNS[source]]
        record = WrittenFile(
            source,
            day,
            relative,
            style.fmt,
            style.encoding,
            style.date_style,
            header,
            text.select(kept),
            bad_rows=[{**p, "path": relative, "source": source} for p in placed],
            header_variant=style.variant,
        )
        self.written.append(record)
        return record

    def write_raw(self, record: WrittenFile, data: bytes) -> None:
        """A file written as given bytes (copies and quarantine cases)."""
        files.write(self.root / record.path, data)
        self.written.append(record)

    def template(self, source: str) -> pl.DataFrame | None:
        """Good rows already written for a source (bad rows of an empty file are copied from these)."""
        return next(
            (
                w.rows
                for w in self.written
                if w.source == source and w.rows is not None and w.rows.height and w.quarantine is None
            ),
            None,
        )

    def sample(self, source: str, count: int) -> pl.DataFrame:
        """Copies of a few good rows of a source under fresh keys."""
        good = next(
            w.rows
            for w in self.written
            if w.source == source and w.rows is not None and w.rows.height >= count
        )
        rows = good.filter(pl.col("_bad").is_null()).head(count)
        key = "record_no" if source == "district" else "record_key"
        keys = [bad_input.fresh_key(source, r, self.next_serial()) for r in rows.iter_rows(named=True)]
        return rows.with_columns(pl.Series(key, keys))


def _as_text(rows: pl.DataFrame, source: str, style: FileStyle) -> pl.DataFrame:
    """Dates written in the file's style (ISO when they become spreadsheet date cells); the true dates
    are kept as hidden `_date_<column>` for the ground truth."""
    date_style = "iso" if style.date_style == "excel" else style.date_style
    kept = rows.with_columns(pl.col(c).alias(f"_date_{c}") for c in DATE_COLUMNS[source])
    return kept.with_columns(formats.date_text(pl.col(c), date_style) for c in DATE_COLUMNS[source])

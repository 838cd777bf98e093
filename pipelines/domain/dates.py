"""Dates as the sources write them, parsed to `pl.Date`.

Accepted forms (the extract contract says "mixed formats"; these are the ones the sources use):
2020-01-02, 2020-1-2, 2020/01/02, 2020.01.02, 20200102, 2020年1月2日 (or 号), any of them followed by a
time ("2020-01-02 00:00:00", "2020-01-02T08:30"), and Excel serial day numbers ("43832") from sheets
whose date cells were stored as numbers. Anything else, or an impossible day (2020-02-30), is null.
"""

from __future__ import annotations

import polars as pl

EXCEL_EPOCH_OFFSET = 25569  # Excel serial of 1970-01-01 (the 1900 date system, leap-year bug included)
EXCEL_SERIAL_RANGE = (18_172, 73_050)  # 1949-10-01 .. 2099-12-31: a plausible founding or licence date


def parse_date_expr(raw: pl.Expr) -> pl.Expr:
    """Delivered date text -> Date (null when blank or not a date)."""
    stripped = (
        raw.str.normalize("NFKC")
        .str.strip_chars()
        .str.replace(r"[T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$", "")
    )
    text = stripped.str.replace_all(r"[年月./]", "-").str.replace(r"[日号]$", "")
    ymd = text.str.extract_groups(r"^(?<y>[0-9]{4})-(?<m>[0-9]{1,2})-(?<d>[0-9]{1,2})$")
    compact = text.str.extract_groups(r"^(?<y>[0-9]{4})(?<m>[0-9]{2})(?<d>[0-9]{2})$")
    year = pl.coalesce(ymd.struct.field("y"), compact.struct.field("y"))
    month = pl.coalesce(ymd.struct.field("m"), compact.struct.field("m")).str.zfill(2)
    day = pl.coalesce(ymd.struct.field("d"), compact.struct.field("d")).str.zfill(2)
    iso = pl.concat_str([year, month, day], separator="-")
    from_text = iso.str.to_date("%Y-%m-%d", strict=False)
    return pl.coalesce(from_text, _excel_serial(stripped))


def _excel_serial(text: pl.Expr) -> pl.Expr:
    serial = pl.when(text.str.contains(r"^[0-9]{1,7}(\.0+)?$")).then(
        text.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False)
    )
    in_range = serial.is_between(*EXCEL_SERIAL_RANGE) & ~text.str.contains(r"^[0-9]{8}$")
    return pl.when(in_range).then((serial - EXCEL_EPOCH_OFFSET).cast(pl.Int32).cast(pl.Date)).otherwise(None)

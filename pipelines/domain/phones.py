"""Phone numbers to one form: mobile `13812345678`, landline `0574-87654321` (Ningbo's area code assumed
when a local 7- or 8-digit number is written without one). Anything else is null, and flagged invalid."""

from __future__ import annotations

import polars as pl

NINGBO_AREA_CODE = "0574"


def normalise_expr(raw: pl.Expr) -> pl.Expr:
    digits = (
        raw.fill_null("")
        .str.normalize("NFKC")
        .str.replace(r"^\s*(\+|00)86", "")
        .str.replace_all(r"[\s\-()（）.]", "")
    )
    mobile = digits.str.extract(r"^(1[3-9][0-9]{9})$", 1)
    with_area = digits.str.extract_groups(r"^(?<area>0[0-9]{2,3})(?<local>[2-9][0-9]{6,7})$")
    local = digits.str.extract(r"^([2-9][0-9]{6,7})$", 1)
    landline = pl.coalesce(
        with_area.struct.field("area") + pl.lit("-") + with_area.struct.field("local"),
        pl.lit(f"{NINGBO_AREA_CODE}-") + local,
    )
    return pl.coalesce(mobile, landline)

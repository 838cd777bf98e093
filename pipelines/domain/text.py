"""Text folding shared by names and addresses: width, traditional characters, brackets, whitespace."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

import polars as pl

CJK_RANGE = (0x3400, 0x9FFF)


@cache
def _converter():  # noqa: ANN202 - opencc has no type stubs
    import opencc  # the maintained OpenCC conversion tables, not a hand-made list

    return opencc.OpenCC("t2s")


@cache
def traditional_pattern() -> str:
    """A regex class of every CJK character that OpenCC converts to a different simplified form."""
    converter = _converter()
    chars = [chr(c) for c in range(*CJK_RANGE) if converter.convert(chr(c)) != chr(c)]
    return "[" + "".join(chars) + "]"


def to_simplified(values: pl.Series) -> pl.Series:
    """Traditional -> simplified Chinese for the rows that contain a traditional character."""
    has_traditional = values.str.contains(traditional_pattern()).fill_null(False)
    if not has_traditional.any():
        return values
    # One OpenCC call over the affected rows joined by newlines (no phrase spans a newline).
    converted = _converter().convert("\n".join(values.filter(has_traditional).to_list())).split("\n")
    replacement = pl.Series(values.name, converted, dtype=pl.String)
    return values.scatter(has_traditional.arg_true(), replacement)


def fold(raw: pl.Expr) -> pl.Expr:
    """NFKC (full-width -> half-width), simplified characters, one kind of bracket, no whitespace."""
    return (
        raw.fill_null("")
        .str.normalize("NFKC")
        .map_batches(to_simplified, return_dtype=pl.String)
        .str.replace_all(r"[【〔［\[｛{]", "(")
        .str.replace_all(r"[】〕］\]｝}]", ")")
        .str.replace_all(r"\s+", "")
        .str.normalize(
            "NFKC"
        )  # again: NFKC can turn a lone mark into space + mark, and the space is gone now
    )


def alternation(words: list[str]) -> str:
    """A regex group matching any of `words`, longest first (so 江东区 wins over 江东)."""
    escaped = sorted({re.escape(w) for w in words}, key=len, reverse=True)
    return "(?:" + "|".join(escaped) + ")"


def template(text: str, *values: str | pl.Expr) -> pl.Expr:
    """`text` with each `{}` replaced by the next value (a column name or an expression); a null value
    reads as empty. (Not pl.format: polars 2.1 panics on multi-chunk string columns there.)"""
    pieces = text.split("{}")
    if len(pieces) != len(values) + 1:
        raise ValueError(f"{text!r} has {len(pieces) - 1} placeholders for {len(values)} values")
    parts: list[pl.Expr] = []
    for piece, value in zip(pieces, [*values, None], strict=True):
        if piece:
            parts.append(pl.lit(piece))
        if value is not None:
            parts.append((pl.col(value) if isinstance(value, str) else value).cast(pl.String))
    return pl.concat_str(parts, ignore_nulls=True)


def on_distinct(derive: Callable[[pl.Expr], pl.Expr], column: pl.Expr, return_dtype: pl.DataType) -> pl.Expr:
    """`derive(column)` computed once per distinct value and mapped back: for columns with few distinct
    values among many rows (dates, entity types, registration authorities), where it saves most of the work."""

    def apply(values: pl.Series) -> pl.Series:
        distinct = values.unique().to_frame("value")
        mapping = distinct.with_columns(derived=derive(pl.col("value")).cast(return_dtype))
        joined = values.to_frame("value").join(
            mapping, on="value", how="left", nulls_equal=True, maintain_order="left"
        )
        return joined["derived"].alias(values.name)

    return column.map_batches(apply, return_dtype=return_dtype)

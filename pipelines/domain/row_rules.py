"""The extract contract's row rules: which delivered rows load and which are quarantined, and why."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.domain.contract import SourceSpec, normalise_vocabulary_value
from pipelines.domain.dates import parse_date_expr
from pipelines.domain.text import on_distinct


@dataclass(frozen=True)
class RowRule:
    column: str
    reason: str
    broken: pl.Expr  # true when a row breaks the rule


def rules(spec: SourceSpec) -> list[RowRule]:
    """The rules of a source, in the order their reasons are reported."""
    found = [RowRule(c, f"missing {c}", pl.col(c).str.strip_chars() == "") for c in spec.required_values]
    found += [
        RowRule(
            c, f"unparseable required date {c}", on_distinct(parse_date_expr, pl.col(c), pl.Date()).is_null()
        )
        for c in spec.required_dates
    ]
    for column, vocabulary in spec.vocabularies.items():
        value = pl.col(column).map_batches(_vocabulary_form, return_dtype=pl.String)
        outside = (value != "") & ~value.is_in(sorted(vocabulary))
        found.append(RowRule(column, f"{column} outside the vocabulary", outside))
    return found


def _vocabulary_form(values: pl.Series) -> pl.Series:
    # Only distinct values go through Python: a vocabulary column has a handful of them.
    mapping = {v: normalise_vocabulary_value(v) for v in values.unique().to_list() if v is not None}
    return values.replace_strict(mapping, default="", return_dtype=pl.String)


def split_rows(rows: pl.DataFrame, spec: SourceSpec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows that load, rows that do not, with a `reason` naming every broken rule and its value)."""
    applicable = [r for r in rules(spec) if r.column in rows.columns]
    reasons = [
        pl.when(r.broken).then(pl.lit(f"{r.reason}: ") + pl.col(r.column).str.slice(0, 80))
        for r in applicable
    ]
    reason = pl.concat_str(reasons, separator="; ", ignore_nulls=True) if reasons else pl.lit(None, pl.String)
    flagged = rows.with_columns(reason=reason.fill_null(""))
    is_bad = pl.col("reason") != ""
    return flagged.filter(~is_bad).drop("reason"), flagged.filter(is_bad)

"""An issue's life on tiny frames: ids, statuses and dates that move only when the issue does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from pipelines.domain import history, issue_lifecycle
from pipelines.storage.lake import Lake

D1, D2, D3, D4 = (dt.date(2026, 3, day) for day in (1, 2, 3, 4))
NO_DECISIONS = pl.DataFrame(
    schema={"issue_id": pl.String, "action": pl.String, "evidence_hash": pl.String, "decided_on": pl.Date,
            "delivery_date": pl.Date, "source_file": pl.String, "source_row": pl.Int64}
)  # fmt: skip


def detected(*keys: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"entity_id": [f"E{k}" for k in keys], "issue_type": "zombie.unreachable", "source": "district",
         "record_key": list(keys), "severity": "high", "detail": "查无下落", "evidence": "{}"},
        schema_overrides={"entity_id": pl.String, "record_key": pl.String},
    )  # fmt: skip


def nights(*detections: tuple[dt.date, pl.DataFrame]) -> list[pl.DataFrame]:
    tables, table = [], None
    for as_of, found in detections:
        table = issue_lifecycle.update(found, table, NO_DECISIONS, as_of)
        tables.append(table)
    return tables


def test_an_issue_still_detected_is_the_same_row_every_night() -> None:
    first, second, third = nights(
        (D1, detected("1", "2")), (D2, detected("1", "2")), (D3, detected("1", "2"))
    )
    assert first.equals(second) and second.equals(third)  # nothing moves with the as-of date alone
    assert first["resolved_on"].null_count() == 2 and set(first["first_detected_on"]) == {D1}


def test_resolved_on_is_the_first_night_that_no_longer_detects_it_and_a_reopened_issue_clears_it() -> None:
    *_, gone, still_gone, back = nights(
        (D1, detected("1", "2")), (D2, detected("1")), (D3, detected("1")), (D4, detected("1", "2"))
    )
    row = gone.filter(pl.col("record_key") == "2").row(0, named=True)
    assert (row["status"], row["resolved_on"]) == ("resolved", D2)
    assert still_gone.filter(pl.col("record_key") == "2")["resolved_on"].to_list() == [D2]
    reopened = back.filter(pl.col("record_key") == "2").row(0, named=True)
    assert (reopened["status"], reopened["resolved_on"], reopened["first_detected_on"]) == ("open", None, D1)


def test_a_table_written_with_last_detected_on_is_carried_into_resolved_on() -> None:
    (first,) = nights((D1, detected("1", "2")))
    old = first.drop("resolved_on").with_columns(
        last_detected_on=pl.lit(D2),
        status=pl.when(pl.col("record_key") == "2").then(pl.lit("resolved")).otherwise("status"),
    )  # an older version's table: issue 2 last detected on D2, gone since
    table = issue_lifecycle.update(detected("1"), old, NO_DECISIONS, D4)
    assert "last_detected_on" not in table.columns
    resolved = dict(table.select("record_key", "resolved_on").iter_rows())
    assert resolved == {"1": None, "2": D3}  # found gone at the earliest the day after its last detection


def test_a_synced_table_whose_columns_changed_is_rewritten_in_the_new_columns(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    (first,) = nights((D1, detected("1", "2")))
    lake.sync(
        "gold/entity_issue", first.drop("resolved_on").with_columns(last_detected_on=pl.lit(D1)), ["issue_id"]
    )
    assert lake.sync("gold/entity_issue", first, ["issue_id"]) == (2, 0)
    assert lake.read("gold/entity_issue").sort("issue_id").equals(first.sort("issue_id"))
    assert lake.sync("gold/entity_issue", first, ["issue_id"]) == (0, 0)


def test_history_takes_a_new_column_without_a_version_for_rows_it_leaves_equal() -> None:
    (first,) = nights((D1, detected("1")))
    old = history.advance(
        None, first.drop("resolved_on").with_columns(last_detected_on=pl.lit(D1)), D1, "issue_id"
    )
    updated = history.advance(old, first, D2, "issue_id")
    assert updated.height == 1 and "last_detected_on" not in updated.columns
    assert history.problems(updated, "issue_id") == []

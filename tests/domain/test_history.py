"""History versions and lifecycle events on tiny frames."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.domain import events, history

D1, D2, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)


def golden(rows: dict[str, str], run_id: str = "r") -> pl.DataFrame:
    return pl.DataFrame({"entity_id": list(rows), "name": list(rows.values()), "run_id": run_id})


def test_a_version_opens_only_when_a_published_value_changes() -> None:
    h = history.advance(None, golden({"E1": "甲", "E2": "乙"}), D1, "entity_id")
    h = history.advance(h, golden({"E1": "甲", "E2": "丙"}, run_id="r2"), D2, "entity_id")
    h = history.advance(h, golden({"E1": "甲", "E3": "丁"}, run_id="r3"), D3, "entity_id")
    assert h.filter(pl.col("entity_id") == "E1").height == 1  # a new run id alone is no new version
    assert history.as_of(h, D1).sort("entity_id")["name"].to_list() == ["甲", "乙"]
    assert history.as_of(h, D2).sort("entity_id")["name"].to_list() == ["甲", "丙"]
    assert history.as_of(h, D3).sort("entity_id")["name"].to_list() == ["甲", "丁"]
    assert history.problems(h, "entity_id") == []


def test_a_second_publication_on_the_same_date_replaces_the_first() -> None:
    h = history.advance(None, golden({"E1": "甲"}), D1, "entity_id")
    h = history.advance(h, golden({"E1": "乙"}), D2, "entity_id")
    h = history.advance(h, golden({"E1": "甲"}), D2, "entity_id")  # the steward's fix undone the same night
    assert h.select("name", "valid_from", "valid_to").rows() == [("甲", D1, None)]


def test_problems_finds_overlaps_and_repeated_versions() -> None:
    bad = pl.DataFrame({
        "entity_id": ["E1", "E1"], "name": ["甲", "甲"], "run_id": "r",
        "valid_from": [D1, D2], "valid_to": [D2, None],
    })  # fmt: skip
    assert history.problems(bad, "entity_id") == ["two adjacent versions have the same values"]
    overlap = bad.with_columns(name=pl.Series(["甲", "乙"]), valid_to=pl.Series([D3, None]))
    assert "two versions overlap" in history.problems(overlap, "entity_id")


def xref(pairs: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame({
        "source": "registration", "record_key": list(pairs), "entity_id": list(pairs.values()),
        "match_method": "fuzzy", "match_score": 0.97,
    })  # fmt: skip


RECORDS = pl.DataFrame(
    {
        "source": "registration",
        "record_key": ["R1", "R2", "R3"],
        "source_file": "registration/2026-03-01/a.csv",
        "source_row": [1, 2, 3],
    },
    schema=events.RECORD_SCHEMA,
)
NO_LOG = pl.DataFrame(schema={
    "correction_id": pl.String, "action": pl.String, "applied_on": pl.Date,
    "left_source": pl.String, "left_key": pl.String, "right_source": pl.String, "right_key": pl.String,
})  # fmt: skip


def test_created_merged_and_split_with_their_causes() -> None:
    first = events.stamp(
        events.membership(
            events.living(None), None, xref({"R1": "E1", "R2": "E2", "R3": "E2"}), RECORDS, NO_LOG
        ),
        D1,
        "r1",
    )
    assert first["event_type"].to_list() == ["created", "created"]
    assert (
        first.filter(pl.col("entity_id") == "E1")["cause"].item()
        == "registration:R1 (registration/2026-03-01/a.csv row 1)"
    )
    merged = events.membership(
        events.living(first),
        xref({"R1": "E1", "R2": "E2", "R3": "E2"}),
        xref({"R1": "E1", "R2": "E1", "R3": "E3"}),
        RECORDS,
        NO_LOG,
    )
    got = events.stamp(merged, D2, "r2").select("event_type", "entity_id", "related_entity_id").rows()
    # R3 left E2, but E2 merged away: E3 split from nothing that lives on, so it is created
    assert sorted(got, key=str) == [("created", "E3", None), ("merged_into", "E2", "E1")]
    assert (
        events.stamp(merged, D2, "r2")["event_id"].to_list()
        == events.stamp(merged, D2, "r3")["event_id"].to_list()
    )


def test_a_split_needs_the_old_entity_to_live_on() -> None:
    first = events.stamp(
        events.membership(events.living(None), None, xref({"R1": "E1", "R2": "E1"}), RECORDS, NO_LOG),
        D1,
        "r1",
    )
    split = events.stamp(
        events.membership(
            events.living(first),
            xref({"R1": "E1", "R2": "E1"}),
            xref({"R1": "E1", "R2": "E2"}),
            RECORDS,
            NO_LOG,
        ),
        D2,
        "r2",
    )
    assert split.select("event_type", "entity_id", "related_entity_id").rows() == [("split_from", "E2", "E1")]
    assert events.living(pl.concat([first, split])).to_list() == ["E1", "E2"]

"""Recompute-only-what-changed helpers on small frames."""

import datetime as dt

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from pipelines.domain import incremental
from pipelines.quality.gx_runner import referenced_columns


@given(
    st.lists(
        st.tuples(st.dates(dt.date(2024, 1, 1), dt.date(2024, 1, 9)), st.integers(0, 10**6)), max_size=40
    )
)
def test_by_delivery_slices_every_row_once_under_its_own_date(rows: list[tuple[dt.date, int]]) -> None:
    frame = pl.DataFrame(rows, schema={"delivery_date": pl.Date, "x": pl.Int64}, orient="row")
    ordered, slices = incremental.by_delivery(frame)
    assert sorted(slices) == sorted({d for d, _ in rows})
    for day, part in slices.items():
        assert part["delivery_date"].unique().to_list() == [day]
        assert sorted(part["x"].to_list()) == sorted(x for d, x in rows if d == day)
    assert sum(p.height for p in slices.values()) == ordered.height == len(rows)


def test_upstream_versions_already_derived_are_not_recomputed() -> None:
    upstream = pl.LazyFrame({"record_key": ["a", "b", "c"], "v": [1, 1, 2]})
    derived = pl.DataFrame(
        {"record_key": ["a", "b", "gone"], "v": [1, 0, 1], incremental.VERSION_COLUMN: [3, 3, 3]}
    )
    upserts, deletes = incremental.changed(upstream, derived, ["record_key", "v"], lambda f: f, 3)
    assert sorted(upserts["record_key"]) == ["b", "c"]
    assert deletes["record_key"].to_list() == ["gone"]
    upserts, _ = incremental.changed(upstream, derived, ["record_key", "v"], lambda f: f, 4)
    assert sorted(upserts["record_key"]) == ["a", "b", "c"]  # a new normaliser version recomputes everything


def test_gx_gets_only_the_columns_its_suite_names() -> None:
    suite = {
        "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "uscc"}},
            {
                "type": "expect_compound_columns_to_be_unique",
                "kwargs": {"column_list": ["record_key", "delivery_date"]},
            },
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        ]
    }
    columns = ["name", "delivery_date", "uscc", "record_key", "address"]
    assert referenced_columns(suite, columns) == ["delivery_date", "uscc", "record_key"]
    shape = {
        "expectations": [
            *suite["expectations"],
            {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": []}},
        ]
    }
    assert referenced_columns(shape, columns) == columns
    assert referenced_columns({"expectations": suite["expectations"][2:]}, columns) == columns

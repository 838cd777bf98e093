"""Suites run on polars frames: clean data passes, each defect fails its own expectation, observed right."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from pipelines.quality import ExpectationOutcome, ValidationRun, load_suite, validate
from tests.quality.frames import INJECTED, ROWS, SUITE, clean_frame

pytestmark = pytest.mark.xdist_group("great_expectations")  # one worker pays the GX import

FAILING_IN_BROKEN = {
    "expect_column_values_to_not_be_null(record_key)",
    "expect_column_values_to_be_unique(record_key)",
    "expect_column_values_to_be_in_set(status)",
    "expect_column_values_to_match_regex(uscc)",
    "expect_column_values_to_be_between(established)",
    "expect_column_values_to_be_between(capital)",
    "expect_column_mean_to_be_between(uscc_valid)",
    "expect_compound_columns_to_be_unique(source,source_id)",
    "expect_column_proportion_of_unique_values_to_be_between(record_key)",
}


def by_label(run: ValidationRun) -> dict[str, ExpectationOutcome]:
    return {outcome.expectation: outcome for outcome in run.outcomes}


def test_clean_frame_passes_every_expectation(clean_run: ValidationRun) -> None:
    assert clean_run.success
    assert [o.expectation_type for o in clean_run.outcomes] == [
        e["type"] for e in load_suite(SUITE)["expectations"]
    ]
    assert all(o.success and o.suite == "test_registration" for o in clean_run.outcomes)
    outcomes = by_label(clean_run)
    assert outcomes["expect_column_values_to_be_unique(record_key)"].observed_value == "0 unexpected (0%)"
    assert outcomes["expect_column_mean_to_be_between(uscc_valid)"].observed_value == "1.0000"
    assert outcomes["expect_table_row_count_to_be_between"].observed_value == str(ROWS)


def test_broken_frame_fails_exactly_the_broken_expectations(broken_run: ValidationRun) -> None:
    assert not broken_run.success
    assert {o.expectation for o in broken_run.outcomes if not o.success} == FAILING_IN_BROKEN


def test_unique_check_reports_the_duplicated_key(broken_run: ValidationRun) -> None:
    unique = by_label(broken_run)["expect_column_values_to_be_unique(record_key)"]
    assert unique.partial_unexpected == ["K0001"]
    assert unique.unexpected_count == 2
    assert unique.observed_value == "2 unexpected (5.128%)"  # GX counts percent over non-null rows


def test_in_set_and_regex_checks_list_the_offending_values(broken_run: ValidationRun) -> None:
    outcomes = by_label(broken_run)
    assert outcomes["expect_column_values_to_be_in_set(status)"].partial_unexpected == ["歇业"]
    assert outcomes["expect_column_values_to_match_regex(uscc)"].partial_unexpected == ["BAD-USCC", INJECTED]


def test_mean_check_reports_the_observed_share(broken_run: ValidationRun) -> None:
    mean = by_label(broken_run)["expect_column_mean_to_be_between(uscc_valid)"]
    assert (mean.observed_value, mean.unexpected_count, mean.partial_unexpected) == ("0.9000", None, [])


def test_date_bounds_given_as_iso_strings_work_on_date_columns(broken_run: ValidationRun) -> None:
    dates = by_label(broken_run)["expect_column_values_to_be_between(established)"]
    assert dates.partial_unexpected == ["1800-01-01", "9999-12-31"]  # the null is not counted
    assert dates.unexpected_count == 2


def test_not_null_honours_mostly(broken_run: ValidationRun) -> None:
    address = by_label(broken_run)["expect_column_values_to_not_be_null(address)"]
    assert address.success
    assert (address.unexpected_count, address.unexpected_percent) == (5, 12.5)
    assert by_label(broken_run)["expect_column_values_to_not_be_null(record_key)"].partial_unexpected == [
        "null"
    ]


def test_compound_and_proportion_checks(broken_run: ValidationRun) -> None:
    outcomes = by_label(broken_run)
    compound = outcomes["expect_compound_columns_to_be_unique(source,source_id)"]
    assert compound.column is None
    assert compound.partial_unexpected == ['{"source": "b", "source_id": 11}']
    assert (
        outcomes["expect_column_proportion_of_unique_values_to_be_between(record_key)"].observed_value
        == "0.9744"
    )


def test_severity_and_description_come_from_meta(broken_run: ValidationRun) -> None:
    outcomes = by_label(broken_run)
    assert outcomes["expect_column_values_to_be_in_set(status)"].severity == "warn"
    assert outcomes["expect_column_values_to_be_unique(record_key)"].severity == "error"  # the default
    not_null = outcomes["expect_column_values_to_not_be_null(record_key)"]
    assert (not_null.severity, not_null.description) == ("error", "every record has a key")
    assert outcomes["expect_column_values_to_be_unique(record_key)"].description == ""


def test_run_carries_plain_json_for_data_docs(broken_run: ValidationRun) -> None:
    json.dumps(broken_run.result_json)
    assert broken_run.suite_json == load_suite(SUITE)
    suite, run_name, run_time, batch = broken_run.result_key
    assert (suite, run_name, batch) == (
        "test_registration",
        "delivery-2026-11-02",
        "lakehouse-test_registration",
    )
    datetime.strptime(run_time, "%Y%m%dT%H%M%S.%fZ")


def suite_file(tmp_path: Path, *expectations: dict) -> Path:
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"name": "adhoc", "expectations": list(expectations)}), encoding="utf-8")
    return path


def test_unknown_severity_is_refused(tmp_path: Path) -> None:
    row_count = {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}
    path = suite_file(tmp_path, {**row_count, "meta": {"severity": "warning"}})
    with pytest.raises(ValueError, match="severity 'warning'"):
        load_suite(path)


def test_a_missing_column_fails_with_the_error_as_observed_value(tmp_path: Path) -> None:
    path = suite_file(tmp_path, {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "nope"}})
    (outcome,) = validate(clean_frame(), path, "b1").outcomes
    assert not outcome.success
    assert outcome.observed_value.startswith("error: ") and "nope" in outcome.observed_value


def test_repeated_expectations_get_distinct_labels(tmp_path: Path) -> None:
    row_count = {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}
    path = suite_file(tmp_path, row_count, {**row_count, "kwargs": {"max_value": 1}})
    labels = [o.expectation for o in validate(pl.DataFrame({"a": [1, 2]}), path, "b1").outcomes]
    assert labels == ["expect_table_row_count_to_be_between", "expect_table_row_count_to_be_between#2"]


def test_batch_name_must_not_be_a_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="path separators"):
        validate(clean_frame(), SUITE, "2026/11/02")

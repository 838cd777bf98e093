"""Entity resolution and flags on generated data, scored against the ground truth (floors well below the
benchmark targets, so that these catch regressions rather than noise)."""

from __future__ import annotations

import polars as pl

from pipelines.demo import evaluation
from tests.conftest import Run
from tests.e2e.test_contract import ISSUE_TYPES


def test_resolution_precision_recall_and_no_uscc_conflicts(pipeline: Run) -> None:
    truth = pipeline.demo.truth_table("records")
    xref = pipeline.delta("gold/entity_xref")
    table = {row["slice"]: row for row in evaluation.resolution_table(truth, xref).iter_rows(named=True)}
    assert table["all records"]["precision"] >= 0.99 and table["all records"]["recall"] >= 0.97
    assert table["records without a valid USCC"]["f1"] >= 0.95
    records = pl.concat(
        [
            pipeline.delta(f"silver/{s}")
            .select("record_key", "uscc", "uscc_is_valid", "name_key", "branch_marker")
            .with_columns(source=pl.lit(s))
            for s in ("registration", "licensing", "district")
        ]
    )
    assert evaluation.uscc_conflicts(xref, records) == 0
    assert xref.height == truth.height  # every accepted record resolved, once


def test_every_issue_type_is_found_with_floors_on_precision_and_recall(pipeline: Run) -> None:
    table = evaluation.flag_table(
        pipeline.demo.truth_table("issues"),
        pipeline.demo.truth_table("records"),
        pipeline.delta("gold/entity_issue"),
    )
    assert set(table["issue_type"]) == ISSUE_TYPES
    weak = table.filter((pl.col("precision") < 0.85) | (pl.col("recall") < 0.85))
    assert weak.is_empty(), weak.to_dicts()


def test_golden_record_survivorship_and_provenance(pipeline: Run) -> None:
    golden = pipeline.sql("select * from golden_entity")
    registered = golden.filter(pl.col("registration_record_key").is_not_null())
    assert registered["name_source"].str.starts_with("registration:").all()
    assert (registered["status_source"] == "registration:" + registered["registration_record_key"]).all()
    orphans = golden.filter(pl.col("registration_record_key").is_null())
    assert orphans.height > 0 and (orphans["status"] == "unknown").all()
    assert orphans["name_source"].drop_nulls().str.starts_with("licensing:").any()
    # the golden name is the registered name for registered entities
    reg = pipeline.delta("silver/registration").select("record_key", "name", "name_is_placeholder")
    joined = registered.join(reg, left_on="registration_record_key", right_on="record_key").filter(
        ~pl.col("name_is_placeholder")
    )
    assert (joined["name"] == joined["name_right"]).all()
    assert (golden["licence_count"] >= golden["active_licence_count"]).all()

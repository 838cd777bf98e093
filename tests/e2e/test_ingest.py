"""Ingest on generated data: every file and row is loaded or quarantined with the right reason; nothing lost."""

from __future__ import annotations

import polars as pl

from tests.conftest import Run

# The generator's reason classes -> words our reasons use.
FILE_REASONS = {
    "encoding": ("UTF-16", "wrong encoding", "binary"),
    "truncated": ("truncated",),
    "not_tabular": ("not a csv or xlsx", "binary content", "not a readable xlsx"),
    "empty": ("empty",),
    "missing_required_header": ("missing required header",),
    "unknown_header": ("unknown header",),
    "unknown_source": ("unknown source folder",),
    "bad_delivery_folder": ("not a YYYY-MM-DD date",),
}
ROW_REASONS = {
    "missing_key": ("missing record_key", "missing record_no", "missing action", "missing steward"),
    "column_count": ("wrong column count",),
    "bad_required_date": ("unparseable required date",),
    "vocabulary": ("outside the vocabulary",),
    "missing_required_value": ("missing",),
}


def test_every_bad_file_is_quarantined_whole_with_its_reason(pipeline: Run) -> None:
    expected = pipeline.demo.truth_table("files").filter(pl.col("quarantine_reason").is_not_null())
    whole = pipeline.delta("bronze/quarantine").filter(pl.col("row").is_null())
    joined = expected.join(whole.select(path="file", reason="reason"), on="path", how="left")
    assert joined["reason"].null_count() == 0, joined.filter(pl.col("reason").is_null())["path"].to_list()
    for kind, reason in joined.select("quarantine_reason", "reason").iter_rows():
        assert any(word in reason for word in FILE_REASONS[kind]), (kind, reason)
    assert whole.height == expected.height  # and no good file was quarantined


def test_every_bad_row_is_quarantined_with_its_row_and_reason(pipeline: Run) -> None:
    expected = pipeline.demo.truth_table("bad_rows")
    rows = pipeline.delta("bronze/quarantine").filter(pl.col("row").is_not_null())
    rows = pl.concat([rows.select("file", "row", "reason"), _rejected_corrections(pipeline)])
    joined = expected.join(rows, left_on=["path", "row"], right_on=["file", "row"], how="left")
    assert joined["reason_right"].null_count() == 0, joined.filter(
        pl.col("reason_right").is_null()
    ).to_dicts()
    for kind, reason in joined.select("reason", "reason_right").iter_rows():
        assert any(word in reason for word in ROW_REASONS[kind]), (kind, reason)
    assert rows.height == expected.height


def _rejected_corrections(run: Run) -> pl.DataFrame:
    rejected = run.delta("silver/corrections").filter(pl.col("reason").is_not_null())
    return rejected.select(file="source_file", row="source_row", reason="reason")


def test_no_good_row_is_lost(pipeline: Run) -> None:
    files = pipeline.demo.truth_table("files").filter(
        pl.col("quarantine_reason").is_null() & pl.col("is_identical_redelivery_of").is_null()
    )
    log = pipeline.delta("bronze/load_log").select(path="file", status="status", rows_loaded="rows_loaded")
    joined = files.join(log, on="path", how="left")
    assert (joined["status"] == "loaded").all()
    mismatched = joined.filter(pl.col("good_rows") != pl.col("rows_loaded"))
    assert mismatched.is_empty(), mismatched.select("path", "good_rows", "rows_loaded").to_dicts()


def test_the_identical_redelivery_loads_nothing(pipeline: Run) -> None:
    copies = pipeline.demo.truth_table("files").filter(pl.col("is_identical_redelivery_of").is_not_null())
    assert copies.height >= 1
    log = pipeline.delta("bronze/load_log").join(
        copies.select(file="path", original="is_identical_redelivery_of"), on="file"
    )
    assert (log["status"] == "duplicate").all() and (log["duplicate_of"] == log["original"]).all()
    raw = pipeline.delta("bronze/registration_deliveries")
    assert raw.filter(pl.col("source_file").is_in(copies["path"].implode())).is_empty()


def test_current_state_holds_the_final_version_of_every_record(pipeline: Run) -> None:
    truth = pipeline.demo.truth_table("records")
    for source, name_column in (("registration", "name"), ("licensing", "holder_name"), ("district", "name")):
        expected = truth.filter(pl.col("source") == source).select(
            "record_key", "delivery_date", "name_in_record"
        )
        current = pipeline.delta(f"bronze/{source}").select("record_key", "delivery_date", name=name_column)
        assert sorted(current["record_key"].to_list()) == sorted(expected["record_key"].to_list())
        joined = expected.join(current, on="record_key")
        assert (joined["delivery_date"] == joined["delivery_date_right"]).all(), source
        assert (joined["name_in_record"].fill_null("") == joined["name"].fill_null("")).all(), source


def test_hostile_text_is_stored_verbatim_as_data(pipeline: Run) -> None:
    hostile = pipeline.demo.truth_table("entities").filter("is_hostile_name")["name"].to_list()
    assert any("DROP TABLE" in h for h in hostile) and any(h.startswith("=") for h in hostile)
    stored = set(pipeline.delta("bronze/registration")["name"].to_list())
    assert set(hostile) <= stored
    published = pipeline.sql("select name from golden_entity where name = any(?)", [hostile])
    assert set(published["name"]) == set(hostile)
    assert pipeline.sql("select count(*) as n from golden_entity")["n"].item() > 1000  # nothing was dropped


def test_every_encoding_format_and_header_synonym_loaded(pipeline: Run) -> None:
    files = pipeline.demo.truth_table("files").filter(
        pl.col("quarantine_reason").is_null() & pl.col("is_identical_redelivery_of").is_null()
    )
    log = pipeline.delta("bronze/load_log").filter(pl.col("status") == "loaded")
    loaded = files.join(
        log.select(path="file", encoding_read="encoding", format_read="file_format"), on="path"
    )
    assert loaded.height == files.height
    assert {"utf-8", "utf-8-sig", "gb18030"} <= set(loaded["encoding_read"]) and "xlsx" in set(
        loaded["format_read"]
    )
    csv = loaded.filter(pl.col("format") == "csv")
    assert (csv["encoding"] == csv["encoding_read"]).all()


def test_quarantine_and_load_summary_are_published(pipeline: Run) -> None:
    quarantine = pipeline.sql("select * from quarantine")
    assert {"source", "file", "row", "reason"} <= set(quarantine.columns)
    assert (
        quarantine.height
        == pipeline.delta("bronze/quarantine").height + _rejected_corrections(pipeline).height
    )
    summary = pipeline.sql("select * from load_summary")
    loaded = pipeline.delta("bronze/load_log")
    assert summary["rows_loaded"].sum() == loaded["rows_loaded"].sum()

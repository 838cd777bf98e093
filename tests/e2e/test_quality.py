"""Quality on real runs: silver values, quality_result rows, and asset checks on clean and broken deliveries."""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.orchestration.runner import prepare_instance
from pipelines.quality.gx_runner import expectation_labels, load_suite
from pipelines.quality.suites import check_name, suite_path
from tests.conftest import Run, generate_demo, run_pipeline


def test_silver_maps_every_record_to_its_true_district(pipeline: Run) -> None:
    truth = (
        pipeline.demo.truth_table("records")
        .filter(pl.col("source") == "registration")
        .join(
            pipeline.demo.truth_table("entities").select("true_entity_id", true_district="district_code"),
            on="true_entity_id",
        )
    )
    silver = pipeline.delta("silver/registration").join(
        truth.select("record_key", "true_district"), on="record_key"
    )
    assert silver["district_code"].is_not_null().mean() >= 0.99
    assert (silver["district_code"] == silver["true_district"]).mean() >= 0.99
    for source in ("licensing", "district"):
        assert pipeline.delta(f"silver/{source}")["district_code"].is_not_null().mean() >= 0.99, source


def test_every_delivered_status_maps_to_a_normalised_one(pipeline: Run) -> None:
    statuses = pipeline.delta("silver/registration")
    assert statuses.filter(pl.col("status") == "unknown").is_empty()
    assert set(statuses["status"]) <= {"active", "revoked", "deregistered", "moved_out", "cancelled"}
    assert pipeline.delta("silver/licensing").filter(pl.col("licence_status") == "unknown").is_empty()


def test_quality_result_has_one_row_per_expectation_per_delivery_and_layer(pipeline: Run) -> None:
    results = pipeline.sql("select * from quality_result")
    groups = results.group_by("source", "layer", "delivery_date").agg(pl.col("expectation").sort())
    assert groups.height >= 9
    for source, layer, _, expectations in groups.iter_rows():
        assert expectations == sorted(expectation_labels(load_suite(suite_path(layer, source)))), (
            source,
            layer,
        )
    loaded = (
        pipeline.delta("bronze/load_log")
        .filter(pl.col("source") != "corrections")
        .select("source", "delivery_date")
        .unique()
    )
    bronze = groups.filter(pl.col("layer") == "bronze").select("source", "delivery_date")
    assert sorted(bronze.rows()) == sorted(loaded.rows())


def write_registration(path: Path, rows: list[list[str]]) -> None:
    header = [
        "主体身份代码",
        "统一社会信用代码",
        "名称",
        "市场主体类型",
        "法定代表人",
        "成立日期",
        "登记机关",
        "登记状态",
        "住所",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])


def test_asset_checks_pass_on_a_clean_delivery_and_fail_with_the_observed_value_on_a_broken_one(
    tmp_path: Path,
) -> None:
    demo = generate_demo(tmp_path / "demo", entities=600, days=1)
    broken = [
        [
            f"BAD{i:03d}",
            "",
            f"宁波坏数据{i}号贸易有限公司",
            "有限责任公司",
            "张三",
            "2031-01-01",
            "上海市市场监督管理局",
            "存续",
            "上海市徐汇区1号",
        ]
        for i in range(20)
    ]
    write_registration(demo.landing / "registration" / "2026-11-21" / "broken.csv", broken)
    run = run_pipeline(tmp_path / "run", demo)
    instance = prepare_instance(run.paths.dagster_home)
    asset = dg.AssetKey(["silver", "registration"])

    def latest(check: str) -> dg.AssetCheckEvaluation:
        record = instance.get_latest_asset_check_evaluation_record(dg.AssetCheckKey(asset, check))
        return record.event.dagster_event.asset_check_evaluation_data

    dates = latest(check_name("expect_column_values_to_be_between(established_on)"))
    assert not dates.passed and dates.severity == dg.AssetCheckSeverity.ERROR
    observed = dates.metadata["observed"].data
    assert observed["2026-11-21"] == "20 unexpected (100%)" and observed["2026-11-20"].startswith(
        "0 unexpected"
    )
    districts = latest(check_name("expect_column_values_to_not_be_null(district_code)"))
    assert not districts.passed and districts.metadata["observed"].data["2026-11-21"].startswith(
        "20 unexpected"
    )
    keys = latest(check_name("expect_column_values_to_be_unique(record_key)"))
    assert keys.passed
    stored = run.sql(
        "select delivery_date, success from quality_result where layer = 'silver' and source = 'registration' "
        "and expectation = 'expect_column_values_to_be_between(established_on)' order by delivery_date"
    )
    assert stored["success"].to_list() == [True, False]
    docs = run.paths.reports / "data_docs" / "index.html"
    assert docs.exists() and "silver_registration" in docs.read_text(encoding="utf-8")

"""The monthly analysis on a real run of the demo: its figures against independent queries, the planted
deregistration rise, and a rebuild of a past month that gives the same bytes."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zlib
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.demo import trends
from pipelines.demo.plan import Plan
from pipelines.publishing import analysis_figures, analysis_report, data_dictionary
from tests.conftest import DEMO_DAYS, DEMO_ENTITIES, Run

PLAN = Plan(entities=DEMO_ENTITIES, seed=7, days=DEMO_DAYS, start=dt.date(2026, 11, 20))
RISE_MONTH = trends.rise_month(PLAN)
NEW_MODELS = ["market_flow_monthly", "cohort_survival", "licence_monthly", "inspection_monthly"]


def _folder(run: Run, month: dt.date) -> Path:
    return run.paths.reports / "analysis" / month.strftime("%Y-%m")


def _entities(run: Run) -> pl.DataFrame:
    """Golden entities of the 10 districts with their exit month, computed here from silver, not the models."""
    registration = run.delta("silver/registration").select(
        "record_key", "deregistered_on", "revoked_on", "approved_on"
    )
    golden = run.sql(
        "select entity_id, district_code, status, established_on, registration_record_key from golden_entity"
    )
    exited = pl.min_horizontal("deregistered_on", "revoked_on").fill_null(pl.col("approved_on"))
    return (
        golden.join(registration, left_on="registration_record_key", right_on="record_key", how="left")
        .with_columns(
            exited_on=pl.when(
                pl.col("status").is_in(["deregistered", "revoked", "cancelled", "moved_out"])
            ).then(exited)
        )
        .filter(pl.col("established_on").is_not_null() & pl.col("district_code").is_in(_district_codes()))
    )


def _district_codes() -> list[str]:
    from pipelines.domain import divisions

    return [d.code for d in divisions.DIVISIONS]


def _pdf_objects(pdf: bytes) -> str:
    """The PDF's compressed streams inflated (font names live in object streams)."""
    inflated = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, flags=re.DOTALL):
        try:
            inflated.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            continue
    return "".join(inflated)


def _in_month(column: str, month: dt.date) -> pl.Expr:
    return (pl.col(column).dt.year() == month.year) & (pl.col(column).dt.month() == month.month)


def test_the_run_builds_html_pdf_and_charts_for_the_latest_months(pipeline: Run) -> None:
    for month in (RISE_MONTH, PLAN.as_of.replace(day=1)):
        folder = _folder(pipeline, month)
        page = (folder / "index.html").read_text(encoding="utf-8")
        assert "营商环境月度分析" in page and "新设登记" in page and '<code class="canonical">' in page
        pdf = (folder / "analysis.pdf").read_bytes()
        assert pdf.startswith(b"%PDF") and "Noto-Sans-CJK" in _pdf_objects(pdf)  # Chinese set in the CJK font
        charts = sorted(p.name for p in folder.glob("*.png"))
        assert len(charts) == 6 and all(f'src="{name}"' in page for name in charts)
        assert "/CreationDate" not in pdf.decode("latin-1")


def test_flows_match_independent_counts(pipeline: Run) -> None:
    entities = _entities(pipeline)
    expected_new = entities.filter(_in_month("established_on", RISE_MONTH)).group_by("district_code").len()
    exits = entities.filter(pl.col("exited_on").is_not_null()).with_columns(
        month=pl.max_horizontal("exited_on", "established_on").dt.truncate("1mo")
    )
    expected_dereg = (
        exits.filter((pl.col("month") == RISE_MONTH) & (pl.col("status") == "deregistered"))
        .group_by("district_code")
        .len()
    )
    flows = pipeline.sql(
        "select district_code, sum(new_registrations) as new, sum(deregistrations) as dereg, sum(exits) as exits "
        "from market_flow_monthly where month = ? group by 1",
        [RISE_MONTH],
    )
    got = dict(zip(flows["district_code"], flows["new"], strict=True))
    assert got == {k: v for k, v in zip(expected_new["district_code"], expected_new["len"], strict=True)} | {
        k: 0 for k in got if k not in set(expected_new["district_code"])
    }
    got_dereg = {k: v for k, v in zip(flows["district_code"], flows["dereg"], strict=True) if v}
    assert got_dereg == dict(zip(expected_dereg["district_code"], expected_dereg["len"], strict=True))
    index = pipeline.sql(
        "select sum(new_registrations) as new, sum(deregistrations) as exits from district_monthly_index where month = ?",
        [RISE_MONTH],
    )
    assert (index["new"][0], index["exits"][0]) == (flows["new"].sum(), flows["exits"].sum())


def test_the_report_prints_the_independent_city_figures(pipeline: Run) -> None:
    entities = _entities(pipeline)
    new = entities.filter(_in_month("established_on", RISE_MONTH)).height
    page = (_folder(pipeline, RISE_MONTH) / "index.html").read_text(encoding="utf-8")
    assert f"本月全市新设登记 {new:,} 户" in page
    stock = entities.filter(
        (pl.col("established_on") < analysis_figures.Period(RISE_MONTH).shift(1))
        & (
            pl.col("exited_on").is_null()
            | (pl.col("exited_on") >= analysis_figures.Period(RISE_MONTH).shift(1))
        )
    ).height
    assert f"月末存续市场主体 {stock:,} 户" in page


def test_the_planted_deregistration_rise_shows_in_its_district(pipeline: Run) -> None:
    district = trends.rise_district(PLAN)
    frames = analysis_figures.read(pipeline.paths.warehouse, analysis_figures.Period(RISE_MONTH))
    flows = frames["flows_by_district"].sort("deregistrations_change", descending=True)
    top = flows.row(0, named=True)
    assert top["district_code"] == district
    assert top["deregistrations"] >= trends.rise_count(PLAN)
    assert top["deregistrations"] > 3 * top["deregistrations_avg_12m"]
    page = (_folder(pipeline, RISE_MONTH) / "index.html").read_text(encoding="utf-8")
    assert f"注销增幅最大的是{top['district_name']}：本月注销 {top['deregistrations']:,} 户" in page


def test_cohort_survival_matches_an_independent_count(pipeline: Run) -> None:
    entities = _entities(pipeline).with_columns(
        established_month=pl.col("established_on").dt.year() * 12 + pl.col("established_on").dt.month() - 1,
        exited_month=pl.max_horizontal("exited_on", "established_on").dt.year() * 12
        + pl.max_horizontal("exited_on", "established_on").dt.month()
        - 1,
    )
    cohort = entities.filter(pl.col("established_on").dt.year() == 2018)
    survived = cohort.filter(
        pl.col("exited_on").is_null() | (pl.col("exited_month") >= pl.col("established_month") + 36)
    ).height
    model = pipeline.sql(
        "select sum(registered) as registered, sum(observed_3y) as observed, sum(survived_3y) as survived "
        "from cohort_survival where cohort_year = 2018"
    ).row(0, named=True)
    assert model == {"registered": cohort.height, "observed": cohort.height, "survived": survived}


def test_licences_and_inspections_match_independent_counts(pipeline: Run) -> None:
    month = RISE_MONTH.replace(month=RISE_MONTH.month - 1)
    food = ("food_production", "food_business", "prepackaged_food_filing")
    licences = pipeline.sql(
        "select count(*) as n from licence_fact where licence_type in ? and year(issued_on) = ? "
        "and month(issued_on) = ?",
        [list(food), month.year, month.month],
    )["n"][0]
    model = pipeline.sql(
        "select sum(issued) as n from licence_monthly where licence_category = 'food' and month = ?", [month]
    )["n"][0]
    assert model == licences
    inspections = pipeline.sql(
        "select supervising_district_code as district_code, count(*) as n from inspection_fact "
        "where year(inspected_on) = ? and month(inspected_on) = ? group by 1",
        [month.year, month.month],
    )
    model = pipeline.sql(
        "select district_code, inspections as n from inspection_monthly where month = ?", [month]
    )
    expected = dict(zip(inspections["district_code"], inspections["n"], strict=True))
    assert {k: v for k, v in zip(model["district_code"], model["n"], strict=True) if v} == {
        k: v for k, v in expected.items() if k in _district_codes()
    }


def test_zombie_share_of_the_as_of_month_matches_the_golden_records(pipeline: Run) -> None:
    zombies = pipeline.sql(
        "select district_code, count(*) as n from golden_entity where is_zombie group by 1"
    )
    model = pipeline.sql(
        "select district_code, zombie_entities as n from district_issue_monthly where is_partial_month"
    )
    got = {k: v for k, v in zip(model["district_code"], model["n"], strict=True) if v}
    expected = {
        k: v for k, v in zip(zombies["district_code"], zombies["n"], strict=True) if k in _district_codes()
    }
    assert got == expected and sum(got.values()) > 0


def test_rebuilding_a_past_month_gives_the_same_bytes(pipeline: Run, tmp_path: Path) -> None:
    first = _folder(pipeline, RISE_MONTH)
    rebuilt = analysis_report.build(
        pipeline.paths.warehouse, RISE_MONTH.strftime("%Y-%m"), tmp_path / "again"
    )
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in rebuilt.html.parent.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (rebuilt.html.parent / name).read_bytes(), name


def test_a_month_is_drawn_again_only_when_its_figures_change(pipeline: Run, tmp_path: Path) -> None:
    warehouse = tmp_path / "curated.duckdb"
    shutil.copy(pipeline.paths.warehouse, warehouse)
    key, folder = RISE_MONTH.strftime("%Y-%m"), tmp_path / "month"
    first = analysis_report.build(warehouse, key, folder)
    written = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    again = analysis_report.build(warehouse, key, folder)
    assert not first.unchanged and again.unchanged and again.as_of == first.as_of
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == written
    with duckdb.connect(str(warehouse)) as connection:  # one figure of the month moves
        connection.execute(
            "update market_flow_monthly set new_registrations = new_registrations + 1 "
            "where month = $month and district_code = (select min(district_code) from market_flow_monthly)",
            {"month": RISE_MONTH},
        )
    redrawn = analysis_report.build(warehouse, key, folder)
    assert not redrawn.unchanged
    assert (
        folder.joinpath("index.html").read_bytes()
        != (_folder(pipeline, RISE_MONTH) / "index.html").read_bytes()
    )


def test_the_new_models_are_open_data_with_a_dictionary(pipeline: Run) -> None:
    folder = pipeline.paths.warehouse.parent / "open_data"
    dictionary = (folder / "data_dictionary.csv").read_text(encoding="utf-8-sig")
    for model in NEW_MODELS:
        assert data_dictionary.TABLES[model].audience == data_dictionary.OPEN_DATA
        exported = pl.read_parquet(folder / f"{model}.parquet")
        assert exported.height == pipeline.sql(f"select count(*) as n from {model}")["n"][0] > 0
        assert re.search(rf"^{model},", dictionary, flags=re.MULTILINE)


def test_a_month_without_figures_is_refused(pipeline: Run, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no figures for 2030-01"):
        analysis_report.build(pipeline.paths.warehouse, "2030-01", tmp_path)

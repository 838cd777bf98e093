"""Outputs people open: steward worksheets per district (and for the city)."""

import os

import dagster as dg
import polars as pl

from assets.quality import METRICS_TABLE, QUALITY_TABLE, data_docs_dir
from pipelines import html_report
from pipelines.domain import divisions, worksheets
from pipelines.resources import LakehouseResource

PAIRS_TO_REVIEW = 5_000  # most likely near-miss pairs per worksheet


@dg.asset(
    key=["reports", "steward_worksheets"],
    group_name="reports",
    deps=[dg.AssetKey(["gold", "entity_issue"]), dg.AssetKey(["gold", "supervision_task"]), dg.AssetKey(["gold", "entity_xref"])],
    kinds={"excel"},
    description="One xlsx per district and one for the city: open issues and possible duplicates to decide, "
    "laid out as a corrections delivery (fill action/steward/decided_on, drop into landing/corrections/<date>/), "
    "and the district's supervision tasks.",
)
def steward_worksheets(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    lake = lakehouse.lake(context)
    as_of = lakehouse.as_of(lake)
    golden = lake.read("gold/golden_entity", ["entity_id", "district_code", "name"])
    issues = lake.read("gold/entity_issue").filter(pl.col("status") == "open").join(
        golden.rename({"name": "entity_name"}), on="entity_id", how="left"
    ).sort("district_code", "severity", "issue_type", "issue_id", nulls_last=True)
    pairs = _pairs_to_review(lake)
    tasks = lake.read("gold/supervision_task").filter(pl.col("created_on") == as_of)
    folder = lakehouse.reports / "worksheets" / as_of.isoformat()
    written = {}
    for division in divisions.DIVISIONS:
        path = folder / f"{division.code}_{division.name}.xlsx"
        rows = pl.concat(
            [
                worksheets.issue_rows(issues.filter(pl.col("district_code") == division.code), mask_personal=False),
                worksheets.pair_rows(pairs.filter(pl.col("district_code") == division.code).head(PAIRS_TO_REVIEW)),
            ],
            how="diagonal_relaxed",
        )
        written[division.code] = worksheets.write(path, rows, tasks.filter(pl.col("district_code") == division.code))
    city_rows = worksheets.issue_rows(issues, mask_personal=True)
    written["city"] = worksheets.write(folder / "city.xlsx", city_rows, tasks)
    context.log.info(f"worksheets in {folder}: {sum(written.values()):,} rows")
    return dg.MaterializeResult(metadata={"folder": dg.MetadataValue.path(str(folder)), "rows_per_sheet": written})


def _pairs_to_review(lake) -> pl.DataFrame:  # noqa: ANN001 - the run's Lake
    pairs = lake.read("gold/match_pairs").filter(~pl.col("linked") & (pl.col("refused_because") == "below the match threshold"))
    district = pl.concat(
        [lake.read(f"silver/{s}", ["record_key", "district_code"]).with_columns(source_l=pl.lit(s)) for s in ("registration", "licensing", "district")]
    ).rename({"record_key": "record_key_l"})
    return pairs.join(district, on=["source_l", "record_key_l"], how="left").sort("match_probability", descending=True)


@dg.asset(
    key=["reports", "quality_report"],
    group_name="reports",
    deps=[dg.AssetKey(["silver", s]) for s in ("registration", "licensing", "district")],
    kinds={"html"},
    description="Quality at a glance for stewards: per source and delivery, the share of valid USCC, of rows "
    "mapped to a district and of unknown vocabulary values, their trend (PNG), failed expectations, and a link "
    "to the Great Expectations Data Docs.",
)
def quality_report(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    lake = lakehouse.lake(context)
    metrics = lake.read(METRICS_TABLE).sort("source", "delivery_date")
    results = lake.read(QUALITY_TABLE)
    folder = lakehouse.reports / "quality"
    plot = html_report.line_plot(
        metrics, "delivery_date", ["valid_uscc_share", "district_mapped_share", "unknown_vocabulary_share"], "source",
        folder / "quality_trend.png", "Quality per delivery",
    )
    failed = results.filter(~pl.col("success")).select(
        "source", "delivery_date", "layer", "expectation", "severity", "observed_value", "description"
    ).sort("source", "delivery_date", "layer", "expectation")
    docs = data_docs_dir(lakehouse.reports) / "index.html"
    page = html_report.page(
        "数据质量报告 Quality report",
        [
            ("Per delivery", html_report.table(metrics)),
            ("Trend", f'<img src="{plot.name}" alt="quality trend">'),
            (f"Failed expectations ({failed.height})", html_report.table(failed)),
            ("Details", f'<p><a href="{os.path.relpath(docs, folder)}">Great Expectations Data Docs</a></p>'),
        ],
    )
    index = folder / "index.html"
    index.write_text(page, encoding="utf-8")
    return dg.MaterializeResult(
        metadata={"report": dg.MetadataValue.path(str(index)), "data_docs": dg.MetadataValue.path(str(docs)), "failed_expectations": failed.height}
    )

"""Outputs people open: steward worksheets per district (and for the city)."""

import html
import os

import dagster as dg
import duckdb
import polars as pl

from assets.keys import key
from assets.quality import data_docs_dir
from assets.retry import on_transient_errors
from pipelines.domain import divisions, worksheets
from pipelines.domain.contract import ENTITY_SOURCES
from pipelines.orchestration.resources import LakehouseResource
from pipelines.publishing import analysis_report, html_report
from pipelines.quality import data_docs
from pipelines.storage import catalog


@dg.asset(
    key=["reports", "steward_worksheets"],
    group_name="reports",
    deps=[key(catalog.ENTITY_ISSUE), key(catalog.SUPERVISION_TASK), key(catalog.ENTITY_XREF)],
    kinds={"excel"},
    description="One xlsx per district and one for the city: open issues and possible duplicates to decide, "
    "laid out as a corrections delivery (fill action/steward/decided_on, drop into landing/corrections/<date>/), "
    "and the district's supervision tasks.",
)
@on_transient_errors
def steward_worksheets(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    lake = lakehouse.lake(context)
    as_of = lakehouse.as_of(lake)
    golden = lake.read(catalog.GOLDEN_ENTITY, ["entity_id", "district_code", "name"])
    issues = (
        lake.read(catalog.ENTITY_ISSUE)
        .filter(pl.col("status") == "open")
        .join(golden.rename({"name": "entity_name"}), on="entity_id", how="left")
        .sort("district_code", "severity", "issue_type", "issue_id", nulls_last=True)
    )
    pairs = _pairs_to_review(lake)
    tasks = lake.read(catalog.SUPERVISION_TASK).filter(pl.col("created_on") == as_of)
    folder = lakehouse.reports / "worksheets" / as_of.isoformat()
    sheets = {}
    for division in divisions.DIVISIONS:
        rows = pl.concat(
            [
                worksheets.issue_rows(
                    issues.filter(pl.col("district_code") == division.code), mask_personal=False
                ),
                worksheets.pair_rows(
                    pairs.filter(pl.col("district_code") == division.code).head(
                        lakehouse.settings().rules.pairs_to_review
                    )
                ),
            ],
            how="diagonal_relaxed",
        )
        sheets[f"{division.code}_{division.name}.xlsx"] = (
            rows,
            tasks.filter(pl.col("district_code") == division.code),
        )
    sheets["city.xlsx"] = (worksheets.issue_rows(issues, mask_personal=True), tasks)
    outcome = worksheets.publish(folder, sheets)
    written = {name: min(rows.height, worksheets.MAX_ROWS) for name, (rows, _) in sheets.items()}
    rendered = sum(1 for how in outcome.values() if how == "written")
    context.log.info(
        f"worksheets in {folder}: {sum(written.values()):,} rows; {rendered} of {len(sheets)} rendered, the rest unchanged"
    )
    return dg.MaterializeResult(
        metadata={"folder": dg.MetadataValue.path(str(folder)), "rows_per_sheet": written, "sheets": outcome}
    )


def _analysis_month(lakehouse: LakehouseResource) -> str:
    months = analysis_report.latest_months(lakehouse.warehouse)
    return months[0] if months else ""


def _pairs_to_review(lake) -> pl.DataFrame:  # noqa: ANN001 - the run's Lake
    pairs = lake.read(catalog.MATCH_PAIRS).filter(
        ~pl.col("linked") & (pl.col("refused_because") == "below the match threshold")
    )
    district = pl.concat(
        [
            lake.read(catalog.silver(s), ["record_key", "district_code"]).with_columns(source_l=pl.lit(s))
            for s in ENTITY_SOURCES
        ]
    ).rename({"record_key": "record_key_l"})
    return pairs.join(district, on=["source_l", "record_key_l"], how="left").sort(
        "match_probability", descending=True
    )


@dg.asset(
    key=["reports", "quality_report"],
    group_name="reports",
    deps=[key(catalog.silver(s)) for s in ENTITY_SOURCES],
    kinds={"html"},
    description="Quality at a glance for stewards: per source and delivery, the share of valid USCC, of rows "
    "mapped to a district and of unknown vocabulary values, their trend (PNG), failed expectations, and a link "
    "to the Great Expectations Data Docs, which it renders for every delivery validated since its last run.",
)
@on_transient_errors
def quality_report(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    lake = lakehouse.lake(context)
    metrics = lake.read(catalog.DELIVERY_METRICS).sort("source", "delivery_date")
    results = lake.read(catalog.QUALITY_RESULT)
    folder = lakehouse.reports / "quality"
    plot = html_report.line_plot(
        metrics,
        "delivery_date",
        ["valid_uscc_share", "district_mapped_share", "unknown_vocabulary_share"],
        "source",
        folder / "quality_trend.png",
        "Quality per delivery",
    )
    failed = (
        results.filter(~pl.col("success"))
        .select(
            "source", "delivery_date", "layer", "expectation", "severity", "observed_value", "description"
        )
        .sort("source", "delivery_date", "layer", "expectation")
    )
    docs = data_docs.build_pending(
        data_docs_dir(lakehouse.reports), keep_days=lakehouse.settings().maintenance.data_docs_days
    )
    page = html_report.page(
        "数据质量报告 Quality report",
        [
            ("各批次质量 Per delivery", html_report.table(metrics)),
            ("趋势 Trend", f'<img src="{plot.name}" alt="quality trend">'),
            (f"未通过的校验规则 Failed expectations ({failed.height:,})", html_report.table(failed)),
            (
                "明细 Details",
                f'<p><a href="{os.path.relpath(docs, folder)}">Great Expectations 校验明细 Data Docs</a></p>',
            ),
        ],
    )
    index = folder / "index.html"
    index.write_text(page, encoding="utf-8")
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(index)),
            "data_docs": dg.MetadataValue.path(str(docs)),
            "failed_expectations": failed.height,
        }
    )


@dg.asset(
    key=["reports", "run_report"],
    group_name="reports",
    deps=[
        dg.AssetKey(["curated", "warehouse"]),
        dg.AssetKey(["reports", "quality_report"]),
        dg.AssetKey(["reports", "steward_worksheets"]),
        dg.AssetKey(["reports", "district_indices"]),
        dg.AssetKey(["reports", "open_data_export"]),
    ],
    kinds={"html"},
    description="The run at a glance (reports/index.html, and one page per run): table counts, deliveries and "
    "quarantine, quality, new issues, supervision tasks, plots and links to Data Docs, worksheets and open data.",
)
@on_transient_errors
def run_report(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    reports = lakehouse.reports
    with duckdb.connect(str(lakehouse.warehouse), read_only=True) as db:
        as_of = db.sql("select max(delivery_date) from load_summary").fetchall()[0][0]
        counts = db.sql(
            'select table_name as "table", estimated_size as rows from duckdb_tables() order by table_name'
        ).pl()
        deliveries = db.sql("select * from load_summary order by delivery_date desc, source limit 40").pl()
        quality = db.sql(
            "select source, delivery_date, layer, expectation, severity, observed_value from quality_result where not success order by delivery_date desc, source limit 50"
        ).pl()
        new_issues = db.sql(
            "select issue_type, severity, count(*) as new_open from entity_issue where first_detected_on = ? and status = 'open' group by all order by issue_type",
            params=[as_of],
        ).pl()
        all_issues = db.sql(
            "select issue_type, status, count(*) as issues from entity_issue group by all order by issue_type, status"
        ).pl()
        tasks = db.sql(
            "select reason, district_code, count(*) as tasks from supervision_task where created_on = ? group by all order by reason, district_code",
            params=[as_of],
        ).pl()
    links = {
        # Built right after this job (analyse_month_job): the last complete month's analysis.
        "月度营商环境分析 Monthly analysis": reports / "analysis" / _analysis_month(lakehouse) / "index.html",
        "数据质量报告 Quality report": reports / "quality" / "index.html",
        "区县工作表 Steward worksheets": reports / "worksheets" / str(as_of),
        "景气与信用指数 District indices": reports / "indices" / "index.html",
        "开放数据 Open data export": lakehouse.warehouse.parent / "open_data",
        "校验明细 Data Docs (Great Expectations)": data_docs_dir(reports) / "index.html",
    }
    link_list = "".join(
        f'<li><a href="{html.escape(os.path.relpath(p, reports))}">{html.escape(name)}</a></li>'
        for name, p in links.items()
    )
    images = "".join(
        f'<img src="{html.escape(os.path.relpath(p, reports))}" alt="{html.escape(p.stem)}" style="max-width:100%">'
        for p in (
            reports / "quality" / "quality_trend.png",
            reports / "indices" / "vitality_index.png",
            reports / "indices" / "credit_index.png",
        )
        if p.exists()
    )
    page = html_report.page(
        f"主体数据仓运行报告 Run report — 数据日期 as of {as_of}",
        [
            (
                "本次运行 Run",
                f"<p>Dagster run <code>{html.escape(context.run_id)}</code>; warehouse <code>{html.escape(str(lakehouse.warehouse))}</code></p><ul>{link_list}</ul>",
            ),
            ("已发布的表 Published tables", html_report.table(counts)),
            ("最近的数据交付 Latest deliveries", html_report.table(deliveries)),
            (f"未通过的校验规则 Failed expectations ({quality.height:,})", html_report.table(quality)),
            (f"{as_of} 新发现的问题 New open issues", html_report.table(new_issues)),
            ("全部问题（按状态） All issues by status", html_report.table(all_issues)),
            (f"{as_of} 生成的监管任务 Supervision tasks raised", html_report.table(tasks)),
            ("图表 Plots", images),
        ],
    )
    runs = reports / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    (runs / f"{context.run_id}.html").write_text(
        page.replace('href="', 'href="../').replace('src="', 'src="../'), encoding="utf-8"
    )
    (reports / "index.html").write_text(page, encoding="utf-8")
    return dg.MaterializeResult(
        metadata={"report": dg.MetadataValue.path(str(reports / "index.html")), "as_of": str(as_of)}
    )

"""The monthly analysis (营商市场环境形势分析): one partition per month, HTML and PDF in reports/analysis/<YYYY-MM>/.

Reads the published warehouse only (so it depends on `curated/warehouse` and on the models it queries);
the month is the partition key and the as-of date the warehouse's, so rebuilding a past month over the same
warehouse writes the same bytes. `entity-lakehouse run` builds the latest months after each publish; any
other month is a backfill of its partition from the UI.
"""

import dagster as dg

from assets.retry import on_transient_errors
from pipelines.orchestration.resources import LakehouseResource
from pipelines.publishing import analysis_figures, analysis_report

analysis_months = dg.DynamicPartitionsDefinition(name=analysis_report.PARTITIONS)


@dg.asset(
    key=["reports", "monthly_analysis"],
    group_name="reports",
    partitions_def=analysis_months,
    deps=[
        dg.AssetKey(["curated", "warehouse"]),
        *[dg.AssetKey(["curated", m]) for m in analysis_figures.models()],
    ],
    kinds={"html", "pdf"},
    description="营商市场环境形势分析: the month's market flows, cohort survival, licences, inspections, zombie share "
    "and open issues, the two indices and data quality, as HTML and PDF (reports/analysis/<YYYY-MM>/), every "
    "figure from a curated SQL model.",
)
@on_transient_errors
def monthly_analysis(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    month = context.partition_key
    root = lakehouse.reports / "analysis"
    built = analysis_report.build(lakehouse.warehouse, month, root / month)
    analysis_report.write_index(root)
    kept = " (figures unchanged since that build: files kept)" if built.unchanged else ""
    context.log.info(f"monthly analysis {month} (as of {built.as_of}){kept}: {built.html}, {built.pdf}")
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(built.html)),
            "pdf": dg.MetadataValue.path(str(built.pdf)),
            "as_of": str(built.as_of),
            "charts": len(built.charts),
            "unchanged": built.unchanged,
        }
    )

"""Sharing: the open-data and partner exports (Parquet + data dictionary) and the district index charts.

Both read the *published* warehouse, so they depend on `curated/warehouse` (the rename that publishes
the night's DuckDB file): what is exported is exactly what analysts query, and a failed night exports
nothing new. Files are rewritten on every run, each under a temporary name and then renamed.

- `<warehouse dir>/open_data/`: open_entity, open_licence, district_monthly_index (the public).
- `<warehouse dir>/sharing/`: shared_entity, entity_tag (partner departments).
- `<warehouse dir>/reports/indices/`: vitality_index.png, credit_index.png, index.html.
"""

import dagster as dg

from assets.retry import on_transient_errors
from pipelines.orchestration.resources import LakehouseResource
from pipelines.publishing import data_dictionary, index_report

WAREHOUSE_KEY = dg.AssetKey(["curated", "warehouse"])


def _source_models(audience: str) -> list[dg.AssetKey]:
    return [dg.AssetKey(["curated", t]) for t in data_dictionary.exported_tables(audience)]


@dg.asset(
    key=["reports", "open_data_export"],
    group_name="sharing",
    deps=[
        WAREHOUSE_KEY,
        *_source_models(data_dictionary.OPEN_DATA),
        *_source_models(data_dictionary.SHARING),
    ],
    kinds={"parquet"},
    description="Open data (<warehouse dir>/open_data/: open_entity, open_licence, district_monthly_index) and partner "
    "sharing (<warehouse dir>/sharing/: shared_entity, entity_tag) as Parquet with a data dictionary (CSV and "
    "Markdown, Chinese and English), from the published warehouse; allow-listed columns only, personal data masked.",
)
@on_transient_errors
def open_data_export(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    folders = {}
    rows = {}
    for audience in (data_dictionary.OPEN_DATA, data_dictionary.SHARING):
        folder = lakehouse.warehouse.parent / audience
        rows.update(data_dictionary.export(lakehouse.warehouse, folder, audience, tag=context.run_id))
        folders[audience] = folder
        context.log.info(f"{audience}: {', '.join(data_dictionary.exported_tables(audience))} -> {folder}")
    return dg.MaterializeResult(
        metadata={
            "open_data": dg.MetadataValue.path(str(folders[data_dictionary.OPEN_DATA])),
            "sharing": dg.MetadataValue.path(str(folders[data_dictionary.SHARING])),
            "rows": rows,
            "dictionary": dg.MetadataValue.path(
                str(folders[data_dictionary.OPEN_DATA] / "data_dictionary.md")
            ),
        }
    )


@dg.asset(
    key=["reports", "district_indices"],
    group_name="sharing",
    deps=[WAREHOUSE_KEY, dg.AssetKey(["curated", "district_monthly_index"])],
    kinds={"png", "html"},
    description="景气指数 and 信用指数 per district and month as charts (last 36 months, with the city) and an HTML page "
    "in reports/indices/, from the published district_monthly_index.",
)
@on_transient_errors
def district_indices(context: dg.AssetExecutionContext, lakehouse: LakehouseResource) -> dg.MaterializeResult:
    index = index_report.read_index(lakehouse.warehouse)
    written = index_report.write(index, lakehouse.reports / "indices")
    latest = index.filter(~index["is_partial_month"])["month"].max() if index.height else None
    context.log.info(f"district indices: {index.height} rows, charts in {written['page'].parent}")
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(written["page"])),
            "rows": index.height,
            "latest_complete_month": str(latest),
        }
    )


sharing_assets = [open_data_export, district_indices]

"""The data service's audit trail in the warehouse: the daily access summary, published with the night.

A thin asset: pipelines/service/access_summary.py reads the append-only access log beside the warehouse
(written by `entity-lakehouse serve`) and writes `access_daily_summary` into the run's staging file, which
`curated/warehouse` publishes in its one rename, like every curated model.
"""

import dagster as dg
import duckdb

from assets.retry import on_transient_errors
from pipelines.orchestration.resources import LakehouseResource
from pipelines.service import access_log, access_summary
from pipelines.storage import warehouse as warehouse_file


@dg.asset(
    key=["curated", access_summary.TABLE],
    group_name="curated",
    kinds={"duckdb"},
    description="Per UTC day, caller and scope: requests by status class, rate-limited, rows returned, p95 "
    "duration, from the data service's access log (<warehouse dir>/access_log/). For auditors; never exported.",
)
@on_transient_errors
def access_daily_summary(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    folder = access_log.folder_for(lakehouse.warehouse)
    staging = warehouse_file.staging(lakehouse.warehouse, context.run_id)
    with duckdb.connect(str(staging)) as connection:
        published = access_summary.write(connection, folder)
    context.log.info(
        f"{access_summary.TABLE}: {published.rows} rows ({published.records} requests over {published.days} "
        f"days) from {published.files} log files in {folder}; {published.days_read} days summarised again"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": published.rows,
            "requests": published.records,
            "days": published.days,
            "days_read": published.days_read,
            "access_log": dg.MetadataValue.path(str(folder)),
        }
    )

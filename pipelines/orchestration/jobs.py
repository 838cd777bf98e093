"""Jobs are asset selections: one ingest job per source (a run per delivery partition), one for the rest.

No job-wide retry policy: a step retries only on a transient error (assets/retry.py).
"""

from __future__ import annotations

import dagster as dg

from pipelines.domain.contract import SOURCES
from pipelines.publishing import analysis_report
from pipelines.storage import catalog

ANALYSE_MONTH_JOB = "analyse_month_job"
MONTHLY_ANALYSIS = dg.AssetKey(["reports", "monthly_analysis"])


def ingest_job_name(source: str) -> str:
    return f"ingest_{source}_job"


ingest_jobs = [
    dg.define_asset_job(
        ingest_job_name(source),
        selection=dg.AssetSelection.assets(dg.AssetKey(catalog.asset_path(catalog.deliveries(source)))),
        partitions_def=dg.DynamicPartitionsDefinition(name=catalog.delivery_partitions(source)),
        description=f"Load one {source} delivery folder into bronze (a partition per delivery date).",
        tags={"entity_lakehouse/source": source},
    )
    for source in SOURCES
]

consolidate_job = dg.define_asset_job(
    "consolidate_job",
    selection=dg.AssetSelection.all()
    - dg.AssetSelection.assets(*[catalog.asset_path(catalog.deliveries(s)) for s in SOURCES])
    - dg.AssetSelection.assets(MONTHLY_ANALYSIS),
    description="Everything after the deliveries are loaded: current state, silver, gold, curated warehouse.",
)

# Partitioned by month, so not part of consolidate_job: `entity-lakehouse run` runs it after the publish.
analyse_month_job = dg.define_asset_job(
    ANALYSE_MONTH_JOB,
    selection=dg.AssetSelection.assets(MONTHLY_ANALYSIS),
    partitions_def=dg.DynamicPartitionsDefinition(name=analysis_report.PARTITIONS),
    description="The monthly analysis (营商市场环境形势分析) of one month, from the published warehouse.",
)

"""Jobs are asset selections: one ingest job per source (a run per delivery partition), one for the rest.

No job-wide retry policy: a step retries only on a transient error (assets/retry.py).
"""

from __future__ import annotations

import dagster as dg

from assets.bronze import DELIVERY_KEYS, DELIVERY_PARTITIONS
from pipelines.domain.contract import SOURCES


def ingest_job_name(source: str) -> str:
    return f"ingest_{source}_job"


ingest_jobs = [
    dg.define_asset_job(
        ingest_job_name(source),
        selection=dg.AssetSelection.assets(dg.AssetKey(["bronze", f"{source}_deliveries"])),
        partitions_def=DELIVERY_PARTITIONS[source],
        description=f"Load one {source} delivery folder into bronze (a partition per delivery date).",
        tags={"entity_lakehouse/source": source},
    )
    for source in SOURCES
]

consolidate_job = dg.define_asset_job(
    "consolidate_job",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*DELIVERY_KEYS),
    description="Everything after the deliveries are loaded: current state, silver, gold, curated warehouse.",
)

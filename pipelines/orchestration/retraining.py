"""Retraining the match weights: its own job, on a schedule or when asked, never silently every night.

A night scores pairs with the stored weights, which is what lets it re-resolve only what changed. New
weights change every score, so the op also tells the next night to resolve every record again (a night as
long as the first load).
"""

import dagster as dg

from pipelines.domain.resolution.resolve import train
from pipelines.orchestration.resources import LakehouseResource
from pipelines.storage import matching


@dg.op(
    description="Learn the match weights afresh from the current silver records; the next night re-resolves all."
)
def retrain_match_weights(context: dg.OpExecutionContext, lakehouse: LakehouseResource) -> dg.Output[int]:
    lake = lakehouse.lake(context)
    model = train(*matching.silver_records(lake), lakehouse.settings().matching)
    matching.forget_state(lake)  # first: a run killed before the new weights still re-resolves everything
    matching.save_model(lake, model)
    context.log.info(
        f"learned from {model.training_pairs:,} labelled pairs ({model.training_matches:,} matches)"
    )
    return dg.Output(
        model.training_pairs,
        metadata={"training_pairs": model.training_pairs, "training_matches": model.training_matches},
    )


@dg.job(
    description="Retrain the match weights (settings.toml [matching]); the next night re-resolves every record."
)
def retrain_matching_job() -> None:
    retrain_match_weights()


monthly_retraining = dg.ScheduleDefinition(
    name="monthly_match_retraining",
    job=retrain_matching_job,
    cron_schedule="0 5 1 * *",
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={"entity_lakehouse/trigger": "monthly_match_retraining"},
    description="Retrains the match weights on the 1st of each month at 05:00 Asia/Shanghai, after the "
    "nightly run; the next night (a full re-resolution) scores every pair with them.",
)

"""Retraining the match weights is its own job: it stores new weights and makes the next night resolve every
record again, and it never changes the entities on its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from pipelines.domain.settings import load
from pipelines.orchestration import retraining
from pipelines.orchestration.resources import LakehouseResource
from pipelines.storage import catalog, matching
from pipelines.storage.lake import Lake
from tests.conftest import Run


def test_retraining_stores_new_weights_and_makes_the_next_night_a_full_one(
    pipeline: Run, tmp_path: Path
) -> None:
    shutil.copytree(pipeline.paths.lake, tmp_path / "lake")
    lake = Lake(tmp_path / "lake")
    xref_before = lake.read(catalog.ENTITY_XREF)
    assert matching.previous(lake) is not None, "a night leaves what the next one needs to be incremental"
    resource = LakehouseResource(
        landing_dir=str(tmp_path / "landing"),
        lake_dir=str(tmp_path / "lake"),
        warehouse_path=str(tmp_path / "w.duckdb"),
        lock_wait_seconds=0,
    )
    result = retraining.retrain_matching_job.execute_in_process(resources={"lakehouse": resource})
    assert result.success
    model = matching.stored_model(lake, load().matching.priors)
    assert model is not None and model.training_pairs == result.output_for_node("retrain_match_weights") > 0
    assert matching.previous(lake) is None, "new weights: the next night re-resolves every record"
    assert lake.read(catalog.ENTITY_XREF).equals(xref_before)
    weights = lake.read(catalog.MATCH_WEIGHTS)
    assert weights.filter(pl.col("feature") == "name")["weight"].is_finite().all()


def test_a_lake_resolved_by_other_comparison_levels_is_not_scored_with_its_stored_weights_or_state(
    pipeline: Run, tmp_path: Path
) -> None:
    # A lake written by a version whose comparison had other levels (here: before `exact_rare` names) or
    # other record columns: its stored weights and state cannot score tonight's pairs.
    shutil.copytree(pipeline.paths.lake, tmp_path / "lake")
    lake = Lake(tmp_path / "lake")
    priors = load().matching.priors
    assert matching.stored_model(lake, priors) is not None and matching.previous(lake) is not None
    weights = lake.read(catalog.MATCH_WEIGHTS)
    lake.overwrite(catalog.MATCH_WEIGHTS, weights.filter(pl.col("level") != "exact_rare"))
    assert matching.stored_model(lake, priors) is None, "weights without a level of this version"
    lake.overwrite(catalog.MATCH_RECORDS, lake.read(catalog.MATCH_RECORDS).drop("operator"))
    assert matching.previous(lake) is None, "state without a column of this version"

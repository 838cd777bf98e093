"""The code location loads, and its assets, jobs, schedules and sensors are the ones we expect."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.orchestration import definitions
from pipelines.storage import paths


def build(tmp_path: Path) -> dg.Definitions:
    return definitions.build(
        paths.resolve(
            landing=tmp_path / "l",
            lake=tmp_path / "k",
            warehouse=tmp_path / "w.duckdb",
            dagster_home=tmp_path / "h",
        )
    )


def test_every_job_resolves(tmp_path: Path) -> None:
    defs = build(tmp_path)
    names = sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__"))
    assert names == [
        "analyse_month_job",
        "consolidate_job",
        "ingest_corrections_job",
        "ingest_district_job",
        "ingest_licensing_job",
        "ingest_registration_job",
        "maintain_lake_job",
        "retrain_matching_job",
    ]


def test_asset_keys_by_layer(tmp_path: Path) -> None:
    keys = sorted(k.to_user_string() for k in build(tmp_path).resolve_all_asset_keys())
    layers = {k.split("/")[0] for k in keys}
    assert layers == {"bronze", "silver", "gold", "curated", "reports", "seed"}
    for required in [
        "bronze/registration_deliveries",
        "silver/registration",
        "gold/entity_xref",
        "gold/golden_entity",
        "gold/entity_issue",
        "curated/golden_entity",
        "curated/quarantine",
        "curated/warehouse",
    ]:
        assert required in keys


def test_curated_models_depend_on_the_tables_their_sql_reads(tmp_path: Path) -> None:
    graph = build(tmp_path).resolve_asset_graph()
    parents = {p.to_user_string() for p in graph.get(dg.AssetKey(["curated", "golden_entity"])).parent_keys}
    assert parents == {"gold/golden_entity", "gold/entity_issue"}
    quarantine = {p.to_user_string() for p in graph.get(dg.AssetKey(["curated", "quarantine"])).parent_keys}
    assert {"bronze/registration_deliveries", "bronze/landing_inventory", "silver/corrections"} <= quarantine
    flow_model = graph.get(dg.AssetKey(["curated", "int_district_month_flow"]))
    flows = {p.to_user_string() for p in flow_model.parent_keys}
    assert {"seed/district", "curated/int_as_of", "curated/int_entity_registration"} <= flows


def test_seeds_are_declared_not_materialised(tmp_path: Path) -> None:
    """A seed is a file in the repository: upstream in the graph, never a step of a job."""
    defs = build(tmp_path)
    seed = defs.resolve_asset_graph().get(dg.AssetKey(["seed", "district"]))
    assert not seed.is_materializable
    consolidate = defs.resolve_job_def("consolidate_job")
    assert not [k for k in consolidate.asset_layer.selected_asset_keys if k.path[0] == "seed"]


SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "definitions.txt"


def describe(defs: dg.Definitions) -> str:
    """Every asset (with its partitioning and its upstream assets), check (blocking or not), job, schedule and
    sensor, one per line, sorted: a change to the graph shows as a diff of this text."""
    graph = defs.resolve_asset_graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        partitions = f" partitioned:{node.partitions_def.name}" if node.partitions_def is not None else ""
        parents = ", ".join(sorted(p.to_user_string() for p in node.parent_keys))
        lines.append(f"asset {key.to_user_string()}{partitions} <- {parents}")
    for check in sorted(graph.asset_check_keys, key=lambda c: (c.asset_key.to_user_string(), c.name)):
        blocking = " blocking" if graph.get_check_spec(check).blocking else ""
        lines.append(f"check {check.asset_key.to_user_string()}:{check.name}{blocking}")
    lines += [
        f"job {j.name}"
        for j in sorted(defs.resolve_all_job_defs(), key=lambda j: j.name)
        if not j.name.startswith("__")
    ]
    lines += [f"schedule {s.name} {s.cron_schedule} {s.execution_timezone}" for s in defs.schedules or []]
    lines += [f"sensor {s.name}" for s in defs.sensors or []]
    return "\n".join(lines) + "\n"


def test_the_definitions_match_their_snapshot(tmp_path: Path) -> None:
    """Regenerate after an intended change with `UPDATE_SNAPSHOTS=1 pytest tests/test_definitions.py`."""
    import os

    text = describe(build(tmp_path))
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == SNAPSHOT.read_text(encoding="utf-8")

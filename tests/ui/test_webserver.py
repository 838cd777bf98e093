"""The Dagster web UI over a completed run: start `dagster-webserver` on the run's instance and ask its GraphQL API
what the UI shows — the asset graph, the batch's runs, column lineage, asset checks and delivery partitions."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.orchestration.runner import BatchResult
from pipelines.storage import paths as paths_module
from tests.conftest import Run

pytestmark = pytest.mark.xdist_group("ui")  # one webserver
PROJECT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 120

ASSET_GRAPH = """
query AssetGraph {
  assetNodes {
    assetKey { path }
    groupName
    dependencyKeys { path }
  }
}"""

BATCH_RUNS = """
query BatchRuns($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    __typename
    ... on Runs { results { runId jobName status tags { key value } } }
    ... on PythonError { message }
  }
}"""

LATEST_MATERIALIZATION = """
query LatestMaterialization($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    __typename
    ... on AssetNode {
      assetMaterializations(limit: 1) {
        runId
        metadataEntries {
          __typename
          label
          ... on TableColumnLineageMetadataEntry {
            lineage { columnName columnDeps { assetKey { path } columnName } }
          }
          ... on TableSchemaMetadataEntry {
            schema { columns { name type description } }
          }
        }
      }
    }
  }
}"""

ASSET_CHECKS = """
query AssetChecks($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    __typename
    ... on AssetNode {
      hasAssetChecks
      assetChecksOrError {
        __typename
        ... on AssetChecks {
          checks {
            name
            description
            executionForLatestMaterialization {
              runId
              status
              evaluation { success severity metadataEntries { label } }
            }
          }
        }
      }
    }
  }
}"""

PARTITIONS = """
query Partitions($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    __typename
    ... on AssetNode {
      isPartitioned
      partitionDefinition { type name }
      partitionKeys
      assetPartitionStatuses {
        __typename
        ... on DefaultPartitionStatuses { materializedPartitions failedPartitions materializingPartitions }
      }
    }
  }
}"""

LOCATIONS = """
query Locations {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
  }
}"""


@dataclass(frozen=True)
class Webserver:
    url: str
    batch: BatchResult

    def query(self, query: str, **variables: object) -> dict:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        assert not answer.get("errors"), answer["errors"]
        return answer["data"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def key(path: str) -> dict:
    return {"path": path.split("/")}


def wait_until_loaded(url: str, process: subprocess.Popen, log: Path) -> None:
    """Until the webserver answers and the code location is loaded (or the process died)."""
    server = Webserver(url, BatchResult(batch_id=""))
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            entries = server.query(LOCATIONS)["workspaceOrError"]["locationEntries"]
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            entries = []
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            errors = [
                e["locationOrLoadError"].get("message")
                for e in entries
                if e["locationOrLoadError"]["__typename"] == "PythonError"
            ]
            assert not errors, errors
            return
        time.sleep(0.5)
    pytest.fail(f"dagster-webserver not ready after {STARTUP_SECONDS}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def webserver(pipeline: Run, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webserver]:
    """The UI over the shared demo run's instance (it only reads it)."""
    folder, locations = tmp_path_factory.mktemp("ui"), pipeline.paths
    env = {
        **os.environ,
        **{
            variable: str(getattr(locations, field)) for field, (variable, _) in paths_module.DEFAULTS.items()
        },
    }
    port, log = free_port(), folder / "webserver.log"
    command = [
        sys.executable,
        "-m",
        "dagster_webserver",
        "-w",
        str(PROJECT / "workspace.yaml"),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=PROJECT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_loaded(url, process, log)
        yield Webserver(url, pipeline.batch)
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """The webserver and its code server (one process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # a code server left behind
    except ProcessLookupError:
        pass
    process.wait()


def test_the_asset_graph_has_every_layer_and_the_curated_lineage(webserver: Webserver) -> None:
    nodes = {"/".join(n["assetKey"]["path"]): n for n in webserver.query(ASSET_GRAPH)["assetNodes"]}
    for wanted in (
        "bronze/registration_deliveries",
        "silver/registration",
        "gold/golden_entity",
        "curated/golden_entity",
        "curated/warehouse",
    ):
        assert wanted in nodes, sorted(nodes)
    upstream = {"/".join(k["path"]) for k in nodes["curated/golden_entity"]["dependencyKeys"]}
    assert "gold/golden_entity" in upstream
    assert {n["groupName"] for n in nodes.values()} >= {"bronze", "silver", "gold", "curated"}


def test_the_batch_runs_are_listed_as_successful_with_the_batch_tag(webserver: Webserver) -> None:
    batch = webserver.batch
    tagged = {"tags": [{"key": "entity_lakehouse/batch", "value": batch.batch_id}]}
    runs = webserver.query(BATCH_RUNS, filter=tagged)["runsOrError"]
    assert runs["__typename"] == "Runs", runs
    results = runs["results"]
    assert {r["runId"] for r in results} == set(batch.run_ids)
    assert {r["status"] for r in results} == {"SUCCESS"}
    jobs = {r["jobName"] for r in results}
    assert {
        "consolidate_job",
        "ingest_registration_job",
        "ingest_licensing_job",
        "ingest_district_job",
    } <= jobs
    for run in results:
        assert {"key": "entity_lakehouse/batch", "value": batch.batch_id} in run["tags"]
    # Also in the unfiltered list the UI's run page starts from.
    everything = webserver.query(BATCH_RUNS)["runsOrError"]["results"]
    assert set(batch.run_ids) <= {r["runId"] for r in everything}


def test_the_curated_golden_entity_materialization_carries_column_lineage_and_schema(
    webserver: Webserver,
) -> None:
    node = webserver.query(LATEST_MATERIALIZATION, assetKey=key("curated/golden_entity"))["assetNodeOrError"]
    assert node["__typename"] == "AssetNode"
    [latest] = node["assetMaterializations"]
    assert latest["runId"] == webserver.batch.consolidate_run_id
    entries = {e["label"]: e for e in latest["metadataEntries"]}
    lineage, schema = entries["dagster/column_lineage"], entries["dagster/column_schema"]
    assert lineage["__typename"] == "TableColumnLineageMetadataEntry"
    assert schema["__typename"] == "TableSchemaMetadataEntry"
    columns = {c["name"] for c in schema["schema"]["columns"]}
    assert {"entity_id", "uscc", "name", "district_code"} <= columns
    deps = {
        e["columnName"]: {("/".join(d["assetKey"]["path"]), d["columnName"]) for d in e["columnDeps"]}
        for e in lineage["lineage"]
    }
    assert set(deps) <= columns
    assert ("gold/golden_entity", "entity_id") in deps["entity_id"]
    assert ("gold/golden_entity", "name") in deps["name"]


def test_the_asset_checks_of_silver_registration_show_their_latest_result(webserver: Webserver) -> None:
    node = webserver.query(ASSET_CHECKS, assetKey=key("silver/registration"))["assetNodeOrError"]
    assert node["__typename"] == "AssetNode" and node["hasAssetChecks"]
    checks = node["assetChecksOrError"]
    assert checks["__typename"] == "AssetChecks", checks
    assert checks["checks"]
    for check in checks["checks"]:
        execution = check["executionForLatestMaterialization"]
        assert execution is not None, check["name"]
        assert execution["runId"] == webserver.batch.consolidate_run_id
        assert execution["status"] in {"SUCCEEDED", "FAILED"}, (check["name"], execution["status"])
        assert execution["evaluation"]["severity"] in {"WARN", "ERROR"}
        assert execution["evaluation"]["success"] == (execution["status"] == "SUCCEEDED")


def test_the_registration_delivery_partitions_are_listed_as_materialized(webserver: Webserver) -> None:
    node = webserver.query(PARTITIONS, assetKey=key("bronze/registration_deliveries"))["assetNodeOrError"]
    assert node["__typename"] == "AssetNode" and node["isPartitioned"]
    assert node["partitionDefinition"] == {"type": "DYNAMIC", "name": "registration_deliveries"}
    loaded = sorted(
        d.split("/", 1)[1] for d in webserver.batch.deliveries_loaded if d.startswith("registration/")
    )
    assert loaded
    assert node["partitionKeys"] == loaded
    statuses = node["assetPartitionStatuses"]
    assert statuses["__typename"] == "DefaultPartitionStatuses"
    assert sorted(statuses["materializedPartitions"]) == loaded
    assert statuses["failedPartitions"] == [] and statuses["materializingPartitions"] == []

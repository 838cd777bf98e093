"""Shared fixtures: a generated landing zone with ground truth, and pipeline runs over it."""

from __future__ import annotations

import dataclasses
import os
import pickle
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import duckdb
import polars as pl
import pytest
from _pytest.nodeid import coerce_node_id
from filelock import FileLock

from pipelines.orchestration.runner import BatchResult, run_batch
from pipelines.storage import paths as paths_module

DEMO_ENTITIES = 1500
HANDWRITTEN = Path(__file__).resolve().parent / "fixtures" / "handwritten" / "landing"
SECOND_NIGHT = "2026-11-21"  # the handwritten landing's second night (its first licences)
DEMO_DAYS = 3
T = TypeVar("T")


@dataclass(frozen=True)
class Demo:
    landing: Path
    truth: Path

    def truth_table(self, name: str) -> pl.DataFrame:
        return pl.read_parquet(self.truth / f"{name}.parquet")


@dataclass(frozen=True)
class Run:
    paths: paths_module.Paths
    batch: BatchResult
    demo: Demo

    def delta(self, table: str) -> pl.DataFrame:
        return pl.read_delta(str(self.paths.lake / table))

    def sql(self, query: str, params: list | None = None) -> pl.DataFrame:
        with duckdb.connect(str(self.paths.warehouse), read_only=True) as connection:
            return connection.sql(query, params=params or []).pl()


def generate_demo(folder: Path, entities: int = DEMO_ENTITIES, days: int = DEMO_DAYS, seed: int = 7) -> Demo:
    from pipelines.demo import generate

    generate(folder / "landing", folder / "ground_truth", entities=entities, seed=seed, days=days)
    return Demo(folder / "landing", folder / "ground_truth")


def workspace(folder: Path, landing: Path) -> paths_module.Paths:
    return paths_module.resolve(
        landing=landing,
        lake=folder / "lake",
        warehouse=folder / "warehouse" / "curated.duckdb",
        dagster_home=folder / "dagster_home",
    )


def run_pipeline(folder: Path, demo: Demo, landing: Path | None = None, analyse: bool = False) -> Run:
    """A whole batch; the monthly analysis (seconds of PDF layout) only where a test reads it."""
    locations = workspace(folder, landing or demo.landing)
    return Run(locations, run_batch(locations, echo=lambda *_: None, analyse=analyse), demo)


def copy_of_run(run: Run, folder: Path, landing: Path) -> Run:
    """The shared run's lake, warehouse and Dagster instance copied, over `landing`: a first night to write
    on without running it again."""
    paths = workspace(folder, landing)
    shutil.copytree(run.paths.lake, paths.lake)
    shutil.copytree(run.paths.warehouse.parent, paths.warehouse.parent)
    shutil.copytree(run.paths.dagster_home, paths.dagster_home)
    return Run(paths, run.batch, run.demo)


def copy_landing(demo: Demo, target: Path, leave_out: list[str] = ()) -> Path:
    """A copy of the demo landing zone without the given folders (relative paths)."""
    shutil.copytree(demo.landing, target)
    for folder in leave_out:
        shutil.rmtree(target / folder)
    return target


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Make `xdist_group` work under pytest 9.2 + pytest-xdist 3.8 (`make test` runs `-n 3 --dist loadgroup`):
    xdist tags a grouped test through `item._nodeid`, but pytest 9.2 derives `nodeid` from `item._id`, so
    every group was silently ignored and each worker built its own lake."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        if "@" in item.nodeid:
            continue
        groups = sorted(
            {
                str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                for m in item.iter_markers("xdist_group")
            }
        )
        if groups:
            item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(groups)}")


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], T]) -> T:
    """`build(folder)` once per session, also across xdist workers: the first worker to ask builds under a
    file lock and pickles the result; the others wait for it and read the pickle. So a test that only reads
    a run can go to any worker, and the suite pays for each shared run once."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, above each worker's own
    done, folder = root / f"{name}.pickle", root / name
    with FileLock(str(root / f"{name}.lock")):
        if done.exists():
            return pickle.loads(done.read_bytes())
        shutil.rmtree(folder, ignore_errors=True)  # a build that failed in another worker
        folder.mkdir()
        value = build(folder)
        done.write_bytes(pickle.dumps(value))
        return value


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return built_once(tmp_path_factory, "demo", generate_demo)


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """A smaller landing zone of another seed, for tests that run the pipeline on it themselves."""
    return built_once(tmp_path_factory, "small_demo", partial(generate_demo, entities=500, days=2, seed=5))


@pytest.fixture(scope="session")
def pipeline(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One full run over the demo landing zone, shared by every test that only reads a run (any worker).
    A test that writes copies what it writes to first."""
    return built_once(tmp_path_factory, "pipeline", lambda folder: run_pipeline(folder, demo, analyse=True))


@pytest.fixture(scope="session")
def handwritten(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Run]:
    """The hand-typed landing zone (tests/fixtures/handwritten) run night by night: the first night's run
    (its warehouse kept aside) and the second's."""
    return built_once(tmp_path_factory, "handwritten", handwritten_nights)


def handwritten_nights(folder: Path) -> tuple[Run, Run]:
    """The first night without the second night's folders (no licensing at all), then the second night."""
    landing = folder / "landing"
    shutil.copytree(HANDWRITTEN, landing, ignore=shutil.ignore_patterns(SECOND_NIGHT))
    demo = Demo(landing, folder / "no_truth")
    first = run_pipeline(folder, demo)
    kept = folder / "first_night.duckdb"  # the second night replaces the published file
    shutil.copy(first.paths.warehouse, kept)
    first = dataclasses.replace(first, paths=dataclasses.replace(first.paths, warehouse=kept))
    shutil.copytree(HANDWRITTEN, landing, dirs_exist_ok=True)
    return first, run_pipeline(folder, demo)

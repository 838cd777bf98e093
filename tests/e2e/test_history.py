"""History over several nights: deliveries revealed one day at a time, one run per night, each night's
published warehouse kept; then `asof` for every night must rebuild exactly that warehouse (apart from run
ids), and the last night's incremental warehouse must equal a full rebuild from the same lake."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from assets.gold import resolved_silver
from benchmarks import nights
from pipelines.cli import EXIT_USAGE, main
from pipelines.domain import corrections, history, landing, survivorship
from pipelines.domain.resolution.resolve import resolve_entities
from pipelines.domain.settings import load
from pipelines.storage import catalog, matching
from pipelines.storage.lake import Lake
from pipelines.storage.maintenance import maintain
from tests.conftest import Run, generate_demo, run_pipeline

NOT_COMPARED = {"run_id"}


def delivery_dates(landing: Path) -> list[dt.date]:
    return sorted({d for folder in landing.glob("*/*") if (d := _date(folder.name))})


def _date(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(name)
    except ValueError:
        return None


def reveal(full: Path, landing: Path, day: dt.date) -> None:
    """Copy into `landing` the delivery folders of `day` (as if they had just arrived)."""
    for folder in full.glob(f"*/{day.isoformat()}"):
        shutil.copytree(folder, landing / folder.parent.name / folder.name)


def run_nights(
    folder: Path, seed: int, days: int
) -> tuple[list[dt.date], dict[dt.date, Path], Run, list[pl.DataFrame]]:
    """One run per delivery day, lake maintenance before the last; returns the days, a copy of each night's
    published warehouse, the last run and each night's entity_xref."""
    demo = generate_demo(folder / "demo", entities=600, days=days, seed=seed)
    landing = folder / "landing"
    published, xrefs = {}, []
    for day in (dates := delivery_dates(demo.landing)):
        reveal(demo.landing, landing, day)
        if day == dates[-1]:
            maintain(folder / "run" / "lake", retention_days=400, target_file_mib=128, run_id="maintenance")
        run = run_pipeline(folder / "run", demo, landing)
        assert_resolution_is_a_full_one(run.paths.lake)
        assert_golden_is_a_full_one(run.paths.lake)
        xrefs.append(run.delta(catalog.ENTITY_XREF).select("source", "record_key", "entity_id"))
        published[day] = folder / "published" / f"{day}.duckdb"
        published[day].parent.mkdir(exist_ok=True)
        shutil.copy(run.paths.warehouse, published[day])
    return dates, published, run, xrefs


def assert_resolution_is_a_full_one(lake_dir: Path) -> None:
    """The night's (incremental) resolution equals resolving every record again with the stored weights: the
    same entities (so the same inherited ids), methods and explained pairs."""
    lake = Lake(lake_dir)
    xref = lake.read(catalog.ENTITY_XREF).drop("run_id")
    full = resolve_entities(
        *matching.silver_records(lake),
        corrections.judgements(lake.read(catalog.CORRECTIONS)),
        xref,
        0,
        load().matching,
        matching.stored_model(lake, load().matching.priors),
    )
    assert sorted_rows(full.xref).equals(sorted_rows(xref))
    assert sorted_rows(full.pairs).equals(sorted_rows(lake.read(catalog.MATCH_PAIRS)))


def assert_golden_is_a_full_one(lake_dir: Path) -> None:
    """The night's golden record (rebuilt only where inputs changed) equals one rebuilt for every entity."""
    lake = Lake(lake_dir)
    xref = lake.read(catalog.ENTITY_XREF)
    sources = resolved_silver(lake, survivorship.SILVER_COLUMNS, xref)
    as_of = landing.as_of(lake.read(catalog.LANDING_INVENTORY))
    full = survivorship.golden(
        xref, sources["registration"], sources["licensing"], sources["district"], as_of
    )
    full = survivorship.apply_overrides(full, corrections.overrides(lake.read(catalog.CORRECTIONS)))
    assert sorted_rows(full).equals(sorted_rows(lake.read(catalog.GOLDEN_ENTITY).drop("run_id")))


def sorted_rows(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(sorted(frame.columns)).sort(pl.all(), nulls_last=True)


def tables(path: Path) -> dict[str, pl.DataFrame]:
    """Every table but lineage, without run ids, rows sorted (order is not part of the contract)."""
    with duckdb.connect(str(path), read_only=True) as db:
        names = [
            r[0]
            for r in db.sql("select table_name from duckdb_tables()").fetchall()
            if r[0] not in nights.NOT_AS_OF
        ]
        frames = {n: db.sql(f'select * from "{n}"').pl() for n in names}
    return {
        n: f.drop([c for c in f.columns if c in NOT_COMPARED]).sort(pl.all(), nulls_last=True)
        for n, f in frames.items()
    }


def assert_same_warehouse(rebuilt: Path, published: Path) -> None:
    expected, got = tables(published), tables(rebuilt)
    assert sorted(got) == sorted(expected)
    for name, frame in expected.items():
        assert got[name].columns == frame.columns, name
        assert got[name].equals(frame), f"{name}: {got[name].height} rows as of, {frame.height} published"


@pytest.mark.parametrize(
    ("seed", "days"),  # a group per seed: the two sequences may run on two workers at once
    [
        pytest.param(3, 3, marks=pytest.mark.xdist_group("history_3")),
        pytest.param(11, 2, marks=pytest.mark.xdist_group("history_11")),
    ],
)
def test_asof_rebuilds_every_night_published(tmp_path: Path, seed: int, days: int) -> None:
    dates, published, last, xrefs = run_nights(tmp_path, seed, days)
    # `make bench`'s checks of a sequence of nights (benchmarks/nights.py), here at small scale on two seeds:
    # entities whose records did not change keep their ids, and the last night's warehouse equals a full
    # rebuild. Every night also checks its resolution and golden record against full ones (run_nights).
    assert nights.id_stability(xrefs)["worst_night_share"] == 1.0
    assert nights.rebuild_check(tmp_path / "landing", tmp_path / "run", tmp_path / "rebuild")
    paths = ["--lake", str(last.paths.lake), "--warehouse", str(last.paths.warehouse)]
    for day in dates:
        out = tmp_path / "asof" / f"{day}.duckdb"
        assert main(["asof", "--date", day.isoformat(), "--out", str(out), *paths]) == 0
        assert_same_warehouse(out, published[day])
    later = tmp_path / "asof" / "later.duckdb"
    assert (
        main(["asof", "--date", (dates[-1] + dt.timedelta(days=30)).isoformat(), "--out", str(later), *paths])
        == 0
    )
    assert_same_warehouse(later, published[dates[-1]])
    before = tmp_path / "asof" / "before.duckdb"
    assert (
        main(["asof", "--date", (dates[0] - dt.timedelta(days=1)).isoformat(), "--out", str(before), *paths])
        == EXIT_USAGE
    )
    assert not before.exists()
    versions = last.delta("gold/golden_entity_history")
    assert history.problems(versions, "entity_id") == []
    issues = last.delta("gold/entity_issue_history")
    assert history.problems(issues, "issue_id") == []
    assert (
        issues["issue_id"].n_unique() == last.sql("select count(distinct issue_id) from entity_issue").item()
    )
    events = last.delta("gold/entity_event")
    assert events.filter(pl.col("event_type") == "created")["entity_id"].n_unique() >= 600
    assert events["event_id"].is_unique().all()

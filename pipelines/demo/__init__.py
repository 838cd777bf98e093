"""Demo data: deterministic synthetic source extracts of a Ningbo-like market and their ground truth.

`generate` writes the landing zone (registration, licensing, district and corrections deliveries, per
the extract contract, noise and bad input included) and a ground-truth folder saying what a correct
pipeline should conclude (true entities, record-to-entity mapping, issues, quarantine).
"""

from __future__ import annotations

import shutil
import time
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.demo import (
    bad_input,
    corrections,
    entities,
    formats,
    inspections,
    licences,
    places,
    plants,
    sources,
    timeline,
    trends,
)
from pipelines.demo import truth as ground_truth
from pipelines.demo.landing import Landing, WrittenFile
from pipelines.demo.plan import Plan
from pipelines.demo.timeline import Schedule
from pipelines.demo.truth_readme import README

LANDING_FOLDERS = ("registration", "licensing", "district", "corrections", "unknown_source")
TRUTH_FILES = (
    "entities.parquet",
    "records.parquet",
    "issues.parquet",
    "files.parquet",
    "bad_rows.parquet",
    "judgements.parquet",
    "deliveries.json",
    "README.md",
)


def generate(
    out: Path,
    truth: Path,
    entities: int,
    seed: int = 7,
    days: int = 5,
    start: date = date(2026, 11, 20),
    noise: float = 1.0,
) -> dict:
    """Write `days` deliveries for `entities` true entities into `out`, and the ground truth into `truth`.

    `noise` multiplies the rates of formatting and code noise in licence and inspection records (0: none).

    Same arguments, same bytes. Returns a summary: rows per source and delivery date, files, seconds.
    """
    began = time.perf_counter()
    plan = Plan(entities=entities, seed=seed, days=days, start=start, noise=noise)
    out, truth_dir = Path(out), Path(truth)
    _clear(out, truth_dir)
    schedule = Schedule.for_days(days)
    world = _simulate(plan, schedule)
    landing = Landing(out, plan.rng("landing"))
    sources.write_registration(landing, world.deliveries, plan.dates, schedule)
    sources.write_licensing(landing, world.deliveries, plan.dates, schedule)
    sources.write_district(landing, world.deliveries, plan.dates)
    _write_bad_files(landing, plan)
    finals = ground_truth.final_rows(landing.written)
    corrections.write(landing, world.deliveries.ent, finals, world.same_pairs, plan.as_of)
    summary = _write_truth(truth_dir, plan, schedule, world, landing, finals)
    summary["seconds"] = round(time.perf_counter() - began, 2)
    return summary


class _World:
    """What the writers and the ground truth need from the simulation (the planted cases, not their frames)."""

    def __init__(self, deliveries: timeline.Deliveries, planted: plants.Planted) -> None:
        self.deliveries = deliveries
        self.cases = planted.cases_frame()
        self.same_pairs = planted.same_pairs


def _simulate(plan: Plan, schedule: Schedule) -> _World:
    """The true population, its licences and inspections, the planted cases and the day-by-day deliveries."""
    roads = places.road_table(plan.rng("roads"))
    ent = entities.population(plan, roads)
    lic = licences.initial(plan, ent, schedule.xlsx_licensing_day)
    ent = trends.deregistration_rise(plan, ent, lic)
    insp = inspections.initial(plan, ent, lic)
    planted = plants.plant(plan, ent, lic, insp)
    ent = planted.ent
    lic = licences.later(plan, ent, planted.lic)
    insp = inspections.later(plan, ent, inspections.ordered(planted.insp))
    insp = insp.with_columns(record_no=formats.record_numbers(insp))
    return _World(timeline.run(plan, ent, lic, insp, roads, schedule), planted)


def _write_bad_files(landing: Landing, plan: Plan) -> None:
    samples = {source: landing.sample(source, 12) for source in ("registration", "licensing", "district")}
    for bad in bad_input.bad_files(samples, plan.dates):
        record = WrittenFile(
            bad.source,
            bad.delivered,
            bad.path,
            bad.name.rsplit(".", 1)[1],
            bad.encoding,
            None,
            [],
            bad.rows,
            quarantine=bad.reason,
        )
        landing.write_raw(record, bad.data)


def _clear(out: Path, truth_dir: Path) -> None:
    """Remove what an earlier run wrote (only the folders and files this generator owns)."""
    for folder in LANDING_FOLDERS:
        shutil.rmtree(out / folder, ignore_errors=True)
    for name in TRUTH_FILES:
        (truth_dir / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)


def _write_truth(
    folder: Path,
    plan: Plan,
    schedule: Schedule,
    world: _World,
    landing: Landing,
    finals: dict[str, pl.DataFrame],
) -> dict:
    ent = world.deliveries.ent
    assert ent is not None
    found = ground_truth.issues(plan, finals, ent)
    planted = ground_truth.planted_keys(world.cases, finals)
    marked = planted.with_columns(is_planted=pl.lit(True))
    found = found.join(
        marked, on=["issue_type", "source", "record_key"], how="left", maintain_order="left"
    ).with_columns(is_planted=pl.col("is_planted").fill_null(False))
    missing = planted.join(found, on=["issue_type", "source", "record_key"], how="anti")
    ground_truth.entities_table(ent, finals).write_parquet(folder / "entities.parquet")
    ground_truth.records_table(finals, ent).write_parquet(folder / "records.parquet")
    found.write_parquet(folder / "issues.parquet")
    ground_truth.files_table(landing.written).write_parquet(folder / "files.parquet")
    ground_truth.bad_rows_table(landing.written).write_parquet(folder / "bad_rows.parquet")
    ground_truth.judgements_table(landing.written, finals, ent).write_parquet(folder / "judgements.parquet")
    deliveries = _deliveries(plan, schedule, world, landing)
    ground_truth.write_json(folder / "deliveries.json", deliveries)
    (folder / "README.md").write_text(README, encoding="utf-8")
    rows: dict[str, dict[str, int]] = {}
    for w in landing.written:
        if w.delivery_date is not None and not w.quarantine:
            per_day = rows.setdefault(w.source, {})
            per_day[w.delivery_date.isoformat()] = (
                per_day.get(w.delivery_date.isoformat(), 0) + w.rows_written
            )
    return {
        "entities": plan.entities,
        "seed": plan.seed,
        "days": plan.days,
        "noise": plan.noise,
        "as_of": plan.as_of.isoformat(),
        "rows": rows,
        "files": len(landing.written),
        "issues": found.group_by("issue_type").len().sort("issue_type").rows(),
        "planted_missing": missing.height,
        "planted_missing_types": missing.group_by("issue_type", "source").len().sort("issue_type").rows(),
    }


def _deliveries(plan: Plan, schedule: Schedule, world: _World, landing: Landing) -> dict[str, object]:
    dates = [d.isoformat() for d in plan.dates]
    late = None
    if schedule.late_day is not None and schedule.late_update_day is not None:
        late = {
            "source": "licensing",
            "date": dates[schedule.late_day],
            "arrives_after": dates[schedule.late_day + 1 :],
            "updated_again_in": dates[schedule.late_update_day],
            "updated_keys": world.deliveries.late_updated_keys,
            "rule": "the later delivery date wins whatever the arrival order",
        }
    copy = next((w for w in landing.written if w.identical_of), None)
    redelivery = None
    if copy is not None and schedule.redelivery is not None:
        between = schedule.redelivery[2]
        redelivery = {
            "source": "registration",
            "original": copy.identical_of,
            "copy": copy.path,
            "changed_in_between": dates[between] if between is not None else None,
            "changed_keys": world.deliveries.redelivered_keys,
            "rule": "same bytes change nothing: the copy is ignored",
        }
    return {
        "dates": dates,
        "as_of": plan.as_of.isoformat(),
        "seed": plan.seed,
        "entities": plan.entities,
        "late_delivery": late,
        "identical_redelivery": redelivery,
        "bad_folders": [
            w.path for w in landing.written if w.quarantine in ("unknown_source", "bad_delivery_folder")
        ],
    }

"""Per-stage figures of a benchmark run, read from Dagster's own step timings, and the incremental delivery."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import dagster as dg
import polars as pl

from pipelines.domain.contract import SPECS
from pipelines.storage import catalog

STEP = pl.col("step")
STAGES = {
    "ingest (bronze deliveries)": STEP.str.ends_with("_deliveries"),
    "current state (bronze merge)": STEP.is_in(
        ["bronze__registration", "bronze__licensing", "bronze__district", "bronze__corrections"]
    ),
    "standardise + quality (silver)": STEP.is_in(
        ["silver__registration", "silver__licensing", "silver__district"]
    ),
    "resolution + golden record": STEP.is_in(["gold__entity_xref", "gold__golden_entity"]),
    "flags, corrections, tasks": STEP.is_in(
        ["gold__entity_issue", "gold__correction_log", "gold__supervision_task", "silver__corrections"]
    ),
    "publish (curated DuckDB, reports)": STEP.str.contains(r"^(curated__|reports__)")
    & (STEP != "reports__monthly_analysis"),
    "monthly analysis (HTML + PDF, all months built)": STEP == "reports__monthly_analysis",
}
ANALYSIS_MODELS = (
    "market_flow_monthly",
    "cohort_survival",
    "licence_monthly",
    "inspection_monthly",
    "district_issue_monthly",
    "source_resolution",
)
ANALYSIS_TARGET_SECONDS = 30


def run_command(landing: Path, work: Path) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", "run", "--landing", str(landing), "--lake", str(work / "lake"),
            "--warehouse", str(work / "warehouse" / "curated.duckdb"), "--dagster-home", str(work / "dagster_home")]  # fmt: skip


def _run_ids(instance: dg.DagsterInstance, latest_batch_only: bool) -> list[str]:
    """Every run of the instance, or those of the latest `entity-lakehouse run` (one batch tag)."""
    records = instance.get_run_records()
    if latest_batch_only and records:
        batch = max(records, key=lambda r: r.create_timestamp).dagster_run.tags.get("entity_lakehouse/batch")
        records = [r for r in records if r.dagster_run.tags.get("entity_lakehouse/batch") == batch]
    return [r.dagster_run.run_id for r in records]


def _step_seconds(work: Path, latest_batch_only: bool) -> pl.DataFrame:
    instance = dg.DagsterInstance.from_config(str(work / "dagster_home"))
    rows = [
        (stat.step_key, stat.start_time or 0.0, stat.end_time or 0.0)
        for run_id in _run_ids(instance, latest_batch_only)
        for stat in instance.get_run_step_stats(run_id)
    ]
    frame = pl.DataFrame(
        rows, schema={"step": pl.String, "start": pl.Float64, "end": pl.Float64}, orient="row"
    )
    return frame.with_columns(seconds=pl.col("end") - pl.col("start"))


def ingest_by_source(work: Path, latest_batch_only: bool = False, quiet: bool = False) -> list[dict]:
    """Rows delivered, loaded and quarantined per source, with the ingest step's seconds and rows/s."""
    steps = _step_seconds(work, latest_batch_only)
    log = pl.read_delta(str(work / "lake" / "bronze" / "load_log"))
    if latest_batch_only:
        log = log.filter(
            pl.col("run_id").is_in(_run_ids(dg.DagsterInstance.from_config(str(work / "dagster_home")), True))
        )
    out = []
    for source in ("registration", "licensing", "district", "corrections"):
        seconds = steps.filter(pl.col("step") == f"bronze__{source}_deliveries")["seconds"].sum()
        mine = log.filter(pl.col("source") == source)
        read = int(mine["rows_read"].sum())
        out.append(
            {
                "source": source,
                "rows_read": read,
                "rows_loaded": int(mine["rows_loaded"].sum()),
                "rows_quarantined": int(mine["rows_quarantined"].sum()),
                "seconds": round(seconds, 1),
                "rows_per_second": round(read / seconds) if seconds else None,
            }
        )
    if not quiet:
        print(pl.DataFrame(out))
    return out


def split(work: Path, latest_batch_only: bool = False) -> list[dict]:
    """Seconds per stage (the sum of its steps' durations), the other steps as `other`."""
    steps = _step_seconds(work, latest_batch_only)
    out = [
        {"stage": stage, "seconds": round(steps.filter(belongs)["seconds"].sum(), 1)}
        for stage, belongs in STAGES.items()
    ]
    staged = pl.any_horizontal(*STAGES.values())
    out.append({"stage": "other", "seconds": round(steps.filter(~staged)["seconds"].sum(), 1)})
    return out


def report(
    work: Path, truth: Path, samples: list[tuple[float, float]], latest_batch_only: bool = False
) -> list[dict]:
    """Seconds, rows/s and peak RSS per stage; rows are the stage's input records, the peak is the highest
    RSS sample taken while one of the stage's steps ran."""
    steps = _step_seconds(work, latest_batch_only)
    rows = _stage_rows(work)
    rss = pl.DataFrame(samples, schema={"at": pl.Float64, "rss_mb": pl.Float64}, orient="row")
    out = []
    for stage, belongs in STAGES.items():
        mine = steps.filter(belongs)
        seconds = mine["seconds"].sum()
        during = rss.join_where(
            mine.select("start", "end"), pl.col("at") >= pl.col("start"), pl.col("at") <= pl.col("end")
        )
        count = rows.get(stage, 0)
        out.append(
            {
                "stage": stage,
                "seconds": round(seconds, 1),
                "rows": count,
                "rows_per_second": round(count / seconds) if seconds else None,
                "peak_rss_mb": round(during["rss_mb"].max()) if during.height else None,
            }
        )
    print(pl.DataFrame(out))
    return out


def analysis(work: Path, latest_batch_only: bool = False) -> dict:
    """Seconds of each monthly analysis built (one step per month) and of the SQL models it reads."""
    steps = _step_seconds(work, latest_batch_only)
    reports = [round(s, 1) for s in steps.filter(STEP == "reports__monthly_analysis")["seconds"].to_list()]
    models = steps.filter(STEP.is_in([f"curated__{m}" for m in ANALYSIS_MODELS]))["seconds"].sum()
    worst = max(reports, default=None)
    print(
        f"monthly analysis: {reports} s per month built (target <= {ANALYSIS_TARGET_SECONDS} s: "
        f"{'met' if worst is not None and worst <= ANALYSIS_TARGET_SECONDS else 'NOT met'}); "
        f"its SQL models {models:.1f} s in the consolidation"
    )
    return {
        "report_seconds": reports,
        "model_seconds": round(models, 1),
        "target_seconds": ANALYSIS_TARGET_SECONDS,
    }


def _stage_rows(work: Path) -> dict[str, int]:
    lake = work / "lake"

    def count(table: str) -> int:
        return pl.scan_delta(str(lake / table)).select(pl.len()).collect().item()

    delivered = sum(count(catalog.deliveries(s)) for s in ("registration", "licensing", "district"))
    records = sum(count(catalog.current(s)) for s in ("registration", "licensing", "district"))
    return {
        "ingest (bronze deliveries)": delivered,
        "current state (bronze merge)": delivered,
        "standardise + quality (silver)": records,
        "resolution + golden record": records,
        "flags, corrections, tasks": count(catalog.GOLDEN_ENTITY),
        "publish (curated DuckDB, reports)": count(catalog.GOLDEN_ENTITY),
        "monthly analysis (HTML + PDF, all months built)": count(catalog.GOLDEN_ENTITY),
    }


def _incremental_folder(landing: Path, truth: Path) -> Path:
    """The day after the demo's last delivery."""
    as_of = dt.date.fromisoformat(
        json.loads((truth / "deliveries.json").read_text(encoding="utf-8"))["as_of"]
    )
    return landing / "registration" / (as_of + dt.timedelta(days=1)).isoformat()


def write_incremental_delivery(landing: Path, truth: Path, work: Path, changed: int) -> int:
    """A registration delivery (the next day) that deregisters `changed` active entities and moves them."""
    current = pl.read_delta(str(work / "lake" / "bronze" / "registration"))
    spec = SPECS["registration"]
    columns = [c for c in spec.columns if c in current.columns]
    picked = current.filter(pl.col("status").is_in(["存续", "在业", "开业"])).sort("record_key").head(changed)
    folder = _incremental_folder(landing, truth)
    picked = picked.with_columns(
        status=pl.lit("注销"),
        deregistered_on=pl.lit(folder.name),
        address=pl.col("address") + pl.lit("（迁）"),
    )
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "incremental_bench.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([spec.headers[c][0] for c in columns])
        writer.writerows(picked.select(columns).iter_rows())
    return picked.height


def remove_incremental_delivery(landing: Path, truth: Path) -> None:
    shutil.rmtree(_incremental_folder(landing, truth), ignore_errors=True)

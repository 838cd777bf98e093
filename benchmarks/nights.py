"""Nights, not only loads: the first full load, then one `entity-lakehouse run` per delivery day, each night's
deliveries revealed as if they had just landed (the demo's days: new entities, closures, moves, renamed
entities, new licences and inspections, cancelled licences, a late licensing folder, a registration file
re-delivered, steward corrections).

Per night it prints wall time, peak RSS, the rows delivered, the warehouse file size and the per-stage split;
at the end the first and last nights side by side, the median night, night N against night 2, id stability
over all nights (entities whose records did not change keep their id) and Delta file counts. With
`--maintenance-every K` the lake maintenance job's work runs before every K-th night (as the weekly job does).

Every `--keep-every` nights (and the last) the published warehouse is kept; at the end `entity-lakehouse asof`
must rebuild each kept one, table for table, and the entity and issue histories must have no overlaps.

A bench of hours can be stopped and gone on with: `--resume` with the same `--out` skips the nights it
finished (`nights.jsonl`) and runs the night it was stopped in again, as a night killed midway is started again
(its row says `resumed`, its time is not a clean night's).

`--rebuild-check` ends with the full-rebuild check: a copy of the lake loses the state that makes nights
incremental (what resolution and the golden record were last built from) and runs again, so that every step
recomputes everything from the same lake with the same stored weights; its warehouse must equal the
incremental one, every contract table row for row, apart from run ids and timestamps.

    python -m benchmarks.nights --entities 1500000 --nights 30 --seed 11 --rebuild-check
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

import duckdb
import polars as pl
from deltalake import DeltaTable

from benchmarks import measure, stages
from pipelines.demo import evaluation
from pipelines.domain import history
from pipelines.publishing import incremental
from pipelines.storage import catalog
from pipelines.storage.maintenance import maintain

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
RESULTS = "nights.jsonl"  # one line per finished night, written last: what --resume goes on from
NOT_COMPARED = {"run_id", "published_at", "built_at", "generated_at"}
STATE_TABLES = (catalog.MATCH_RECORDS, catalog.GOLDEN_INPUTS)  # what makes the next night incremental
# How the night built each model (versions read, whole or by entity): not data, and never equal in two runs.
BUILD_STATE = frozenset({incremental.STATE})
# Not data published as of a date: the night's model lineage, and the service's access summary (from its
# log, outside the lake).
NOT_AS_OF = frozenset({"column_lineage", "access_daily_summary"}) | BUILD_STATE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.nights", description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=1_500_000)
    parser.add_argument("--nights", type=int, default=30, help="incremental nights after the first load")
    parser.add_argument("--seed", type=int, default=11, help="demo seed (7 is the tuning seed)")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "bench")
    parser.add_argument("--maintenance-every", type=int, default=0, help="maintain the lake every K nights")
    parser.add_argument("--rebuild-check", action="store_true")
    parser.add_argument(
        "--resume", action="store_true", help="go on from the nights a stopped bench in --out finished"
    )
    parser.add_argument(
        "--keep-every", type=int, default=30, help="keep every K-th night's warehouse for as-of"
    )
    args = parser.parse_args(argv)
    pl.Config.set_tbl_rows(400)
    pl.Config.set_tbl_width_chars(200)
    folder = args.out / f"nights-{args.entities}-s{args.seed}-n{args.nights}"
    results = bench(args, folder)
    (folder / "results.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    held = not any(results["asof_equal"].values()) and not any(results["history_problems"].values())
    return 0 if held and results.get("rebuild_equal", True) else 1


def bench(args: argparse.Namespace, folder: Path) -> dict:
    full, truth = folder / "deliveries", folder / "ground_truth"
    if not (truth / "records.parquet").exists():
        demo = [PYTHON, "-m", "pipelines.cli", "demo", "--entities", str(args.entities), "--seed", str(args.seed),
                "--days", str(args.nights + 1), "--out", str(full), "--truth", str(truth)]  # fmt: skip
        measure.run(demo, folder / "logs" / "demo.log")
    landing, work = folder / "landing", folder / "work"
    done = finished_nights(folder) if args.resume else []
    if not done:  # a new bench: nothing of an earlier one stays
        for started in (landing, work, folder / "xref", folder / "published"):
            shutil.rmtree(started, ignore_errors=True)
        (folder / RESULTS).unlink(missing_ok=True)
    days = sorted({d.name for d in full.glob("*/*") if d.is_dir()})
    nights: list[dict] = list(done)
    kept: dict[str, Path] = {}  # as-of date -> the warehouse the last kept night of that date published
    for number, day in enumerate(days):
        if number < len(done):  # finished before the bench was stopped: its outputs are all on disk
            if (copy := folder / "published" / f"{day}.duckdb").exists():
                kept[published_on(copy)] = copy
            continue
        for delivery in full.glob(f"*/{day}"):  # a night stopped midway had copied some already
            shutil.copytree(delivery, landing / delivery.parent.name / day, dirs_exist_ok=True)
        if args.maintenance_every and number and number % args.maintenance_every == 0:
            maintain(work / "lake", retention_days=400, target_file_mib=128, run_id=f"maintenance-{day}")
        row = night(number, day, landing, work, folder, truth) | {
            "resumed": bool(done) and number == len(done)
        }
        as_of = published_on(work / "warehouse" / "curated.duckdb")
        # Two nights can share an as-of date (a folder that is not a date); `asof` answers with the later.
        if number % args.keep_every == 0 or number == len(days) - 1 or as_of in kept:
            kept[as_of] = keep(work, folder, day)
        keep_xref(work, folder, number)
        with (folder / RESULTS).open("a", encoding="utf-8") as results:  # last: the night is finished
            results.write(json.dumps(row) + "\n")
        nights.append(row)
    results = {"entities": args.entities, "seed": args.seed, "nights": nights, **summary(nights)}
    results["id_stability"] = id_stability(
        [pl.read_parquet(f) for f in sorted((folder / "xref").glob("*.parquet"))]
    )
    results["delta_files"] = file_counts(work / "lake")
    results["asof_equal"] = asof_check(work, kept)
    results["history_problems"] = history_problems(work / "lake")
    if args.rebuild_check:
        results["rebuild_equal"] = rebuild_check(landing, work, folder)
    return results


def finished_nights(folder: Path) -> list[dict]:
    """The nights an earlier, stopped bench in this folder finished (`--resume`)."""
    path = folder / RESULTS
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if line.strip()]


def keep_xref(work: Path, folder: Path, number: int) -> None:
    """The night's record-to-entity map, for id stability over all nights at the end."""
    xref = pl.read_delta(str(work / "lake" / catalog.ENTITY_XREF)).select("source", "record_key", "entity_id")
    (folder / "xref").mkdir(parents=True, exist_ok=True)
    xref.write_parquet(folder / "xref" / f"{number:03d}.parquet")


def night(number: int, day: str, landing: Path, work: Path, folder: Path, truth: Path) -> dict:
    measured = measure.run(stages.run_command(landing, work), folder / "logs" / f"night-{number:03d}.log")
    split = {s["stage"]: s["seconds"] for s in stages.split(work, latest_batch_only=True)}
    delivered = sum(s["rows_read"] for s in stages.ingest_by_source(work, latest_batch_only=True, quiet=True))
    # The warehouse file's size: a copy carried forward night after night must not keep growing.
    warehouse_mb = (work / "warehouse" / "curated.duckdb").stat().st_size / 2**20
    row = {"night": number, "day": day, "rows_delivered": delivered, "seconds": round(measured.seconds, 1),
           "peak_rss_mb": round(measured.peak_rss_mb), "warehouse_mb": round(warehouse_mb), **split}  # fmt: skip
    print(" | ".join(f"{k} {v}" for k, v in row.items()), flush=True)
    return row


def summary(nights: list[dict]) -> dict:
    table = pl.DataFrame(nights)
    print(table)
    later = [n["seconds"] for n in nights[1:]]
    if len(nights) < 3:
        return {}
    figures = {
        "first_load_seconds": nights[0]["seconds"],
        "first_load_peak_rss_mb": nights[0]["peak_rss_mb"],
        "median_night_seconds": statistics.median(later),
        "night_2_seconds": nights[2]["seconds"],
        "last_night_seconds": nights[-1]["seconds"],
        "last_over_night_2": round(nights[-1]["seconds"] / nights[2]["seconds"], 2),
        "max_night_peak_rss_mb": max(n["peak_rss_mb"] for n in nights[1:]),
    }
    print(table.filter(pl.col("night").is_in([0, 2, nights[-1]["night"]])).transpose(include_header=True))
    print(json.dumps(figures))
    return figures


def id_stability(xrefs: list[pl.DataFrame]) -> dict:
    """Over each pair of consecutive nights: entities whose records did not change that kept their id."""
    shares = [evaluation.id_stability(before, after) for before, after in zip(xrefs, xrefs[1:], strict=False)]
    kept = min((share for share, _ in shares), default=1.0)
    print(f"id stability, worst night: {kept:.4%} of unchanged entities kept their id")
    return {"worst_night_share": kept, "per_night": [s for s, _ in shares]}


def file_counts(lake: Path) -> dict[str, int]:
    counts = {
        table: len(DeltaTable(str(lake / table)).file_uris())
        for table in catalog.TABLES
        if (lake / table).exists()
    }
    print(f"Delta data files per table: max {max(counts.values())}, total {sum(counts.values())}")
    return counts


def keep(work: Path, folder: Path, day: str) -> Path:
    """A copy of the warehouse the night published (published by one rename: any copy is whole)."""
    copy = folder / "published" / f"{day}.duckdb"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(work / "warehouse" / "curated.duckdb", copy)
    return copy


def asof_check(work: Path, kept: dict[str, Path]) -> dict[str, list[str]]:
    """`entity-lakehouse asof` for each kept as-of date against the warehouse the last night of that date
    published: the tables that differ (none, when history and time travel hold)."""
    found = {}
    for date, published in kept.items():
        out = published.with_name(f"asof-{date}.duckdb")
        command = [PYTHON, "-m", "pipelines.cli", "asof", "--date", date, "--out", str(out),
                   "--lake", str(work / "lake"), "--warehouse", str(work / "warehouse" / "curated.duckdb")]  # fmt: skip
        measure.run(command, published.parent / f"asof-{date}.log")
        found[date] = compare(out, published, skip=NOT_AS_OF)
        print(
            f"asof {date} (night {published.stem}): "
            + ("equal to what that night published" if not found[date] else f"differs: {found[date]}")
        )
        out.unlink()
    return found


def published_on(warehouse: Path) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as db:
        return db.execute("select as_of_on from int_as_of").fetchone()[0].isoformat()


def history_problems(lake: Path) -> dict[str, list[str]]:
    found = {
        table: history.problems(pl.read_delta(str(lake / table)), key)
        for table, key in (
            (catalog.GOLDEN_ENTITY_HISTORY, "entity_id"),
            (catalog.ENTITY_ISSUE_HISTORY, "issue_id"),
        )
        if (lake / table).exists()
    }
    print(f"history problems: {found}")
    return found


def rebuild_check(landing: Path, work: Path, folder: Path) -> bool:
    """Run again on a copy of the lake without its incremental state; compare the two warehouses."""
    rebuilt = folder / "rebuilt"
    shutil.rmtree(rebuilt, ignore_errors=True)
    shutil.copytree(work, rebuilt)
    for table in STATE_TABLES:
        shutil.rmtree(rebuilt / "lake" / table, ignore_errors=True)
    # No warehouse to copy forward: every model is built whole.
    (rebuilt / "warehouse" / "curated.duckdb").unlink(missing_ok=True)
    measured = measure.run(stages.run_command(landing, rebuilt), folder / "logs" / "rebuild.log")
    print(
        f"full rebuild from the same lake: {measured.seconds:.1f} s, peak RSS {measured.peak_rss_mb:,.0f} MB"
    )
    differences = compare(
        work / "warehouse" / "curated.duckdb", rebuilt / "warehouse" / "curated.duckdb", skip=BUILD_STATE
    )
    for difference in differences:
        print(f"  differs: {difference}")
    print("incremental warehouse == full rebuild:", not differences)
    return not differences


def compare(left: Path, right: Path, skip: frozenset[str] = frozenset()) -> list[str]:
    """Tables whose rows differ (tables in `skip` and columns in NOT_COMPARED left out, rows in any order).
    Compared inside DuckDB, which spills to disk: two 1.5M-entity warehouses do not fit in memory as frames."""
    spill = {"memory_limit": "4GB", "temp_directory": str(left.parent / "compare.tmp")}
    with duckdb.connect(config=spill) as db:
        db.execute("attach ? as l (read_only)", [str(left)])
        db.execute("attach ? as r (read_only)", [str(right)])
        columns = {side: _columns(db, side, skip) for side in ("l", "r")}
        differ = sorted(set(columns["l"]) ^ set(columns["r"]))
        for table in sorted(set(columns["l"]) & set(columns["r"])):
            if columns["l"][table] != columns["r"][table] or _differ(db, table, columns["l"][table]):
                differ.append(table)
    return differ


def _columns(db: duckdb.DuckDBPyConnection, side: str, skip: frozenset[str]) -> dict[str, list[tuple]]:
    """Table -> its compared (column, type) pairs, in order."""
    query = (
        "select table_name, column_name, data_type from duckdb_columns() where database_name = ? "
        "order by table_name, column_index"
    )
    tables: dict[str, list[tuple]] = {}
    for table, column, kind in db.execute(query, [side]).fetchall():
        if table not in skip:
            columns = tables.setdefault(table, [])
            if column not in NOT_COMPARED:
                columns.append((column, kind))
    return tables


def _differ(db: duckdb.DuckDBPyConnection, table: str, columns: list[tuple]) -> bool:
    listed = ", ".join(f'"{c}"' for c, _ in columns)
    one_way = 'select {c} from {a}.main."{t}" except all select {c} from {b}.main."{t}"'
    query = (
        f"select count(*) from (({one_way.format(c=listed, a='l', b='r', t=table)}) "
        f"union all ({one_way.format(c=listed, a='r', b='l', t=table)}))"
    )
    return db.execute(query).fetchone()[0] > 0


if __name__ == "__main__":
    raise SystemExit(main())

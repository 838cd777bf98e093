"""Lake maintenance: compact small files, write a checkpoint, vacuum what no kept version needs.

Nightly writes leave each table one or more small files and a log entry per version. Compaction rewrites the
current snapshot into few large files (a new version with the same rows); a checkpoint lets readers skip
replaying the log; vacuum deletes files removed from the table longer ago than the retention window (and
the change data feed's files as old, which deltalake's vacuum leaves). The
window is also set as the table's log and deleted-file retention, so Delta's own log clean-up keeps every
version an as-of query may read. The caller holds the lake's writer lock: no nightly run writes meanwhile,
and readers of any kept version still find its files.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from deltalake import CommitProperties, DeltaTable

from pipelines.storage import catalog

_MIB = 1024 * 1024


@dataclass(frozen=True)
class TableReport:
    table: str
    files_before: int
    bytes_before: int
    files_after: int
    bytes_after: int
    active_files_before: int
    active_files_after: int
    vacuumed_files: int

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


def disk_usage(path: Path) -> tuple[int, int]:
    """(files, bytes) under a table's folder: data files and log entries alike."""
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def retention_properties(retention_days: int) -> dict[str, str]:
    interval = f"interval {retention_days} days"
    return {"delta.logRetentionDuration": interval, "delta.deletedFileRetentionDuration": interval}


def maintain_table(path: Path, retention_days: int, target_file_mib: int, run_id: str) -> TableReport:
    files_before, bytes_before = disk_usage(path)
    table = DeltaTable(str(path))
    active_before = len(table.file_uris())
    commit = CommitProperties(
        custom_metadata={"dagster_run_id": run_id, "entity_lakehouse.op": "maintenance"}
    )
    wanted = retention_properties(retention_days)
    if any(table.metadata().configuration.get(k) != v for k, v in wanted.items()):
        table.alter.set_table_properties(wanted, commit_properties=commit)
    if active_before > 1:
        table.optimize.compact(target_size=target_file_mib * _MIB, commit_properties=commit)
    table.create_checkpoint()
    # A vacuum that would delete nothing is skipped: it would still add two log entries.
    vacuumed = table.vacuum(retention_hours=retention_days * 24, dry_run=True)
    if vacuumed:
        table.vacuum(retention_hours=retention_days * 24, dry_run=False, commit_properties=commit)
    vacuumed = [*vacuumed, *_old_change_files(path, retention_days)]
    files_after, bytes_after = disk_usage(path)
    name = path.relative_to(path.parents[1]).as_posix()
    return TableReport(
        name,
        files_before,
        bytes_before,
        files_after,
        bytes_after,
        active_before,
        len(table.file_uris()),
        len(vacuumed),
    )


def _old_change_files(path: Path, retention_days: int) -> list[str]:
    """Delete the change data feed's files written longer ago than the window, which deltalake's vacuum
    leaves: no version an as-of query or a night's diff may read is that old."""
    cutoff = time.time() - retention_days * 86_400
    old = [f for f in (path / "_change_data").rglob("*.parquet") if f.stat().st_mtime < cutoff]
    for file in old:
        file.unlink()
    return [f.name for f in old]


def maintain(lake_root: Path, retention_days: int, target_file_mib: int, run_id: str) -> list[TableReport]:
    """Maintain every catalogued table that exists, in catalog order."""
    paths = [lake_root / t for t in catalog.TABLES if DeltaTable.is_deltatable(str(lake_root / t))]
    return [maintain_table(p, retention_days, target_file_mib, run_id) for p in paths]

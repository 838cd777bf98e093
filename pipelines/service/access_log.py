"""The append-only access log: one JSON line per request, one file per UTC day, beside the warehouse.

Outside the warehouse because the warehouse is read-only to the service and replaced by every publish; JSON
lines because an append of one short line is atomic enough for one process and DuckDB reads them directly.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import orjson

FOLDER = "access_log"


@dataclass(frozen=True)
class Entry:
    requested_at: str
    caller: str
    scope: str
    method: str
    path: str
    parameters: dict[str, str]
    status: int
    rows: int
    duration_ms: float
    client: str


def folder_for(warehouse: Path) -> Path:
    return warehouse.parent / FOLDER


class AccessLog:
    """Appends each record before its response is sent: a record is on disk (in the page cache) before the
    caller has the answer, so a stopped or killed server loses none. Measured at ~70 µs of CPU per request
    against several ms for the request itself, a background batch writer would save little and risk the
    records still queued when the process dies.

    One `write` of the whole line to a file opened with O_APPEND: Linux appends it in one piece even when
    several server processes (`serve --workers N`) write to the same day's file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    def append(self, entry: Entry) -> None:
        line = orjson.dumps(asdict(entry)) + b"\n"
        path = self.folder / f"{entry.requested_at[:10]}.jsonl"
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


# The log as a relation: every record, typed (the files are the list parameter).
READ_LOG = """read_json(?, columns = {
    requested_at: 'varchar', caller: 'varchar', scope: 'varchar', method: 'varchar', path: 'varchar',
    parameters: 'map(varchar, varchar)', status: 'integer', rows: 'bigint', duration_ms: 'double',
    client: 'varchar'
}, format = 'newline_delimited')"""

SUMMARY_SQL = f"""
select
    caller,
    any_value(scope) as scope,
    count(*) as requests,
    count(*) filter (where status >= 400) as refused,
    count(*) filter (where status = 429) as rate_limited,
    sum(rows) as rows_returned,
    min(requested_at) as first_at,
    max(requested_at) as last_at,
    round(quantile_cont(duration_ms, 0.95), 1) as p95_ms
from {READ_LOG}
where requested_at >= ? and requested_at < ?
group by caller
order by caller
"""


def summary(folder: Path, start: str = "", end: str = "9999") -> list[dict]:
    """Per caller, between two ISO timestamps (or dates): requests, refusals, rows read, latency."""
    files = log_files(folder)
    if not files:
        return []
    with duckdb.connect(":memory:") as connection:
        result = connection.execute(SUMMARY_SQL, [files, start, end])
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def log_files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.glob("*.jsonl"))

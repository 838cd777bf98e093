"""The daily access summary published into the warehouse: per UTC day, caller and scope, who read how much.

Auditors query it beside the data (`access_daily_summary`) instead of the raw log files, which stay outside
the read-only warehouse (access_log.py). It covers every day the log holds up to the publish; with no log, or
an empty one, the table is still there, typed and empty. Internal use only: no export lists it
(pipelines/publishing/data_dictionary.py exports only its own tables).

A night summarises only the days whose log file changed. The log writes each request to its UTC day's file
and only appends (a day's file is deleted when the day leaves the log, and never written again), so a day's
rows are a function of that file alone, and `log_bytes` (the size of the file they were summarised from)
tells whether it grew since. Re-reading a year of logs every night would make the publish cost the age of
the log, not the day's requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.service.access_log import READ_LOG, log_files

TABLE = "access_daily_summary"
COLUMNS = """
    day date, caller varchar, scope varchar, requests bigint, status_2xx bigint, status_3xx bigint,
    status_4xx bigint, status_5xx bigint, rate_limited bigint, rows_returned bigint, p95_ms double,
    first_at varchar, last_at varchar, log_bytes bigint
"""
DAILY_SQL = f"""
insert into main.{TABLE}
select
    cast(substr(requested_at, 1, 10) as date) as day,
    caller,
    scope,
    count(*) as requests,
    count(*) filter (where status between 200 and 299) as status_2xx,
    count(*) filter (where status between 300 and 399) as status_3xx,
    count(*) filter (where status between 400 and 499) as status_4xx,
    count(*) filter (where status >= 500) as status_5xx,
    count(*) filter (where status = 429) as rate_limited,
    coalesce(sum(rows), 0) as rows_returned,
    round(quantile_cont(duration_ms, 0.95), 1) as p95_ms,
    min(requested_at) as first_at,
    max(requested_at) as last_at,
    ? as log_bytes
from {READ_LOG}
group by all
order by day, caller, scope
"""


@dataclass(frozen=True)
class Published:
    rows: int
    days: int
    records: int  # access records summarised
    files: int
    days_read: int  # days summarised again from their files tonight


def write(connection: duckdb.DuckDBPyConnection, folder: Path) -> Published:
    """Bring the table in the connection's main schema up to the log files in `folder`: the days whose file
    is new, grew or is gone are summarised again (all of them when the table is missing or older)."""
    files = {Path(f).stem: Path(f) for f in (log_files(folder) if folder.is_dir() else [])}
    summarised = _summarised(connection)
    sizes = {day: path.stat().st_size for day, path in files.items()}
    stale = sorted(day for day in set(sizes) | set(summarised) if sizes.get(day, 0) != summarised.get(day, 0))
    if stale:
        connection.execute(f"delete from main.{TABLE} where strftime(day, '%Y-%m-%d') in ?", [stale])
    for day in stale:
        if sizes.get(day):  # read_json cannot type an empty file
            connection.execute(DAILY_SQL, [sizes[day], [str(files[day])]])
    rows, days, records = connection.execute(
        f"select count(*), count(distinct day), coalesce(sum(requests), 0) from main.{TABLE}"
    ).fetchone()
    return Published(rows, days, records, len(files), len(stale))


def _summarised(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Day -> the size of the log file its rows came from; a missing or older table is made anew (empty)."""
    columns = connection.execute(
        "select column_name from duckdb_columns() where database_name = current_database() "
        "and schema_name = 'main' and table_name = ?",
        [TABLE],
    ).fetchall()
    if ("log_bytes",) not in columns:
        connection.execute(f"create or replace table main.{TABLE} ({COLUMNS})")
        return {}
    query = f"select strftime(day, '%Y-%m-%d'), max(log_bytes) from main.{TABLE} group by day"
    return dict(connection.execute(query).fetchall())

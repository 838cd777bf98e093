"""The daily access summary published into the warehouse: per UTC day, caller and scope, who read how much.

Auditors query it beside the data (`access_daily_summary`) instead of the raw log files, which stay outside
the read-only warehouse (access_log.py). It is rebuilt whole from the log at every publish, so it covers every
day the log holds up to the publish; with no log, or an empty one, the table is still there, typed and empty.
Internal use only: no export lists it (pipelines/publishing/data_dictionary.py exports only its own tables).
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
    first_at varchar, last_at varchar
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
    max(requested_at) as last_at
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


def write(connection: duckdb.DuckDBPyConnection, folder: Path) -> Published:
    """(Re)create the table in the connection's main schema from every log file in `folder`."""
    connection.execute(f"create or replace table main.{TABLE} ({COLUMNS})")
    files = log_files(folder) if folder.is_dir() else []
    nonempty = [f for f in files if Path(f).stat().st_size > 0]  # read_json cannot type an empty file
    if nonempty:
        connection.execute(DAILY_SQL, [nonempty])
    rows, days, records = connection.execute(
        f"select count(*), count(distinct day), coalesce(sum(requests), 0) from main.{TABLE}"
    ).fetchone()
    return Published(rows, days, records, len(files))

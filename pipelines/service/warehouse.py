"""Read-only snapshots of the published warehouse file, renewed when a publish replaces it.

The pipeline publishes by writing a new file and renaming it over the old path. An open file keeps reading the
old inode, so a request that holds one snapshot sees one warehouse from start to end, while the next request
finds the new inode and opens the new file.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.publishing.service_index import DERIVED_TABLES
from pipelines.service.name_search import NameIndex, read_index

ALIAS = "published"
LOG = logging.getLogger(__name__)


class WarehouseMissing(FileNotFoundError):
    """There is no servable warehouse at the path: none published, or one without the service's tables."""


@dataclass(frozen=True)
class Snapshot:
    """One published warehouse file, open read-only; `cursor()` gives the calling thread its connection to it.

    A DuckDB connection is not safe for two threads at once, and opening one per request (plus its `use`)
    cost about a tenth of a profile's time: each server thread keeps one cursor per snapshot instead. The
    cursors go with the snapshot, so a thread never reads a newer publish through an older snapshot."""

    connection: duckdb.DuckDBPyConnection
    stamp: tuple[int, int, int]
    published_at: dt.datetime
    name_index: NameIndex
    local: threading.local = field(default_factory=threading.local, compare=False, repr=False)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = getattr(self.local, "cursor", None)
        if cursor is None:
            cursor = self.connection.cursor()
            cursor.execute(f"use {ALIAS}")  # the default schema is per connection, not per instance
            self.local.cursor = cursor
        return cursor


def _stamp(path: Path) -> tuple[int, int, int]:
    status = os.stat(path)
    return status.st_ino, status.st_mtime_ns, status.st_size


def open_snapshot(path: Path, threads: int | None = None) -> Snapshot:
    """A fresh in-memory DuckDB instance attaching the file: `duckdb.connect(path)` would hand back the cached
    instance of the replaced file (DuckDB caches instances by path), never the new publish. `threads`: DuckDB's
    worker threads (None: one per core)."""
    if not path.is_file():
        raise WarehouseMissing(f"no published warehouse at {path} (run `entity-lakehouse run` first)")
    stamp = _stamp(path)
    connection = duckdb.connect(":memory:", config={"threads": threads} if threads else {})
    connection.execute(f"attach ? as {ALIAS} (read_only)", [str(path)])
    published_at = dt.datetime.fromtimestamp(stamp[1] / 1e9, tz=dt.UTC).replace(microsecond=0)
    with connection.cursor() as cursor:
        cursor.execute(f"use {ALIAS}")
        tables = {r[0] for r in cursor.execute("select table_name from duckdb_tables()").fetchall()}
        if not tables >= set(DERIVED_TABLES):
            connection.close()
            raise WarehouseMissing(
                f"the warehouse at {path} lacks the service's tables {', '.join(DERIVED_TABLES)} (published by "
                "an older version, or only partly): `entity-lakehouse run` publishes them"
            )
        name_index = read_index(cursor)
    return Snapshot(connection, stamp, published_at, name_index)


class Warehouse:
    """The latest published snapshot. Replaced snapshots are not closed here: requests still holding one
    finish on it, and DuckDB closes it when the last reference goes."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        self.path = path
        self.threads = threads
        self._lock = threading.Lock()
        self._current = open_snapshot(path, threads)
        self._refused: tuple[int, int, int] | None = None  # a file it could not serve, not tried again

    def snapshot(self) -> Snapshot:
        try:
            stamp = _stamp(self.path)
        except FileNotFoundError:
            return self._current  # between unlink and rename of a publish: keep serving the last one
        if stamp not in (self._current.stamp, self._refused):
            with self._lock:
                if stamp not in (self._current.stamp, self._refused):
                    self._renew(stamp)
        return self._current

    def _renew(self, stamp: tuple[int, int, int]) -> None:
        try:
            self._current = open_snapshot(self.path, self.threads)
        except WarehouseMissing as missing:  # a file the service cannot serve: keep serving the last one
            self._refused = stamp
            LOG.error("%s; still serving the warehouse published at %s", missing, self._current.published_at)

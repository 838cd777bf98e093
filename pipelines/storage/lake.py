"""The Delta lake on local disk: read, write only what changed, and one writer at a time.

Every write is a single Delta commit, so a run killed half-way leaves each table at its previous or next
version, never in between; the next run recomputes from bronze and converges to the same tables. Writes
that would change nothing are skipped, so a rerun over the same deliveries adds no Delta versions.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake

if TYPE_CHECKING:
    import duckdb

# Values that may appear in a Delta predicate: dates and fixed identifiers (sources, layers), never
# delivered text. deltalake takes predicates as SQL strings, so anything else is refused.
_SAFE_PREDICATE_VALUE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

# Delta's change data feed, given to every write: a table is created with it on (an existing table keeps
# its own settings). A merge then also writes the rows it changed, so a reader of the changes between two
# versions (publishing/incremental.py) reads those rows, not every file the merge rewrote. A table created
# before 2026-12-07 has no feed: its changes are read from the files, as before.
WITH_CHANGE_FEED = {"delta.enableChangeDataFeed": "true"}


class LakeBusy(Exception):
    """Another process is writing to this lake."""


class LakeTableUnreadable(Exception):
    """A lake table's files cannot be read: restore it (Delta history) or rebuild it from bronze."""


@dataclass(frozen=True)
class Lake:
    root: Path
    run_id: str = "manual"

    def path(self, table: str) -> Path:
        return self.root / table

    def exists(self, table: str) -> bool:
        return DeltaTable.is_deltatable(str(self.path(table)))

    def version(self, table: str) -> int | None:
        return DeltaTable(str(self.path(table))).version() if self.exists(table) else None

    def scan(self, table: str) -> pl.LazyFrame:
        return pl.scan_delta(str(self.path(table)))

    def read(self, table: str, columns: list[str] | None = None) -> pl.DataFrame | None:
        """The whole table (or some columns), None if it was never written."""
        if not self.exists(table):
            return None
        frame = self.scan(table)
        try:
            return (frame.select(columns) if columns else frame).collect()
        except BaseException as error:  # the Rust readers panic (a BaseException) on a damaged file
            if not isinstance(error, Exception) and type(error).__name__ != "PanicException":
                raise
            cause = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise LakeTableUnreadable(
                f"cannot read lake table {table} ({self.path(table)}): a file is damaged or missing; reader said: {cause}"
            ) from error

    def _commit(self, operation: str, metadata: dict[str, str] | None = None) -> CommitProperties:
        return CommitProperties(
            custom_metadata={
                "dagster_run_id": self.run_id,
                "entity_lakehouse.op": operation,
                **(metadata or {}),
            }
        )

    def overwrite(
        self,
        table: str,
        frame: pl.DataFrame,
        partition_by: list[str] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> bool:
        """Replace the table's content when it differs. Returns whether a version was written. `metadata`:
        kept in the commit (`commit_metadata` reads it back)."""
        current = self.read(table)
        if current is not None and _same_rows(current, frame):
            return False
        write_deltalake(
            str(self.path(table)),
            _arrow(frame),
            mode="overwrite",
            schema_mode="overwrite",
            partition_by=partition_by,
            configuration=WITH_CHANGE_FEED,
            commit_properties=self._commit("overwrite", metadata),
        )
        return True

    def replace_slice(self, table: str, frame: pl.DataFrame, where: dict[str, str | dt.date]) -> bool:
        """Replace the rows matching `where` (column = value) with `frame`, when they differ."""
        if self.exists(table):
            old = self.scan(table).filter(*[pl.col(c) == pl.lit(v) for c, v in where.items()]).collect()
            if _same_rows(old, frame):
                return False
        else:
            write_deltalake(
                str(self.path(table)),
                _arrow(frame),
                mode="append",
                configuration=WITH_CHANGE_FEED,
                commit_properties=self._commit("create"),
            )
            return True
        write_deltalake(
            str(self.path(table)),
            _arrow(frame),
            mode="overwrite",
            predicate=predicate(where),
            schema_mode="merge",
            configuration=WITH_CHANGE_FEED,
            commit_properties=self._commit("replace_slice"),
        )
        return True

    def upsert(
        self,
        table: str,
        changes: pl.DataFrame,
        key: list[str],
        deleted: pl.DataFrame | None = None,
        metadata: dict[str, str] | None = None,
    ) -> bool:
        """Merge changed rows by key (and delete `deleted` keys) in one commit; no-op when nothing changed.
        `metadata`: kept in the commit (`commit_metadata` reads it back)."""
        deleted = deleted if deleted is not None else changes.clear().select(key)
        if not self.exists(table):
            write_deltalake(
                str(self.path(table)),
                _arrow(changes),
                mode="append",
                configuration=WITH_CHANGE_FEED,
                commit_properties=self._commit("create", metadata),
            )
            return True
        if changes.is_empty() and deleted.is_empty():
            return False
        source = pl.concat(
            [changes.with_columns(_change=pl.lit("upsert")), deleted.with_columns(_change=pl.lit("delete"))],
            how="diagonal_relaxed",
        )
        on = " AND ".join(f"t.{c} = s.{c}" for c in key)
        (
            DeltaTable(str(self.path(table)))
            .merge(
                _arrow(source),
                predicate=on,
                source_alias="s",
                target_alias="t",
                commit_properties=self._commit("merge", metadata),
            )
            .when_matched_delete(predicate="s._change = 'delete'")
            .when_matched_update_all(predicate="s._change = 'upsert'", except_cols=["_change"])
            .when_not_matched_insert_all(predicate="s._change = 'upsert'", except_cols=["_change"])
            .execute()
        )
        return True

    def insert_new(self, table: str, rows: pl.DataFrame, key: list[str]) -> int:
        """Append rows whose key is not in the table yet (append-only logs); returns how many."""
        current = self.read(table, key)
        new = rows if current is None else rows.join(current, on=key, how="anti")
        if current is None or not new.is_empty():
            write_deltalake(
                str(self.path(table)),
                _arrow(new),
                mode="append",
                configuration=WITH_CHANGE_FEED,
                commit_properties=self._commit("insert"),
            )
        return new.height

    def sync(
        self,
        table: str,
        target: pl.DataFrame,
        key: list[str],
        current: pl.DataFrame | None = None,
        metadata: dict[str, str] | None = None,
    ) -> tuple[int, int]:
        """Make the table equal `target` by merging only the rows that differ (ignoring run_id).
        Returns (rows upserted, rows deleted); writes nothing when they are equal. A table whose columns a
        new version changed is rewritten whole, in the new columns (a merge keeps the old ones).
        `current`: the table as the caller just read it, or the part of it `target` replaces (the rest is
        left as it is); None reads it whole."""
        current = self.read(table) if current is None else current
        if current is not None and set(current.columns) != set(target.columns):
            self.overwrite(table, target, metadata=metadata)
            return target.height, current.join(target.select(key), on=key, how="anti").height
        upserts, deletes = diff(target, current, key)
        self.upsert(table, upserts, key=key, deleted=deletes, metadata=metadata)
        return upserts.height, deletes.height

    def commit_metadata(self, table: str, name: str, within: int = 100) -> str | None:
        """The value of `name` in the newest of the last `within` commits that kept one (`metadata` of a
        write); None if none did (reading every commit of a long-lived table costs its age)."""
        if not self.exists(table):
            return None
        for commit in DeltaTable(str(self.path(table))).history(limit=within):
            if name in commit:
                return commit[name]
        return None

    def changed_values(self, table: str, after_version: int, column: str) -> pl.Series | None:
        """The values of `column` in the rows that the commits after `after_version` changed (Delta's change
        data feed: inserted, deleted, and both images of an update); None when the feed cannot tell (a table
        without it, or its files of that range vacuumed)."""
        current = self.version(table)
        if current is None or after_version > current:
            return None
        if after_version == current:
            return pl.Series(column, [], dtype=pl.String)
        try:
            feed = DeltaTable(str(self.path(table))).load_cdf(
                starting_version=after_version + 1, ending_version=current, columns=[column, "_change_type"]
            )
            return pl.from_arrow(pa.RecordBatchReader.from_stream(feed).read_all())[column].unique()
        except Exception:  # noqa: BLE001 - delta-rs raises several kinds for a range it cannot read
            return None

    def ensure(self, table: str, schema: dict[str, pl.DataType]) -> None:
        """Create an empty table when it does not exist yet, so that readers always find it."""
        if not self.exists(table):
            write_deltalake(
                str(self.path(table)),
                _arrow(pl.DataFrame(schema=schema)),
                mode="append",
                configuration=WITH_CHANGE_FEED,
                commit_properties=self._commit("create"),
            )

    def read_before_run(self, table: str) -> pl.DataFrame | None:
        """The table as it was before this run first wrote it (Delta time travel); None if it did not exist."""
        if not self.exists(table):
            return None
        earlier = [h["version"] for h in self.history(table) if h.get("dagster_run_id") != self.run_id]
        if not earlier:
            return None
        return pl.read_delta(str(self.path(table)), version=max(earlier))

    def history(self, table: str) -> list[dict]:
        return DeltaTable(str(self.path(table))).history() if self.exists(table) else []


def diff(
    target: pl.DataFrame, current: pl.DataFrame | None, key: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows of `target` that are new or differ from `current`, keys of `current` missing from `target`)."""
    if current is None:
        return target, target.clear().select(key)
    compared = [c for c in target.columns if c != "run_id"]

    def fingerprint(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select(*key, _hash=frame.select(compared).hash_rows())

    if set(compared) - set(current.columns):
        return target, current.select(key).join(target.select(key), on=key, how="anti")
    old = fingerprint(current.select(compared).cast(target.select(compared).schema, strict=False))
    new = fingerprint(target)
    changed = new.join(old, on=[*key, "_hash"], how="anti").select(key)
    return target.join(changed, on=key, how="semi"), old.join(new, on=key, how="anti").select(key)


def register_delta(
    connection: duckdb.DuckDBPyConnection, path: Path, layer: str, table: str, version: int | None = None
) -> None:
    """Make the current snapshot of a Delta table queryable in DuckDB as `<layer>.<table>`.

    The name lives in an in-memory catalog `<layer>`, so nothing about the lake is stored in the database
    file the connection writes (a published warehouse must not hold views of lake files that maintenance
    later removes). deltalake lists the snapshot's parquet files and DuckDB reads them with its own reader
    (its delta extension needs a download). An empty table (no files) becomes an empty typed table: DuckDB
    cannot keep a view over an in-process Arrow object, and a table with no rows must read like any other.
    `version` reads an earlier snapshot (Delta time travel), as long as maintenance has not vacuumed its files.
    """
    connection.execute(f"attach if not exists ':memory:' as {_identifier(layer)}")
    name = f"{_identifier(layer)}.{_identifier(table)}"
    delta = DeltaTable(str(path), version=version)
    files = delta.file_uris()
    if files:
        listed = ", ".join(_sql_string(f) for f in files)
        hive = "true" if delta.metadata().partition_columns else "false"
        connection.execute(
            f"create or replace view {name} as select * from "
            f"read_parquet([{listed}], union_by_name = true, hive_partitioning = {hive})"
        )
        return
    connection.register("_empty_delta_table", pa.schema(delta.schema().to_arrow()).empty_table())
    connection.execute(f"create or replace table {name} as select * from _empty_delta_table")
    connection.unregister("_empty_delta_table")


def _identifier(text: str) -> str:
    """A lake layer or table name as a DuckDB identifier (they are fixed names of ours, checked anyway)."""
    if not _IDENTIFIER.match(text):
        raise ValueError(f"not a lake table name: {text!r}")
    return f'"{text}"'


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _arrow(frame: pl.DataFrame, chunk_rows: int = 250_000) -> pa.RecordBatchReader:
    """The frame as a stream of Arrow batches with plain large_string columns (polars' string_view files
    mixed with large_string ones make pyarrow datasets, DuckDB's view of the lake, fail to compare them).
    Converted a chunk at a time, so a city-sized write never holds a second copy of every string."""
    schema = frame.head(0).to_arrow(compat_level=pl.CompatLevel.oldest()).schema

    def batches() -> Iterator[pa.RecordBatch]:
        for offset in range(0, frame.height, chunk_rows):
            yield from (
                frame.slice(offset, chunk_rows).to_arrow(compat_level=pl.CompatLevel.oldest()).to_batches()
            )

    return pa.RecordBatchReader.from_batches(schema, batches())


def predicate(where: dict[str, str | dt.date]) -> str:
    """A Delta predicate from column = value pairs whose values are dates or fixed identifiers."""
    parts = []
    for column, value in where.items():
        text = value.isoformat() if isinstance(value, dt.date) else value
        if not (_SAFE_PREDICATE_VALUE.match(column) and _SAFE_PREDICATE_VALUE.match(text)):
            raise ValueError(f"refusing an unsafe predicate value for {column!r}: {text!r}")
        parts.append(f"{column} = '{text}'")
    return " AND ".join(parts)


def _same_rows(old: pl.DataFrame, new: pl.DataFrame) -> bool:
    """Same rows in any order (compared by row hashes), ignoring the run id that every write stamps."""
    columns = sorted(set(old.columns) - {"run_id"})
    if sorted(set(new.columns) - {"run_id"}) != columns or old.height != new.height:
        return False
    if old.is_empty():
        return True
    try:
        right = new.select(columns).cast(dict(zip(columns, old.select(columns).dtypes, strict=True)))
    except pl.exceptions.PolarsError:
        return False
    return old.select(columns).hash_rows().sort().equals(right.hash_rows().sort())


_held = threading.local()


@contextmanager
def exclusive(root: Path, wait_seconds: float = 0) -> Iterator[None]:
    """Hold the lake's writer lock. Re-entrant within a thread; another process waits or gets LakeBusy."""
    key = str(root.resolve())
    held: set[str] = getattr(_held, "roots", set())
    if key in held:
        yield
        return
    root.mkdir(parents=True, exist_ok=True)
    lock_path = root / ".writer.lock"
    with open(lock_path, "a+") as handle:
        _acquire(handle, lock_path, wait_seconds)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {dt.datetime.now().isoformat(timespec='seconds')}\n")
        handle.flush()
        _held.roots = held | {key}
        try:
            yield
        finally:
            _held.roots = held
            fcntl.flock(handle, fcntl.LOCK_UN)


def _acquire(handle: TextIO, lock_path: Path, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                owner = Path(lock_path).read_text().strip() or "another process"
                raise LakeBusy(
                    f"the lake {lock_path.parent} is being written by {owner}; try again when it ends"
                ) from None
            time.sleep(0.5)

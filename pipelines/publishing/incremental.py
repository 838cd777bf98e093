"""Building a curated model by the entities whose inputs changed: copy forward, then replace rows.

A night's staging file starts as a copy of the published warehouse (storage/warehouse.py). A model whose SQL
carries the line `-- incremental by entity_id` promises that its rows of an entity depend only on input rows
of that entity (no ranking or counting across entities, nothing read by the as-of date): the rows of its
gold and curated inputs whose `entity_id` is that entity, and any rows of other inputs. For such a model the night
deletes and re-inserts the rows of the entities whose inputs changed since it was last built, running the
model's own SQL on their input rows alone; every other row stays as it was. Rows without an entity are
rebuilt when they may have changed. Any other model, any model whose change cannot be told by entity, and
one whose change touches more than WHOLE_BUILD_SHARE of its rows, is built whole.

What changed since the last build comes from the Delta log, not from a guess:
- `model_state` (published with the warehouse) records, per model, the Delta version of every lake table
  the build read and a digest of its SQL, seeds and macros;
- between that version and tonight's, the rows in the files added or removed are compared (a merge rewrites
  whole files, so most of them are the same row twice) by key and a hash of the columns the model reads
  (sql_models.lake_columns_read), and the entities of the rows that differ are taken: by their `entity_id`,
  or for a silver table by its records' entities in entity_xref (the diff of entity_xref, an input of every
  such model, adds the entities a record left);
- a curated model it reads passes on the entities it replaced tonight (`_changed_entity`, staging only).
The result equals a full build (tests/e2e/test_history.py compares every night with `asof`, which builds
every model whole). No Dagster here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from deltalake import DeltaTable
from sqlglot.errors import SqlglotError

from pipelines.domain.contract import ENTITY_SOURCES
from pipelines.publishing import seeds, sql_macros, sql_models
from pipelines.storage import catalog
from pipelines.storage.lake import WITH_CHANGE_FEED

MARKER = "-- incremental by entity_id"
STATE = "model_state"
# Staging only, dropped before the publish: the entities each model replaced tonight, and each lake table's
# changed entities between two versions (found once a night, however many models read the table). A null
# entity_id in either says that rows without an entity may have changed.
CHANGED = "_changed_entity"
LAKE_CHANGES = "_lake_change"
LAKE_DIFFED = "_lake_diffed"
STAGING_ONLY = (CHANGED, LAKE_CHANGES, LAKE_DIFFED)
XREF = catalog.ENTITY_XREF
# More changed entities than this share of a model's rows: building it whole is cheaper (and equal).
WHOLE_BUILD_SHARE = 0.2
# Layers whose `entity_id` is the entity a row belongs to. Not silver's: the corrections' entity_id is what a
# steward wrote, and entity_xref says which entity a record belongs to.
OWNED_BY_ENTITY = ("gold", sql_models.CURATED)
# Silver tables keyed by record: their rows belong to the entity entity_xref gives (source, record_key).
RECORD_SOURCES = {catalog.silver(source): source for source in ENTITY_SOURCES}
STATE_DDL = f"""
create table if not exists main.{STATE} (
    model varchar, digest varchar, versions varchar, run_id varchar, mode varchar, entities bigint
)
"""


@dataclass(frozen=True)
class Built:
    mode: str  # "rebuilt" (whole) or "replaced" (the rows of `entities` entities)
    reason: str  # why it was rebuilt whole, or what it replaced
    entities: int


class WholeBuild(Exception):
    """The change since the last build cannot be told by entity; the message says why."""


def is_incremental(sql: str) -> bool:
    return MARKER in sql.splitlines()


def input_versions(lake_dir: Path, sql: str) -> dict[str, int]:
    """`layer/table` -> the current Delta version of every lake table the model reads (and entity_xref, which
    maps silver records to entities, for an incremental model reading a silver table)."""
    tables = {
        f"{layer}/{table}"
        for layer, table in sql_models.referenced_tables(sql)
        if layer in catalog.LAKE_LAYERS
    }
    if is_incremental(sql) and tables & RECORD_SOURCES.keys():
        tables.add(XREF)
    return {
        t: DeltaTable(str(lake_dir / t)).version()
        for t in sorted(tables)
        if DeltaTable.is_deltatable(str(lake_dir / t))
    }


def digest(sql: str) -> str:
    """What besides the lake decides the model's rows: its SQL, the seeds it reads and the macros."""
    parts = [sql, sql_macros.MACRO_FILE.read_text(encoding="utf-8")]
    parts += [
        seeds.seed_path(table).read_text(encoding="utf-8")
        for layer, table in sql_models.referenced_tables(sql)
        if layer == seeds.SCHEMA
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def build(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    sql: str,
    lake_dir: Path,
    versions: dict[str, int],
    run_id: str,
) -> Built:
    """Build `main.<name>` in the connection's staging file, by entity where it can; record its state."""
    connection.execute(STATE_DDL)
    connection.execute(f"create table if not exists main.{CHANGED} (model varchar, entity_id varchar)")
    connection.execute(
        f"create table if not exists main.{LAKE_CHANGES} (tbl varchar, diff varchar, entity_id varchar)"
    )
    connection.execute(f"create table if not exists main.{LAKE_DIFFED} (tbl varchar, diff varchar)")
    state = _state(connection, name)
    if state and state["run_id"] == run_id and json.loads(state["versions"]) == versions:
        # A retried step whose build was committed: its table and its replaced entities are in place.
        return Built(state["mode"], "built earlier in this run", 0)
    connection.execute(f"delete from main.{CHANGED} where model = ?", [name])
    try:
        changed = _changed_entities(connection, name, sql, state, (lake_dir, versions, run_id))
    except WholeBuild as whole:
        connection.execute(f"create or replace table main.{name} as {sql}")
        built = Built("rebuilt", str(whole), 0)
    else:
        built = _replace(connection, name, sql, changed)
    connection.execute(f"delete from main.{STATE} where model = ?", [name])
    connection.execute(
        f"insert into main.{STATE} values (?, ?, ?, ?, ?, ?)",
        [name, digest(sql), json.dumps(versions, sort_keys=True), run_id, built.mode, built.entities],
    )
    return built


def _replace(connection: duckdb.DuckDBPyConnection, name: str, sql: str, changed: str) -> Built:
    """Delete and insert again the rows of the changed entities, and the rows without an entity if those may
    have changed (two statements: DuckDB pushes each filter down, not their disjunction)."""
    connection.execute(f"insert into main.{CHANGED} select ?, entity_id from {changed}", [name])
    count = connection.execute(f"select count(entity_id) from {changed}").fetchall()[0][0]
    wheres = [f"entity_id in (select entity_id from {changed} where entity_id is not null)"]
    if connection.execute(f"select count(*) from {changed} where entity_id is null").fetchall()[0][0]:
        wheres.append("entity_id is null")
    for where in wheres:
        # The changed entities' rows come from their input rows alone; the rows without an entity from all.
        model = _restricted(connection, sql, changed) if where == wheres[0] else sql
        connection.execute(f"delete from main.{name} where {where}")
        connection.execute(f"insert into main.{name} by name select * from ({model}) where {where}")
    without = " and the rows without an entity" if len(wheres) > 1 else ""
    return Built("replaced", f"the rows of {count} entities whose inputs changed{without}", count)


def _changed_entities(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    sql: str,
    state: dict | None,
    tonight: tuple[Path, dict[str, int], str],
) -> str:
    """A temporary table of the entities whose rows may differ from the model's last build (`state`), given
    tonight's (lake, versions read, run id); raises WholeBuild when that cannot be told."""
    lake_dir, versions, run_id = tonight
    if not is_incremental(sql):
        raise WholeBuild("not built by entity")
    if state is None or not _has_table(connection, name):
        raise WholeBuild("no earlier build in the warehouse")
    if state["digest"] != digest(sql):
        raise WholeBuild("its SQL, seeds or macros changed")
    before = json.loads(state["versions"])
    connection.execute("create or replace temp table _changed_rows (entity_id varchar)")
    for upstream in _curated_inputs(sql):
        _add_upstream(connection, upstream, state["run_id"], run_id)
    read = _columns_read(connection, sql)
    for table, version in versions.items():
        if table not in before:
            raise WholeBuild(f"it did not read {table} before")
        if before[table] != version:
            columns = read.get(table, frozenset()) if read is not None else None
            if table == XREF and columns is not None:  # also what maps records to entities
                columns = columns | {"source", "record_key", "entity_id"}
            diff = LakeDiff(table, (before[table], version), versions.get(XREF), columns)
            _add_lake_changes(connection, lake_dir, diff)
    connection.execute(
        "create or replace temp table _changed as select distinct entity_id from _changed_rows"
    )
    changed = connection.execute("select count(entity_id) from _changed").fetchall()[0][0]
    rows = connection.execute(f"select count(*) from main.{name}").fetchall()[0][0]
    if changed > WHOLE_BUILD_SHARE * rows:
        raise WholeBuild(f"{changed} entities changed, too many of {rows} rows to replace them one by one")
    return "_changed"


def _columns_read(connection: duckdb.DuckDBPyConnection, sql: str) -> dict[str, frozenset[str]] | None:
    """The columns of each lake table the model depends on (sql_models.lake_columns_read); None (every
    column) when sqlglot cannot tell."""
    schema = {f"{layer}/{table}": columns for (layer, table), columns in _inputs(connection, sql).items()}
    try:
        return sql_models.lake_columns_read(sql, schema)
    except SqlglotError:
        return None


def _restricted(connection: duckdb.DuckDBPyConnection, sql: str, changed: str) -> str:
    """The model reading only the changed entities' rows of every input that has an `entity_id` (the
    model's promise makes that its result for them); the model as it is when sqlglot cannot rewrite it."""
    keyed = frozenset(
        (layer, table)
        for (layer, table), columns in _inputs(connection, sql).items()
        if layer in OWNED_BY_ENTITY and "entity_id" in columns
    )
    try:
        return sql_models.restricted_to_entities(sql, keyed, changed)
    except SqlglotError:
        return sql


def _inputs(connection: duckdb.DuckDBPyConnection, sql: str) -> dict[tuple[str, str], list[str]]:
    """(layer, table) -> its columns, for every table the model reads."""
    inputs = {}
    for layer, table in sql_models.referenced_tables(sql):
        relation = f"main.{table}" if layer == sql_models.CURATED else f"{layer}.{table}"
        inputs[layer, table] = [row[0] for row in connection.execute(f"describe {relation}").fetchall()]
    return inputs


def _add_upstream(connection: duckdb.DuckDBPyConnection, upstream: str, last_run: str, run_id: str) -> None:
    """The entities a curated model this one reads replaced tonight; unchanged if it was last built with this
    model's last build."""
    state = _state(connection, upstream)
    if state is None:
        raise WholeBuild(f"{upstream} has no recorded build")
    if state["run_id"] == run_id:
        if state["mode"] != "replaced":
            raise WholeBuild(f"{upstream} was built whole tonight")
        connection.execute(
            f"insert into _changed_rows select entity_id from main.{CHANGED} where model = ?", [upstream]
        )
    elif state["run_id"] != last_run:
        raise WholeBuild(f"{upstream} was built in another run since")


@dataclass(frozen=True)
class LakeDiff:
    """Two versions of a lake table to compare on some of its columns (None: all); a silver table's records
    are mapped to entities through entity_xref at `xref_version`."""

    table: str
    versions: tuple[int, int]
    xref_version: int | None
    columns: frozenset[str] | None

    def name(self) -> str:
        mapped = f" by xref {self.xref_version}" if self.table in RECORD_SOURCES else ""
        compared = f" of {','.join(sorted(self.columns))}" if self.columns is not None else ""
        return f"{self.versions[0]}..{self.versions[1]}{mapped}{compared}"


def _add_lake_changes(connection: duckdb.DuckDBPyConnection, lake_dir: Path, diff: LakeDiff) -> None:
    """The entities of the rows that differ (found once a night for each table, versions and columns)."""
    keys = [diff.table, diff.name()]
    done = f"select count(*) from main.{LAKE_DIFFED} where tbl = ? and diff = ?"
    if not connection.execute(done, keys).fetchall()[0][0]:
        _diff_lake_table(connection, lake_dir, diff)
        connection.execute(f"insert into main.{LAKE_CHANGES} select ?, ?, entity_id from _entities", keys)
        connection.execute(f"insert into main.{LAKE_DIFFED} values (?, ?)", keys)
    connection.execute(
        f"insert into _changed_rows select entity_id from main.{LAKE_CHANGES} where tbl = ? and diff = ?",
        keys,
    )


def _diff_lake_table(connection: duckdb.DuckDBPyConnection, lake_dir: Path, diff: LakeDiff) -> None:
    """Fill `_entities` with the entities of the rows that changed between two versions. Delta's change data
    feed gives the rows each commit removed and added: the rows a merge changed, where the table writes the
    feed, else every row of the files a commit removed and added (a merge rewrites whole files: most are the
    same row twice). Rows are compared by key and a 64-bit hash of the columns the model reads, as many times
    as they occur (except all), so a row changed and changed back, or changed in a column the model does not
    read, changes nothing."""
    table, columns = diff.table, diff.columns
    then, now = (DeltaTable(str(lake_dir / table), version=v) for v in diff.versions)
    if then.metadata().partition_columns or now.metadata().partition_columns:
        raise WholeBuild(f"{table} is partitioned")
    schema = pa.schema(now.schema().to_arrow())
    if pa.schema(then.schema().to_arrow()) != schema:
        raise WholeBuild(f"the columns of {table} changed")
    key = "entity_id" if "entity_id" in schema.names else "record_key" if table in RECORD_SOURCES else None
    if key is None or key not in schema.names:
        raise WholeBuild(f"{table} has no entity_id and no record_key")
    hashed = [c for c in schema.names if columns is None or c in columns]
    kept = ["source", "record_key"] if table == XREF else []
    wanted = sorted({key, *hashed, *kept})
    if WITH_CHANGE_FEED.items() <= then.metadata().configuration.items():
        _load_changes(connection, now, diff.versions, wanted)
    else:  # a table created before the lake turned the feed on (delta-rs refuses some of its commits)
        _load_files(connection, then, now, wanted)
    hash_of = f"hash({', '.join(_quoted(c) for c in hashed) or 'null'})"
    extra = "".join(f", {c}" for c in kept)
    for side, added in (("_removed", "not"), ("_added", "")):
        connection.execute(
            f"create or replace temp table {side} as select {key} as k, {hash_of} as h{extra} "
            f"from _changes where {added} _change_type in ('insert', 'update_postimage')"
        )
    connection.execute(
        "create or replace temp table _diff as select distinct k from "
        f"({_both_ways('select k, h from {rows}', '_removed', '_added')})"
    )
    if key == "entity_id":
        connection.execute("create or replace temp table _entities as select k as entity_id from _diff")
        if table == XREF:  # a record that joined or left entity_xref moves to or from the rows without one
            moved = f"select count(*) from ({_both_ways('select source, record_key from {rows}', '_removed', '_added')})"
            if connection.execute(moved).fetchall()[0][0]:
                connection.execute("insert into _entities values (null)")
        return
    # A record's entity tonight (its entity before is in the diff of entity_xref, also an input, when the
    # record moved or went away); a record without one changes the rows without an entity.
    mapping = DeltaTable(str(lake_dir / XREF), version=diff.xref_version)
    xref = _rows(connection, "_xref", set(mapping.file_uris()), pa.schema(mapping.schema().to_arrow()))
    connection.execute(
        f"create or replace temp table _entities as select x.entity_id from _diff left join {xref} as x "
        "on x.record_key = _diff.k and x.source = ?",
        [RECORD_SOURCES[table]],
    )


def _load_changes(
    connection: duckdb.DuckDBPyConnection, table: DeltaTable, versions: tuple[int, int], columns: list[str]
) -> None:
    """The change feed's rows (these columns and `_change_type`) of the commits after `versions[0]` up to
    `versions[1]`, into the temp table `_changes`."""
    first, last = versions
    try:
        feed = table.load_cdf(
            starting_version=first + 1, ending_version=last, columns=[*columns, "_change_type"]
        )
        connection.register("_feed", pa.RecordBatchReader.from_stream(feed))
        connection.execute("create or replace temp table _changes as select * from _feed")
    except Exception as error:  # noqa: BLE001 - any unreadable change (a vacuumed file, a version gone)
        cause = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise WholeBuild(f"the changes of {first}..{last} cannot be read: {cause}") from error
    finally:
        connection.unregister("_feed")


def _load_files(
    connection: duckdb.DuckDBPyConnection, then: DeltaTable, now: DeltaTable, columns: list[str]
) -> None:
    """The same temp table `_changes` from the files: every row of a file one version has and the other has
    not is deleted or inserted."""
    schema = pa.schema(now.schema().to_arrow())
    old_files, new_files = set(then.file_uris()), set(now.file_uris())
    removed = _rows(connection, "_removed_files", old_files - new_files, schema)
    added = _rows(connection, "_added_files", new_files - old_files, schema)
    listed = ", ".join(_quoted(c) for c in columns)
    connection.execute(
        f"create or replace temp table _changes as select {listed}, 'delete' as _change_type from {removed} "
        f"union all select {listed}, 'insert' from {added}"
    )


def _both_ways(select: str, removed: str, added: str) -> str:
    """The rows of `select` (over `{rows}`) in one side and not in the other."""
    one, other = select.format(rows=added), select.format(rows=removed)
    return f"({one} except all {other}) union all ({other} except all {one})"


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _rows(connection: duckdb.DuckDBPyConnection, alias: str, files: set[str], schema: pa.Schema) -> str:
    """A relation of the rows of some parquet files of one table (typed and empty when there are none)."""
    if not files:
        connection.register(alias, schema.empty_table())  # columns in the schema's order
        return f"(select * from {alias})"
    if any(not Path(f).exists() for f in files):
        raise WholeBuild("an earlier version's files were vacuumed")
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in sorted(files))
    columns = ", ".join(_quoted(c) for c in schema.names)
    return f"(select {columns} from read_parquet([{listed}], union_by_name = true))"


def _curated_inputs(sql: str) -> list[str]:
    return [table for layer, table in sql_models.referenced_tables(sql) if layer == sql_models.CURATED]


def _state(connection: duckdb.DuckDBPyConnection, name: str) -> dict | None:
    rows = connection.execute(
        f"select digest, versions, run_id, mode from main.{STATE} where model = ?", [name]
    ).fetchall()
    return dict(zip(("digest", "versions", "run_id", "mode"), rows[0], strict=True)) if rows else None


def _has_table(connection: duckdb.DuckDBPyConnection, name: str) -> bool:
    query = "select count(*) from duckdb_tables() where database_name = current_database() and table_name = ?"
    return connection.execute(query, [name]).fetchall()[0][0] > 0


def changed_this_run(connection: duckdb.DuckDBPyConnection, model: str, run_id: str) -> str | None:
    """A relation of the entities `model` replaced in this run (empty when it was not built in it); None when
    it was built whole in it, or its table has no recorded build."""
    if not _has_table(connection, STATE):
        return None
    state = _state(connection, model)
    if state is None or (state["run_id"] == run_id and state["mode"] != "replaced"):
        return None
    if state["run_id"] != run_id or not _has_table(connection, CHANGED):
        return "(select cast(null as varchar) as entity_id where false)"
    return f"(select entity_id from main.{CHANGED} where model = '{model}')"


def built_before(connection: duckdb.DuckDBPyConnection, run_id: str) -> list[str]:
    """Models in the staging file that this run did not build (carried over from the last warehouse)."""
    if not _has_table(connection, STATE):
        return []
    query = f"select model from main.{STATE} where run_id <> ? and mode in ('rebuilt', 'replaced') order by 1"
    return [row[0] for row in connection.execute(query, [run_id]).fetchall()]

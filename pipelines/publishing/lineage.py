"""Column lineage: which upstream columns each curated column derives from, down to bronze.

Two halves, joined by `walk`:

1. `column_lineage(sql, schema)`: a curated model's SQL, parsed by sqlglot with the schemas of the tables it
   reads, gives each output column's (table, column) inputs (through CTEs, joins, unions, aggregates,
   windows, coalesce/case, `select *`). It follows what a value is computed from, not what filters or
   joins it: `count(*)` and literals have no input column.
2. `LAKE_LINEAGE`: silver and gold tables are built by Python (polars), which no parser reads. This map
   states, by hand, the column derivations that code implements, each naming its function. Columns of a
   Python-built table that are not listed are computed by the table's writer (`WRITERS`) from no single
   upstream column (scores, ids, sentences, run ids). Bronze is the bottom: its rows carry the delivery,
   file, sha256 and row they came from. Keep the map in step with the code it names; tests check that
   every listed column exists and every silver column is listed.

Seeds (`seed.<name>`, pipelines/seeds.py) are a bottom like bronze: the walk ends at the seed's CSV file.

No Dagster here: assets/curated.py turns the result into asset metadata and the warehouse's
`column_lineage` table.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.lineage import lineage as sqlglot_lineage

from pipelines.domain.contract import ENTITY_SOURCES, SOURCES, SPECS
from pipelines.domain.corrections import CORRECTABLE_FIELDS, DECISION
from pipelines.domain.ingest import raw_schema
from pipelines.domain.survivorship import SURVIVING_FIELDS
from pipelines.publishing import seeds, sql_models
from pipelines.storage import catalog

Column = tuple[str, str]  # (lake table "layer/table", or "curated/<model>" for another model; column)
CURATED = "curated"
_CURATED_DB = "main"  # curated models live in the warehouse's `main` schema; unqualified tables are models
# A change to this module (the parsing rules) must not reuse answers cached by an earlier version.
_THIS_MODULE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


class LineageError(ValueError):
    """The SQL names a column sqlglot cannot trace to a table (or reads a table without a schema)."""


# ------------------------------------------------------------------------------------------- from SQL


def referenced_tables(sql: str) -> list[str]:
    """`layer/table` of every table the SQL reads (`curated/x` for a model), as sql_models parses it."""
    return [f"{layer}/{name}" for layer, name in sql_models.referenced_tables(sql)]


def column_lineage(
    sql: str, schema: Mapping[str, Iterable[str]], cache: Path | None = None
) -> dict[str, list[Column]]:
    """Each output column of `sql` (in select order) -> the sorted (table, column) pairs it derives from.

    `schema`: `layer/table` -> its column names, for every table the SQL reads (needed to expand
    `select *` and to place unqualified columns). A column computed from literals alone maps to [].
    `cache`: a folder of earlier answers, one file per (SQL, schemas, sqlglot, this module) digest. Parsing
    costs seconds every night and its answer only changes when one of those does.
    """
    frozen = tuple(sorted((table, tuple(columns)) for table, columns in schema.items()))
    stored = cache / f"{_digest(sql, frozen)}.json" if cache is not None else None
    earlier = _cached(stored) if stored is not None else None
    if earlier is not None:
        return earlier
    found = {column: list(inputs) for column, inputs in _column_lineage(sql, frozen).items()}
    if stored is not None:
        stored.parent.mkdir(parents=True, exist_ok=True)
        partial = stored.with_name(f".{stored.name}.{os.getpid()}")
        partial.write_text(json.dumps(found, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, stored)  # a reader sees a whole answer or none
    return found


def _cached(stored: Path) -> dict[str, list[Column]] | None:
    if not stored.exists():
        return None
    try:
        answer = json.loads(stored.read_text(encoding="utf-8"))
    except ValueError:  # a damaged cache file is parsed again and replaced
        return None
    return {column: [tuple(c) for c in inputs] for column, inputs in answer.items()}


def _digest(sql: str, schema: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    key = json.dumps([sql, schema, sqlglot.__version__, _THIS_MODULE], ensure_ascii=False)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=256)
def _column_lineage(
    sql: str, schema: tuple[tuple[str, tuple[str, ...]], ...]
) -> dict[str, tuple[Column, ...]]:
    # sqlglot's lineage takes seconds per night for every model; the answer only changes with the SQL or
    # the schemas it reads, which nightly runs in one process (the sensor, tests) mostly repeat.
    return {column: tuple(inputs) for column, inputs in _parse_lineage(sql, dict(schema)).items()}


def _parse_lineage(sql: str, schema: Mapping[str, Iterable[str]]) -> dict[str, list[Column]]:
    missing = sorted(set(referenced_tables(sql)) - set(schema))
    if missing:
        raise LineageError(f"no schema for {', '.join(missing)}")
    nested: dict[str, dict[str, dict[str, str]]] = {}
    for table, columns in schema.items():
        layer, name = table.split("/", 1)
        # Types do not matter for lineage; sqlglot only needs the column names.
        nested.setdefault(_CURATED_DB if layer == CURATED else layer, {})[name] = {
            c: "UNKNOWN" for c in columns
        }
    nodes = sqlglot_lineage(None, sql, nested, dialect="duckdb", db=_CURATED_DB)
    result: dict[str, list[Column]] = {}
    for output, node in nodes.items():
        inputs = set()
        for leaf in node.walk():
            if leaf.downstream:
                continue
            if isinstance(leaf.source, exp.Table):
                column = sqlglot.parse_one(leaf.name, into=exp.Column, read="duckdb").name
                if column == "*":
                    raise LineageError(f"{output}: `select *` from {leaf.source.sql()} could not be expanded")
                layer = CURATED if leaf.source.db == _CURATED_DB else leaf.source.db
                inputs.add((f"{layer}/{leaf.source.name}", column))
            elif isinstance(leaf.source, exp.Placeholder):
                raise LineageError(f"{output}: cannot tell which table {leaf.name} comes from")
            # any other leaf is a literal or count(*): no input column
        result[output] = sorted(inputs)
    return result


# ------------------------------------------------------------------------------ the lake, by hand


@dataclass(frozen=True)
class Derivation:
    upstream: tuple[Column, ...]  # empty: computed by `by` from no single upstream column
    by: str  # dotted path of the function that implements it


def _rules(table: str, by: str, rules: dict[tuple[Column, ...], Iterable[str]]) -> dict[Column, Derivation]:
    """{upstream columns: the columns of `table` derived from them} -> one Derivation per column."""
    return {
        (table, column): Derivation(tuple(upstream), by)
        for upstream, columns in rules.items()
        for column in columns
    }


def _from(table: str, *columns: str) -> tuple[Column, ...]:
    return tuple((table, c) for c in columns)


def _same(upstream: str, columns: Iterable[str]) -> dict[tuple[Column, ...], tuple[str]]:
    """Columns kept (or only trimmed/cleaned) under the same name."""
    return {((upstream, c),): (c,) for c in columns}


RECORD = (
    "record_key",
    "delivery_date",
    "source_file",
    "source_row",
    "file_sha256",
)  # a record's bronze lineage
_NAME = ("name_clean", "name_key", "name_is_placeholder", "legal_form", "branch_marker")  # names.normalise
_USCC = (
    "uscc_raw",
    "uscc",
    "uscc_is_valid",
    "uscc_authority",
    "uscc_category",
    "uscc_division_code",
    "uscc_org_code",
)
_ADDRESS = ("address", "address_clean", "address_key", "address_district_code")
_PREMISES = (
    "premises_address",
    "premises_address_clean",
    "premises_address_key",
    "premises_address_district_code",
)
_PHONE = ("phone_raw", "phone", "phone_is_valid")
_DISTRICT = ("district_code", "district_code_source")  # standardise._district: first of several candidates
SOURCE_NAME = {"registration": "name", "licensing": "holder_name", "district": "name"}


def _silver() -> dict[Column, Derivation]:
    """Each silver table <- its source's bronze current state: pipelines.domain.standardise.<source>."""
    b = {s: catalog.current(s) for s in SOURCES}
    out: dict[Column, Derivation] = {}
    out |= _rules(catalog.silver("registration"), "pipelines.domain.standardise.registration", {
        **_same(b["registration"], (*RECORD, "registered_capital_wan", "established_on", "approved_on", "deregistered_on",
                                    "revoked_on", "entity_type", "business_scope", "last_annual_report_year",
                                    "in_abnormal_list", "abnormal_reason")),
        _from(b["registration"], "name"): ("name", *_NAME),
        _from(b["registration"], "uscc"): _USCC,
        _from(b["registration"], "reg_no"): ("reg_no", "reg_no_is_valid"),
        _from(b["registration"], "entity_type", "name"): ("entity_kind",),  # a branch marker in the name says branch
        _from(b["registration"], "legal_rep"): ("legal_rep", "legal_rep_clean"),
        _from(b["registration"], "registration_authority"): ("registration_authority", "authority_district_code"),
        _from(b["registration"], "status"): ("status_raw", "status"),
        _from(b["registration"], "address"): _ADDRESS,
        _from(b["registration"], "address", "registration_authority", "uscc"): _DISTRICT,
        _from(b["registration"], "phone"): _PHONE,
    })  # fmt: skip
    out |= _rules(catalog.silver("licensing"), "pipelines.domain.standardise.licensing", {
        **_same(b["licensing"], (*RECORD, "business_form", "issued_on", "valid_until", "supervising_unit")),
        _from(b["licensing"], "holder_name"): ("holder_name", *_NAME),
        _from(b["licensing"], "uscc"): _USCC,
        _from(b["licensing"], "licence_type"): ("licence_type_raw", "licence_type", "is_filing"),
        _from(b["licensing"], "legal_rep"): ("legal_rep", "legal_rep_clean"),
        _from(b["licensing"], "address"): _ADDRESS,
        _from(b["licensing"], "address", "issuer", "uscc"): _DISTRICT,
        _from(b["licensing"], "premises_address"): _PREMISES,
        _from(b["licensing"], "issuer"): ("issuer", "issuer_district_code"),
        _from(b["licensing"], "licence_status"): ("licence_status_raw", "licence_status"),
    })  # fmt: skip
    out |= _rules(catalog.silver("district"), "pipelines.domain.standardise.district", {
        **_same(b["district"], (*RECORD, "record_no", "district_file_code", "district", "inspected_on", "penalty_doc_no", "penalty_amount")),
        _from(b["district"], "name"): ("name", *_NAME),
        _from(b["district"], "uscc"): _USCC,
        _from(b["district"], "legal_rep"): ("legal_rep", "legal_rep_clean"),
        _from(b["district"], "address"): _ADDRESS,
        _from(b["district"], "address", "district_file_code", "uscc"): _DISTRICT,
        _from(b["district"], "phone"): _PHONE,
        _from(b["district"], "inspection_type"): ("inspection_type_raw", "inspection_type"),
        _from(b["district"], "result"): ("result_raw", "result"),
    })  # fmt: skip
    decision = (*DECISION, "decided_on")
    delivered = [c for c in raw_schema(SPECS["corrections"]) if c != "run_id"]  # run_id is this run's
    out |= _rules(catalog.CORRECTIONS, "pipelines.domain.corrections.validate", {
        **_same(b["corrections"], delivered),
        _from(b["corrections"], *decision): ("reason", "correction_id"),
        _from(catalog.ENTITY_ISSUE, "evidence_hash"): ("evidence_hash",),
        (*_from(catalog.ENTITY_ISSUE, "status"), *_from(catalog.GOLDEN_ENTITY, *CORRECTABLE_FIELDS),
         *_from(catalog.ENTITY_XREF, "entity_id")): ("before",),
    })  # fmt: skip
    return out


def _gold() -> dict[Column, Derivation]:
    silver = {s: catalog.silver(s) for s in (*ENTITY_SOURCES, "corrections")}
    keys = tuple((silver[s], "record_key") for s in ENTITY_SOURCES)
    steward = (silver["corrections"], "steward")
    new_value = (silver["corrections"], "new_value")  # a steward's `correct` (survivorship.apply_overrides)
    out: dict[Column, Derivation] = {}
    golden = "pipelines.domain.survivorship.golden"
    out |= _rules(catalog.GOLDEN_ENTITY, golden, {
        _from(catalog.ENTITY_XREF, "entity_id"): ("entity_id",),
        _from(silver["registration"], "record_key"): ("registration_record_key", "registration_count"),
        tuple((silver[s], "uscc") for s in ENTITY_SOURCES): ("uscc",),  # primary registration, else the majority
        _from(silver["registration"], "entity_kind"): ("entity_kind",),
        _from(silver["registration"], "established_on"): ("established_on",),
        _from(silver["registration"], "registration_authority"): ("registration_authority",),
        (*_from(silver["registration"], "status"), new_value): ("status",),
        (*_from(silver["registration"], "entity_type"), new_value): ("entity_type",),
        (*_from(silver["registration"], "record_key"), steward): ("status_source",),
        _from(silver["licensing"], "record_key"): ("licence_count",),
        _from(silver["licensing"], "licence_status", "valid_until"): ("active_licence_count",),
        _from(silver["district"], "record_key"): ("inspection_count",),
        _from(silver["district"], "inspected_on"): ("last_inspected_on",),
    })  # fmt: skip
    for field in SURVIVING_FIELDS:  # the most trusted record that has a value; provenance names it
        values = tuple((silver[s], SOURCE_NAME[s] if field == "name" else field) for s in ENTITY_SOURCES)
        out |= _rules(
            catalog.GOLDEN_ENTITY,
            golden,
            {(*values, new_value): (field,), (*keys, steward): (f"{field}_source",)},
        )
    out |= _rules(
        catalog.ENTITY_XREF, "pipelines.domain.resolution.resolve.resolve_entities", {keys: ("record_key",)}
    )
    out |= _rules(catalog.ENTITY_ISSUE, "pipelines.domain.flags.detect", {
        _from(catalog.ENTITY_XREF, "entity_id"): ("entity_id",),
        keys: ("record_key",),
    })  # fmt: skip
    out |= _rules(
        catalog.ENTITY_ISSUE,
        "pipelines.domain.issue_lifecycle.update",
        {_from(silver["corrections"], "action"): ("status",)},
    )
    logged = ("correction_id", "steward", "decided_on", "action", "issue_id", "entity_id", "field", "left_source",
              "left_key", "right_source", "right_key", "before", "comment", "source_file", "source_row")  # fmt: skip
    out |= _rules(catalog.CORRECTION_LOG, "assets.issues.correction_log", {
        **_same(silver["corrections"], logged),
        (*_from(catalog.ENTITY_ISSUE, "status"), *_from(catalog.GOLDEN_ENTITY, *CORRECTABLE_FIELDS),
         *_from(catalog.ENTITY_XREF, "entity_id")): ("after",),
    })  # fmt: skip
    out |= _rules(catalog.SUPERVISION_TASK, "pipelines.domain.alerts.tasks", {
        _from(catalog.GOLDEN_ENTITY, "entity_id"): ("entity_id",),
        _from(catalog.GOLDEN_ENTITY, "district_code"): ("district_code",),
    })  # fmt: skip
    out |= _rules(catalog.DELIVERY_METRICS, "pipelines.quality.suites.delivery_metrics", {
        tuple((silver[s], "delivery_date") for s in ENTITY_SOURCES): ("delivery_date",),
        tuple((silver[s], "uscc_is_valid") for s in ENTITY_SOURCES): ("valid_uscc_share",),
        tuple((silver[s], "district_code") for s in ENTITY_SOURCES): ("district_mapped_share",),
    })  # fmt: skip
    return out


def _bronze_current_state() -> dict[Column, Derivation]:
    """Each bronze current-state table: the latest delivered row of each record, copied whole from bronze/<source>_deliveries."""
    return {
        (catalog.current(s), c): Derivation(
            ((catalog.deliveries(s), c),), "pipelines.domain.current_state.latest_versions"
        )
        for s in SOURCES
        for c in raw_schema(SPECS[s])
    }


LAKE_LINEAGE: dict[Column, Derivation] = {**_bronze_current_state(), **_silver(), **_gold()}

# The asset that writes each Python-built table: its unlisted columns are computed there (or in what it calls).
WRITERS: dict[str, str] = {
    **{
        catalog.silver(s): "pipelines.domain.incremental.changed" for s in ENTITY_SOURCES
    },  # normaliser_version
    catalog.CORRECTIONS: "assets.corrections.corrections_validated",
    catalog.ENTITY_XREF: "assets.gold.entity_xref",
    catalog.GOLDEN_ENTITY: "assets.gold.golden_entity",
    catalog.ENTITY_ISSUE: "assets.issues.entity_issue",
    catalog.CORRECTION_LOG: "assets.issues.correction_log",
    catalog.SUPERVISION_TASK: "assets.issues.supervision_task",
    # Versions of what sql/curated/golden_entity.sql published, and the lifecycle events between them.
    catalog.GOLDEN_ENTITY_HISTORY: "assets.history.golden_entity_history",
    catalog.ENTITY_ISSUE_HISTORY: "assets.history.entity_issue_history",
    catalog.ENTITY_EVENT: "assets.history.entity_event",
    catalog.QUALITY_RESULT: "pipelines.quality.suites.quality_rows",
    catalog.DELIVERY_METRICS: "pipelines.quality.suites.delivery_metrics",
}


# ------------------------------------------------------------------------------------------- the walk


@dataclass(frozen=True)
class LineageRow:
    """One step of a curated column's lineage: `downstream` derives from `upstream` (null: from no column)."""

    model: str
    column_name: str
    depth: int  # 1: read by the model's SQL; 2, 3…: further up the lake
    downstream_table: str
    downstream_column: str
    upstream_table: str | None
    upstream_column: str | None
    derived_by: str  # the SQL file or the Python function
    path: str  # curated/<model>.<column> <- … <- upstream


Models = Mapping[str, Mapping[str, list[Column]]]  # curated model -> its `column_lineage` result


def _step(table: str, column: str, models: Models) -> Derivation | None:
    """How a column is derived; None at the bottom (bronze) or for a table or model we know nothing of."""
    layer, name = table.split("/", 1)
    if layer == CURATED:
        inputs = models.get(name, {}).get(column)
        return None if inputs is None else Derivation(tuple(inputs), _sql_file(name))
    if layer == seeds.SCHEMA:  # reference data: the walk ends at the file it is written in
        return Derivation((), seeds.seed_file(name))
    if (table, column) in LAKE_LINEAGE:
        return LAKE_LINEAGE[(table, column)]
    return Derivation((), WRITERS[table]) if table in WRITERS else None


def _sql_file(model: str) -> str:
    return f"sql/curated/{model}.sql"


def walk(model: str, direct: Mapping[str, list[Column]], models: Models | None = None) -> list[LineageRow]:
    """Every column a curated column derives from, breadth first: depth 1 from the model's SQL (`direct`,
    from `column_lineage`), then through the curated models it reads (`models`: their direct lineage) and
    the lake map, down to bronze. One row per edge (downstream <- upstream) reached; each column is followed
    from where it is first reached (its shortest depth and path). A step computed from no column ends in
    a row whose upstream is null."""
    rows = []
    for column, inputs in direct.items():
        start = (f"{CURATED}/{model}", column)
        frontier = [(start, Derivation(tuple(inputs), _sql_file(model)), _name(start))]
        seen = {start}
        depth = 0
        while frontier:
            depth += 1
            following = []
            for (table, name), derivation, path in frontier:
                if not derivation.upstream:
                    rows.append(
                        LineageRow(
                            model,
                            column,
                            depth,
                            table,
                            name,
                            None,
                            None,
                            derivation.by,
                            f"{path} ← (computed by {derivation.by})",
                        )
                    )
                for upstream in derivation.upstream:
                    step_path = f"{path} ← {_name(upstream)}"
                    rows.append(
                        LineageRow(model, column, depth, table, name, *upstream, derivation.by, step_path)
                    )
                    if upstream in seen:  # every edge is a row; each column is followed once (and cycles end)
                        continue
                    seen.add(upstream)
                    after = _step(*upstream, models or {})
                    if after is not None:
                        following.append((upstream, after, step_path))
            frontier = following
    return rows


def _name(column: Column) -> str:
    return f"{column[0]}.{column[1]}"


def summary(rows: list[LineageRow], columns: Iterable[str]) -> list[tuple[str, str, str]]:
    """Per column: (column, what the model's SQL reads, each further level `a, b ← c, d` down to bronze)."""
    out = []
    for column in columns:
        levels: dict[int, list[str]] = {}
        for row in (r for r in rows if r.column_name == column):
            if row.upstream_table is None:
                text = f"({row.downstream_column} computed by {row.derived_by})"
            else:
                text = _name((row.upstream_table, row.upstream_column))
            levels.setdefault(row.depth, []).append(text)
        first = [t for t in levels.pop(1, []) if not t.startswith("(")]
        deeper = " ← ".join(", ".join(levels[d]) for d in sorted(levels))
        if not deeper and first and all(t.split("/")[0] == "bronze" for t in first):
            deeper = "(bronze)"
        out.append((column, ", ".join(first) or "(no column: literal or count)", deeper))
    return out

"""The entity profile (归入经济主体名下) of every entity at every scope, rendered as JSON at every publish.

A profile gathers one entity's rows from up to eight tables. Read at request time, that is up to seven
statements, and DuckDB spends about 1 ms on any statement that reads a table, indexed or not: 7 ms for an open
profile and 21 ms for an internal one at 1.5M entities, which caps a 2-core server far below the service's
targets. Rendered here, set-based, a profile is one indexed lookup of one row: one table per scope
(`entity_profile_<scope>`: entity_id, uscc, district_code, body), because DuckDB uses the index only for an
equality on the indexed column alone (a second condition, `and scope = ?`, made the lookup a scan).
The bodies are stored zstd-compressed: JSON takes 7 times the room of the tables it comes from, zstd brings
it back to about the size of those tables (measured at 100k entities: +400 MB with DuckDB's default string
compression, +50 MB with zstd), for about 1 ms more to read an internal profile.

What each scope may see is decided here, once, by the table and column lists below; the service serves the
body as it is (pipelines/service/queries.py). The scope's own entity table gives the `uscc` and `district_code`
a caller is filtered by, so a district-limited key is held to the district its scope publishes.
Built from the staging file's tables after carry-over, like the indexes (service_index.py). No Dagster here.
"""

from __future__ import annotations

import duckdb

SCOPES = ("open", "partner", "internal")
PROFILE_TABLES = {scope: f"entity_profile_{scope}" for scope in SCOPES}
# Internal callers read the golden record (full legal_rep, provenance) with the registration's extra fields:
# a table of its own, built here, so that reading a search page's rows is one index lookup per row, not a join
# per row (23 ms for a page of 20 at 1.5M entities, 9 ms from one table).
INTERNAL_ENTITY = "internal_entity"
INTERNAL_ENTITY_SQL = f"""
create table main.{INTERNAL_ENTITY} as
select golden.*, shared.reg_no, shared.phone, shared.deregistered_on, shared.revoked_on,
    shared.registered_capital_wan, shared.business_scope, shared.in_abnormal_list, shared.abnormal_reason,
    shared.last_annual_report_year
from main.golden_entity as golden
left join main.shared_entity as shared on golden.entity_id = shared.entity_id
order by golden.entity_id
"""
ENTITY_SOURCE = {"open": "open_entity", "partner": "shared_entity", "internal": INTERNAL_ENTITY}
DERIVED_TABLES = (INTERNAL_ENTITY, *PROFILE_TABLES.values())
OPEN_LICENCE_COLUMNS = (
    "licence_no, entity_id, licence_type, licence_type_zh, is_filing, holder_name, uscc, district_code, "
    "issuer, issued_on, valid_until, licence_status"
)
# Partners get the published licence (holder names of 个体 withheld) and the inspection results,
# no personal data.
PARTNER_INSPECTION_COLUMNS = (
    "inspection_key, entity_id, supervising_district_code, district_code, inspected_on, inspection_type, "
    "result, penalty_doc_no, penalty_amount"
)
# Open data publishes no supervision findings (open_entity.sql): the public sees descriptive tags only;
# partners also the abnormal-list and penalty factors, which are public records; internal sees every tag.
PUBLIC_TAG_TYPES = "('industry', 'primary_industry', 'size_band')"
PARTNER_RISK_RULES = "('risk.abnormal_list', 'risk.penalised')"
TAGS = {
    "open": f"select * from entity_tag where tag_type in {PUBLIC_TAG_TYPES}",
    "partner": f"select * from entity_tag where tag_type in {PUBLIC_TAG_TYPES} or rule in {PARTNER_RISK_RULES}",
    "internal": "select * from entity_tag",
}
OPEN_ISSUE_STATUSES = "('open', 'confirmed')"
PROVENANCE_FIELDS = ("name", "address", "legal_rep", "status", "district_code")
# Profiles are rendered CHUNK entities at a time: at 1.5M entities all at once held 20 GB (the lists and their
# JSON of every entity), one chunk of 100k holds about a fifteenth of that.
CHUNK = 100_000
IN_CHUNK = "entity_id >= $low and entity_id < $high"
# Below and above every entity id (E + 9 digits): the open ends of the first and last chunk.
LOWEST, HIGHEST = "", "\uffff"
SOURCE_TABLES = (
    "golden_entity", "shared_entity", "open_entity", "licence_fact", "open_licence", "inspection_fact",
    "entity_tag", "entity_issue", "supervision_task", "record_lineage",
)  # fmt: skip


def _parts(scope: str) -> list[tuple[str, str, str, str]]:
    """(key in the profile, rows, sort order, one item) of every list the scope's profile holds, in order."""
    licences = (
        "select * from licence_fact"
        if scope == "internal"
        else f"select {OPEN_LICENCE_COLUMNS} from open_licence"
    )
    parts = [("licences", licences, "licence_no", "r")]
    if scope != "open":
        columns = "*" if scope == "internal" else PARTNER_INSPECTION_COLUMNS
        parts.append(
            (
                "inspections",
                f"select {columns} from inspection_fact",
                "inspected_on desc, inspection_key",
                "r",
            )
        )
    parts.append(("tags", TAGS[scope], "tag_type, tag", "struct_pack(tag_type, tag, tag_zh, rule, evidence)"))
    if scope == "internal":
        parts += [
            ("open_issues", f"select * exclude (run_id) from entity_issue where status in {OPEN_ISSUE_STATUSES}",
             "severity, issue_type, issue_id", "r"),
            ("tasks", "select * exclude (run_id) from supervision_task", "due_on, task_id", "r"),
            ("record_lineage", "select * from record_lineage", "source, record_key", "r"),
        ]  # fmt: skip
    return parts


def _provenance() -> str:
    """Per field: the record that supplied the published value, with its delivery file and row."""
    fields = ", ".join(
        f"{{'position': {i}, 'field': '{f}', 'value': to_json(e.{f}), 'record_ref': e.{f}_source}}"
        for i, f in enumerate(PROVENANCE_FIELDS)
    )
    return f"""part_provenance as (
    select field.entity_id, to_json(list(json_object(
        'field', field.field, 'value', field.value, 'record_ref', field.record_ref,
        'delivery_date', lineage.delivery_date, 'source_file', lineage.source_file,
        'source_row', lineage.source_row) order by field.position)) as items
    from (select e.entity_id, unnest(f, recursive := true) from entity as e, unnest([{fields}]) as u(f)) as field
    left join (select * from record_lineage where {IN_CHUNK}) as lineage
        on lineage.entity_id = field.entity_id and lineage.record_ref = field.record_ref
    group by field.entity_id
)"""


def profile_sql(scope: str) -> str:
    """The profiles at one scope of the entities with `$low <= entity_id < $high`: entity_id, uscc,
    district_code, body."""
    parts = _parts(scope)
    lists = [
        f"part_{key} as (select entity_id, to_json(list({item} order by {order})) as items "
        f"from ({rows}) as r where {IN_CHUNK} group by entity_id)"
        for key, rows, order, item in parts
    ]
    keys = [key for key, *_ in parts]
    if scope == "internal":
        lists.append(_provenance())
        keys.insert(keys.index("record_lineage"), "provenance")
    # part_<key>: a CTE named as a table (record_lineage) would hide that table from the CTEs after it
    fields = ", ".join(f"'{key}', coalesce(part_{key}.items, '[]'::json)" for key in keys)
    joins = " ".join(f"left join part_{key} using (entity_id)" for key in keys)
    ctes = ",\n".join(lists)
    return f"""
with entity as (select * from {ENTITY_SOURCE[scope]} where {IN_CHUNK}),
{ctes}
select e.entity_id, e.uscc, e.district_code,
    json_object('scope', '{scope}', 'entity', to_json(e), {fields})::varchar as body
from entity as e {joins}
"""


def build(connection: duckdb.DuckDBPyConnection) -> int:
    """Render every profile into the connection's main schema; returns the rows written. A warehouse that lacks
    a source table (a partial one) gets no profile tables, and the service says so rather than serve half."""
    present = {
        row[0]
        for row in connection.execute(
            "select table_name from duckdb_tables() where database_name = current_database()"
        ).fetchall()
    }
    for table in DERIVED_TABLES:
        connection.execute(f"drop table if exists main.{table}")
    if not present >= set(SOURCE_TABLES):
        return 0
    connection.execute(INTERNAL_ENTITY_SQL)
    connection.execute(f"create index {INTERNAL_ENTITY}__entity_id on main.{INTERNAL_ENTITY} (entity_id)")
    # Compression is chosen when a checkpoint writes a table: write everything else first, as it is.
    connection.execute("checkpoint")
    connection.execute("set force_compression = 'zstd'")
    bounds = _chunk_bounds(connection)
    try:
        for scope, table in PROFILE_TABLES.items():
            sql = profile_sql(scope)
            connection.execute(f"create table main.{table} as {sql} limit 0", {"low": "", "high": ""})
            for low, high in bounds:
                connection.execute(f"insert into main.{table} {sql}", {"low": low, "high": high})
            connection.execute("checkpoint")
    finally:
        connection.execute("reset force_compression")
    rows = 0
    for table in PROFILE_TABLES.values():
        for column in ("entity_id", "uscc"):
            connection.execute(f"create index {table}__{column} on main.{table} ({column})")
        rows += connection.execute(f"select count(*) from main.{table}").fetchone()[0]
    return rows


def _chunk_bounds(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Ranges of entity ids of about CHUNK golden entities each, together covering every id."""
    starts = connection.execute(
        "select entity_id from (select entity_id, row_number() over (order by entity_id) - 1 as n "
        f"from main.golden_entity) where n % {CHUNK} = 0 and n > 0 order by entity_id"
    ).fetchall()
    edges = [LOWEST, *(row[0] for row in starts), HIGHEST]
    return list(zip(edges, edges[1:], strict=False))

"""The one query path of the API and the officer page: search, the entity profile, indices, health.

What a scope sees is decided here, once, by the table and column lists below (every field of every endpoint):
open reads the published open-data tables (open_entity, open_licence), partner the sharing table
(shared_entity), internal the golden record itself. Every value reaches DuckDB as a `?` parameter; table and
column names come only from these constants.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from dataclasses import dataclass
from typing import Any

import duckdb

from pipelines.domain.uscc import USCC_PATTERN
from pipelines.service import name_search
from pipelines.service.keys import Caller
from pipelines.service.name_search import NameIndex

Row = dict[str, Any]

ENTITY_TABLE = {"open": "open_entity", "partner": "shared_entity", "internal": "internal_entity"}
# Internal callers read the golden record (full legal_rep, provenance) with the registration's extra fields.
INTERNAL_ENTITY = """(
    select golden.*, shared.reg_no, shared.phone, shared.deregistered_on, shared.revoked_on,
        shared.registered_capital_wan, shared.business_scope, shared.in_abnormal_list, shared.abnormal_reason,
        shared.last_annual_report_year
    from golden_entity as golden
    left join shared_entity as shared on golden.entity_id = shared.entity_id
)"""
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
TAG_TYPES = {
    "open": ("industry", "primary_industry", "size_band"),
    "partner": ("industry", "primary_industry", "size_band"),
}
PARTNER_RISK_RULES = ("risk.abnormal_list", "risk.penalised")
PROVENANCE_FIELDS = ("name", "address", "legal_rep", "status", "district_code")
OPEN_ISSUE_STATUSES = ("open", "confirmed")
STATUSES = ("active", "revoked", "deregistered", "moved_out", "cancelled", "unknown")
ENTITY_ID = re.compile(r"^E\d{9}$")


@dataclass(frozen=True)
class Search:
    q: str | None = None
    district_code: str | None = None
    status: str | None = None
    entity_type: str | None = None
    page: int = 1
    page_size: int = 20


def _rows(cursor: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[Row]:
    result = cursor.execute(sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, (_json(v) for v in row), strict=True)) for row in result.fetchall()]


def _json(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _entity_source(scope: str) -> str:
    return INTERNAL_ENTITY if scope == "internal" else ENTITY_TABLE[scope]


def _district_filter(caller: Caller, column: str) -> tuple[str, list]:
    """Rows a district-limited key may see; no condition for an unlimited key."""
    if not caller.districts:
        return "true", []
    return f"{column} in ({', '.join('?' * len(caller.districts))})", list(caller.districts)


def search(
    cursor: duckdb.DuckDBPyConnection, caller: Caller, query: Search, index: NameIndex | None = None
) -> Row:
    """Entities whose (scope-visible) name contains q or whose USCC starts with q, filtered, by entity_id.
    `index`: the snapshot's name index (None: scan every name)."""
    district, params = _district_filter(caller, "district_code")
    conditions = [district]
    if query.q:
        # contains/starts_with, not LIKE: '%' and '_' in a query are characters, not wildcards.
        sql, q_params = name_search.condition(query.q, index or NameIndex.absent())
        conditions.append(sql)
        params += q_params
    for column in ("district_code", "status", "entity_type"):
        if getattr(query, column):
            conditions.append(f"{column} = ?")
            params.append(getattr(query, column))
    source, where = _entity_source(caller.scope), " and ".join(conditions)
    offset = (query.page - 1) * query.page_size
    if query.q and index is not None and index.present:
        items, total = _page_by_ids(cursor, source, where, params, query.page_size, offset)
    else:
        total = cursor.execute(f"select count(*) from {source} where {where}", params).fetchone()[0]
        items = _rows(
            cursor,
            f"select * from {source} where {where} order by entity_id limit ? offset ?",
            [*params, query.page_size, offset],
        )
    return {"items": items, "total": total, "page": query.page, "page_size": query.page_size}


def _page_by_ids(
    cursor: duckdb.DuckDBPyConnection, source: str, where: str, params: list, size: int, offset: int
) -> tuple[list[Row], int]:
    """The page and the total of an indexed search in two narrow steps: the page's entity ids with the total
    (a window count over ids only), then each row by its ART-indexed id. One `select *` over every candidate
    would read every column of the whole table (DuckDB runs the candidate `in` as a scan, not an index
    lookup), and count and page as two statements would filter twice."""
    found = cursor.execute(
        f"select entity_id, count(*) over () from {source} where {where} order by entity_id limit ? offset ?",
        [*params, size, offset],
    ).fetchall()
    if not found:
        return [], cursor.execute(f"select count(*) from {source} where {where}", params).fetchone()[0]
    lookups = " union all ".join(f"(select * from {source} where entity_id = ?)" for _ in found)
    items = _rows(cursor, f"select * from ({lookups}) order by entity_id", [row[0] for row in found])
    return items, found[0][1]


def entity_id_for_uscc(cursor: duckdb.DuckDBPyConnection, caller: Caller, uscc: str) -> str | None:
    district, params = _district_filter(caller, "district_code")
    source = _entity_source(caller.scope)
    found = cursor.execute(
        f"select min(entity_id) from {source} where uscc = ? and {district}", [uscc, *params]
    ).fetchone()
    return found[0]


def is_uscc_text(text: str) -> bool:
    return re.match(USCC_PATTERN, text) is not None


def profile(cursor: duckdb.DuckDBPyConnection, caller: Caller, entity_id: str) -> Row | None:
    """Everything the caller's scope may see about one entity (归入经济主体名下), or None when it sees none.

    One query: the entity row and each of its lists as a scalar subquery. Seven round trips cost about seven
    times one (DuckDB's per-statement planning dominates at this size), and one statement also reads one
    consistent snapshot by construction."""
    if not ENTITY_ID.match(entity_id):
        return None
    district, district_params = _district_filter(caller, "district_code")
    lists = _profile_lists(caller.scope)
    columns = ", ".join(f"({sql}) as {name}" for name, (sql, _) in lists.items())
    params = [p for _, list_params in lists.values() for p in list_params]
    sql = (
        f"select entity, {columns} "
        f"from (select * from {_entity_source(caller.scope)} where entity_id = ? and {district}) as entity"
    )
    values = [entity_id if p is ENTITY else p for p in params]
    found = cursor.execute(sql, [*values, entity_id, *district_params]).fetchall()
    if not found:
        return None
    entity, *values = found[0]
    result: Row = {"scope": caller.scope, "entity": _convert(entity)}
    result.update(
        (name, [_convert(row) for row in value or []]) for name, value in zip(lists, values, strict=True)
    )
    if caller.scope == "internal":
        issues, tasks, lineage = result.pop("open_issues"), result.pop("tasks"), result.pop("record_lineage")
        result.update(
            {
                "open_issues": issues,
                "tasks": tasks,
                "provenance": _provenance(result["entity"], lineage),
                "record_lineage": lineage,
            }
        )
    return result


ENTITY = object()  # stands for the entity id among a profile list's parameters


def _listed(sql: str, order: str) -> str:
    """The rows of `sql` as one list of structs (NULL when there are none), in `order`."""
    return f"select list(item order by {order}) from ({sql}) as item"


def _profile_lists(scope: str) -> dict[str, tuple[str, list]]:
    """The lists of a scope's profile, in response order: name -> (scalar subquery, its parameters)."""
    lists = {"licences": _licences(scope)}
    if scope != "open":
        columns = "*" if scope == "internal" else PARTNER_INSPECTION_COLUMNS
        lists["inspections"] = (
            _listed(
                f"select {columns} from inspection_fact where entity_id = ?",
                "inspected_on desc, inspection_key",
            ),
            [ENTITY],
        )
    lists["tags"] = _tags(scope)
    if scope == "internal":
        statuses = ", ".join("?" * len(OPEN_ISSUE_STATUSES))
        issues = f"select * exclude (run_id) from entity_issue where entity_id = ? and status in ({statuses})"
        tasks = "select * exclude (run_id) from supervision_task where entity_id = ?"
        lineage = "select * from record_lineage where entity_id = ?"
        lists["open_issues"] = (
            _listed(issues, "severity, issue_type, issue_id"),
            [ENTITY, *OPEN_ISSUE_STATUSES],
        )
        lists["tasks"] = (_listed(tasks, "due_on, task_id"), [ENTITY])
        lists["record_lineage"] = (_listed(lineage, "source, record_key"), [ENTITY])
    return lists


def _licences(scope: str) -> tuple[str, list]:
    columns, table = ("*", "licence_fact") if scope == "internal" else (OPEN_LICENCE_COLUMNS, "open_licence")
    return _listed(f"select {columns} from {table} where entity_id = ?", "licence_no"), [ENTITY]


def _tags(scope: str) -> tuple[str, list]:
    sql = "select tag_type, tag, tag_zh, rule, evidence from entity_tag where entity_id = ?"
    params: list = [ENTITY]
    if scope != "internal":
        types, rules = TAG_TYPES[scope], PARTNER_RISK_RULES if scope == "partner" else ()
        allowed = [f"tag_type in ({', '.join('?' * len(types))})"]
        if rules:
            allowed.append(f"rule in ({', '.join('?' * len(rules))})")
        sql += f" and ({' or '.join(allowed)})"
        params += [*types, *rules]
    return _listed(sql, "tag_type, tag"), params


def _convert(row: dict) -> Row:
    return {name: _json(value) for name, value in row.items()}


def _provenance(entity: Row, lineage: list[Row]) -> list[Row]:
    """Per field: the record that supplied the published value, with its delivery file and row."""
    by_ref = {row["record_ref"]: row for row in lineage}
    result = []
    for field in PROVENANCE_FIELDS:
        ref = entity.get(f"{field}_source")
        record = by_ref.get(ref, {})
        result.append(
            {
                "field": field,
                "value": entity.get(field),
                "record_ref": ref,
                "delivery_date": record.get("delivery_date"),
                "source_file": record.get("source_file"),
                "source_row": record.get("source_row"),
            }
        )
    return result


def district_monthly(
    cursor: duckdb.DuckDBPyConnection,
    caller: Caller,
    district_code: str | None,
    start: dt.date | None,
    end: dt.date | None,
) -> list[Row]:
    district, params = _district_filter(caller, "district_code")
    conditions = [district]
    for condition, value in (
        ("district_code = ?", district_code),
        ("month >= ?", start),
        ("month <= ?", end),
    ):
        if value is not None:
            conditions.append(condition)
            params.append(value)
    sql = (
        f"select * from district_monthly_index where {' and '.join(conditions)} order by district_code, month"
    )
    return _rows(cursor, sql, params)


def health(cursor: duckdb.DuckDBPyConnection, published_at: dt.datetime) -> Row:
    as_of = cursor.execute("select max(delivery_date) from load_summary").fetchone()[0]
    entities = cursor.execute("select count(*) from golden_entity").fetchone()[0]
    return {
        "status": "ok",
        "as_of": _json(as_of),
        "published_at": published_at.isoformat(),
        "entities": entities,
    }

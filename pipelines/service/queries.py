"""The one query path of the API and the officer page: search, the entity profile, indices, health.

What a scope sees is decided by table and column lists, once: the profile's in
pipelines/publishing/service_profiles.py, which renders every entity's profile at every scope at publish;
a search reads the same entity tables (ENTITY_TABLE, service_profiles.ENTITY_SOURCE). Open reads the
published open-data tables (open_entity, open_licence), partner the sharing table (shared_entity), internal
the golden record itself. Every value reaches DuckDB as a `?` parameter; table and column names come only
from these constants.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from dataclasses import dataclass
from typing import Any

import duckdb
import orjson

from pipelines.domain.uscc import USCC_PATTERN
from pipelines.publishing.service_index import BIGRAM_TABLES, ENTITY_TABLE
from pipelines.publishing.service_profiles import ENTITY_SOURCE, PROFILE_TABLES
from pipelines.service import name_search
from pipelines.service.keys import Caller
from pipelines.service.name_search import NameIndex

Row = dict[str, Any]

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
    index = index or NameIndex.absent()
    source = _search_source(caller.scope, query, index)
    district, params = _district_filter(caller, "district_code")
    conditions = [district]
    if query.q and source in BIGRAM_TABLES.values():
        conditions.append("gram = ?")
        params.append(query.q)
    elif query.q:
        # contains/starts_with, not LIKE: '%' and '_' in a query are characters, not wildcards.
        sql, q_params = name_search.condition(query.q, index, caller.scope)
        conditions.append(sql)
        params += q_params
    for column in ("district_code", "status", "entity_type"):
        if getattr(query, column):
            conditions.append(f"{column} = ?")
            params.append(getattr(query, column))
    where = " and ".join(conditions)
    offset = (query.page - 1) * query.page_size
    found = cursor.execute(
        f"select entity_id, count(*) over () from {source} where {where} order by entity_id limit ? offset ?",
        [*params, query.page_size, offset],
    ).fetchall()
    if found:
        items, total = _by_ids(cursor, caller.scope, [row[0] for row in found]), found[0][1]
    else:  # a page past the end: count alone
        sql = f"select count(*) from {source} where {where}"
        items, total = [], cursor.execute(sql, params).fetchone()[0]
    return {"items": items, "total": total, "page": query.page, "page_size": query.page_size}


def _search_source(scope: str, query: Search, index: NameIndex) -> str:
    """The table a search filters: the scope's own entity table (internal: golden_entity, so the filtering
    never reads the internal join; only the page's rows do), or, for a q that is one bigram and no filter but
    the district, the scope's bigram table alone (it holds each entity's district)."""
    if query.q and name_search.bigram_only(query.q, index) and not (query.status or query.entity_type):
        return BIGRAM_TABLES[scope]
    return ENTITY_TABLE[scope]


def _by_ids(cursor: duckdb.DuckDBPyConnection, scope: str, ids: list[str]) -> list[Row]:
    """The scope's rows of these entities, in id order, each read through its ART index: DuckDB runs one
    `entity_id in (...)` as a scan of the whole table, a union of equalities as index lookups."""
    source = ENTITY_SOURCE[scope]
    lookups = " union all ".join(f"(select * from {source} where entity_id = ?)" for _ in ids)
    return _rows(cursor, f"select * from ({lookups}) order by entity_id", ids)


def is_uscc_text(text: str) -> bool:
    return re.match(USCC_PATTERN, text) is not None


def profile_body(cursor: duckdb.DuckDBPyConnection, caller: Caller, entity_id: str) -> bytes | None:
    """The profile (JSON) of an entity as the caller's scope sees it, rendered at publish
    (service_profiles.py), or None when the caller sees none. One indexed lookup of one row."""
    if not ENTITY_ID.match(entity_id):
        return None
    district, params = _district_filter(caller, "district_code")
    found = cursor.execute(
        f"select body from {PROFILE_TABLES[caller.scope]} where entity_id = ? and {district}",
        [entity_id, *params],
    ).fetchone()
    return None if found is None else found[0].encode()


def profile_body_by_uscc(cursor: duckdb.DuckDBPyConnection, caller: Caller, uscc: str) -> bytes | None:
    """The profile of the entity holding this USCC (the lowest id if several do), or None. Two lookups: with
    `order by entity_id limit 1` DuckDB scans the whole table (30 ms at 1.5M entities) instead of the index."""
    district, params = _district_filter(caller, "district_code")
    found = cursor.execute(
        f"select min(entity_id) from {PROFILE_TABLES[caller.scope]} where uscc = ? and {district}",
        [uscc, *params],
    ).fetchone()
    return None if found[0] is None else profile_body(cursor, caller, found[0])


def profile(cursor: duckdb.DuckDBPyConnection, caller: Caller, entity_id: str) -> Row | None:
    """The same profile as values, for the officer page."""
    body = profile_body(cursor, caller, entity_id)
    return None if body is None else orjson.loads(body)


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

"""Every profile at every scope, against the warehouse's own rows read table by table.

The reference below is written apart from the service (one plain query per table and entity, with the
contract's scope rules spelled out again): every entity of the service's warehouse, at every scope, must get
exactly that over HTTP. Also: a warehouse without the service's tables is refused with its reason, and a
publish of one while serving keeps the last servable warehouse.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.publishing.service_index import DERIVED_TABLES
from pipelines.service import queries
from pipelines.service.keys import Caller
from pipelines.service.warehouse import Warehouse, WarehouseMissing
from tests.service.conftest import Server

pytestmark = pytest.mark.xdist_group("service")

PUBLIC_TAGS = "tag_type in ('industry', 'primary_industry', 'size_band')"
LICENCE_COLUMNS = {
    "internal": "*",
    "partner": "licence_no, entity_id, licence_type, licence_type_zh, is_filing, holder_name, uscc, "
    "district_code, issuer, issued_on, valid_until, licence_status",
}
LICENCE_COLUMNS["open"] = LICENCE_COLUMNS["partner"]


def rows(cursor: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict[str, Any]]:
    result = cursor.execute(sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, map(plain, row), strict=True)) for row in result.fetchall()]


def plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def reference(cursor: duckdb.DuckDBPyConnection, scope: str, entity_id: str) -> dict[str, Any]:
    """What the contract says a scope's profile holds, read table by table."""
    if scope == "internal":
        entity = rows(
            cursor,
            "select g.*, s.reg_no, s.phone, s.deregistered_on, s.revoked_on, s.registered_capital_wan, "
            "s.business_scope, s.in_abnormal_list, s.abnormal_reason, s.last_annual_report_year "
            "from golden_entity g left join shared_entity s using (entity_id) where g.entity_id = ?",
            [entity_id],
        )[0]
    else:
        table = {"open": "open_entity", "partner": "shared_entity"}[scope]
        entity = rows(cursor, f"select * from {table} where entity_id = ?", [entity_id])[0]
    licence_table = "licence_fact" if scope == "internal" else "open_licence"
    profile: dict[str, Any] = {
        "scope": scope,
        "entity": entity,
        "licences": rows(
            cursor,
            f"select {LICENCE_COLUMNS[scope]} from {licence_table} where entity_id = ? order by licence_no",
            [entity_id],
        ),
    }
    if scope != "open":
        columns = "*" if scope == "internal" else (
            "inspection_key, entity_id, supervising_district_code, district_code, inspected_on, "
            "inspection_type, result, penalty_doc_no, penalty_amount"
        )  # fmt: skip
        profile["inspections"] = rows(
            cursor,
            f"select {columns} from inspection_fact where entity_id = ? "
            "order by inspected_on desc, inspection_key",
            [entity_id],
        )
    allowed = {
        "open": PUBLIC_TAGS,
        "partner": f"({PUBLIC_TAGS} or rule in ('risk.abnormal_list', 'risk.penalised'))",
        "internal": "true",
    }[scope]
    profile["tags"] = rows(
        cursor,
        "select tag_type, tag, tag_zh, rule, evidence from entity_tag "
        f"where entity_id = ? and {allowed} order by tag_type, tag",
        [entity_id],
    )
    if scope == "internal":
        profile.update(internal_parts(cursor, entity))
    return profile


def internal_parts(cursor: duckdb.DuckDBPyConnection, entity: dict[str, Any]) -> dict[str, Any]:
    entity_id = entity["entity_id"]
    lineage = rows(
        cursor, "select * from record_lineage where entity_id = ? order by source, record_key", [entity_id]
    )
    by_ref = {row["record_ref"]: row for row in lineage}
    provenance = []
    for field in ("name", "address", "legal_rep", "status", "district_code"):
        record = by_ref.get(entity[f"{field}_source"], {})
        provenance.append(
            {
                "field": field,
                "value": entity[field],
                "record_ref": entity[f"{field}_source"],
                **{k: record.get(k) for k in ("delivery_date", "source_file", "source_row")},
            }
        )
    return {
        "open_issues": rows(
            cursor,
            "select * exclude (run_id) from entity_issue where entity_id = ? "
            "and status in ('open', 'confirmed') order by severity, issue_type, issue_id",
            [entity_id],
        ),
        "tasks": rows(
            cursor,
            "select * exclude (run_id) from supervision_task where entity_id = ? order by due_on, task_id",
            [entity_id],
        ),
        "provenance": provenance,
        "record_lineage": lineage,
    }


def test_every_profile_at_every_scope_is_what_the_tables_hold(server: Server) -> None:
    with duckdb.connect(str(server.warehouse), read_only=True) as connection:
        ids = [r[0] for r in connection.execute("select entity_id from golden_entity order by 1").fetchall()]
        assert len(ids) > 500
        keys = {"open": None, "partner": server.keys.partner, "internal": server.keys.internal}
        checked = 0
        for scope, key in keys.items():
            with server.client(key) as client:
                for entity_id in ids:
                    response = client.get(f"/v1/entities/{entity_id}")
                    assert response.status_code == 200, (scope, entity_id, response.text)
                    assert response.json() == reference(connection, scope, entity_id), (scope, entity_id)
                    checked += 1
        assert checked == 3 * len(ids)
        # Every list's table has rows, so the comparison covered list contents, not only empty lists.
        for part in (
            "licence_fact", "open_licence", "inspection_fact", "entity_tag", "entity_issue",
            "supervision_task", "record_lineage",
        ):  # fmt: skip
            assert connection.execute(f"select count(*) from {part}").fetchone()[0] > 0, part


def test_the_profile_by_uscc_is_the_profile_of_the_entity_holding_it(server: Server) -> None:
    uscc, entity_id = server.sql(
        "select uscc, entity_id from golden_entity where uscc is not null order by entity_id limit 1"
    )[0]
    client = server.client(server.keys.internal)
    assert client.get(f"/v1/entities/by-uscc/{uscc}").json() == client.get(f"/v1/entities/{entity_id}").json()


def test_a_uscc_held_by_two_entities_names_the_lower_id(server: Server, tmp_path: Path) -> None:
    copy = tmp_path / "curated.duckdb"
    shutil.copy(server.warehouse, copy)
    with duckdb.connect(str(copy)) as connection:
        (low, uscc), (high, _) = connection.execute(
            "select entity_id, uscc from golden_entity where uscc is not null order by entity_id limit 2"
        ).fetchall()
        connection.execute("update golden_entity set uscc = ? where entity_id = ?", [uscc, high])
    cursor = Warehouse(copy).snapshot().cursor()
    assert queries.entity_id_for_uscc(cursor, Caller("officer", "internal"), uscc) == low


def without_service_tables(source: Path, target: Path) -> Path:
    shutil.copy(source, target)
    with duckdb.connect(str(target)) as connection:
        for table in DERIVED_TABLES:
            connection.execute(f"drop table {table}")
    return target


def test_a_warehouse_without_the_service_tables_is_refused_and_the_last_one_kept(
    server: Server, tmp_path: Path
) -> None:
    old = without_service_tables(server.warehouse, tmp_path / "old.duckdb")
    with pytest.raises(
        WarehouseMissing, match="lacks the service's tables internal_entity.*entity-lakehouse run"
    ):
        Warehouse(old)
    published = tmp_path / "curated.duckdb"
    shutil.copy(server.warehouse, published)
    warehouse = Warehouse(published)
    served = warehouse.snapshot()
    without_service_tables(server.warehouse, tmp_path / "next.duckdb").replace(published)
    assert warehouse.snapshot() is served  # refused once, not tried again on every request
    assert warehouse.snapshot() is served

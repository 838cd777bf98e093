"""The published warehouse honours the warehouse contract: its tables and columns, its vocabularies."""

from __future__ import annotations

import pytest

from tests.conftest import Run

CONTRACT = {
    "golden_entity": {
        "entity_id",
        "uscc",
        "name",
        "entity_type",
        "legal_rep",
        "address",
        "district_code",
        "status",
        "established_on",
        "registration_record_key",
        "licence_count",
        "active_licence_count",
        "last_inspected_on",
        "is_zombie",
        "issue_count",
        "name_source",
        "address_source",
        "legal_rep_source",
        "status_source",
    },
    "entity_xref": {"source", "record_key", "entity_id", "match_method", "match_score", "run_id"},
    "entity_issue": {
        "issue_id",
        "entity_id",
        "source",
        "record_key",
        "issue_type",
        "severity",
        "detail",
        "evidence",
        "first_detected_on",
        "status",
    },
    "quality_result": {"source", "delivery_date", "expectation", "success", "observed_value"},
    "quarantine": {"source", "file", "row", "reason"},
}
ISSUE_TYPES = {
    "zombie.deregistered_with_active_licence",
    "zombie.unreachable",
    "zombie.no_annual_report",
    "zombie.ceased_operating",
    "zombie.orphan_licence",
    "inconsistent.name",
    "inconsistent.legal_rep",
    "inconsistent.address",
    "inconsistent.district",
    "invalid.uscc",
    "expired_licence.still_operating",
    "duplicate.registration",
}


@pytest.mark.parametrize("table", sorted(CONTRACT))
def test_published_tables_have_the_contract_columns(pipeline: Run, table: str) -> None:
    columns = set(pipeline.sql(f"select * from {table} limit 0").columns)
    assert CONTRACT[table] <= columns, CONTRACT[table] - columns


def test_published_values_stay_in_the_contract_vocabularies(pipeline: Run) -> None:
    golden = pipeline.sql("select status, district_code from golden_entity")
    assert set(golden["status"]) <= {"active", "revoked", "deregistered", "moved_out", "cancelled", "unknown"}
    assert golden["district_code"].drop_nulls().str.contains(r"^\d{6}$").all()
    xref = pipeline.sql("select source, match_method, match_score from entity_xref")
    assert set(xref["source"]) == {"registration", "licensing", "district"}
    assert set(xref["match_method"]) <= {"uscc", "fuzzy", "judgement", "singleton"}
    scored = xref.filter(xref["match_method"].is_in(["uscc", "singleton"]))
    assert scored["match_score"].null_count() == scored.height
    fuzzy = xref.filter(xref["match_method"] == "fuzzy")["match_score"]
    assert fuzzy.is_not_null().all() and fuzzy.is_between(0, 1).all()
    issues = pipeline.sql("select issue_type, severity, status from entity_issue")
    assert set(issues["issue_type"]) == ISSUE_TYPES
    assert set(issues["severity"]) <= {"high", "medium", "low"}
    assert set(issues["status"]) <= {"open", "confirmed", "dismissed", "corrected", "resolved"}
    zombies = pipeline.sql("select count(*) as n from golden_entity where is_zombie")["n"].item()
    assert (
        zombies
        == pipeline.sql(
            "select count(distinct entity_id) as n from entity_issue where issue_type like 'zombie.%' and status in ('open', 'confirmed')"
        )["n"].item()
    )

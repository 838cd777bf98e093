"""Each issue type fires on a crafted minimal case and stays silent on its formatting-only twin."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipelines.domain import survivorship
from pipelines.domain.flags import Sources, detect
from pipelines.domain.settings import load
from tests.factories import silver, valid_uscc

AS_OF = dt.date(2026, 11, 20)
CODE = valid_uscc("91330212MA2AB1234")


def registration(**changes: str) -> dict:
    row = dict(
        record_key="R1",
        uscc=CODE,
        name="宁波市鄞州区甬兴餐饮管理有限公司",
        entity_type="有限责任公司（自然人投资或控股）",
        legal_rep="陈国华",
        established_on="2015-03-01",
        status="存续",
        address="宁波市鄞州区钟公庙街道天童南路100号",
        registration_authority="宁波市鄞州区市场监督管理局",
        last_annual_report_year="2025",
        in_abnormal_list="否",
    )
    row.update(changes)
    return row


def licence(**changes: str) -> dict:
    row = dict(
        record_key="JY1",
        licence_type="食品经营许可",
        holder_name="宁波市鄞州区甬兴餐饮管理有限公司",
        uscc=CODE,
        legal_rep="陈国华",
        address="宁波市鄞州区钟公庙街道天童南路100号",
        issued_on="2022-05-01",
        valid_until="2027-04-30",
        licence_status="有效",
    )
    row.update(changes)
    return row


def inspection(**changes: str) -> dict:
    row = dict(
        record_no="1",
        district_file_code="330212",
        name="宁波市鄞州区甬兴餐饮管理有限公司",
        uscc=CODE,
        legal_rep="陈国华",
        address="宁波市鄞州区天童南路100号",
        inspected_on="2026-06-01",
        inspection_type="日常检查",
        result="符合",
    )
    row.update(changes)
    return row


def issues(
    registrations: list[dict],
    licences: list[dict],
    inspections: list[dict],
    entity: dict[str, str] | None = None,
) -> pl.DataFrame:
    """Detect issues when every record belongs to entity E1 unless `entity` maps its key elsewhere."""
    entity = entity or {}

    def with_entity(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(entity_id=pl.col("record_key").replace_strict(entity, default="E1"))

    reg, lic, insp = (
        with_entity(silver(s, rows))
        for s, rows in (("registration", registrations), ("licensing", licences), ("district", inspections))
    )
    xref = pl.concat([f.select("entity_id") for f in (reg, lic, insp)])
    golden = survivorship.golden(xref, reg, lic, insp, AS_OF)
    return detect(Sources(reg, lic, insp, golden, AS_OF, load().rules))


def types(found: pl.DataFrame) -> set[str]:
    return set(found["issue_type"])


FORMATTING_TWINS = [
    licence(
        holder_name="寧波甬興餐飲管理有限責任公司", legal_rep=" 陈 国 华 ", address="鄞州区天童南路１００號"
    ),
    licence(holder_name="甬兴餐饮管理有限公司", address="浙江省宁波市鄞州区天童南路100号"),
]


@pytest.mark.parametrize("twin", FORMATTING_TWINS)
def test_formatting_only_differences_never_flag(twin: dict) -> None:
    assert (
        types(
            issues(
                [registration()],
                [twin],
                [inspection(name="甬兴餐饮管理（宁波）有限公司", uscc=" " + CODE.lower())],
            )
        )
        == set()
    )


CASES = {
    "zombie.deregistered_with_active_licence": (
        [registration(status="注销", deregistered_on="2026-01-01")],
        [licence()],
        [],
    ),
    "zombie.unreachable": (
        [registration(in_abnormal_list="是", abnormal_reason="通过登记的住所或者经营场所无法联系")],
        [],
        [],
    ),
    "zombie.no_annual_report": ([registration(last_annual_report_year="2023")], [], []),
    "zombie.ceased_operating": ([registration()], [], [inspection(result="已歇业")]),
    "zombie.orphan_licence": ([], [licence()], []),
    "inconsistent.name": ([registration()], [licence(holder_name="宁波市鄞州区甬盛餐饮管理有限公司")], []),
    "inconsistent.legal_rep": ([registration()], [licence(legal_rep="李明")], []),
    "inconsistent.address": ([registration()], [licence(address="宁波市鄞州区首南街道日丽中路8号")], []),
    "inconsistent.district": ([registration()], [], [inspection(record_no="9", district_file_code="330203")]),
    "invalid.uscc": ([registration()], [licence(uscc=CODE[:-1] + ("0" if CODE[-1] != "0" else "1"))], []),
    "expired_licence.still_operating": (
        [registration()],
        [licence(valid_until="2026-01-31")],
        [inspection(inspected_on="2026-03-01")],
    ),
    "duplicate.registration": (
        [registration(), registration(record_key="R2", uscc="", reg_no="330212000123456")],
        [],
        [],
    ),
}


@pytest.mark.parametrize("issue_type", sorted(CASES))
def test_each_issue_type_fires_on_its_minimal_case(issue_type: str) -> None:
    found = issues(*CASES[issue_type])
    assert issue_type in types(found)
    row = found.filter(pl.col("issue_type") == issue_type).row(0, named=True)
    assert row["detail"] and row["evidence"].startswith("{") and row["severity"] in {"high", "medium", "low"}


def test_a_clean_entity_has_no_issue() -> None:
    assert types(issues([registration()], [licence()], [inspection()])) == set()


def test_the_no_annual_report_window_follows_the_filing_deadline() -> None:
    assert "zombie.no_annual_report" not in types(
        issues([registration(last_annual_report_year="2024")], [], [])
    )
    young = registration(last_annual_report_year="", established_on="2025-06-01")
    assert "zombie.no_annual_report" not in types(issues([young], [], []))


def test_an_unnamed_individual_business_is_never_name_inconsistent() -> None:
    unnamed = registration(name="*", entity_type="个体工商户")
    assert "inconsistent.name" not in types(issues([unnamed], [licence(holder_name="张记水果店")], []))


def test_a_filing_without_expiry_keeps_a_deregistered_entity_a_zombie() -> None:
    filing = licence(licence_type="仅销售预包装食品备案", valid_until="")
    assert "zombie.deregistered_with_active_licence" in types(
        issues([registration(status="吊销，未注销")], [filing], [])
    )
    expired = licence(valid_until="2025-01-01")
    assert "zombie.deregistered_with_active_licence" not in types(
        issues([registration(status="注销")], [expired], [])
    )

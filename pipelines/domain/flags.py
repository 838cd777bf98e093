"""Flag rules: one vectorised function per issue_type of the warehouse contract, each with its reason.

Every rule returns rows of (entity_id, source, record_key, issue_type, severity, detail, evidence) where
`source`/`record_key` name the record the issue is about, `detail` is a sentence a district steward reads
(Chinese), and `evidence` is JSON naming the records and values that triggered it. Comparisons are on
normalised values with the thresholds of settings.toml, so formatting differences never flag.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from pipelines.domain.resolution.compare import similarity
from pipelines.domain.settings import RuleSettings
from pipelines.domain.text import template
from pipelines.domain.vocab import OPERATING_RESULTS

ISSUE_SCHEMA = {
    "entity_id": pl.String,
    "source": pl.String,
    "record_key": pl.String,
    "issue_type": pl.String,
    "severity": pl.String,
    "detail": pl.String,
    "evidence": pl.String,
}
NOT_ACTIVE = ("revoked", "deregistered", "moved_out", "cancelled")

# The silver columns the rules read (plus entity_id from the xref), so that a city's worth of records is
# read without the columns no rule looks at.
_EVERY_SOURCE = [
    "record_key",
    "name_key",
    "branch_marker",
    "name_is_placeholder",
    "legal_rep",
    "legal_rep_clean",
    "uscc",
    "uscc_is_valid",
    "uscc_raw",
]
SILVER_COLUMNS = {
    "registration": [
        *_EVERY_SOURCE,
        "name",
        "status",
        "status_raw",
        "in_abnormal_list",
        "abnormal_reason",
        "established_on",
        "last_annual_report_year",
        "address",
        "address_key",
        "authority_district_code",
        "registration_authority",
    ],
    "licensing": [
        *_EVERY_SOURCE,
        "holder_name",
        "licence_status",
        "licence_type_raw",
        "valid_until",
        "address",
        "address_key",
    ],
    "district": [*_EVERY_SOURCE, "name", "result", "result_raw", "inspected_on", "district_file_code"],
}


@dataclass(frozen=True)
class Sources:
    """Silver records joined to their entity, plus the golden record and the as-of date."""

    registration: pl.DataFrame
    licensing: pl.DataFrame
    district: pl.DataFrame
    golden: pl.DataFrame
    as_of: dt.date
    settings: RuleSettings

    @property
    def primary(self) -> pl.DataFrame:
        """The registration record that speaks for each entity (golden's registration_record_key)."""
        keys = self.golden.select("entity_id", record_key="registration_record_key").drop_nulls()
        return self.registration.join(keys, on=["entity_id", "record_key"], how="semi")


def _issue(
    frame: pl.DataFrame,
    issue_type: str,
    severity: str,
    source: str,
    detail: pl.Expr,
    evidence: dict[str, pl.Expr],
) -> pl.DataFrame:
    return frame.select(
        "entity_id",
        source=pl.lit(source),
        record_key="record_key",
        issue_type=pl.lit(issue_type),
        severity=pl.lit(severity),
        detail=detail,
        evidence=pl.struct(**evidence).struct.json_encode(),
    ).cast(ISSUE_SCHEMA)


def _registered(s: Sources, others: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Licence/inspection rows with the entity's primary registration values as `registered_<column>`."""
    primary = s.primary.select(
        "entity_id", registered_record_key="record_key", **{f"registered_{c}": c for c in columns}
    )
    return others.join(primary, on="entity_id")


def deregistered_with_active_licence(s: Sources) -> pl.DataFrame:
    status = s.primary.filter(pl.col("status").is_in(NOT_ACTIVE)).select(
        "entity_id", registered_record_key="record_key", status_raw="status_raw"
    )
    valid = s.licensing.filter(
        (pl.col("licence_status") == "valid")
        & (pl.col("valid_until").is_null() | (pl.col("valid_until") >= s.as_of))
    )
    hits = valid.join(status, on="entity_id")
    detail = template("登记状态为{}，但仍持有有效{} {}", "status_raw", "licence_type_raw", "record_key")
    evidence = {
        "registration": "registered_record_key",
        "status": "status_raw",
        "licence": "record_key",
        "valid_until": pl.col("valid_until").cast(pl.String),
    }
    return _issue(hits, "zombie.deregistered_with_active_licence", "high", "licensing", detail, evidence)


def unreachable(s: Sources) -> pl.DataFrame:
    abnormal = s.registration.filter(
        pl.col("in_abnormal_list").fill_null(False) & pl.col("abnormal_reason").str.contains("无法联系")
    )
    from_registration = _issue(
        abnormal,
        "zombie.unreachable",
        "medium",
        "registration",
        template("列入经营异常名录：{}", "abnormal_reason"),
        {"registration": "record_key", "abnormal_reason": "abnormal_reason"},
    )
    missing = s.district.filter(pl.col("result") == "not_found")
    from_inspection = _issue(
        missing,
        "zombie.unreachable",
        "medium",
        "district",
        template("{} 检查结果为查无下落（{}）", pl.col("inspected_on").cast(pl.String), "district_file_code"),
        {
            "inspection": "record_key",
            "inspected_on": pl.col("inspected_on").cast(pl.String),
            "result": "result_raw",
        },
    )
    return pl.concat([from_registration, from_inspection])


def last_due_report_year(as_of: dt.date, deadline: str) -> int:
    """The latest report year whose filing deadline (e.g. 30 June of the next year) has passed."""
    month, day = (int(p) for p in deadline.split("-"))
    return as_of.year - 1 if as_of >= dt.date(as_of.year, month, day) else as_of.year - 2


def no_annual_report(s: Sources) -> pl.DataFrame:
    cfg = s.settings
    latest_due = last_due_report_year(s.as_of, cfg.annual_report_deadline)
    oldest_checked = latest_due - cfg.missing_report_years + 1
    established_by = s.as_of.replace(year=s.as_of.year - cfg.no_annual_report_min_age_years)
    hits = s.primary.filter(
        (pl.col("status") == "active")
        & (pl.col("established_on") <= established_by)
        & (pl.col("last_annual_report_year").is_null() | (pl.col("last_annual_report_year") < oldest_checked))
    )
    last = pl.col("last_annual_report_year").cast(pl.String).fill_null("无")
    detail = template(
        "{}年、{}年均未报送年度报告（最近年报年度：{}）", pl.lit(oldest_checked), pl.lit(latest_due), last
    )
    evidence = {
        "registration": "record_key",
        "last_annual_report_year": "last_annual_report_year",
        "report_years": pl.lit(f"{oldest_checked}-{latest_due}"),
    }
    return _issue(hits, "zombie.no_annual_report", "low", "registration", detail, evidence)


def ceased_operating(s: Sources) -> pl.DataFrame:
    latest = s.district.sort("inspected_on", "record_key").group_by("entity_id", maintain_order=True).last()
    active = s.primary.filter(pl.col("status") == "active").select(
        "entity_id", registered_record_key="record_key"
    )
    hits = latest.filter(pl.col("result").is_in(["ceased", "suspended"])).join(active, on="entity_id")
    detail = template("登记状态存续，但{}检查结果为{}", pl.col("inspected_on").cast(pl.String), "result_raw")
    evidence = {
        "registration": "registered_record_key",
        "inspection": "record_key",
        "inspected_on": pl.col("inspected_on").cast(pl.String),
        "result": "result_raw",
    }
    return _issue(hits, "zombie.ceased_operating", "medium", "district", detail, evidence)


def orphan_licence(s: Sources) -> pl.DataFrame:
    registered = s.registration.select("entity_id").unique()
    hits = s.licensing.join(registered, on="entity_id", how="anti")
    detail = template("许可证 {} 的持证主体（{}）找不到商事登记记录", "record_key", "holder_name")
    return _issue(
        hits,
        "zombie.orphan_licence",
        "medium",
        "licensing",
        detail,
        {"licence": "record_key", "holder_name": "holder_name"},
    )


def _named_after_operator() -> pl.Expr:
    """A licence or inspection of a 个体工商户 issued to its operator (the person, not the shop) names no
    shop."""
    name = pl.col("name_key")
    by_person = (name == pl.col("registered_legal_rep_clean")) | (name == pl.col("legal_rep_clean"))
    return by_person.fill_null(False)


def _named_differently(s: Sources, others: pl.DataFrame, source: str, name_column: str) -> pl.DataFrame:
    columns = ["name", "name_key", "branch_marker", "name_is_placeholder", "legal_rep_clean"]
    pairs = _registered(s, others, columns).filter(
        ~pl.col("name_is_placeholder")
        & ~pl.col("registered_name_is_placeholder")
        & pl.col("name_key").is_not_null()
        & pl.col("registered_name_key").is_not_null()
        & ~_named_after_operator()
    )
    scored = pairs.with_columns(
        name_similarity=similarity(
            pairs["name_key"] + pairs["branch_marker"].fill_null(""),
            pairs["registered_name_key"] + pairs["registered_branch_marker"].fill_null(""),
        )
    )
    hits = scored.filter(pl.col("name_similarity") < s.settings.name_similarity_below)
    detail = template("名称“{}”与登记名称“{}”不一致", name_column, "registered_name")
    evidence = {
        "record": "record_key",
        "name": name_column,
        "registration": "registered_record_key",
        "registered_name": "registered_name",
        "similarity": pl.col("name_similarity").round(3),
    }
    return _issue(hits, "inconsistent.name", "low", source, detail, evidence)


def inconsistent_name(s: Sources) -> pl.DataFrame:
    return pl.concat(
        [
            _named_differently(s, s.licensing, "licensing", "holder_name"),
            _named_differently(s, s.district, "district", "name"),
        ]
    )


def inconsistent_legal_rep(s: Sources) -> pl.DataFrame:
    found = []
    for source, frame in (("licensing", s.licensing), ("district", s.district)):
        pairs = _registered(s, frame, ["legal_rep", "legal_rep_clean"]).filter(
            pl.col("legal_rep_clean").is_not_null()
            & pl.col("registered_legal_rep_clean").is_not_null()
            & (pl.col("legal_rep_clean") != pl.col("registered_legal_rep_clean"))
        )
        detail = template("负责人“{}”与登记的法定代表人“{}”不一致", "legal_rep", "registered_legal_rep")
        evidence = {
            "record": "record_key",
            "legal_rep": "legal_rep",
            "registration": "registered_record_key",
            "registered_legal_rep": "registered_legal_rep",
        }
        found.append(_issue(pairs, "inconsistent.legal_rep", "low", source, detail, evidence))
    return pl.concat(found)


def inconsistent_address(s: Sources) -> pl.DataFrame:
    pairs = _registered(s, s.licensing, ["address", "address_key"]).filter(
        (pl.col("address_key").fill_null("") != "") & (pl.col("registered_address_key").fill_null("") != "")
    )
    scored = pairs.with_columns(
        address_similarity=similarity(pairs["address_key"], pairs["registered_address_key"])
    )
    hits = scored.filter(pl.col("address_similarity") < s.settings.address_similarity_below)
    detail = template("许可证住所“{}”与登记住所“{}”不一致", "address", "registered_address")
    evidence = {
        "licence": "record_key",
        "address": "address",
        "registration": "registered_record_key",
        "registered_address": "registered_address",
        "similarity": pl.col("address_similarity").round(3),
    }
    return _issue(hits, "inconsistent.address", "low", "licensing", detail, evidence)


def inconsistent_district(s: Sources) -> pl.DataFrame:
    pairs = _registered(s, s.district, ["authority_district_code", "registration_authority"]).filter(
        pl.col("registered_authority_district_code").is_not_null()
        & (pl.col("district_file_code") != pl.col("registered_authority_district_code"))
    )
    detail = template("由{}监管，但登记机关为{}", "district_file_code", "registered_registration_authority")
    evidence = {
        "inspection": "record_key",
        "district_file_code": "district_file_code",
        "registration": "registered_record_key",
        "authority_district_code": "registered_authority_district_code",
    }
    return _issue(pairs, "inconsistent.district", "medium", "district", detail, evidence)


def invalid_uscc(s: Sources) -> pl.DataFrame:
    found = []
    for source, frame in (
        ("registration", s.registration),
        ("licensing", s.licensing),
        ("district", s.district),
    ):
        hits = frame.filter(pl.col("uscc").is_not_null() & ~pl.col("uscc_is_valid"))
        detail = template("统一社会信用代码 {} 校验位不正确（GB 32100-2015）", "uscc_raw")
        found.append(
            _issue(hits, "invalid.uscc", "low", source, detail, {"record": "record_key", "uscc": "uscc_raw"})
        )
    return pl.concat(found)


def expired_licence_still_operating(s: Sources) -> pl.DataFrame:
    expired = s.licensing.filter((pl.col("licence_status") == "valid") & (pl.col("valid_until") < s.as_of))
    operating = s.district.filter(pl.col("result").is_in(OPERATING_RESULTS)).select(
        "entity_id", inspection="record_key", inspected_on="inspected_on", result_raw="result_raw"
    )
    joined = expired.join(operating, on="entity_id").filter(pl.col("inspected_on") > pl.col("valid_until"))
    latest = joined.sort("inspected_on", "inspection").group_by("record_key", maintain_order=True).last()
    detail = template(
        "{} 已于{}到期，{}检查仍在经营（{}）",
        "record_key",
        pl.col("valid_until").cast(pl.String),
        pl.col("inspected_on").cast(pl.String),
        "result_raw",
    )
    evidence = {
        "licence": "record_key",
        "valid_until": pl.col("valid_until").cast(pl.String),
        "inspection": "inspection",
        "inspected_on": pl.col("inspected_on").cast(pl.String),
    }
    return _issue(latest, "expired_licence.still_operating", "high", "licensing", detail, evidence)


def duplicate_registration(s: Sources) -> pl.DataFrame:
    primary = s.golden.select("entity_id", primary_key="registration_record_key")
    duplicates = s.registration.join(primary, on="entity_id").filter(
        (pl.len().over("entity_id") > 1) & (pl.col("record_key") != pl.col("primary_key"))
    )
    detail = template("与主体身份代码 {} 为同一主体的重复登记", "primary_key")
    return _issue(
        duplicates,
        "duplicate.registration",
        "medium",
        "registration",
        detail,
        {"registration": "record_key", "same_as": "primary_key"},
    )


RULES: dict[str, Callable[[Sources], pl.DataFrame]] = {
    "zombie.deregistered_with_active_licence": deregistered_with_active_licence,
    "zombie.unreachable": unreachable,
    "zombie.no_annual_report": no_annual_report,
    "zombie.ceased_operating": ceased_operating,
    "zombie.orphan_licence": orphan_licence,
    "inconsistent.name": inconsistent_name,
    "inconsistent.legal_rep": inconsistent_legal_rep,
    "inconsistent.address": inconsistent_address,
    "inconsistent.district": inconsistent_district,
    "invalid.uscc": invalid_uscc,
    "expired_licence.still_operating": expired_licence_still_operating,
    "duplicate.registration": duplicate_registration,
}


def detect(s: Sources) -> pl.DataFrame:
    """Every rule's issues, one row per (issue_type, source, record_key)."""
    found = pl.concat([rule(s) for rule in RULES.values()])
    return found.unique(["issue_type", "source", "record_key"], keep="first", maintain_order=True).sort(
        "issue_type", "source", "record_key"
    )

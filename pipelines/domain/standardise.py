"""Silver: each source's current records as typed, normalised, comparable columns.

Every output keeps the delivered text where it was changed (`*_raw`), validity flags instead of repairs,
and the bronze lineage (record_key, delivery_date, source_file, source_row) that identifies the row.
Bump NORMALISER_VERSION when a rule changes, so that the next run recomputes every record.
"""

from __future__ import annotations

import polars as pl

from pipelines.domain import addresses, incremental, names, phones, uscc, vocab
from pipelines.domain.dates import parse_date_expr
from pipelines.domain.text import fold, on_distinct

NORMALISER_VERSION = 4
LINEAGE = ["delivery_date", "source_file", "source_row", "file_sha256"]
VERSION = ["record_key", *LINEAGE]  # a version of a bronze record; silver keeps it to know what is done


def _uscc_columns(raw: pl.Expr) -> list[pl.Expr]:
    clean = uscc.clean_expr(raw)
    parts = uscc.parts_exprs(clean)
    return [
        raw.alias("uscc_raw"),
        pl.when(clean != "").then(clean).alias("uscc"),
        uscc.valid_expr(clean).alias("uscc_is_valid"),
        *[expr.alias(name) for name, expr in parts.items()],
    ]


def _with_address(frame: pl.LazyFrame, column: str, prefix: str = "address") -> pl.LazyFrame:
    """`<prefix>_clean`, `_key` and `_district_code`; the clean text is computed once and reused."""
    folded = frame.with_columns(addresses.clean_expr(pl.col(column)).alias(f"{prefix}_clean"))
    clean = pl.col(f"{prefix}_clean")
    return folded.with_columns(
        addresses.key_expr(clean).alias(f"{prefix}_key"),
        addresses.district_from_text(clean).alias(f"{prefix}_district_code"),
        pl.when(clean != "").then(clean).alias(f"{prefix}_clean"),
    )


def _date(column: str) -> pl.Expr:
    return on_distinct(parse_date_expr, pl.col(column), pl.Date()).alias(column)


def _authority_district(column: str) -> pl.Expr:
    return on_distinct(lambda text: addresses.district_from_text(fold(text)), pl.col(column), pl.String())


def _person_columns(raw: pl.Expr, prefix: str) -> list[pl.Expr]:
    clean = fold(raw).str.replace_all(r"[·•.]", "")
    return [pl.when(clean != "").then(clean).alias(f"{prefix}_clean")]


def _phone_columns(raw: pl.Expr) -> list[pl.Expr]:
    normalised = phones.normalise_expr(raw)
    return [
        raw.alias("phone_raw"),
        normalised.alias("phone"),
        (normalised.is_not_null() | (raw.fill_null("").str.strip_chars() == "")).alias("phone_is_valid"),
    ]


def _district(candidates: dict[str, pl.Expr]) -> list[pl.Expr]:
    code, source = addresses.district_with_source(candidates)
    return [code.alias("district_code"), source.alias("district_code_source")]


def registration(bronze: pl.LazyFrame) -> pl.LazyFrame:
    """One row per registration record (主体身份代码)."""
    frame = names.normalise(bronze.with_columns(pl.col("name").str.strip_chars()), "name")
    frame = _with_address(frame, "address").with_columns(
        *_uscc_columns(pl.col("uscc")),
        *_person_columns(pl.col("legal_rep"), "legal_rep"),
        *[_date(c) for c in ("established_on", "approved_on", "deregistered_on", "revoked_on")],
        *_phone_columns(pl.col("phone")),
        reg_no=pl.col("reg_no").str.strip_chars(),
        reg_no_is_valid=pl.col("reg_no").str.strip_chars().str.contains(uscc.REG_NO_PATTERN).fill_null(False),
        entity_kind=_entity_kind(pl.col("entity_type"), pl.col("branch_marker")),
        registered_capital_wan=pl.col("registered_capital_wan")
        .str.replace_all(",", "")
        .cast(pl.Float64, strict=False),
        authority_district_code=_authority_district("registration_authority"),
        status_raw=pl.col("status"),
        status=vocab.map_expr(pl.col("status"), vocab.ENTITY_STATUS),
        last_annual_report_year=pl.col("last_annual_report_year")
        .str.strip_chars()
        .str.slice(0, 4)
        .cast(pl.Int32, strict=False),
        in_abnormal_list=vocab.yes_no_expr(pl.col("in_abnormal_list")),
    )
    frame = frame.with_columns(
        *_district(
            {
                "address": pl.col("address_district_code"),
                "authority": pl.col("authority_district_code"),
                "uscc": addresses.district_from_code(pl.col("uscc_division_code")),
            }
        )
    )
    return frame.select(REGISTRATION_COLUMNS)


def licensing(bronze: pl.LazyFrame) -> pl.LazyFrame:
    """One row per licence or filing (许可证编号)."""
    frame = names.normalise(
        bronze.with_columns(pl.col("holder_name").str.strip_chars()), "holder_name", prefix="name"
    )
    frame = _with_address(_with_address(frame, "address"), "premises_address", "premises_address")
    licence_type = vocab.map_expr(pl.col("licence_type"), vocab.LICENCE_TYPE)
    frame = frame.with_columns(
        *_uscc_columns(pl.col("uscc")),
        *_person_columns(pl.col("legal_rep"), "legal_rep"),
        licence_type_raw=pl.col("licence_type"),
        licence_type=licence_type,
        is_filing=licence_type.is_in(vocab.FILING_LICENCE_TYPES),
        issuer_district_code=_authority_district("issuer"),
        issued_on=_date("issued_on"),
        valid_until=_date("valid_until"),
        licence_status_raw=pl.col("licence_status"),
        licence_status=vocab.map_expr(pl.col("licence_status"), vocab.LICENCE_STATUS),
    )
    frame = frame.with_columns(
        *_district(
            {
                "address": pl.col("address_district_code"),
                "authority": pl.col("issuer_district_code"),
                "uscc": addresses.district_from_code(pl.col("uscc_division_code")),
            }
        )
    )
    return frame.select(LICENSING_COLUMNS)


def district(bronze: pl.LazyFrame) -> pl.LazyFrame:
    """One row per inspection record (district file code + 记录编号)."""
    frame = names.normalise(bronze.with_columns(pl.col("name").str.strip_chars()), "name")
    frame = _with_address(frame, "address").with_columns(
        *_uscc_columns(pl.col("uscc")),
        *_person_columns(pl.col("legal_rep"), "legal_rep"),
        *_phone_columns(pl.col("phone")),
        inspected_on=_date("inspected_on"),
        inspection_type_raw=pl.col("inspection_type"),
        inspection_type=vocab.map_expr(pl.col("inspection_type"), vocab.INSPECTION_TYPE),
        result_raw=pl.col("result"),
        result=vocab.map_expr(pl.col("result"), vocab.INSPECTION_RESULT),
        penalty_amount=pl.col("penalty_amount")
        .str.replace_all(r"[,元\s]", "")
        .cast(pl.Float64, strict=False),
    )
    frame = frame.with_columns(
        *_district(
            {
                "address": pl.col("address_district_code"),
                "district_file": pl.col("district_file_code"),
                "uscc": addresses.district_from_code(pl.col("uscc_division_code")),
            }
        )
    )
    return frame.select(DISTRICT_COLUMNS)


def _entity_kind(entity_type: pl.Expr, branch_marker: pl.Expr) -> pl.Expr:
    text = on_distinct(fold, entity_type, pl.String())
    return (
        pl.when(text.str.contains("个体"))
        .then(pl.lit("individual"))
        .when(text.str.contains("分公司|分支机构") | branch_marker.is_not_null())
        .then(pl.lit("branch"))
        .when(text.str.contains("合作社"))
        .then(pl.lit("cooperative"))
        .when(text.str.contains("公司|企业|合伙"))
        .then(pl.lit("company"))
        .otherwise(pl.lit("other"))
    )


NAME_COLUMNS = ["name_clean", "name_key", "name_is_placeholder", "legal_form", "branch_marker"]
USCC_COLUMNS = [
    "uscc_raw",
    "uscc",
    "uscc_is_valid",
    "uscc_authority",
    "uscc_category",
    "uscc_division_code",
    "uscc_org_code",
]
ADDRESS_COLUMNS = [
    "address",
    "address_clean",
    "address_key",
    "address_district_code",
    "district_code",
    "district_code_source",
]
PHONE_COLUMNS = ["phone_raw", "phone", "phone_is_valid"]

REGISTRATION_COLUMNS = [
    "record_key", "name", *NAME_COLUMNS, *USCC_COLUMNS, "reg_no", "reg_no_is_valid",
    "entity_type", "entity_kind", "legal_rep", "legal_rep_clean", "registered_capital_wan",
    "established_on", "approved_on", "deregistered_on", "revoked_on",
    "registration_authority", "authority_district_code", "status_raw", "status",
    *ADDRESS_COLUMNS, "business_scope", *PHONE_COLUMNS,
    "last_annual_report_year", "in_abnormal_list", "abnormal_reason", *LINEAGE,
]  # fmt: skip
LICENSING_COLUMNS = [
    "record_key", "holder_name", *NAME_COLUMNS, *USCC_COLUMNS, "licence_type_raw", "licence_type", "is_filing",
    "legal_rep", "legal_rep_clean", *ADDRESS_COLUMNS,
    "premises_address", "premises_address_clean", "premises_address_key", "premises_address_district_code",
    "business_form", "issuer", "issuer_district_code", "issued_on", "valid_until",
    "licence_status_raw", "licence_status", "supervising_unit", *LINEAGE,
]  # fmt: skip
DISTRICT_COLUMNS = [
    "record_key", "record_no", "district_file_code", "district", "name", *NAME_COLUMNS, *USCC_COLUMNS,
    "legal_rep", "legal_rep_clean", *ADDRESS_COLUMNS, *PHONE_COLUMNS,
    "inspected_on", "inspection_type_raw", "inspection_type", "result_raw", "result",
    "penalty_doc_no", "penalty_amount", *LINEAGE,
]  # fmt: skip

STANDARDISERS = {"registration": registration, "licensing": licensing, "district": district}


def changed(
    source: str, bronze: pl.LazyFrame, silver_versions: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(standardised rows to upsert, record_keys to delete) for one source, given the silver table's VERSION
    and normaliser_version columns (None before its first write)."""
    return incremental.changed(bronze, silver_versions, VERSION, STANDARDISERS[source], NORMALISER_VERSION)

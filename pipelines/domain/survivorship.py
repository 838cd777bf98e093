"""The golden record: one row per entity, every field from the most trusted source record that has it.

Survivorship: registration is authoritative for name, type, legal_rep, status, address and district while
the entity has one (the primary registration: valid USCC first, then active, then latest approved); without
one, the most recent valid licence (then any licence), then the latest inspection. `<field>_source` names the
record that supplied each field as `<source>:<record_key>`; a steward correction overrides it as
`steward:<name>`.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

SURVIVING_FIELDS = ("name", "legal_rep", "address", "district_code")
_COMMON = [
    "record_key",
    "uscc",
    "uscc_is_valid",
    "name_is_placeholder",
    "legal_rep",
    "address",
    "district_code",
]
# The silver columns survivorship reads (the golden asset reads no more than these).
SILVER_COLUMNS = {
    "registration": [
        *_COMMON,
        "name",
        "status",
        "approved_on",
        "established_on",
        "entity_type",
        "entity_kind",
        "registration_authority",
    ],
    "licensing": [*_COMMON, "holder_name", "licence_status", "issued_on", "valid_until"],
    "district": [*_COMMON, "name", "inspected_on"],
}


def primary_registration(registration: pl.DataFrame) -> pl.DataFrame:
    """entity_id -> the registration record that speaks for the entity."""
    ranked = registration.sort(
        ["entity_id", "uscc_is_valid", "is_active", "approved_on", "established_on", "record_key"],
        descending=[False, True, True, True, True, False],
        nulls_last=True,
    )
    return ranked.group_by("entity_id", maintain_order=True).first()


def _candidates(registration: pl.DataFrame, licensing: pl.DataFrame, district: pl.DataFrame) -> pl.DataFrame:
    """Every record that may supply a golden field, with its trust rank (lower wins) and recency."""
    reg = registration.select(
        "entity_id",
        rank=pl.lit(0),
        recency=pl.col("approved_on").fill_null(pl.col("established_on")),
        source_ref=pl.lit("registration:") + pl.col("record_key"),
        name=pl.when(~pl.col("name_is_placeholder")).then(pl.col("name")),
        legal_rep="legal_rep",
        address="address",
        district_code="district_code",
    )
    lic = licensing.select(
        "entity_id",
        rank=pl.when(pl.col("licence_status") == "valid").then(pl.lit(1)).otherwise(pl.lit(2)),
        recency="issued_on",
        source_ref=pl.lit("licensing:") + pl.col("record_key"),
        name=pl.when(~pl.col("name_is_placeholder")).then(pl.col("holder_name")),
        legal_rep="legal_rep",
        address="address",
        district_code="district_code",
    )
    insp = district.select(
        "entity_id",
        rank=pl.lit(3),
        recency="inspected_on",
        source_ref=pl.lit("district:") + pl.col("record_key"),
        name=pl.when(~pl.col("name_is_placeholder")).then(pl.col("name")),
        legal_rep="legal_rep",
        address="address",
        district_code="district_code",
    )
    blank_is_null = {f: pl.when(pl.col(f).str.strip_chars() != "").then(pl.col(f)) for f in SURVIVING_FIELDS}
    return pl.concat([reg, lic, insp], how="vertical_relaxed").with_columns(**blank_is_null)


def _surviving(candidates: pl.DataFrame, field: str) -> pl.DataFrame:
    """Per entity, the field's value from the best-ranked, most recent record that has one."""
    return (
        candidates.filter(pl.col(field).is_not_null())
        .sort(
            ["entity_id", "rank", "recency", "source_ref"],
            descending=[False, False, True, False],
            nulls_last=True,
        )
        .group_by("entity_id", maintain_order=True)
        .agg(pl.col(field).first(), pl.col("source_ref").first().alias(f"{field}_source"))
    )


def golden(
    entities: pl.DataFrame,
    registration: pl.DataFrame,
    licensing: pl.DataFrame,
    district: pl.DataFrame,
    as_of: dt.date,
) -> pl.DataFrame:
    """One row per entity_id of `entities`; the sources carry `entity_id` (joined from the xref)."""
    registration = registration.with_columns(is_active=pl.col("status") == "active")
    primary = primary_registration(registration).select(
        "entity_id",
        registration_record_key="record_key",
        uscc=pl.when(pl.col("uscc_is_valid")).then(pl.col("uscc")),
        entity_type="entity_type",
        entity_kind="entity_kind",
        status="status",
        status_source=pl.lit("registration:") + pl.col("record_key"),
        established_on="established_on",
        registration_authority="registration_authority",
    )
    out = entities.select("entity_id").unique().sort("entity_id").join(primary, on="entity_id", how="left")
    candidates = _candidates(registration, licensing, district)
    for field in SURVIVING_FIELDS:
        out = out.join(_surviving(candidates, field), on="entity_id", how="left")
    # A 个体工商户 registered without a trade name has none: registration speaks for it, no licence fills it in.
    unnamed = (
        primary_registration(registration)
        .filter("name_is_placeholder")
        .select("entity_id", _unnamed=pl.lit(True))
    )
    out = (
        out.join(unnamed, on="entity_id", how="left")
        .with_columns(
            name=pl.when(pl.col("_unnamed")).then(None).otherwise(pl.col("name")),
            name_source=pl.when(pl.col("_unnamed"))
            .then(pl.lit("registration:") + pl.col("registration_record_key"))
            .otherwise(pl.col("name_source")),
        )
        .drop("_unnamed")
    )
    out = (
        out.join(_fallback_uscc(registration, licensing, district), on="entity_id", how="left")
        .with_columns(uscc=pl.coalesce("uscc", "fallback_uscc"), status=pl.col("status").fill_null("unknown"))
        .drop("fallback_uscc")
    )
    return out.join(
        _counts(registration, licensing, district, as_of), on="entity_id", how="left"
    ).with_columns(
        pl.col("registration_count", "licence_count", "active_licence_count", "inspection_count").fill_null(0)
    )


def _fallback_uscc(
    registration: pl.DataFrame, licensing: pl.DataFrame, district: pl.DataFrame
) -> pl.DataFrame:
    """Without a registration's valid USCC: the valid USCC most of the entity's records carry."""
    codes = pl.concat(
        [f.filter("uscc_is_valid").select("entity_id", "uscc") for f in (registration, licensing, district)]
    )
    return (
        codes.group_by("entity_id", "uscc")
        .agg(n=pl.len())
        .sort(["entity_id", "n", "uscc"], descending=[False, True, False])
        .group_by("entity_id", maintain_order=True)
        .agg(fallback_uscc=pl.col("uscc").first())
    )


def _active_licence(as_of: dt.date) -> pl.Expr:
    return (pl.col("licence_status") == "valid") & (
        pl.col("valid_until").is_null() | (pl.col("valid_until") >= as_of)
    )


def fingerprints(
    registration: pl.DataFrame,
    licensing: pl.DataFrame,
    district: pl.DataFrame,
    overrides: pl.DataFrame,
    as_of: dt.date,
) -> pl.DataFrame:
    """entity_id -> a hash of everything its golden row is computed from: its source records (the columns
    survivorship reads), whether each licence is active on `as_of`, and the steward overrides. Survivorship
    works entity by entity, so an entity with the same fingerprint has the same golden row; a night rebuilds
    only the others (a licence expiring since the last night changes its entity's fingerprint)."""
    rows = [
        registration.select("entity_id", row=pl.struct(SILVER_COLUMNS["registration"]).hash(1)),
        licensing.select(
            "entity_id",
            row=pl.struct(*SILVER_COLUMNS["licensing"], _active_licence(as_of).alias("_a")).hash(2),
        ),
        district.select("entity_id", row=pl.struct(SILVER_COLUMNS["district"]).hash(3)),
        overrides.select("entity_id", row=pl.struct("field", "value", "steward").hash(4)),
    ]
    return (
        pl.concat(rows)
        .group_by("entity_id")
        .agg(pl.col("row").sort())
        .select("entity_id", fingerprint=pl.col("row").hash(5).reinterpret(signed=True))  # Delta has no u64
        .sort("entity_id")
    )


def stale(inputs: pl.DataFrame, built_from: pl.DataFrame | None) -> pl.DataFrame:
    """entity_id of every entity whose fingerprint differs from the one its golden row was built from."""
    if built_from is None:
        return inputs.select("entity_id")
    return inputs.join(built_from, on=["entity_id", "fingerprint"], how="anti").select("entity_id")


def _counts(
    registration: pl.DataFrame, licensing: pl.DataFrame, district: pl.DataFrame, as_of: dt.date
) -> pl.DataFrame:
    active_licence = _active_licence(as_of)
    regs = registration.group_by("entity_id").agg(registration_count=pl.len())
    lics = licensing.group_by("entity_id").agg(
        licence_count=pl.len(), active_licence_count=active_licence.sum().cast(pl.Int64)
    )
    insp = district.group_by("entity_id").agg(
        inspection_count=pl.len(), last_inspected_on=pl.col("inspected_on").max()
    )
    return regs.join(lics, on="entity_id", how="full", coalesce=True).join(
        insp, on="entity_id", how="full", coalesce=True
    )


def apply_overrides(golden_table: pl.DataFrame, overrides: pl.DataFrame) -> pl.DataFrame:
    """Steward corrections (entity_id, field, value, steward) win over survivorship; provenance says so."""
    out = golden_table
    for field in overrides["field"].unique().sort().to_list():
        chosen = overrides.filter(pl.col("field") == field).select(
            "entity_id", _value="value", _steward="steward"
        )
        out = out.join(chosen, on="entity_id", how="left").with_columns(
            pl.coalesce("_value", field).alias(field)
        )
        if f"{field}_source" in out.columns:
            out = out.with_columns(
                pl.when(pl.col("_value").is_not_null())
                .then(pl.lit("steward:") + pl.col("_steward"))
                .otherwise(pl.col(f"{field}_source"))
                .alias(f"{field}_source")
            )
        out = out.drop("_value", "_steward")
    return out

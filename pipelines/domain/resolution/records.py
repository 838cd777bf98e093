"""The comparable view of every entity-bearing source record (registration, licence, inspection)."""

from __future__ import annotations

import polars as pl

SOURCE_ORDER = {"registration": 0, "licensing": 1, "district": 2}
RECORD_SCHEMA = {
    "rid": pl.Int64,
    "source": pl.String,
    "record_key": pl.String,
    "uscc": pl.String,
    "uscc_is_valid": pl.Boolean,
    "reg_no": pl.String,
    "name_clean": pl.String,
    "name_key": pl.String,
    "trade_name": pl.String,
    "branch_marker": pl.String,
    "legal_rep_clean": pl.String,
    "operator": pl.String,
    "name_in_district": pl.UInt32,
    "name_in_city": pl.UInt32,
    "operator_in_district": pl.UInt32,
    "operator_in_city": pl.UInt32,
    "address_in_district": pl.UInt32,
    "address_in_city": pl.UInt32,
    "address_key": pl.String,
    "road": pl.String,
    "district_code": pl.String,
    "phone": pl.String,
}


COMMON = [
    "record_key",
    "uscc",
    "uscc_is_valid",
    "name_clean",
    "name_key",
    "branch_marker",
    "legal_rep_clean",
    "address_key",
    "district_code",
]
SILVER_COLUMNS = {
    "registration": [*COMMON, "reg_no", "phone"],
    "licensing": COMMON,
    "district": [*COMMON, "phone"],
}


def entity_records(
    registration: pl.DataFrame, licensing: pl.DataFrame, district: pl.DataFrame
) -> pl.DataFrame:
    """One row per source record, with an integer `rid` in (source, record_key) order."""
    parts = [
        registration.select(SILVER_COLUMNS["registration"]).with_columns(source=pl.lit("registration")),
        licensing.select(SILVER_COLUMNS["licensing"]).with_columns(
            source=pl.lit("licensing"), reg_no=pl.lit(None, pl.String), phone=pl.lit(None, pl.String)
        ),
        district.select(SILVER_COLUMNS["district"]).with_columns(
            source=pl.lit("district"), reg_no=pl.lit(None, pl.String)
        ),
    ]
    records = pl.concat(parts, how="diagonal_relaxed")
    records = records.with_columns(
        reg_no=pl.when(pl.col("reg_no").str.contains(r"^[0-9]{15}$")).then(pl.col("reg_no")),
        trade_name=pl.col("name_key").str.slice(0, 2),
        road=pl.col("address_key").str.extract(r"^(.+?(?:路|街|道|巷|弄|村|大厦|广场))", 1),
        **{
            c: pl.when(pl.col(c) != "").then(pl.col(c))
            for c in ("name_key", "address_key", "legal_rep_clean", "phone")
        },
    )
    records = with_operator_and_counts(without_borrowed_codes(records))
    order = pl.col("source").replace_strict(SOURCE_ORDER, return_dtype=pl.Int8)
    records = (
        records.sort(order, "record_key").with_row_index("rid").with_columns(pl.col("rid").cast(pl.Int64))
    )
    return records.select(list(RECORD_SCHEMA)).cast(RECORD_SCHEMA)


# Counts above this read the same in compare._rare (a pair owns at most two registrations, and one more in the
# city is still rare), so they are stored capped: a night that adds the 58th namesake of a common name
# changes no record's state and re-resolves none of them.
COUNTED_UP_TO = 4


def with_operator_and_counts(records: pl.DataFrame) -> pl.DataFrame:
    """`operator`: the person a record names, its legal rep or, when it has none, its name (a 个体工商户's
    licence or inspection is often issued to the operator alone, under the operator's name), so that the
    person-keyed blocking rules meet the registration of that person's shop.

    How many registrations hold the record's name (`name_in_district`, `name_in_city`), its address
    (`address_in_…`) and have its operator as legal rep (`operator_in_…`): compare.py calls a shared value
    rare when hardly any registration besides the pair's own holds it. Sharing a rare name is strong
    evidence; sharing a common one (a city of namesakes) is weak: a term-frequency distinction, as Splink
    makes for exact matches."""
    records = records.with_columns(operator=pl.coalesce("legal_rep_clean", "name_key"))
    registrations = records.filter(pl.col("source") == "registration")
    counts = [
        _held(records, registrations.select("district_code", value="name_key"), "name_key", "name"),
        _held(
            records, registrations.select("district_code", value="legal_rep_clean"), "operator", "operator"
        ),
        _held(records, registrations.select("district_code", value="address_key"), "address_key", "address"),
    ]
    return pl.concat([records, *counts], how="horizontal")


def _held(records: pl.DataFrame, registered: pl.DataFrame, column: str, prefix: str) -> pl.DataFrame:
    """Per record: how many registrations in its district, and in the city, hold its `column` value."""
    registered = registered.drop_nulls("value")
    in_district = registered.group_by("value", "district_code").agg(in_district=pl.len())
    in_city = registered.group_by("value").agg(in_city=pl.len())
    return (
        records.select(value=column, district_code="district_code")
        .join(in_district, on=["value", "district_code"], how="left", maintain_order="left")
        .join(in_city, on="value", how="left", maintain_order="left")
        .select(
            pl.col("in_district").fill_null(0).clip(upper_bound=COUNTED_UP_TO).alias(f"{prefix}_in_district"),
            pl.col("in_city").fill_null(0).clip(upper_bound=COUNTED_UP_TO).alias(f"{prefix}_in_city"),
        )
    )


def without_borrowed_codes(records: pl.DataFrame) -> pl.DataFrame:
    """A licence or inspection whose name marks another branch than the registration holding its USCC carries
    its parent's code (clerks copy the parent's): that code says nothing about which entity it is, so the
    record is resolved as one without a code (by name, branch, legal rep and place)."""
    holders = (
        records.filter((pl.col("source") == "registration") & pl.col("uscc_is_valid"))
        .select("uscc", holder_branch=pl.col("branch_marker").fill_null(""))
        .unique("uscc", keep="first")
    )
    borrowed = (
        (pl.col("source") != "registration")
        & pl.col("uscc_is_valid")
        & pl.col("name_key").is_not_null()
        & (pl.col("branch_marker").fill_null("") != pl.col("holder_branch"))
    ).fill_null(False)
    marked = records.join(holders, on="uscc", how="left", maintain_order="left")
    return marked.with_columns(
        uscc=pl.when(borrowed).then(None).otherwise("uscc"),
        uscc_is_valid=pl.when(borrowed).then(False).otherwise("uscc_is_valid"),
    ).drop("holder_branch")

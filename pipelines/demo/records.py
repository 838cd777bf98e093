"""Source records: how each source writes an entity, licence or inspection, as canonical columns.

Output columns carry the contract's canonical names (headers are chosen per file later). Columns starting
with "_" are hidden: what the record truly means (`_eid`, `_name_canon`, `_rep_canon`, `_addr_canon`,
`_status`, ...). The ground truth reads them; the writers drop them.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.demo import noise, people, places
from pipelines.demo.noise import DISTRICT_RATES, LICENCE_RATES
from pipelines.demo.vocab import REVOKED_NOT_DEREGISTERED
from pipelines.domain.divisions import BY_CODE, authority_name

REGISTRATION_COLUMNS = (
    "record_key",
    "uscc",
    "reg_no",
    "name",
    "entity_type",
    "legal_rep",
    "registered_capital_wan",
    "established_on",
    "registration_authority",
    "status",
    "address",
    "business_scope",
    "phone",
    "last_annual_report_year",
    "in_abnormal_list",
    "abnormal_reason",
    "deregistered_on",
    "revoked_on",
    "approved_on",
)
LICENSING_COLUMNS = (
    "record_key",
    "licence_type",
    "holder_name",
    "uscc",
    "legal_rep",
    "address",
    "premises_address",
    "business_form",
    "issuer",
    "issued_on",
    "valid_until",
    "licence_status",
    "supervising_unit",
)
DISTRICT_COLUMNS = (
    "record_no",
    "district",
    "name",
    "uscc",
    "address",
    "legal_rep",
    "phone",
    "inspected_on",
    "inspection_type",
    "result",
    "penalty_doc_no",
    "penalty_amount",
)
HIDDEN = ("_eid", "_ref", "_name_canon", "_rep_canon", "_addr_canon", "_status", "_district", "_file_code")
AUTHORITY = {code: authority_name(code) for code in BY_CODE}  # 登记机关
# What licence and inspection records read from their entity.
ENTITY_COLUMNS = (
    "eid",
    "kind",
    "industry_id",
    "name",
    "zihao",
    "prefix",
    "locality",
    "industry",
    "form",
    "branch_suffix",
    "legal_rep",
    "is_hostile",
    "uscc",
    "is_pilot",
    "district_code",
    "premises_district",
    "phone_digits",
    "phone_mobile",
    "district_name",
    "street",
    "road",
    "number",
    "extra",
    "p_district_name",
    "p_street",
    "p_road",
    "p_number",
    "p_extra",
    "parent_eid",
)
PARENT_USCC_SHARE = 0.4  # of branch licences written with a code: the parent's code instead of the branch's


def _hidden(frame: pl.DataFrame, **values: pl.Expr) -> pl.DataFrame:
    """Every hidden column, null where a source has no such meaning."""
    defaults = {h: pl.lit(None, dtype=pl.Int64 if h in ("_eid", "_ref") else pl.Utf8) for h in HIDDEN}
    defaults.update(values)
    return frame.with_columns(**{h: defaults[h].alias(h) for h in HIDDEN})


def registration(ent: pl.DataFrame, rng: np.random.Generator, twins: bool = False) -> pl.DataFrame:
    """Registration rows of these entities (their twin legacy records too when `twins`)."""
    frame = ent
    if twins:
        legacy = ent.filter(pl.col("twin_key").is_not_null()).with_columns(
            record_key=pl.col("twin_key"), uscc=pl.lit(None, dtype=pl.Utf8)
        )
        frame = pl.concat([ent, legacy])
    n = frame.height
    half_width = pl.Series(rng.random(n) < 0.2)
    trailing_space = pl.Series(rng.random(n) < 0.002)
    status = (
        pl.when((pl.col("status") == REVOKED_NOT_DEREGISTERED) & half_width)
        .then(pl.lit("吊销,未注销"))
        .otherwise("status")
    )
    status = (
        pl.when(trailing_space).then(status + pl.lit(" ")).otherwise(status)
    )  # vocabularies compare without spaces
    out = frame.select(
        "record_key",
        "uscc",
        "reg_no",
        name=pl.when(pl.col("zihao") == "").then(pl.col("name_marker")).otherwise(pl.col("name")),
        entity_type=pl.col("entity_type"),
        legal_rep=pl.col("legal_rep"),
        registered_capital_wan=pl.col("registered_capital_wan"),
        established_on=pl.col("established_on"),
        registration_authority=pl.col("district_code").replace_strict(AUTHORITY),
        status=status,
        address=places.canonical(),
        business_scope=pl.col("business_scope"),
        phone=people.phone_text(pl.col("phone_digits"), pl.col("phone_mobile"), pl.col("phone_style")),
        last_annual_report_year=pl.col("annual_report_year").cast(pl.Utf8),
        in_abnormal_list=pl.col("in_abnormal_list"),
        abnormal_reason=pl.col("abnormal_reason"),
        deregistered_on=pl.col("deregistered_on"),
        revoked_on=pl.col("revoked_on"),
        approved_on=pl.col("approved_on"),
        _eid=pl.col("eid"),
        _name_canon=pl.col("name"),
        _rep_canon=pl.col("legal_rep"),
        _addr_canon=places.canonical(),
        _status=pl.col("status"),
        _district=pl.col("district_code"),
    )
    return _hidden(
        out,
        **{
            h: pl.col(h) for h in ("_eid", "_name_canon", "_rep_canon", "_addr_canon", "_status", "_district")
        },
    )


def licensing(
    lic: pl.DataFrame,
    ent: pl.DataFrame,
    rng: np.random.Generator,
    roads: places.Roads,
    noise_scale: float = 1.0,
) -> pl.DataFrame:
    """Licence rows as the licensing system holds them: the holder's name, code and addresses with noise
    (its rates times `noise_scale`)."""
    frame = lic.join(ent.select(ENTITY_COLUMNS), on="eid", how="left", maintain_order="left")
    hostile = frame["is_hostile"]
    name, name_canon = noise.names(frame, rng, noise_scale)
    rep, rep_canon = noise.legal_reps(
        frame["legal_rep"], frame["rep_mode"], hostile, rng, LICENCE_RATES["rep_blank"], noise_scale
    )
    registered = frame.select(*places.ADDRESS_PARTS)
    moved = noise.moved_parts(
        registered, frame["district_code"], (frame["addr_mode"] == "other").to_numpy(), rng, roads
    )
    premises = frame.select(*(pl.col(f"p_{p}").alias(p) for p in places.ADDRESS_PARTS))
    canon = noise.address_canon(moved)
    address = pl.select(
        pl.when(hostile).then(canon).otherwise(noise.addresses(moved, rng, scale=noise_scale))
    ).to_series()
    uscc = noise.usccs(
        frame["uscc"], frame["uscc_mode"], frame["is_pilot"] | hostile, rng, LICENCE_RATES, noise_scale
    )
    uscc = _parent_code(frame, ent, uscc, rng, noise_scale)
    out = frame.select(
        "record_key",
        "licence_type",
        holder_name=name,
        uscc=uscc,
        legal_rep=rep,
        address=address,
        premises_address=noise.addresses(premises, rng, scale=noise_scale),
        business_form=pl.col("business_form"),
        issuer=pl.col("issuer"),
        issued_on=pl.col("issued_on"),
        valid_until=pl.col("valid_until"),
        licence_status=pl.col("licence_status"),
        supervising_unit=pl.col("supervising_unit"),
    )
    return _hidden(
        out,
        _eid=frame["eid"].cast(pl.Int64),
        _ref=frame["lid"].cast(pl.Int64),
        _name_canon=name_canon,
        _rep_canon=rep_canon,
        _addr_canon=canon,
    )


def _parent_code(
    frame: pl.DataFrame, ent: pl.DataFrame, written: pl.Series, rng: np.random.Generator, scale: float
) -> pl.Series:
    """Some branch licences carry the parent company's USCC, as licensing clerks copy it from the parent."""
    parents = ent.select(parent_eid="eid", parent_uscc="uscc")
    parent_uscc = frame.select("parent_eid").join(
        parents, on="parent_eid", how="left", maintain_order="left"
    )["parent_uscc"]
    swap = (
        (written == frame["uscc"]).fill_null(False)
        & parent_uscc.is_not_null()
        & pl.Series(rng.random(frame.height) < min(1.0, PARENT_USCC_SHARE * scale))
    )
    return pl.select(pl.when(swap).then(parent_uscc).otherwise(written)).to_series().alias("uscc")


def district(
    insp: pl.DataFrame,
    ent: pl.DataFrame,
    rng: np.random.Generator,
    roads: places.Roads,
    region_text: dict[str, str],
    noise_scale: float = 1.0,
) -> pl.DataFrame:
    """Inspection rows as a district bureau writes them (its own ways of naming the district and the entity)."""
    frame = insp.join(ent.select(ENTITY_COLUMNS), on="eid", how="left", maintain_order="left")
    hostile = frame["is_hostile"]
    name, name_canon = noise.names(frame, rng, noise_scale)
    rep, rep_canon = noise.legal_reps(
        frame["legal_rep"], frame["rep_mode"], hostile, rng, DISTRICT_RATES["rep_blank"], noise_scale
    )
    premises = frame.select(*(pl.col(f"p_{p}").alias(p) for p in places.ADDRESS_PARTS))
    moved_away = (frame["file_code"] != frame["premises_district"]).to_numpy()
    local = noise.moved_parts(premises, frame["file_code"], moved_away, rng, roads)
    local = local.with_columns(
        district_name=frame["file_code"].replace_strict({c: d.name for c, d in BY_CODE.items()})
    )
    address = noise.addresses(local, rng, DISTRICT_RATES["road_typo"], noise_scale)
    uscc = noise.usccs(
        frame["uscc"], frame["uscc_mode"], frame["is_pilot"] | hostile, rng, DISTRICT_RATES, noise_scale
    )
    out = frame.select(
        "record_no",
        district=pl.col("file_code").replace_strict(region_text),
        name=name,
        uscc=uscc,
        address=address,
        legal_rep=rep,
        phone=noise.phones(frame["phone_digits"], frame["phone_mobile"], rng),
        inspected_on=pl.col("inspected_on"),
        inspection_type=pl.col("inspection_type"),
        result=pl.col("result"),
        penalty_doc_no=pl.col("penalty_doc_no"),
        penalty_amount=pl.col("penalty_amount"),
    )
    return _hidden(
        out,
        _eid=frame["eid"].cast(pl.Int64),
        _ref=frame["iid"].cast(pl.Int64),
        _name_canon=name_canon,
        _rep_canon=rep_canon,
        _file_code=frame["file_code"],
    )


# What the ground truth (and the quarantine samples) read back from a written file; the rest is dropped
# once the file is on disk, which keeps a 1.5M-entity run within memory.
KEPT_COLUMNS = {
    "registration": (
        "record_key",
        "uscc",
        "name",
        "legal_rep",
        "established_on",
        "status",
        "address",
        "last_annual_report_year",
        "in_abnormal_list",
        "abnormal_reason",
    ),
    "licensing": LICENSING_COLUMNS,
    "district": (
        "record_no",
        "district",
        "name",
        "uscc",
        "address",
        "legal_rep",
        "inspected_on",
        "inspection_type",
        "result",
    ),
}
COLUMNS = {"registration": REGISTRATION_COLUMNS, "licensing": LICENSING_COLUMNS, "district": DISTRICT_COLUMNS}
DATE_COLUMNS = {
    "registration": ("established_on", "deregistered_on", "revoked_on", "approved_on"),
    "licensing": ("issued_on", "valid_until"),
    "district": ("inspected_on",),
}

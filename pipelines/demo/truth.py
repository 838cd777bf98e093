"""The ground truth: what a correct pipeline should conclude from the landing zone.

Computed from the rows that actually landed (final version per key: latest delivery date, then last row;
quarantined files, bad rows and the byte-identical re-delivery ignored) and from the hidden columns that
say what each row means. Issues follow the warehouse contract's Rule semantics, as of the latest delivery
date, so natural cases are found as well as planted ones.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.demo.codes import valid_uscc
from pipelines.demo.landing import WrittenFile
from pipelines.demo.places import canonical
from pipelines.demo.plan import Plan
from pipelines.demo.vocab import (
    ABNORMAL_UNREACHABLE,
    ACTIVE_STATUSES,
    CEASED_RESULTS,
    OPERATING_RESULTS,
    UNREACHABLE_RESULT,
)
from pipelines.domain.uscc import clean_expr

ENTITY_SOURCES = ("registration", "licensing", "district")
NORMALISED_STATUS = {
    "存续": "active",
    "在业": "active",
    "开业": "active",
    "吊销，未注销": "revoked",
    "吊销": "revoked",
    "注销": "deregistered",
    "迁出": "moved_out",
    "撤销": "cancelled",
}


def record_key(source: str) -> pl.Expr:
    """The pipeline's record key of a delivered row (district: the file's division code + 记录编号)."""
    if source == "district":
        return pl.concat_str([pl.col("_file_code"), pl.lit("-"), pl.col("record_no")])
    return pl.col("record_key")


def final_rows(written: list[WrittenFile]) -> dict[str, pl.DataFrame]:
    """Per source, the last good version of every key: latest delivery date, then the last row."""
    out: dict[str, pl.DataFrame] = {}
    for source in ENTITY_SOURCES:
        parts = []
        for order, file in enumerate(written):
            if file.source != source or file.quarantine or file.identical_of or file.rows is None:
                continue
            rows = file.rows.with_columns(
                _delivery=pl.lit(file.delivery_date),
                _path=pl.lit(file.path),
                _order=pl.lit(order),
                _row=pl.int_range(pl.len()) + 2,
            )
            parts.append(rows.filter(pl.col("_bad").is_null()))
        every = pl.concat(parts, how="diagonal_relaxed").with_columns(record_key=record_key(source))
        identity = "_eid" if source == "registration" else "_ref"
        clashes = (
            every.group_by("record_key").agg(pl.col(identity).n_unique().alias("n")).filter(pl.col("n") > 1)
        )
        assert clashes.height == 0, f"{source}: one key for two different records: {clashes.head(3)}"
        ordered = every.sort("_delivery", "_order", "_row", maintain_order=True)
        final = ordered.unique("record_key", keep="last", maintain_order=True)
        clean = final.select(clean_expr(pl.col("uscc"))).to_series()
        out[source] = final.with_columns(_uscc_present=clean != "", _uscc_valid=valid_uscc(clean))
    return out


def issues(plan: Plan, finals: dict[str, pl.DataFrame], ent: pl.DataFrame) -> pl.DataFrame:
    """Every issue the Rule semantics find, one row per triggering record."""
    as_of = plan.as_of
    reg = finals["registration"].with_columns(
        _year=pl.col("last_annual_report_year").cast(pl.Int64, strict=False),
        _active=pl.col("_status").is_in(ACTIVE_STATUSES),
    )
    entity = _registered_entities(reg)
    lic = finals["licensing"].join(entity, on="_eid", how="left", maintain_order="left")
    dis = finals["district"].join(entity, on="_eid", how="left", maintain_order="left")
    found = [
        _rows(
            lic.filter(
                pl.col("reg_registered")
                & ~pl.col("reg_active")
                & (pl.col("licence_status") == "有效")
                & (pl.col("_date_valid_until").is_null() | (pl.col("_date_valid_until") >= as_of))
            ),
            "zombie.deregistered_with_active_licence",
            "licensing",
        ),
        _rows(
            reg.filter(
                (pl.col("in_abnormal_list") == "是")
                & pl.col("abnormal_reason").str.contains(ABNORMAL_UNREACHABLE, literal=True)
            ),
            "zombie.unreachable",
            "registration",
        ),
        _rows(dis.filter(pl.col("result") == UNREACHABLE_RESULT), "zombie.unreachable", "district"),
        _rows(
            reg.filter(
                pl.col("_active")
                & (pl.col("_date_established_on") <= _years_before(as_of, 2))
                & (pl.col("_year").is_null() | (pl.col("_year") < _last_due_year(as_of) - 1))
            ),
            "zombie.no_annual_report",
            "registration",
        ),
        _rows(
            _latest_inspections(dis).filter(pl.col("reg_active") & pl.col("result").is_in(CEASED_RESULTS)),
            "zombie.ceased_operating",
            "district",
        ),
        _rows(lic.filter(pl.col("reg_registered").is_null()), "zombie.orphan_licence", "licensing"),
        *_inconsistent(lic, "licensing"),
        *_inconsistent(dis, "district"),
        _rows(
            dis.filter(pl.col("reg_registered") & (pl.col("_file_code") != pl.col("reg_district"))),
            "inconsistent.district",
            "district",
        ),
        *(
            _rows(finals[s].filter(pl.col("_uscc_present") & ~pl.col("_uscc_valid")), "invalid.uscc", s)
            for s in ENTITY_SOURCES
        ),
        _rows(_expired_operating(lic, dis, as_of), "expired_licence.still_operating", "licensing"),
        _rows(reg.filter(pl.col("_eid").count().over("_eid") >= 2), "duplicate.registration", "registration"),
    ]
    frame = pl.concat(found).unique(maintain_order=True)
    ids = ent.select(pl.col("eid").alias("_eid"), "true_entity_id")
    return (
        frame.join(ids, on="_eid", how="left", maintain_order="left")
        .select("issue_type", "true_entity_id", "source", "record_key")
        .sort("issue_type", "source", "record_key")
    )


def _rows(frame: pl.DataFrame, issue_type: str, source: str) -> pl.DataFrame:
    return frame.select(
        issue_type=pl.lit(issue_type),
        source=pl.lit(source),
        record_key=pl.col("record_key"),
        _eid=pl.col("_eid"),
    )


def _registered_entities(reg: pl.DataFrame) -> pl.DataFrame:
    """One row per registered entity (its records agree on everything the rules read)."""
    grouped = reg.group_by("_eid", maintain_order=True).agg(
        reg_registered=pl.lit(True),
        reg_active=pl.col("_active").first(),
        reg_district=pl.col("_district").first(),
        reg_name=pl.col("_name_canon").first(),
        reg_rep=pl.col("_rep_canon").first(),
        reg_addr=pl.col("_addr_canon").first(),
        _agree=pl.struct("_status", "_district", "_name_canon", "_rep_canon", "_addr_canon").n_unique() == 1,
    )
    assert grouped["_agree"].all(), "records of one entity disagree on a field the rules read"
    return grouped.drop("_agree")


def _inconsistent(frame: pl.DataFrame, source: str) -> list[pl.DataFrame]:
    """Material differences from the registration, compared on what each record means (blank: no difference)."""
    named = (
        pl.col("reg_name").is_not_null() & (pl.col("reg_name") != "") & pl.col("_name_canon").is_not_null()
    )
    out = [
        _rows(
            frame.filter(pl.col("reg_registered") & named & (pl.col("_name_canon") != pl.col("reg_name"))),
            "inconsistent.name",
            source,
        ),
        _rows(
            frame.filter(
                pl.col("reg_registered")
                & pl.col("_rep_canon").is_not_null()
                & pl.col("reg_rep").is_not_null()
                & (pl.col("_rep_canon") != pl.col("reg_rep"))
            ),
            "inconsistent.legal_rep",
            source,
        ),
    ]
    if source == "licensing":
        out.append(
            _rows(
                frame.filter(
                    pl.col("reg_registered")
                    & pl.col("_addr_canon").is_not_null()
                    & (pl.col("_addr_canon") != pl.col("reg_addr"))
                ),
                "inconsistent.address",
                source,
            )
        )
    return out


def _latest_inspections(dis: pl.DataFrame) -> pl.DataFrame:
    latest = dis.sort("_date_inspected_on", "record_key").group_by("_eid", maintain_order=True).last()
    ties = dis.group_by("_eid", "_date_inspected_on").len().filter(pl.col("len") > 1)
    assert ties.height == 0, "an entity has two inspections on one day: 'latest' would be ambiguous"
    return latest


def _expired_operating(lic: pl.DataFrame, dis: pl.DataFrame, as_of: date) -> pl.DataFrame:
    expired = lic.filter((pl.col("licence_status") == "有效") & (pl.col("_date_valid_until") < as_of))
    operating = dis.filter(pl.col("result").is_in(OPERATING_RESULTS)).select(
        "_eid", seen=pl.col("_date_inspected_on")
    )
    joined = expired.join(operating, on="_eid", how="inner").filter(
        pl.col("seen") > pl.col("_date_valid_until")
    )
    return joined.unique("record_key", maintain_order=True)


def _years_before(day: date, years: int) -> date:
    if day.month == 2 and day.day == 29:
        return day.replace(year=day.year - years, day=28)
    return day.replace(year=day.year - years)


def _last_due_year(as_of: date) -> int:
    """The latest report year whose deadline (30 June of the following year) has passed."""
    return as_of.year - 1 if as_of > date(as_of.year, 6, 30) else as_of.year - 2


def planted_keys(planted: pl.DataFrame, finals: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Planted cases (refs: registration key, licence lid, inspection iid) as (issue_type, source, record_key)."""
    parts = [planted.filter(pl.col("source") == "registration").rename({"ref": "record_key"})]
    for source in ("licensing", "district"):
        refs = finals[source].select(ref=pl.col("_ref").cast(pl.Utf8), record_key="record_key")
        parts.append(planted.filter(pl.col("source") == source).join(refs, on="ref", how="left").drop("ref"))
    return pl.concat([p.select("issue_type", "source", "record_key") for p in parts]).unique(
        maintain_order=True
    )


def records_table(finals: dict[str, pl.DataFrame], ent: pl.DataFrame) -> pl.DataFrame:
    """Every good record (final version) with its true entity and a few evaluation flags."""
    ids = ent.select(
        pl.col("eid").alias("_eid"),
        "true_entity_id",
        "hard_negative_kind",
        is_orphan_entity=pl.col("role") == "orphan",
    )
    parts = []
    for source in ENTITY_SOURCES:
        frame = finals[source]
        value = {
            "registration": pl.col("_status"),
            "licensing": pl.col("licence_status"),
            "district": pl.col("result"),
        }[source]
        parts.append(
            frame.select(
                source=pl.lit(source),
                record_key="record_key",
                _eid="_eid",
                delivery_date="_delivery",
                path="_path",
                row="_row",
                uscc_in_record=pl.col("uscc"),
                has_valid_uscc_in_record=pl.col("_uscc_valid"),
                uscc_blank=~pl.col("_uscc_present"),
                name_in_record=pl.col("name" if source != "licensing" else "holder_name"),
                address_in_record=pl.col("address"),
                legal_rep_in_record=pl.col("legal_rep"),
                final_status=value,
            )
        )
    table = pl.concat(parts).join(ids, on="_eid", how="left", maintain_order="left").drop("_eid")
    return table.select(
        "source",
        "record_key",
        "true_entity_id",
        *[c for c in table.columns if c not in ("source", "record_key", "true_entity_id")],
    )


def entities_table(ent: pl.DataFrame, finals: dict[str, pl.DataFrame]) -> pl.DataFrame:
    keys = (
        finals["registration"]
        .group_by("_eid", maintain_order=True)
        .agg(registration_keys=pl.col("record_key").sort())
    )
    ids = ent.select("eid", "true_entity_id")
    partner = ids.rename({"eid": "hard_negative_of", "true_entity_id": "hard_negative_partner"})
    parent = ids.rename({"eid": "parent_eid", "true_entity_id": "parent_entity_id"})
    frame = (
        ent.join(keys.rename({"_eid": "eid"}), on="eid", how="left", maintain_order="left")
        .join(partner, on="hard_negative_of", how="left", maintain_order="left")
        .join(parent, on="parent_eid", how="left", maintain_order="left")
    )
    registered = pl.when(pl.col("registration_keys").is_not_null())
    return frame.select(
        "true_entity_id",
        "kind",
        "entity_type",
        "uscc",
        "reg_no",
        "name",
        "district_code",
        status=registered.then("status"),
        status_normalised=registered.then(
            pl.col("status").replace_strict(NORMALISED_STATUS, default="unknown")
        ),
        legal_rep="legal_rep",
        address=canonical(),
        premises_district="premises_district",
        established_on="established_on",
        role="role",
        appears_day="appears_day",
        has_registration=pl.col("registration_keys").is_not_null(),
        registration_keys="registration_keys",
        is_legacy="is_legacy",
        is_pilot_code="is_pilot",
        is_hostile_name="is_hostile",
        hard_negative_kind="hard_negative_kind",
        hard_negative_partner="hard_negative_partner",
        parent_entity_id="parent_entity_id",
        last_annual_report_year="annual_report_year",
        in_abnormal_list="in_abnormal_list",
        abnormal_reason="abnormal_reason",
    )


def files_table(written: list[WrittenFile]) -> pl.DataFrame:
    rows = []
    for w in written:
        good = (
            0
            if (w.quarantine or w.rows is None or "_bad" not in w.rows.columns)
            else w.rows.filter(pl.col("_bad").is_null()).height
        )
        rows.append(
            {
                "source": w.source,
                "delivery_date": w.delivery_date,
                "path": w.path,
                "format": w.fmt,
                "encoding": w.encoding,
                "date_style": w.date_style,
                "header_variant": w.header_variant,
                "headers": w.headers,
                "rows_written": w.rows_written,
                "good_rows": good,
                "quarantine_reason": w.quarantine,
                "is_identical_redelivery_of": w.identical_of,
                "is_late_delivery": w.is_late,
            }
        )
    return pl.DataFrame(
        rows,
        # Every column that may be null in its first hundred rows is typed: a year of days has a first
        # re-delivery far past them, and inference would have typed its column Null.
        schema_overrides={
            "delivery_date": pl.Date,
            "headers": pl.List(pl.Utf8),
            "header_variant": pl.Int64,
            "encoding": pl.Utf8,
            "date_style": pl.Utf8,
            "quarantine_reason": pl.Utf8,
            "is_identical_redelivery_of": pl.Utf8,
        },
    )


def bad_rows_table(written: list[WrittenFile]) -> pl.DataFrame:
    rows = [
        {k: r[k] for k in ("source", "path", "row", "reason", "column", "value")}
        for w in written
        if not w.identical_of
        for r in w.bad_rows
    ]
    schema = {
        "source": pl.Utf8,
        "path": pl.Utf8,
        "row": pl.Int64,
        "reason": pl.Utf8,
        "column": pl.Utf8,
        "value": pl.Utf8,
    }
    return pl.DataFrame(rows, schema=schema)


def write_json(path: Path, payload: dict[str, object]) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")


def judgements_table(
    written: list[WrittenFile], finals: dict[str, pl.DataFrame], ent: pl.DataFrame
) -> pl.DataFrame:
    """The corrections delivery's good match judgements, with the true entities on both sides."""
    owners = pl.concat([f.select(source=pl.lit(s), key="record_key", _eid="_eid") for s, f in finals.items()])
    owners = owners.join(
        ent.select(pl.col("eid").alias("_eid"), "true_entity_id"), on="_eid", how="left"
    ).drop("_eid")
    frames = []
    for w in written:
        if w.source != "corrections" or w.rows is None:
            continue
        name = w.path.rsplit("/", 1)[1]
        rows = w.rows.with_columns(
            record_key=pl.concat_str([pl.lit(name + ":"), (pl.int_range(pl.len()) + 2).cast(pl.Utf8)])
        )
        frames.append(rows.filter(pl.col("_bad").is_null()))
    table = pl.concat(frames).select(
        "record_key", "action", "left_source", "left_key", "right_source", "right_key"
    )
    for side in ("left", "right"):
        table = table.join(
            owners.rename(
                {"source": f"{side}_source", "key": f"{side}_key", "true_entity_id": f"{side}_true_entity_id"}
            ),
            on=[f"{side}_source", f"{side}_key"],
            how="left",
            maintain_order="left",
        )
    same = pl.col("left_true_entity_id") == pl.col("right_true_entity_id")
    return table.with_columns(
        agrees_with_truth=pl.when(pl.col("action") == "same").then(same).otherwise(~same)
    )

"""One writer per source: split a delivery's rows into files and write each in its style."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.demo import bad_input, formats
from pipelines.demo.formats import DISTRICT_STYLES, LICENSING_FIRST, REGISTRATION_FIRST, FileStyle
from pipelines.demo.landing import Landing, WrittenFile
from pipelines.demo.timeline import Deliveries, Schedule
from pipelines.demo.vocab import DISTRICT_PINYIN

URBAN = ("330203", "330205", "330206", "330211", "330212")


def write_registration(
    landing: Landing, deliveries: Deliveries, dates: tuple[date, ...], schedule: Schedule
) -> None:
    """Day one as four exports (enterprises, branches, urban and county 个体工商户); then one file a day."""
    ent = deliveries.ent
    assert ent is not None
    kinds = ent.select(pl.col("eid").alias("_eid"), pl.col("kind").alias("_kind"))
    first = deliveries.registration[0].join(kinds, on="_eid", how="left", maintain_order="left")
    kind = pl.col("_kind")
    groups = {
        "reg_enterprise": ~kind.is_in(["branch", "individual"]),
        "reg_branch": kind == "branch",
        "reg_individual_urban": (kind == "individual") & pl.col("_district").is_in(URBAN),
        "reg_individual_county": (kind == "individual") & ~pl.col("_district").is_in(URBAN),
    }
    stamp = dates[0].strftime("%Y%m%d")
    for stub, style in REGISTRATION_FIRST:
        landing.write(
            "registration",
            dates[0],
            f"{stub}_{stamp}",
            style,
            first.filter(groups[stub]).drop("_kind"),
            bad=bad_input.rows_for("registration", 0, stub, len(dates)),
        )
    for day in range(1, len(dates)):
        stub = "reg_incremental"
        landing.write(
            "registration",
            dates[day],
            f"{stub}_{dates[day].strftime('%Y%m%d')}",
            formats.incremental_style(day, False),
            deliveries.registration[day],
            bad=bad_input.rows_for("registration", day, stub, len(dates)),
        )
    _redeliver(landing, schedule, dates)
    deliveries.registration.clear()  # the landing keeps what the truth needs


def _redeliver(landing: Landing, schedule: Schedule, dates: tuple[date, ...]) -> None:
    """A byte-identical copy of an earlier registration file, under its old name, in a later folder."""
    if schedule.redelivery is None:
        return
    original_day, copy_day, _ = schedule.redelivery
    candidates = [
        w for w in landing.written if w.source == "registration" and w.delivery_date == dates[original_day]
    ]
    original = candidates[-1] if original_day > 0 else next(w for w in candidates if "reg_branch" in w.path)
    name = original.path.rsplit("/", 1)[1]
    relative = f"registration/{dates[copy_day].isoformat()}/{name}"
    copy = WrittenFile(
        "registration",
        dates[copy_day],
        relative,
        original.fmt,
        original.encoding,
        original.date_style,
        original.headers,
        original.rows,
        identical_of=original.path,
        header_variant=original.header_variant,
    )
    landing.write_raw(copy, (landing.root / original.path).read_bytes())


def write_licensing(
    landing: Landing, deliveries: Deliveries, dates: tuple[date, ...], schedule: Schedule
) -> None:
    """Day one as four exports by licence family; then one file a day (one of them a spreadsheet)."""
    first = deliveries.licensing[0]
    stamp = dates[0].strftime("%Y%m%d")
    for stub, types, style in LICENSING_FIRST:
        if schedule.xlsx_licensing_day == 0 and stub == "lic_food_business":
            style = FileStyle("xlsx", None, "excel", style.variant)
        record = landing.write(
            "licensing",
            dates[0],
            f"{stub}_{stamp}",
            style,
            first.filter(pl.col("licence_type").is_in(types)),
            sheet="许可信息",
            bad=bad_input.rows_for("licensing", 0, stub, len(dates), schedule.xlsx_licensing_day),
        )
        record.is_late = schedule.late_day == 0
    for day in range(1, len(dates)):
        xlsx = day == schedule.xlsx_licensing_day
        record = landing.write(
            "licensing",
            dates[day],
            f"lic_incremental_{dates[day].strftime('%Y%m%d')}",
            formats.incremental_style(day, xlsx),
            deliveries.licensing[day],
            sheet="许可信息",
            bad=bad_input.rows_for(
                "licensing", day, "lic_incremental", len(dates), schedule.xlsx_licensing_day
            ),
        )
        record.is_late = schedule.late_day == day
    deliveries.licensing.clear()


def write_district(landing: Landing, deliveries: Deliveries, dates: tuple[date, ...]) -> None:
    """One file per district per delivery, named <division code>_<pinyin>, in that district's own style."""
    for day, rows in enumerate(deliveries.district):
        for code, style in DISTRICT_STYLES.items():
            part = rows.filter(pl.col("_file_code") == code)
            landing.write(
                "district",
                dates[day],
                f"{code}_{DISTRICT_PINYIN[code]}",
                style.file,
                part,
                sheet="检查记录",
                bad=bad_input.rows_for("district", day, code, len(dates)),
            )
    deliveries.district.clear()

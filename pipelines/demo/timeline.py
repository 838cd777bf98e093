"""The deliveries, day by day: the complete first delivery, then incremental ones.

Each incremental day: a few entities close, move, change legal rep or name, file a late annual report;
new entities register; new licences and inspections arrive; licences of closed entities get cancelled (some
of them: the rest are zombies), some are renewed; a few inspection results are corrected. Also planted:
a key twice in one delivery (stale row first), a late delivery whose records are updated again later,
and the records of a file that will be re-delivered byte for byte after they have changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from pipelines.demo import naming, people, places, records
from pipelines.demo.entities import registered_name
from pipelines.demo.formats import REGION_TEXT
from pipelines.demo.licences import valid_until
from pipelines.demo.plan import Plan, mask
from pipelines.demo.vocab import (
    ABNORMAL_NO_REPORT,
    ABNORMAL_UNREACHABLE,
    ACTIVE_STATUSES,
    FILING_TYPES,
    REVOKED_NOT_DEREGISTERED,
    UNREACHABLE_RESULT,
)


@dataclass(frozen=True)
class Schedule:
    """Which deliveries carry the planted delivery-order cases (None when there are too few days)."""

    late_day: int | None  # licensing delivery that arrives after later ones in real life
    late_update_day: int | None  # the later licensing delivery that updates its records again
    redelivery: tuple[int, int, int | None] | None  # registration (original day, copy day, day in between)
    xlsx_licensing_day: int

    @classmethod
    def for_days(cls, days: int) -> Schedule:
        if days >= 4:
            return cls(1, 3, (1, 3, 2), 2)
        if days == 3:
            return cls(1, 2, (1, 2, None), 2)
        if days == 2:
            return cls(0, 1, (0, 1, None), 1)
        return cls(None, None, None, 0)


@dataclass
class Deliveries:
    """Rows to write per source and day (write order; a key may repeat within a day), and the final entities."""

    registration: list[pl.DataFrame] = field(default_factory=list)
    licensing: list[pl.DataFrame] = field(default_factory=list)
    district: list[pl.DataFrame] = field(default_factory=list)
    ent: pl.DataFrame | None = None
    redelivered_keys: list[str] = field(default_factory=list)
    late_updated_keys: list[str] = field(default_factory=list)


def run(
    plan: Plan,
    ent: pl.DataFrame,
    lic: pl.DataFrame,
    insp: pl.DataFrame,
    roads: places.Roads,
    schedule: Schedule,
) -> Deliveries:
    rng = plan.rng("timeline")
    out = Deliveries()
    out.registration.append(records.registration(ent.filter(pl.col("role") == "existing"), rng, twins=True))
    out.licensing.append(
        records.licensing(lic.filter(pl.col("appears_day") == 0), ent, rng, roads, plan.noise)
    )
    out.district.append(
        records.district(insp.filter(pl.col("appears_day") == 0), ent, rng, roads, REGION_TEXT, plan.noise)
    )
    latest_lic, latest_dis = out.licensing[0], out.district[0]
    unreachable = _unreachable(ent, insp)
    closed: np.ndarray = np.zeros(0, dtype=np.int64)
    for day in range(1, plan.days):
        again = _again(out, schedule, day, ent)
        ent, changed, closed_today = _events(plan, ent, day, rng, roads, unreachable, again)
        out.redelivered_keys += ent["record_key"].gather(again).to_list()
        appearing = ent.filter(pl.col("appears_day") == day)["eid"].to_numpy()
        rows = ent[np.unique(np.concatenate([appearing, changed]))]
        out.registration.append(_stale_first(records.registration(rows, rng), rng, 2, _stale_registration))
        fresh = records.licensing(lic.filter(pl.col("appears_day") == day), ent, rng, roads, plan.noise)
        updates = _licence_updates(plan, latest_lic, ent, closed, day, rng)
        if day == schedule.late_update_day and schedule.late_day is not None:
            late = _late_updates(plan, out.licensing[schedule.late_day], ent, rng)
            out.late_updated_keys = late["record_key"].to_list()
            updates = pl.concat(
                [updates.filter(~pl.col("record_key").is_in(late["record_key"].implode())), late]
            )
        licensing = _stale_first(pl.concat([fresh, updates]), rng, 1, _stale_licence)
        out.licensing.append(licensing)
        district = pl.concat(
            [
                records.district(
                    insp.filter(pl.col("appears_day") == day), ent, rng, roads, REGION_TEXT, plan.noise
                ),
                _corrections(plan, latest_dis, ent, rng),
            ]
        )
        out.district.append(_stale_first(district, rng, 1, _stale_inspection))
        latest_lic = _latest(latest_lic, licensing)
        latest_dis = _latest(latest_dis, out.district[-1])
        closed = closed_today
    out.ent = ent
    return out


def _latest(previous: pl.DataFrame, today: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([previous, today]).unique("_ref", keep="last", maintain_order=True)


def _unreachable(ent: pl.DataFrame, insp: pl.DataFrame) -> np.ndarray:
    """Entities with an unreachability signal: they never close (查无下落 stays with active entities)."""
    listed = ent.filter(pl.col("abnormal_reason") == ABNORMAL_UNREACHABLE)["eid"].to_numpy()
    lost = insp.filter(pl.col("result") == UNREACHABLE_RESULT)["eid"].to_numpy()
    return np.union1d(listed, lost)


def _again(out: Deliveries, schedule: Schedule, day: int, ent: pl.DataFrame) -> np.ndarray:
    """On the day between a file and its byte-identical re-delivery, change two of its entities again."""
    if schedule.redelivery is None or schedule.redelivery[2] != day:
        return np.zeros(0, dtype=np.int64)
    original = out.registration[schedule.redelivery[0]]
    eids = original["_eid"].unique(maintain_order=True).to_numpy()
    unlocked = eids[~ent["locked"].to_numpy()[eids]]
    return unlocked[:2]


def _events(
    plan: Plan,
    ent: pl.DataFrame,
    day: int,
    rng: np.random.Generator,
    roads: places.Roads,
    unreachable: np.ndarray,
    again: np.ndarray,
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Apply one day's registration events; returns (entities, changed eids, closed eids)."""
    k = plan.events_per_day
    delivered = np.datetime64(plan.dates[day], "D")
    flags = ent.select(
        eligible=pl.col("appears_day").is_between(0, day - 1) & ~pl.col("locked") & ~pl.col("is_hostile"),
        active=pl.col("status").is_in(ACTIVE_STATUSES),
        renamable=(pl.col("kind") == "company")
        & (pl.col("zihao") != "")
        & pl.col("hard_negative_kind").is_null(),
    )
    eligible, active = flags["eligible"].to_numpy().copy(), flags["active"].to_numpy()
    eligible[again] = False
    order = rng.permutation(np.flatnonzero(eligible))
    used = np.zeros(ent.height, bool)

    def take(condition: np.ndarray, count: int) -> np.ndarray:
        rows = order[condition[order] & ~used[order]][:count]
        used[rows] = True
        return np.sort(rows)

    closing = take(active & ~mask(ent.height, unreachable), k)
    moving = take(active, k)
    new_rep = np.union1d(take(active, k), again)
    renamed = take(active & flags["renamable"].to_numpy(), max(1, k // 2))
    due = plan.as_of.year - 1 if plan.as_of.month > 6 else plan.as_of.year - 2
    report = ent["annual_report_year"].fill_null(0).to_numpy()
    established = ent["established_on"].to_numpy().astype("datetime64[D]")
    filing = take(active & (report < due) & (established <= delivered - 365), k)
    ent = _close(ent, closing, delivered, rng)
    ent = _move(ent, moving, rng, roads)
    ent = _set(
        ent,
        new_rep,
        legal_rep=people.other_person(rng, ent["legal_rep"].gather(new_rep).to_numpy().astype(str)),
    )
    ent = _set(
        ent, renamed, zihao=naming.other_zihao(ent["zihao"].gather(renamed).to_numpy().astype(str), rng)
    )
    ent = _set(ent, renamed, name=ent[renamed].select(registered_name()).to_series().to_numpy())
    ent = _file_report(ent, filing, due)
    touched = np.concatenate([moving, new_rep, renamed])
    approved = pl.Series(np.full(touched.size, delivered - 1)).cast(pl.Date)
    ent = ent.with_columns(approved_on=ent["approved_on"].scatter(touched, approved))
    return ent, np.unique(np.concatenate([closing, touched, filing])), closing


def _set(ent: pl.DataFrame, rows: np.ndarray, **values: object) -> pl.DataFrame:
    if rows.size == 0:
        return ent
    return ent.with_columns(**{c: ent[c].scatter(rows, v) for c, v in values.items()})


def _close(
    ent: pl.DataFrame, rows: np.ndarray, delivered: np.datetime64, rng: np.random.Generator
) -> pl.DataFrame:
    """注销 (with 注销日期), 吊销，未注销 (with 吊销日期) or 迁出, dated a few days before the delivery."""
    if rows.size == 0:
        return ent
    choice = rng.random(rows.size)
    status = np.select([choice < 0.6, choice < 0.9], ["注销", REVOKED_NOT_DEREGISTERED], "迁出")
    day = pl.Series(delivered - rng.integers(1, 5, size=rows.size).astype("timedelta64[D]")).cast(pl.Date)
    nulls = pl.Series([None] * rows.size, dtype=pl.Date)
    pick = lambda mask: pl.select(pl.when(pl.Series(mask)).then(day).otherwise(nulls)).to_series()  # noqa: E731
    return _set(
        ent,
        rows,
        status=status,
        deregistered_on=pick(status == "注销"),
        revoked_on=pick(status == REVOKED_NOT_DEREGISTERED),
        approved_on=day,
    )


def _move(ent: pl.DataFrame, rows: np.ndarray, rng: np.random.Generator, roads: places.Roads) -> pl.DataFrame:
    """A new registered address in the same district; premises that were the same place move with it."""
    if rows.size == 0:
        return ent
    current = ent[rows].select(*places.ADDRESS_PARTS)
    premises = ent[rows].select(*(pl.col(f"p_{p}").alias(p) for p in places.ADDRESS_PARTS))
    same_place = (current == premises).select(pl.all_horizontal(pl.all())).to_series().to_numpy()
    fresh = places.moved(rng, ent["district_code"].gather(rows).to_numpy().astype(str), current, roads)
    ent = _set(ent, rows, **{p: fresh[p] for p in places.ADDRESS_PARTS})
    along = rows[same_place]
    return _set(ent, along, **{f"p_{p}": fresh[p].to_numpy()[same_place] for p in places.ADDRESS_PARTS})


def _file_report(ent: pl.DataFrame, rows: np.ndarray, due: int) -> pl.DataFrame:
    """A late annual report: the year is filed and a 未报年报 listing is lifted."""
    if rows.size == 0:
        return ent
    lifted = (ent["abnormal_reason"].gather(rows) == ABNORMAL_NO_REPORT).fill_null(False).to_numpy()
    listing = np.where(lifted, "否", ent["in_abnormal_list"].gather(rows).to_numpy())
    reason = np.where(lifted, None, ent["abnormal_reason"].gather(rows).to_numpy())
    return _set(
        ent,
        rows,
        annual_report_year=pl.Series(np.full(rows.size, due), dtype=pl.Int64),
        in_abnormal_list=pl.Series(listing.tolist(), dtype=pl.Utf8),
        abnormal_reason=pl.Series(reason.tolist(), dtype=pl.Utf8),
    )


def _licence_updates(
    plan: Plan,
    latest: pl.DataFrame,
    ent: pl.DataFrame,
    closed: np.ndarray,
    day: int,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Cancel half the licences of yesterday's closures; renew a few licences about to lapse."""
    unlocked = ent.filter(~pl.col("locked"))["eid"].implode()
    running = latest.filter((pl.col("licence_status") == "有效") & pl.col("_eid").is_in(unlocked))
    closing = running.filter(pl.col("_eid").is_in(pl.Series(closed, dtype=pl.Int64).implode()))
    cancelled = closing.filter(pl.Series(rng.random(closing.height) < 0.5)).with_columns(
        licence_status=pl.lit("注销")
    )
    delivered = plan.dates[day]
    window = running.filter(
        pl.col("valid_until").is_between(
            pl.lit(delivered).dt.offset_by("-200d"), pl.lit(delivered).dt.offset_by("120d")
        )
        & ~pl.col("record_key").is_in(cancelled["record_key"].implode())
        & ~pl.col("licence_type").is_in(list(FILING_TYPES))
    )
    count = min(window.height, plan.events_per_day // 2 + 1)
    renewed = (
        window[np.sort(rng.choice(window.height, size=count, replace=False))] if count else window.clear()
    )
    renewed = renewed.with_columns(issued_on=pl.lit(delivered).dt.offset_by("-1d")).with_columns(
        valid_until=valid_until(pl.col("issued_on"), pl.lit(False))
    )
    return pl.concat([cancelled, renewed])


def _late_updates(
    plan: Plan, late: pl.DataFrame, ent: pl.DataFrame, rng: np.random.Generator
) -> pl.DataFrame:
    """Newer values for half of a late delivery's records: units renamed, some licences cancelled."""
    unlocked = ent.filter(~pl.col("locked"))["eid"].implode()
    pool = late.filter(pl.col("_eid").is_in(unlocked)).unique("record_key", keep="last", maintain_order=True)
    count = min(max(1, pool.height // 2), max(20, plan.entities // 1000))
    chosen = pool[np.sort(rng.choice(pool.height, size=min(count, pool.height), replace=False))]
    cancel = pl.Series(rng.random(chosen.height) < 0.3)
    return chosen.with_columns(
        supervising_unit=pl.col("supervising_unit").str.replace("市场监督管理所", "市场监管所", literal=True),
        licence_status=pl.when(cancel & (pl.col("licence_status") == "有效"))
        .then(pl.lit("注销"))
        .otherwise("licence_status"),
    )


def _corrections(
    plan: Plan, latest: pl.DataFrame, ent: pl.DataFrame, rng: np.random.Generator
) -> pl.DataFrame:
    """A district corrects the result of a few earlier inspections."""
    unlocked = ent.filter(~pl.col("locked"))["eid"].implode()
    pool = latest.filter(
        pl.col("_eid").is_in(unlocked) & pl.col("result").is_in(["符合", "基本符合", "责令整改", "不符合"])
    )
    count = min(pool.height, max(1, plan.entities // 20000))
    chosen = pool[np.sort(rng.choice(pool.height, size=count, replace=False))]
    return chosen.with_columns(
        result=pl.when(pl.col("result") == "符合").then(pl.lit("基本符合")).otherwise(pl.lit("符合"))
    )


def _stale_first(
    rows: pl.DataFrame,
    rng: np.random.Generator,
    count: int,
    stale: Callable[[pl.DataFrame, np.random.Generator], pl.DataFrame],
) -> pl.DataFrame:
    """A few keys delivered twice in one file: an outdated row first, the current one after it."""
    if rows.height == 0:
        return rows
    chosen = rows[np.sort(rng.choice(rows.height, size=min(count, rows.height), replace=False))]
    return pl.concat([stale(chosen, rng), rows])


def _stale_registration(rows: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    other = people.other_person(rng, rows["legal_rep"].fill_null("张三").to_numpy().astype(str))
    return rows.with_columns(
        legal_rep=pl.Series(other),
        _rep_canon=pl.Series(other),
        approved_on=pl.col("approved_on").dt.offset_by("-1d"),
    )


def _stale_licence(rows: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    return rows.with_columns(
        licence_status=pl.when(pl.col("licence_status") == "有效")
        .then(pl.lit("注销"))
        .otherwise(pl.lit("有效"))
    )


def _stale_inspection(rows: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    return rows.with_columns(
        result=pl.when(pl.col("result") == "符合").then(pl.lit("责令整改")).otherwise(pl.lit("符合"))
    )

"""True licences (四品一械): who holds which licence, its number, dates and status.

Restaurants, food shops, food producers, pharmacies and device traders hold them (about one entity in
six). Numbers follow the real patterns: JY13302120012345 (食品经营), SC10633021200123 (食品生产),
YB…(仅销售预包装食品备案), 浙CB574…(药品), 浙甬药监械经营许2019…(医疗器械).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.demo import codes
from pipelines.demo.plan import Plan
from pipelines.demo.vocab import ACTIVE_STATUSES, FILING_TYPES, INDUSTRIES, INDUSTRY_INDEX, LICENCE_FORMS
from pipelines.domain.divisions import CITY_CODE, authority_name

EXPIRED_SHARE = 0.12
FOOD_CATEGORIES = np.array(
    [
        "101",
        "102",
        "103",
        "104",
        "106",
        "107",
        "111",
        "113",
        "114",
        "116",
        "120",
        "121",
        "122",
        "124",
        "126",
        "128",
    ]
)


def initial(plan: Plan, ent: pl.DataFrame, xlsx_day: int) -> pl.DataFrame:
    """Licences of the population: existing holders (day 0), new registrations (their day), hostile names."""
    rng = plan.rng("licences")
    holders = _holders(rng, ent)
    frame = holders.join(ent, on="eid", how="left", maintain_order="left").with_row_index("lid")
    frame = frame.with_columns(
        appears_day=pl.when(pl.col("is_hostile"))
        .then(xlsx_day)
        .otherwise(pl.col("appears_day").clip(0, None))
        .cast(pl.Int64)
    )
    frame = _dates(frame, plan, rng)
    frame = _status(frame, plan, rng)
    frame = _keys(frame, rng)
    return frame.select(
        "lid",
        "eid",
        "licence_type",
        "record_key",
        "issued_on",
        "valid_until",
        "licence_status",
        "business_form",
        "issuer",
        "supervising_unit",
        "appears_day",
        name_mode=pl.lit("normal"),
        rep_mode=pl.lit("normal"),
        addr_mode=pl.lit("normal"),
        uscc_mode=pl.when(pl.col("is_hostile")).then(pl.lit("present")).otherwise(pl.lit("normal")),
    )


def _holders(rng: np.random.Generator, ent: pl.DataFrame) -> pl.DataFrame:
    """(eid, licence_type) pairs: by industry for registered entities; one food licence per orphan/hostile."""
    industry = ent["industry_id"].to_numpy()
    role = ent["role"].to_numpy()
    special = (role == "orphan") | ent["is_hostile"].to_numpy()
    eids, types = [], []
    for i, spec in enumerate(INDUSTRIES):
        for licence_type, share in spec.licences:
            rows = np.flatnonzero((industry == i) & ~special & (rng.random(industry.size) < share))
            eids.append(rows)
            types.append(np.full(rows.size, licence_type))
    special_rows = np.flatnonzero(special)
    eids.append(special_rows)
    types.append(np.full(special_rows.size, "食品经营许可"))
    frame = pl.DataFrame({"eid": np.concatenate(eids), "licence_type": np.concatenate(types)})
    return frame.sort("eid", "licence_type", maintain_order=True)


def _dates(frame: pl.DataFrame, plan: Plan, rng: np.random.Generator) -> pl.DataFrame:
    """发证日期 within the last five years (some older and expired), never before founding or after closing."""
    n = frame.height
    start = np.datetime64(plan.start, "D")
    established = frame["established_on"].to_numpy().astype("datetime64[D]")
    closed = frame.select(
        pl.coalesce(
            "deregistered_on",
            "revoked_on",
            pl.when(~pl.col("status").is_in(ACTIVE_STATUSES)).then("approved_on"),
        )
    )
    closed = closed.to_series().to_numpy().astype("datetime64[D]")
    back = np.where(
        rng.random(n) < EXPIRED_SHARE,
        rng.integers(5 * 365 + 30, 9 * 365, size=n),
        rng.integers(1, 5 * 365 - 20, size=n),
    )
    issued = start - back.astype("timedelta64[D]")
    filing = np.isin(frame["licence_type"].to_numpy(), list(FILING_TYPES))
    span = np.maximum((start - established).astype(np.int64), 1)
    issued = np.where(filing, established + (rng.random(n) * span).astype("timedelta64[D]"), issued)
    issued = np.maximum(issued, established)
    issued = np.where(np.isnat(closed), issued, np.maximum(np.minimum(issued, closed - 1), established))
    appears = frame["appears_day"].to_numpy()
    delivered = np.array(plan.dates, dtype="datetime64[D]")[appears]
    later = appears > 0
    issued[later] = np.maximum(
        delivered[later] - rng.integers(1, 3, size=later.sum()).astype("timedelta64[D]"), established[later]
    )
    issued = np.minimum(issued, np.maximum(delivered - 1, established))
    frame = frame.with_columns(issued_on=pl.Series(issued).cast(pl.Date), _filing=pl.Series(filing))
    return frame.with_columns(valid_until=valid_until(pl.col("issued_on"), pl.col("_filing")))


def valid_until(issued: pl.Expr, filing: pl.Expr) -> pl.Expr:
    """Five years less a day; 备案 have no end."""
    return pl.when(filing).then(None).otherwise(issued.dt.offset_by("5y").dt.offset_by("-1d"))


def _status(frame: pl.DataFrame, plan: Plan, rng: np.random.Generator) -> pl.DataFrame:
    """许可状态: mostly 有效; closed entities' licences often cancelled, but not always (zombies)."""
    n = frame.height
    active = frame["status"].is_in(ACTIVE_STATUSES).to_numpy()
    expired = (frame["valid_until"] < plan.start).fill_null(False).to_numpy()
    u = rng.random(n)
    running = np.select([u < 0.97, u < 0.99], ["有效", "注销"], "撤销")
    lapsed = np.where(u < 0.6, "有效", "注销")
    closed = np.select([u < 0.6, u < 0.65], ["注销", "吊销"], "有效")
    status = np.where(active, np.where(expired, lapsed, running), closed)
    status = np.where(
        frame["is_hostile"].to_numpy() | (frame["role"].to_numpy() != "existing"), "有效", status
    )
    return frame.with_columns(licence_status=pl.Series(status))


def _keys(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """许可证编号 / 备案编号 per type, a running sequence per type from a random start."""
    offsets = {t: int(rng.integers(100, 3000)) for t in LICENCE_FORMS}
    frame = frame.with_columns(
        seq=(
            pl.col("lid").rank("ordinal").over("licence_type")
            + pl.col("licence_type").replace_strict(offsets, return_dtype=pl.Int64)
        ),
        year=pl.col("issued_on").dt.year().cast(pl.Utf8),
        catering=pl.col("industry_id") == INDUSTRY_INDEX["catering"],
    )
    seq = frame["seq"].to_numpy()
    division = frame["premises_district"].to_numpy().astype(str)
    check = (seq * 7 + 3) % 10
    year = frame["year"].to_numpy().astype(str)
    kind = frame["licence_type"].to_numpy()
    jy = np.char.add(
        np.char.add(
            np.char.add(np.where(frame["catering"].to_numpy(), "JY2", "JY1"), division),
            codes.zero_pad(seq, 6),
        ),
        check.astype(str),
    )
    yb = np.char.add(np.char.add(np.char.add("YB1", division), codes.zero_pad(seq, 6)), check.astype(str))
    category = FOOD_CATEGORIES[seq % FOOD_CATEGORIES.size]
    sc = np.char.add(
        np.char.add(np.char.add(np.char.add("SC", category), division), codes.zero_pad(seq, 4)),
        check.astype(str),
    )
    drug = np.char.add("浙CB574", codes.zero_pad(seq, 5))
    device = np.char.add(np.char.add("浙甬药监械经营许", year), codes.zero_pad(seq, 4))
    device_filing = np.char.add(
        np.char.add(np.char.add("浙甬药监械经营备", year), codes.zero_pad(seq, 4)), "号"
    )
    cosmetics = np.char.add(np.char.add("浙妆", year), codes.zero_pad(seq, 4))
    key = np.select(
        [
            kind == "食品经营许可",
            kind == "仅销售预包装食品备案",
            kind == "食品生产许可",
            kind == "药品经营许可",
            kind == "医疗器械经营许可",
            kind == "第二类医疗器械经营备案",
        ],
        [jy, yb, sc, drug, device, device_filing],
        cosmetics,
    )
    form = np.array([LICENCE_FORMS[k][0] for k in kind]) if kind.size else np.zeros(0, str)
    form = np.where((kind == "食品经营许可") & ~frame["catering"].to_numpy(), "食品销售经营者", form)
    form = np.where((kind == "食品经营许可") & (rng.random(kind.size) < 0.01), "单位食堂", form)
    form = np.where((kind == "药品经营许可") & (rng.random(kind.size) < 0.3), "药品零售连锁门店", form)
    return frame.with_columns(
        record_key=pl.Series(key),
        business_form=pl.Series(form),
        issuer=pl.Series(_issuers(kind, division)),
        supervising_unit=pl.col("p_street").str.replace(r"(街道|镇|乡)$", "") + pl.lit("市场监督管理所"),
    )


def _issuers(kind: np.ndarray, division: np.ndarray) -> np.ndarray:
    district = np.array([authority_name(d) for d in division.tolist()]) if division.size else np.zeros(0, str)
    city = authority_name(CITY_CODE)
    return np.select(
        [np.isin(kind, ["药品经营许可", "医疗器械经营许可"]), kind == "化妆品生产许可"],
        [city, "浙江省药品监督管理局"],
        district,
    )


def later(plan: Plan, ent: pl.DataFrame, lic: pl.DataFrame) -> pl.DataFrame:
    """Move some current licences of unlocked, active entities to an incremental delivery, freshly issued."""
    if plan.days == 1:
        return lic
    rng = plan.rng("licences.later")
    unlocked = ent.filter(
        ~pl.col("locked") & (pl.col("role") == "existing") & pl.col("status").is_in(ACTIVE_STATUSES)
    )["eid"]
    pool = lic.filter(
        pl.col("eid").is_in(unlocked.implode())
        & (pl.col("appears_day") == 0)
        & (pl.col("licence_status") == "有效")
    )
    per_day = max(2, plan.entities // 5000)
    chosen = rng.choice(
        pool["lid"].to_numpy(), size=min(pool.height, per_day * (plan.days - 1)), replace=False
    )
    day = np.resize(np.arange(1, plan.days), chosen.size)
    delivered = np.array(plan.dates, dtype="datetime64[D]")[day]
    issued = delivered - rng.integers(1, 4, size=chosen.size).astype("timedelta64[D]")
    moved = pl.DataFrame(
        {"lid": chosen.astype(np.uint32), "new_day": day, "new_issued": pl.Series(issued).cast(pl.Date)}
    )
    out = lic.join(moved, on="lid", how="left", maintain_order="left").with_columns(
        appears_day=pl.coalesce("new_day", "appears_day"),
        issued_on=pl.coalesce("new_issued", "issued_on"),
    )
    filing = pl.col("licence_type").is_in(list(FILING_TYPES))
    return out.with_columns(
        valid_until=pl.when(pl.col("new_day").is_not_null())
        .then(valid_until(pl.col("issued_on"), filing))
        .otherwise("valid_until")
    ).drop("new_day", "new_issued")

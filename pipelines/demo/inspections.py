"""True inspections (日常监管记录): about 0.5 per entity over the last two years, filed by the district
where the premises are.

No entity has two inspections on the same day, so "the latest inspection" is always one record.
查无下落 is only ever recorded for active entities (see entities._abnormal for why).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.demo.noise import draw
from pipelines.demo.plan import Plan
from pipelines.demo.vocab import (
    ACTIVE_STATUSES,
    INSPECTION_TYPE_MIX,
    PENALTY_PREFIX,
    RESULT_MIX_ACTIVE,
    RESULT_MIX_INACTIVE,
    UNREACHABLE_RESULT,
)

PER_ENTITY = 0.5
WINDOW_DAYS = 730
PENALTY_AMOUNTS = np.array([500, 1000, 2000, 3000, 5000, 10000, 20000, 50000])
COLUMNS = (
    "iid",
    "eid",
    "file_code",
    "inspected_on",
    "inspection_type",
    "result",
    "penalty_doc_no",
    "penalty_amount",
    "appears_day",
    "name_mode",
    "rep_mode",
    "uscc_mode",
)


def initial(plan: Plan, ent: pl.DataFrame, lic: pl.DataFrame) -> pl.DataFrame:
    """Inspections before the first delivery date, in the first district deliveries."""
    rng = plan.rng("inspections")
    start = np.datetime64(plan.start, "D")
    needed = (
        "eid",
        "status",
        "role",
        "premises_district",
        "established_on",
        "deregistered_on",
        "revoked_on",
        "approved_on",
        "is_hostile",
        "locked",
        "appears_day",
    )
    ent = ent.select(needed)
    present = ent.filter((pl.col("appears_day") <= 0) & ~pl.col("is_hostile"))
    licensed = np.isin(present["eid"].to_numpy(), lic["eid"].to_numpy())
    active = present["status"].is_in(ACTIVE_STATUSES).to_numpy()
    weight = (1 + 2 * licensed) * np.where(active, 1.0, 0.4)
    count = int(round(PER_ENTITY * present.height))
    rows = rng.choice(present.height, size=count, p=weight / weight.sum())
    chosen = present[rows]
    closed = chosen.select(pl.coalesce("deregistered_on", "revoked_on", "approved_on")).to_series()
    hi = np.where(
        chosen["status"].is_in(ACTIVE_STATUSES).to_numpy(),
        start - 1,
        closed.to_numpy().astype("datetime64[D]"),
    )
    lo = np.maximum(chosen["established_on"].to_numpy().astype("datetime64[D]"), start - WINDOW_DAYS)
    keep = hi >= lo
    span = (hi - lo).astype(np.int64) + 1
    day = lo + (rng.random(count) * span).astype(np.int64).astype("timedelta64[D]")
    frame = _inspections(rng, chosen, day, np.zeros(count, int)).filter(pl.Series(keep))
    hostile = ent.filter(pl.col("is_hostile"))
    frame = pl.concat(
        [
            frame,
            _inspections(rng, hostile, np.full(hostile.height, start - 10), np.zeros(hostile.height, int)),
        ]
    )
    frame = frame.with_columns(
        result=pl.when(pl.col("eid").is_in(hostile["eid"].implode()))
        .then(pl.lit("符合"))
        .otherwise("result"),
        iid=pl.int_range(pl.len(), dtype=pl.Int64),
    )
    return ordered(unique_days(frame, ent))


def later(plan: Plan, ent: pl.DataFrame, insp: pl.DataFrame) -> pl.DataFrame:
    """New inspections of unlocked active entities for each incremental delivery (a week back at most)."""
    if plan.days == 1:
        return insp
    rng = plan.rng("inspections.later")
    ent = ent.select("eid", "status", "role", "premises_district", "established_on", "locked", "appears_day")
    per_day = max(10, plan.entities // 1460)
    frames = [insp]
    next_iid = int(insp["iid"].max()) + 1
    for day in range(1, plan.days):
        pool = ent.filter(
            ~pl.col("locked")
            & pl.col("status").is_in(ACTIVE_STATUSES)
            & (pl.col("appears_day").is_between(0, day))
        )
        chosen = pool[_every_district_once(rng, pool, per_day)]
        delivered = np.datetime64(plan.dates[day], "D")
        date = np.maximum(
            delivered - rng.integers(1, 8, size=chosen.height).astype("timedelta64[D]"),
            chosen["established_on"].to_numpy().astype("datetime64[D]"),
        )
        fresh = _inspections(rng, chosen, date, np.full(chosen.height, day))
        fresh = fresh.with_columns(
            result=pl.when(pl.col("result") == UNREACHABLE_RESULT).then(pl.lit("符合")).otherwise("result"),
            iid=pl.int_range(pl.len(), dtype=pl.Int64) + next_iid,
        )
        next_iid += fresh.height
        frames.append(fresh)
    return ordered(unique_days(pl.concat(frames), ent))


def _every_district_once(rng: np.random.Generator, pool: pl.DataFrame, count: int) -> np.ndarray:
    """Rows of `pool` to inspect: one in each district first (no district delivers an empty file), then any."""
    shuffled = rng.permutation(pool.height)
    first = pool["premises_district"].gather(shuffled).is_first_distinct().to_numpy()
    picked = np.concatenate([np.flatnonzero(first), np.flatnonzero(~first)[: max(0, count - first.sum())]])
    return np.sort(shuffled[picked])


def _inspections(
    rng: np.random.Generator, chosen: pl.DataFrame, day: np.ndarray, appears: np.ndarray
) -> pl.DataFrame:
    n = chosen.height
    active = chosen["status"].is_in(ACTIVE_STATUSES).to_numpy()
    orphan = chosen["role"].to_numpy() == "orphan"
    result = np.where(active, draw(rng, n, dict(RESULT_MIX_ACTIVE)), draw(rng, n, dict(RESULT_MIX_INACTIVE)))
    result = np.where((result == "") | (orphan & (result == UNREACHABLE_RESULT)), "符合", result)
    penalised = np.isin(result, ["不符合", "责令整改"]) & (rng.random(n) < 0.3)
    code = chosen["premises_district"].to_numpy().astype(str)
    year = day.astype("datetime64[Y]").astype(np.int64) + 1970
    doc = np.full(n, None, dtype=object)
    rows = np.flatnonzero(penalised)
    numbers = rng.integers(1, 900, size=rows.size).tolist()
    doc[rows] = [
        f"{PENALTY_PREFIX[c]}〔{y}〕{k}号"
        for c, y, k in zip(code[rows].tolist(), year[rows].tolist(), numbers, strict=True)
    ]
    kind = draw(rng, n, dict(INSPECTION_TYPE_MIX))
    return pl.DataFrame(
        {
            "iid": np.arange(n, dtype=np.int64),
            "eid": chosen["eid"].to_numpy(),
            "file_code": code,
            "inspected_on": pl.Series(day.astype("datetime64[D]")).cast(pl.Date),
            "inspection_type": np.where(kind == "", "日常检查", kind),
            "result": result,
            "penalty_doc_no": pl.Series(doc.tolist(), dtype=pl.Utf8),
            "penalty_amount": pl.Series(
                np.where(
                    penalised,
                    PENALTY_AMOUNTS[rng.integers(0, PENALTY_AMOUNTS.size, size=n)].astype(str),
                    None,
                ).tolist(),
                dtype=pl.Utf8,
            ),
            "appears_day": appears.astype(np.int64),
            "name_mode": "normal",
            "rep_mode": "normal",
            "uscc_mode": "normal",
        },
    )


def unique_days(frame: pl.DataFrame, ent: pl.DataFrame) -> pl.DataFrame:
    """Move a second inspection of an entity on the same day one day back; drop what cannot move."""
    founded = ent.select("eid", "established_on")
    for _ in range(30):
        clash = frame.select(pl.struct("eid", "inspected_on").is_first_distinct().not_()).to_series()
        if not clash.any():
            break
        frame = frame.with_columns(
            inspected_on=pl.when(clash)
            .then(pl.col("inspected_on").dt.offset_by("-1d"))
            .otherwise("inspected_on")
        )
    frame = frame.filter(pl.struct("eid", "inspected_on").is_first_distinct())
    frame = frame.join(founded, on="eid", how="left", maintain_order="left")
    return frame.filter(pl.col("inspected_on") >= pl.col("established_on")).drop("established_on")


def ordered(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows by delivery and date: a district numbers its records as it files them. `iid` stays the identity."""
    return frame.sort("appears_day", "inspected_on", "iid", maintain_order=True).select(COLUMNS)

"""Planted cases: at least `plan.planted` records per issue type, on first-delivery data.

Each plant changes the true data (a status, a report year, an inspection result, a licence's dates) or a
record's `*_mode` (how it will be written), locks the entities involved (no later event may undo the case)
and is listed in `planted` (issue_type, source, ref) so the ground truth can check that every planted case
is also found by the rules. `ref` is a registration record key, a licence `lid` or an inspection `iid`.
Natural cases are not listed here: the ground truth finds them from the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import polars as pl

from pipelines.demo import codes
from pipelines.demo.licences import valid_until
from pipelines.demo.plan import Plan
from pipelines.demo.vocab import (
    ABNORMAL_NO_REPORT,
    ABNORMAL_UNREACHABLE,
    ACTIVE_STATUSES,
    CEASED_RESULTS,
    DISTRICT_WEIGHTS,
    FILING_TYPES,
    REVOKED_NOT_DEREGISTERED,
    UNREACHABLE_RESULT,
)

SAME_JUDGEMENTS = 3  # no-USCC licences with a typo'd 字号 that a steward rules `same` as their registration


@dataclass
class Planted:
    ent: pl.DataFrame
    lic: pl.DataFrame
    insp: pl.DataFrame
    cases: list[tuple[str, str, str]] = field(default_factory=list)  # (issue_type, source, ref)
    same_pairs: list[tuple[int, int]] = field(default_factory=list)  # (lid, eid) judged `same` by a steward

    def add(self, issue_type: str, source: str, refs: object) -> None:
        self.cases.extend((issue_type, source, str(r)) for r in np.asarray(refs).tolist())

    def cases_frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.cases, schema=["issue_type", "source", "ref"], orient="row")

    def lock(self, eids: np.ndarray) -> None:
        self.ent = self.ent.with_columns(
            locked=pl.col("locked")
            | pl.col("eid").is_in(pl.Series(np.asarray(eids, dtype=np.int64)).implode())
        )


def plant(plan: Plan, ent: pl.DataFrame, lic: pl.DataFrame, insp: pl.DataFrame) -> Planted:
    """Every planted case, in an order where no plant can undo an earlier one (each locks its entities)."""
    rng = plan.rng("plants")
    state = Planted(ent.with_columns(twin_key=pl.lit(None, dtype=pl.Utf8)), lic, insp)
    _duplicates(state, plan, rng)
    _no_annual_report(state, plan, rng)
    _unreachable(state, plan, rng)
    _ceased(state, plan, rng)
    _deregistered_with_licence(state, plan, rng)
    _expired_still_operating(state, plan, rng)
    state.add("zombie.orphan_licence", "licensing", _orphan_licences(state))
    _record_modes(state, plan, rng)
    _same_judgements(state, rng)
    _hard_negative_inspections(state, plan, rng)
    _unreachable_only_when_active(state)
    return state


def _pool(state: Planted, *conditions: pl.Expr) -> pl.DataFrame:
    """Unlocked first-delivery entities that carry a valid code or none (no legacy, no pilot) and meet `conditions`."""
    base = (pl.col("role") == "existing") & ~pl.col("locked") & ~pl.col("is_legacy") & ~pl.col("is_pilot")
    for condition in conditions:
        base = base & condition
    return state.ent.filter(base)


def _choose(rng: np.random.Generator, values: np.ndarray, count: int) -> np.ndarray:
    return np.sort(rng.choice(values, size=min(count, values.size), replace=False)) if values.size else values


def _active() -> pl.Expr:
    return pl.col("status").is_in(ACTIVE_STATUSES)


def _update_ent(state: Planted, eids: np.ndarray, **values: object) -> None:
    rows = np.asarray(eids, dtype=np.int64)
    state.ent = state.ent.with_columns(**{c: state.ent[c].scatter(rows, v) for c, v in values.items()})


def _last_due(plan: Plan) -> int:
    return plan.as_of.year - 1 if plan.as_of > date(plan.as_of.year, 6, 30) else plan.as_of.year - 2


def _duplicates(state: Planted, plan: Plan, rng: np.random.Generator) -> None:
    """A legacy record (注册号 only) left beside the current one: two 主体身份代码 for one entity."""
    pool = _pool(
        state, pl.col("reg_no").is_not_null(), pl.col("kind") != "branch", pl.col("uscc").is_not_null()
    )
    eids = _choose(rng, pool["eid"].to_numpy(), plan.planted)
    twin = np.char.add(
        state.ent["district_code"].to_numpy()[eids].astype(str),
        codes.zero_pad(2 * 10**8 + np.arange(eids.size), 10),
    )
    _update_ent(state, eids, twin_key=twin)
    state.lock(eids)
    state.add("duplicate.registration", "registration", state.ent["record_key"].to_numpy()[eids])
    state.add("duplicate.registration", "registration", twin)


def _no_annual_report(state: Planted, plan: Plan, rng: np.random.Generator) -> None:
    due = _last_due(plan)
    two_years = plan.as_of - timedelta(days=2 * 366 + 30)
    pool = _pool(state, _active(), pl.col("established_on") <= two_years)
    eids = _choose(rng, pool["eid"].to_numpy(), plan.planted)
    founded = state.ent["established_on"].dt.year().to_numpy()[eids]
    old = rng.integers(np.maximum(2013, founded), np.maximum(due - 1, np.maximum(2013, founded) + 1))
    year = np.where((rng.random(eids.size) < 0.5) | (old > due - 2), None, old)
    listed = rng.random(eids.size) < 0.5
    _update_ent(
        state,
        eids,
        annual_report_year=pl.Series(year.tolist(), dtype=pl.Int64),
        in_abnormal_list=np.where(listed, "是", "否"),
        abnormal_reason=pl.Series(np.where(listed, ABNORMAL_NO_REPORT, None).tolist(), dtype=pl.Utf8),
    )
    state.lock(eids)
    state.add("zombie.no_annual_report", "registration", state.ent["record_key"].to_numpy()[eids])


def _unreachable(state: Planted, plan: Plan, rng: np.random.Generator) -> None:
    """Half through the abnormal list (无法联系), half through an inspection 查无下落."""
    listed = _choose(rng, _pool(state, _active())["eid"].to_numpy(), (plan.planted + 1) // 2)
    _update_ent(
        state,
        listed,
        in_abnormal_list=np.full(listed.size, "是"),
        abnormal_reason=np.full(listed.size, ABNORMAL_UNREACHABLE),
    )
    state.lock(listed)
    state.add("zombie.unreachable", "registration", state.ent["record_key"].to_numpy()[listed])
    inspected = _pool(state, _active(), pl.col("eid").is_in(state.insp["eid"].implode()))
    eids = _choose(rng, inspected["eid"].to_numpy(), plan.planted // 2)
    target = state.insp.filter(pl.col("eid").is_in(pl.Series(eids).implode())).unique(
        "eid", keep="first", maintain_order=True
    )
    _set_results(state, target["iid"].to_numpy(), np.full(target.height, UNREACHABLE_RESULT))
    state.lock(eids)
    state.add("zombie.unreachable", "district", target["iid"])


def _set_results(state: Planted, iids: np.ndarray, results: np.ndarray) -> None:
    change = pl.DataFrame({"iid": np.asarray(iids, dtype=np.int64), "new_result": results.astype(str)})
    state.insp = (
        state.insp.join(change, on="iid", how="left", maintain_order="left")
        .with_columns(result=pl.coalesce("new_result", "result"))
        .drop("new_result")
    )


def _add_inspections(
    state: Planted, eids: np.ndarray, days: np.ndarray, results: np.ndarray, kind: str = "日常检查"
) -> np.ndarray:
    """New first-delivery inspections; returns their iids."""
    start = int(state.insp["iid"].max()) + 1
    iids = np.arange(start, start + eids.size, dtype=np.int64)
    premises = state.ent["premises_district"].to_numpy()[eids].astype(str)
    fresh = pl.DataFrame(
        {
            "iid": iids,
            "eid": np.asarray(eids, dtype=np.int64),
            "file_code": premises,
            "inspected_on": pl.Series(days.astype("datetime64[D]")).cast(pl.Date),
            "inspection_type": np.full(eids.size, kind),
            "result": results.astype(str),
            "penalty_doc_no": pl.Series([None] * eids.size, dtype=pl.Utf8),
            "penalty_amount": pl.Series([None] * eids.size, dtype=pl.Utf8),
            "appears_day": np.zeros(eids.size, dtype=np.int64),
            "name_mode": np.full(eids.size, "normal"),
            "rep_mode": np.full(eids.size, "normal"),
            "uscc_mode": np.full(eids.size, "normal"),
        }
    )
    state.insp = pl.concat([state.insp, fresh.select(state.insp.columns)], how="vertical_relaxed")
    return iids


def _free_day(state: Planted, eids: np.ndarray, wanted: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """`wanted` moved back a day at a time until the entity has no inspection that day (never below `floor`)."""
    mine = state.insp.filter(pl.col("eid").is_in(pl.Series(eids, dtype=pl.Int64).implode()))
    taken = set(zip(mine["eid"].to_list(), mine["inspected_on"].to_list(), strict=True))
    out = wanted.astype("datetime64[D]").copy()
    for i, eid in enumerate(eids.tolist()):
        while (eid, out[i].astype(object)) in taken and out[i] > floor[i]:
            out[i] -= 1
        taken.add((eid, out[i].astype(object)))
    return out


def _ceased(state: Planted, plan: Plan, rng: np.random.Generator) -> None:
    """The latest inspection of an active entity says 已停业 / 已歇业."""
    eids = _choose(rng, _pool(state, _active())["eid"].to_numpy(), plan.planted)
    results = np.array(CEASED_RESULTS)[rng.integers(0, 2, size=eids.size)]
    latest = (
        state.insp.filter(pl.col("eid").is_in(pl.Series(eids).implode()))
        .sort("inspected_on", "iid")
        .group_by("eid", maintain_order=True)
        .last()
    )
    has = np.isin(eids, latest["eid"].to_numpy())
    order = {e: r for e, r in zip(eids.tolist(), results.tolist(), strict=True)}
    _set_results(
        state, latest["iid"].to_numpy(), np.array([order[e] for e in latest["eid"].to_list()], dtype=str)
    )
    start = np.datetime64(plan.start, "D")
    without = eids[~has]
    founded = state.ent["established_on"].to_numpy().astype("datetime64[D]")[without]
    day = np.maximum(start - rng.integers(5, 60, size=without.size).astype("timedelta64[D]"), founded)
    added = _add_inspections(state, without, day, results[~has])
    state.lock(eids)
    state.add("zombie.ceased_operating", "district", np.concatenate([latest["iid"].to_numpy(), added]))


def _deregistered_with_licence(state: Planted, plan: Plan, rng: np.random.Generator) -> None:
    """注销 / 吊销 entities whose licences stay 有效 and unexpired."""
    start = plan.start
    holders = state.lic.filter(pl.col("appears_day") == 0)["eid"].unique().implode()
    pool = _pool(
        state,
        _active(),
        pl.col("eid").is_in(holders),
        pl.col("established_on") <= start - timedelta(days=400),
    )
    eids = _choose(rng, pool["eid"].to_numpy(), plan.planted)
    closed = np.datetime64(start, "D") - rng.integers(30, 300, size=eids.size).astype("timedelta64[D]")
    deregistered = rng.random(eids.size) < 0.6
    closed_dates = pl.Series(closed).cast(pl.Date)
    nulls = pl.Series([None] * eids.size, dtype=pl.Date)
    _update_ent(
        state,
        eids,
        status=np.where(deregistered, "注销", REVOKED_NOT_DEREGISTERED),
        deregistered_on=pl.select(
            pl.when(pl.Series(deregistered)).then(closed_dates).otherwise(nulls)
        ).to_series(),
        revoked_on=pl.select(
            pl.when(pl.Series(~deregistered)).then(closed_dates).otherwise(nulls)
        ).to_series(),
        approved_on=closed_dates,
        in_abnormal_list=pl.Series([None] * eids.size, dtype=pl.Utf8),
        abnormal_reason=pl.Series([None] * eids.size, dtype=pl.Utf8),
    )
    target = state.lic.filter(pl.col("eid").is_in(pl.Series(eids).implode()) & (pl.col("appears_day") == 0))
    closing = dict(zip(eids.tolist(), closed.tolist(), strict=True))
    earliest = np.datetime64(plan.as_of, "D") - np.timedelta64(5 * 365 - 30, "D")
    issued = np.array([closing[e] for e in target["eid"].to_list()], dtype="datetime64[D]") - rng.integers(
        30, 200, size=target.height
    ).astype("timedelta64[D]")
    issued = np.maximum(issued, earliest)
    founded = state.ent["established_on"].to_numpy().astype("datetime64[D]")[target["eid"].to_numpy()]
    _set_licences(state, target["lid"].to_numpy(), np.maximum(issued, founded), "有效")
    state.lock(eids)
    state.add("zombie.deregistered_with_active_licence", "licensing", target["lid"])


def _set_licences(state: Planted, lids: np.ndarray, issued: np.ndarray, status: str) -> None:
    change = pl.DataFrame(
        {"lid": lids.astype(np.uint32), "new_issued": pl.Series(issued.astype("datetime64[D]")).cast(pl.Date)}
    )
    filing = pl.col("licence_type").is_in(list(FILING_TYPES))
    state.lic = (
        state.lic.join(change, on="lid", how="left", maintain_order="left")
        .with_columns(
            issued_on=pl.coalesce("new_issued", "issued_on"),
            licence_status=pl.when(pl.col("new_issued").is_not_null())
            .then(pl.lit(status))
            .otherwise("licence_status"),
        )
        .with_columns(
            valid_until=pl.when(pl.col("new_issued").is_not_null())
            .then(valid_until(pl.col("issued_on"), filing))
            .otherwise("valid_until")
        )
        .drop("new_issued")
    )


def _expired_still_operating(state: Planted, plan: Plan, rng: np.random.Generator) -> None:
    """A licence past 有效期至 but still 有效, and an inspection after that date finding the shop open."""
    old_enough = plan.as_of - timedelta(days=5 * 366 + 600)
    pool = _pool(state, _active(), pl.col("established_on") <= old_enough)
    candidates = state.lic.filter(
        pl.col("eid").is_in(pool["eid"].implode())
        & (pl.col("appears_day") == 0)
        & ~pl.col("licence_type").is_in(list(FILING_TYPES))
    ).unique("eid", keep="first", maintain_order=True)
    chosen = candidates[_choose(rng, np.arange(candidates.height), plan.planted)]
    as_of = np.datetime64(plan.as_of, "D")
    lapse = as_of - rng.integers(60, 500, size=chosen.height).astype("timedelta64[D]")  # the new 有效期至
    issued = np.array([np.datetime64(_issued_for(date.fromisoformat(str(d))), "D") for d in lapse])
    _set_licences(state, chosen["lid"].to_numpy(), issued, "有效")
    start = np.datetime64(plan.start, "D")
    eids = chosen["eid"].to_numpy()
    gap = np.maximum((start - 1 - lapse).astype(np.int64) - 1, 1)
    wanted = lapse + 1 + (rng.random(eids.size) * gap).astype(np.int64).astype("timedelta64[D]")
    day = _free_day(state, eids, wanted, lapse + 1)
    _add_inspections(state, eids, day, np.where(rng.random(eids.size) < 0.7, "符合", "基本符合"))
    state.lock(eids)
    state.add("expired_licence.still_operating", "licensing", chosen["lid"])


def _issued_for(until: date) -> date:
    """The issue date whose five-year licence ends on `until` (issue + 5y - 1d)."""
    after = until + timedelta(days=1)
    if after.month == 2 and after.day == 29:
        return after.replace(year=after.year - 5, day=28)
    return after.replace(year=after.year - 5)


def _orphan_licences(state: Planted) -> pl.Series:
    orphans = state.ent.filter(pl.col("role") == "orphan")["eid"].implode()
    return state.lic.filter(pl.col("eid").is_in(orphans))["lid"]


def _record_modes(state: Planted, plan: Plan, rng: np.random.Generator) -> None:
    """Material differences and mistyped codes written into individual licence and district records."""
    named = _pool(state, pl.col("zihao") != "", ~pl.col("is_hostile"))["eid"].implode()
    anyone = _pool(state, ~pl.col("is_hostile"))["eid"].implode()
    coded = _pool(state, pl.col("uscc").is_not_null(), ~pl.col("is_hostile"))["eid"].implode()
    local = _pool(state, pl.col("premises_district") == pl.col("district_code"), ~pl.col("is_hostile"))[
        "eid"
    ].implode()
    plan_rows = (
        ("inconsistent.name", "name_mode", named, ("zihao", "typo", "industry")),
        ("inconsistent.legal_rep", "rep_mode", anyone, ("other",)),
        ("invalid.uscc", "uscc_mode", coded, ("mistype",)),
    )
    for issue_type, column, pool, modes in plan_rows:
        for source in ("licensing", "district"):
            _mode(state, rng, plan.planted, issue_type, source, column, pool, modes)
    _mode(state, rng, plan.planted, "inconsistent.address", "licensing", "addr_mode", anyone, ("other",))
    _other_district(state, plan, rng, local)


def _mode(
    state: Planted,
    rng: np.random.Generator,
    count: int,
    issue_type: str,
    source: str,
    column: str,
    pool: pl.Series,
    modes: tuple[str, ...],
) -> None:
    """Set `column` of `count` first-delivery records of the pool's entities to one of `modes`."""
    table, ref = (state.lic, "lid") if source == "licensing" else (state.insp, "iid")
    candidates = table.filter(
        pl.col("eid").is_in(pool) & (pl.col("appears_day") == 0) & (pl.col(column) == "normal")
    )
    chosen = candidates[_choose(rng, np.arange(candidates.height), count)]
    values = np.array(modes)[rng.integers(0, len(modes), size=chosen.height)]
    change = pl.DataFrame({ref: chosen[ref], "new_mode": values})
    updated = (
        table.join(change, on=ref, how="left", maintain_order="left")
        .with_columns(pl.coalesce("new_mode", column).alias(column))
        .drop("new_mode")
    )
    if source == "licensing":
        state.lic = updated
    else:
        state.insp = updated
    state.lock(chosen["eid"].to_numpy())
    state.add(issue_type, source, chosen[ref])


def _other_district(state: Planted, plan: Plan, rng: np.random.Generator, pool: pl.Series) -> None:
    """Inspections filed by a district other than the one that registered the entity."""
    candidates = state.insp.filter(pl.col("eid").is_in(pool) & (pl.col("appears_day") == 0))
    chosen = candidates[_choose(rng, np.arange(candidates.height), plan.planted)]
    districts = np.array(list(DISTRICT_WEIGHTS))
    own = chosen["file_code"].to_numpy().astype(str)
    other = districts[
        (np.searchsorted(districts, own) + rng.integers(1, districts.size, size=own.size)) % districts.size
    ]
    change = pl.DataFrame({"iid": chosen["iid"], "new_code": other})
    state.insp = (
        state.insp.join(change, on="iid", how="left", maintain_order="left")
        .with_columns(file_code=pl.coalesce("new_code", "file_code"))
        .drop("new_code")
    )
    state.lock(chosen["eid"].to_numpy())
    state.add("inconsistent.district", "district", chosen["iid"])


def _same_judgements(state: Planted, rng: np.random.Generator) -> None:
    """Licences with no USCC and a sound-alike 字号: a steward rules them `same` as the registration."""
    named = _pool(state, pl.col("zihao") != "", ~pl.col("is_hostile"), pl.col("kind") == "company")[
        "eid"
    ].implode()
    candidates = state.lic.filter(
        pl.col("eid").is_in(named) & (pl.col("appears_day") == 0) & (pl.col("name_mode") == "normal")
    )
    chosen = candidates[_choose(rng, np.arange(candidates.height), SAME_JUDGEMENTS)]
    change = pl.DataFrame({"lid": chosen["lid"], "flag": True})
    state.lic = (
        state.lic.join(change, on="lid", how="left", maintain_order="left")
        .with_columns(
            name_mode=pl.when(pl.col("flag")).then(pl.lit("typo")).otherwise("name_mode"),
            uscc_mode=pl.when(pl.col("flag")).then(pl.lit("blank")).otherwise("uscc_mode"),
        )
        .drop("flag")
    )
    state.lock(chosen["eid"].to_numpy())
    state.add("inconsistent.name", "licensing", chosen["lid"])
    state.same_pairs.extend(zip(chosen["lid"].to_list(), chosen["eid"].to_list(), strict=True))


def _hard_negative_inspections(state: Planted, plan: Plan, rng: np.random.Generator) -> None:
    """Namesakes in two districts are inspected in their own district, written without a USCC."""
    twins = state.ent.filter(pl.col("hard_negative_kind") == "same_name_other_district")["eid"].to_numpy()
    missing = twins[~np.isin(twins, state.insp["eid"].to_numpy())]
    start = np.datetime64(plan.start, "D")
    founded = state.ent["established_on"].to_numpy().astype("datetime64[D]")[missing]
    day = np.maximum(start - rng.integers(10, 300, size=missing.size).astype("timedelta64[D]"), founded)
    _add_inspections(state, missing, day, np.full(missing.size, "符合"))
    state.insp = state.insp.with_columns(
        uscc_mode=pl.when(pl.col("eid").is_in(pl.Series(twins).implode()) & (pl.col("uscc_mode") == "normal"))
        .then(pl.lit("blank"))
        .otherwise("uscc_mode")
    )


def _unreachable_only_when_active(state: Planted) -> None:
    """查无下落 and 无法联系 stay on active registered entities (the rule reads the same either way)."""
    inactive = state.ent.filter(~_active() | (pl.col("role") == "orphan"))["eid"].implode()
    state.insp = state.insp.with_columns(
        result=pl.when(pl.col("eid").is_in(inactive) & (pl.col("result") == UNREACHABLE_RESULT))
        .then(pl.lit("符合"))
        .otherwise("result")
    )

"""The true population: one row per real-world market entity, as it stands on the first delivery date.

Row i is entity i (`eid`), so later steps update entities by position. Roles: `existing` entities are in
the first registration delivery, `new` ones register during the incremental deliveries (`appears_day`),
`orphan` ones hold a licence but have no registration record at all.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from pipelines.demo import codes, hard_negatives, naming, people, places
from pipelines.demo.plan import Plan, mask
from pipelines.demo.vocab import (
    ABNORMAL_NO_REPORT,
    ABNORMAL_UNREACHABLE,
    ACTIVE_MIX,
    ACTIVE_STATUSES,
    AGRICULTURE,
    BRANCH_TYPES,
    COMPANY_TYPES,
    COOPERATIVE_TYPE,
    DISTRICT_WEIGHTS,
    HOSTILE_NAMES,
    INACTIVE_MIX,
    INDIVIDUAL_TYPE,
    INDUSTRIES,
    INDUSTRY_INDEX,
    OUTSIDE_DIVISIONS,
    REVOKED_NOT_DEREGISTERED,
    SCOPE_LICENSED_TAIL,
    SCOPE_TAIL,
)

KINDS = ("individual", "company", "branch", "cooperative")
KIND_SHARES = (0.58, 0.38, 0.02, 0.02)
USCC_REFORM = date(2015, 10, 1)  # codes replace 注册号 for new registrations from here
XLSX_DISTRICTS = ("330206", "330212", "330281")  # hostile names land in spreadsheets too
LEGACY_SHARE = 0.03
PILOT_SHARE = 0.003


def population(plan: Plan, roads: places.Roads) -> pl.DataFrame:
    """Every true entity with its registered facts on the first delivery date."""
    rng = plan.rng("entities")
    frame = _layout(plan, rng)
    frame = _places(frame, rng, roads)
    frame = _established(frame, plan, rng)
    frame = _kinds_and_names(frame, rng)
    frame = _people(frame, rng)
    frame = hard_negatives.plant(frame, plan)
    frame = naming.dedupe(frame, rng)
    frame = _statuses(frame, plan, rng)
    frame = _codes(frame, rng)
    return _texts(frame, rng)


def _layout(plan: Plan, rng: np.random.Generator) -> pl.DataFrame:
    n = plan.entities
    n_new = plan.new_per_day * (plan.days - 1)
    n_orphan = plan.planted
    n_existing = n - n_new - n_orphan
    role = np.array(["existing"] * n_existing + ["new"] * n_new + ["orphan"] * n_orphan)
    appears = np.concatenate(
        [
            np.zeros(n_existing, int),
            np.repeat(np.arange(1, plan.days), plan.new_per_day),
            np.full(n_orphan, -1),
        ]
    )
    hostile = np.zeros(n, bool)
    hostile[n_existing - len(HOSTILE_NAMES) : n_existing] = True
    kind = np.array(KINDS)[rng.choice(len(KINDS), size=n, p=KIND_SHARES)]
    kind[role == "orphan"] = np.where(rng.random(n_orphan) < 0.5, "individual", "company")
    kind[hostile] = "company"
    codes_ = np.array(list(DISTRICT_WEIGHTS))
    weights = np.array(list(DISTRICT_WEIGHTS.values()), dtype=float)
    district = codes_[rng.choice(codes_.size, size=n, p=weights / weights.sum())]
    district[hostile] = np.resize(np.array(XLSX_DISTRICTS), hostile.sum())
    return pl.DataFrame(
        {
            "eid": np.arange(n),
            "true_entity_id": np.char.add("TE", codes.zero_pad(np.arange(1, n + 1), 7)),
            "role": role,
            "appears_day": appears,
            "kind": kind,
            "district_code": district,
            "is_hostile": hostile,
        }
    )


def _places(frame: pl.DataFrame, rng: np.random.Generator, roads: places.Roads) -> pl.DataFrame:
    """Registered address; premises elsewhere for some companies (in another district for a few)."""
    district = frame["district_code"].to_numpy()
    registered = places.draw(rng, district, roads)
    company_like = np.isin(frame["kind"].to_numpy(), ["company", "branch"]) & ~frame["is_hostile"].to_numpy()
    u = rng.random(district.size)
    other_district = company_like & (u < 0.03)
    codes_ = np.array(list(DISTRICT_WEIGHTS))
    shifted = codes_[
        (np.searchsorted(codes_, district) + rng.integers(1, codes_.size, size=district.size)) % codes_.size
    ]
    premises_district = np.where(other_district, shifted, district)
    separate = pl.Series(company_like & (u < 0.30))
    drawn = places.draw(rng, premises_district, roads)
    premises = drawn.select(
        pl.when(separate).then(drawn[c]).otherwise(registered[c]).alias(c) for c in registered.columns
    )
    return pl.concat(
        [
            frame,
            registered,
            premises.rename({c: f"p_{c}" for c in premises.columns}),
            pl.DataFrame({"premises_district": premises_district}),
        ],
        how="horizontal",
    )


def _established(frame: pl.DataFrame, plan: Plan, rng: np.random.Generator) -> pl.DataFrame:
    """Founding dates 1990..start-1, growing like the register; new entities a few days before they appear."""
    n = frame.height
    years = np.arange(1990, plan.start.year + 1)
    weights = 1.11 ** (years - 1990)
    year = years[rng.choice(years.size, size=n, p=weights / weights.sum())]
    start = np.datetime64(plan.start, "D")
    day = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + rng.integers(0, 365, size=n).astype(
        "timedelta64[D]"
    )
    late = day > start - 1
    day[late] = start - rng.integers(1, 300, size=late.sum()).astype("timedelta64[D]")
    appears = frame["appears_day"].to_numpy()
    new = appears > 0
    delivered = np.array(plan.dates, dtype="datetime64[D]")[np.clip(appears, 0, None)]
    day[new] = delivered[new] - rng.integers(1, 6, size=new.sum()).astype("timedelta64[D]")
    return frame.with_columns(established_on=pl.Series(day).cast(pl.Date))


def _kinds_and_names(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    n = frame.height
    kind = frame["kind"].to_numpy()
    industry_id = _industries(rng, kind)
    company_type = rng.choice(len(COMPANY_TYPES), size=n, p=[t[2] for t in COMPANY_TYPES])
    entity_type = np.array([t[0] for t in COMPANY_TYPES])[company_type]
    form = np.array([t[1] for t in COMPANY_TYPES])[company_type]
    partnership = np.char.find(form, "合伙") >= 0
    industry_id[partnership & (kind == "company")] = INDUSTRY_INDEX["services"]
    branch_type = np.array([t[0] for t in BRANCH_TYPES])[
        rng.choice(len(BRANCH_TYPES), size=n, p=[t[1] for t in BRANCH_TYPES])
    ]
    entity_type = np.select(
        [kind == "individual", kind == "cooperative", kind == "branch"],
        [INDIVIDUAL_TYPE, COOPERATIVE_TYPE, branch_type],
        entity_type,
    )
    form = np.select([kind == "individual", kind == "cooperative"], ["", "专业合作社"], form)
    shop = kind == "individual"
    prefix, locality, has_district = naming.prefixes(
        rng, kind, frame["district_code"].to_numpy(), frame["street"].to_numpy()
    )
    orphan_company = (frame["role"].to_numpy() == "orphan") & (kind == "company")
    outside = np.array([o[1] for o in OUTSIDE_DIVISIONS])[rng.integers(0, len(OUTSIDE_DIVISIONS), size=n)]
    prefix = np.where(orphan_company, outside, prefix)
    has_district = has_district & ~orphan_company
    zihao = np.where(shop, naming.draw_shop_zihao(rng, n), naming.draw_zihao(rng, n))
    unnamed = shop & (rng.random(n) < 0.2) & (frame["role"].to_numpy() != "orphan")
    zihao = np.where(unnamed, "", zihao)
    frame = frame.with_columns(
        entity_type=pl.Series(entity_type),
        industry_id=pl.Series(industry_id),
        industry=pl.Series(naming.industry_words(industry_id, shop, rng)),
        prefix=pl.Series(prefix),
        locality=pl.Series(np.where(orphan_company, "", locality)),
        prefix_has_district=pl.Series(has_district),
        zihao=pl.Series(zihao),
        form=pl.Series(form),
        name_marker=pl.Series(
            np.where(unnamed, np.where(rng.random(n) < 0.6, "", "*"), None).tolist(), dtype=pl.Utf8
        ),
        branch_suffix=pl.lit(""),
        locked=pl.col("is_hostile"),
    )
    return _branch_parents(frame, rng)


def _industries(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    out = np.empty(kind.size, dtype=np.int64)
    for kinds, attribute in (
        (("company", "branch"), "weight_company"),
        (("individual",), "weight_individual"),
    ):
        rows = np.flatnonzero(np.isin(kind, kinds))
        weights = np.array([getattr(i, attribute) for i in INDUSTRIES])
        out[rows] = rng.choice(len(INDUSTRIES), size=rows.size, p=weights / weights.sum())
    out[kind == "cooperative"] = AGRICULTURE
    return out


def _branch_parents(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Each branch hangs off a non-partnership company registered in the first delivery, founded before it."""
    kind = frame["kind"].to_numpy()
    candidates = np.flatnonzero(
        (kind == "company")
        & (frame["role"].to_numpy() == "existing")
        & ~frame["is_hostile"].to_numpy()
        & (np.char.find(frame["form"].to_numpy().astype(str), "合伙") < 0)
    )
    branches = np.flatnonzero(kind == "branch")
    parent = np.full(frame.height, -1)
    parent[branches] = candidates[rng.integers(0, candidates.size, size=branches.size)]
    established = frame["established_on"].to_numpy().astype("datetime64[D]")
    floor = established[parent[branches]] + np.timedelta64(30, "D")
    ceiling = np.max(established[frame["role"].to_numpy() == "existing"])
    established[branches] = np.minimum(
        np.maximum(established[branches], floor), np.maximum(ceiling, established[branches])
    )
    parts = ["prefix", "locality", "prefix_has_district", "zihao", "industry", "form", "industry_id"]
    updates = {p: frame[p].scatter(branches, frame[p].to_numpy()[parent[branches]]) for p in parts}
    return frame.with_columns(
        **updates,
        parent_eid=pl.Series(parent).replace(-1, None),
        established_on=pl.Series(established).cast(pl.Date),
    )


def _statuses(frame: pl.DataFrame, plan: Plan, rng: np.random.Generator) -> pl.DataFrame:
    """Status, the dates that go with it, the last annual report and the abnormal list."""
    n = frame.height
    kind = frame["kind"].to_numpy()
    status = np.empty(n, dtype=object)
    u = rng.random(n)
    for k in KINDS:
        rows = kind == k
        mix = INACTIVE_MIX[k]
        edges = np.cumsum([share for _, share in mix])
        inactive_status = np.array([s for s, _ in mix] + [""])[np.searchsorted(edges, u[rows], side="right")]
        active = np.array(ACTIVE_STATUSES)[rng.choice(3, size=rows.sum(), p=ACTIVE_MIX[k])]
        status[rows] = np.where(inactive_status == "", active, inactive_status)
    keep_active = (frame["role"].to_numpy() != "existing") | frame["is_hostile"].to_numpy()
    status[keep_active] = np.array(ACTIVE_STATUSES)[rng.integers(0, 2, size=keep_active.sum())]
    established = frame["established_on"].to_numpy().astype("datetime64[D]")
    legacy = _pick(
        rng, (established < np.datetime64(USCC_REFORM)) & ~keep_active & (kind != "branch"), LEGACY_SHARE * n
    )
    status[legacy] = np.where(rng.random(legacy.size) < 0.75, REVOKED_NOT_DEREGISTERED, "存续")
    status = status.astype(str)
    frame = frame.with_columns(status=pl.Series(status), is_legacy=pl.Series(mask(n, legacy)))
    return _status_dates(frame, plan, rng)


def _pick(rng: np.random.Generator, eligible: np.ndarray, count: float) -> np.ndarray:
    rows = np.flatnonzero(eligible)
    return np.sort(rng.choice(rows, size=min(rows.size, int(round(count))), replace=False))


def _status_dates(frame: pl.DataFrame, plan: Plan, rng: np.random.Generator) -> pl.DataFrame:
    n = frame.height
    start = np.datetime64(plan.start, "D")
    established = frame["established_on"].to_numpy().astype("datetime64[D]")
    status = frame["status"].to_numpy()
    span = np.maximum((start - 1 - established).astype(np.int64), 1)
    after = established + np.minimum(60 + (rng.random(n) * span).astype(np.int64), span).astype(
        "timedelta64[D]"
    )
    after = np.minimum(after, start - 1)
    revoked = np.isin(status, [REVOKED_NOT_DEREGISTERED, "吊销"])
    deregistered = status == "注销"
    active = np.isin(status, ACTIVE_STATUSES)
    approved = np.where(
        rng.random(n) < 0.4, established, established + (rng.random(n) * span).astype("timedelta64[D]")
    )
    approved = np.where(active, approved, after)
    report = _annual_reports(frame, plan, rng, active, np.where(active, start, after))
    in_list, reason = _abnormal(rng, active, report, plan)
    nat = np.datetime64("NaT")
    return frame.with_columns(
        deregistered_on=pl.Series(np.where(deregistered, after, nat)).cast(pl.Date),
        revoked_on=pl.Series(np.where(revoked, after, nat)).cast(pl.Date),
        approved_on=pl.Series(approved).cast(pl.Date),
        annual_report_year=pl.Series(report).cast(pl.Int64).replace(0, None),
        in_abnormal_list=pl.Series(in_list).replace("", None),
        abnormal_reason=pl.Series(reason).replace("", None),
    )


def _annual_reports(
    frame: pl.DataFrame, plan: Plan, rng: np.random.Generator, active: np.ndarray, until: np.ndarray
) -> np.ndarray:
    """最近年报年度 (0 = none): most report the last year; a delinquent tail stops reporting (zombies)."""
    n = frame.height
    founded = frame["established_on"].dt.year().to_numpy()
    last_due = plan.as_of.year - 1 if plan.as_of > date(plan.as_of.year, 6, 30) else plan.as_of.year - 2
    until_year = until.astype("datetime64[Y]").astype(np.int64) + 1970 - 1
    u = rng.random(n)
    year = np.where(u < 0.86, last_due, np.where(u < 0.91, last_due - 1, 0))
    stale = (u >= 0.91) & (rng.random(n) < 0.5)
    year = np.where(stale, rng.integers(2013, last_due - 1, size=n), year)
    year = np.where(active, year, np.minimum(until_year, np.where(u < 0.5, until_year, until_year - 1)))
    year = np.minimum(year, until_year)
    return np.where((year < founded) | (year < 2013), 0, year)


def _abnormal(
    rng: np.random.Generator, active: np.ndarray, report: np.ndarray, plan: Plan
) -> tuple[np.ndarray, np.ndarray]:
    """经营异常名录: non-reporters (often), unreachable ones (rarely); only active entities are listed.

    Unreachability is only ever planted on active entities, so `zombie.unreachable` does not depend on
    whether a reader also requires the entity to be active.
    """
    n = active.size
    last_due = plan.as_of.year - 1 if plan.as_of > date(plan.as_of.year, 6, 30) else plan.as_of.year - 2
    delinquent = active & (report < last_due - 1)
    u = rng.random(n)
    listed_no_report = delinquent & (u < 0.6)
    unreachable = active & ~listed_no_report & (u > 0.99)
    in_list = np.where(listed_no_report | unreachable, "是", np.where(rng.random(n) < 0.8, "否", ""))
    reason = np.select([listed_no_report, unreachable], [ABNORMAL_NO_REPORT, ABNORMAL_UNREACHABLE], "")
    return in_list, reason


def _codes(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """USCC (blank for legacy registrations, a failing check character for early pilots) and 注册号."""
    n = frame.height
    kind = frame["kind"].to_numpy()
    role = frame["role"].to_numpy()
    established = frame["established_on"].to_numpy().astype("datetime64[D]")
    modern = established >= np.datetime64(USCC_REFORM)
    category = np.select([kind == "individual", kind == "cooperative"], ["2", "3"], "1")
    division = frame["district_code"].to_numpy().astype("<U6")
    old_merged = (established < np.datetime64(date(2016, 10, 1))) & (rng.random(n) < 0.3)
    division = np.where(old_merged & (division == "330212"), "330204", division)
    division = np.where(old_merged & (division == "330213"), "330283", division)
    orphan_company = (role == "orphan") & (kind == "company")
    outside = np.array([o[0] for o in OUTSIDE_DIVISIONS])
    division = np.where(orphan_company, outside[rng.integers(0, outside.size, size=n)], division)
    uscc = _unique_codes(rng, category, division, modern, kind == "individual")
    eligible_pilot = (
        (role == "existing")
        & ~frame["is_legacy"].to_numpy()
        & ~frame["is_hostile"].to_numpy()
        & (kind != "branch")
    )
    pilot = _pick(rng, eligible_pilot, PILOT_SHARE * n)
    uscc[pilot] = codes.break_check(uscc[pilot], rng)
    blank = frame["is_legacy"].to_numpy() | ((role == "orphan") & (kind == "individual"))
    sequence = rng.permutation(n) + 100_000
    reg_no = codes.registration_numbers(division, kind == "individual", sequence)
    return frame.with_columns(
        uscc=pl.Series(np.where(blank, None, uscc).tolist(), dtype=pl.Utf8),
        is_pilot=pl.Series(mask(n, pilot)),
        reg_no=pl.Series(np.where(~modern & (role != "orphan"), reg_no, None).tolist(), dtype=pl.Utf8),
        record_key=pl.Series(
            np.char.add(
                frame["district_code"].to_numpy().astype("<U6"),
                codes.zero_pad(rng.permutation(n) + 10**8, 10),
            )
        ),
    )


def _unique_codes(
    rng: np.random.Generator,
    category: np.ndarray,
    division: np.ndarray,
    modern: np.ndarray,
    individual: np.ndarray,
) -> np.ndarray:
    uscc = codes.uscc_codes(category, division, codes.org_codes(rng, modern, individual))
    for _ in range(20):
        repeat = np.flatnonzero(~pl.Series(uscc).is_first_distinct().to_numpy())
        if repeat.size == 0:
            return uscc
        uscc[repeat] = codes.uscc_codes(
            category[repeat], division[repeat], codes.org_codes(rng, modern[repeat], individual[repeat])
        )
    raise RuntimeError("could not draw unique USCCs")


def _people(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Legal representatives (a branch's 负责人 is never its parent's) and phones."""
    n = frame.height
    digits, mobile = people.phone_digits(rng, n)
    rep = people.person_names(rng, n)
    branches = np.flatnonzero(frame["kind"].to_numpy() == "branch")
    parents = frame["parent_eid"].to_numpy()[branches].astype(np.int64)
    clash = branches[rep[branches] == rep[parents]]
    rep[clash] = people.other_person(rng, rep[clash])
    return frame.with_columns(
        legal_rep=pl.Series(rep),
        phone_digits=pl.Series(digits),
        phone_mobile=pl.Series(mobile),
        phone_style=pl.Series(people.phone_styles(rng, n)),
    )


def _texts(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Capital, business scope, branch suffixes and the names as registered (hostile ones verbatim)."""
    frame = frame.with_columns(
        registered_capital_wan=pl.Series(_capital(rng, frame["kind"].to_numpy()).tolist(), dtype=pl.Utf8),
        business_scope=pl.Series(
            _scopes(rng, frame["industry_id"].to_numpy(), frame["established_on"].dt.year().to_numpy())
        ),
    )
    frame = frame.with_columns(branch_suffix=naming.branch_suffixes(frame))
    frame = frame.with_columns(name=registered_name())
    hostile = np.flatnonzero(frame["is_hostile"].to_numpy())
    return frame.with_columns(
        frame["name"].scatter(hostile, np.resize(np.array(HOSTILE_NAMES), hostile.size))
    )


def registered_name() -> pl.Expr:
    """The registered name from its parts; blank for an unnamed 个体工商户."""
    return pl.when(pl.col("zihao") == "").then(pl.lit("")).otherwise(naming.compose(naming.parts_of()))


def _capital(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    """注册资本（万元） as the register prints it: 100 / 100.0 / 100.000000, blank for branches."""
    n = kind.size
    company = np.array([3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 800, 1000, 2000, 5000, 10000])
    small = np.array([1, 2, 3, 5, 10, 20])
    weights = np.array([3, 6, 12, 8, 6, 12, 18, 8, 5, 8, 2, 6, 3, 1.5, 0.5])
    amount = np.where(
        kind == "individual",
        small[rng.integers(0, small.size, size=n)],
        company[rng.choice(company.size, size=n, p=weights / weights.sum())],
    ).astype(np.int64)
    style = rng.choice(3, size=n, p=[0.75, 0.15, 0.10])
    text = np.select(
        [style == 0, style == 1],
        [amount.astype(str), np.char.add(amount.astype(str), ".0")],
        np.char.add(amount.astype(str), ".000000"),
    )
    blank = (kind == "branch") | ((kind == "individual") & (rng.random(n) < 0.7)) | (rng.random(n) < 0.03)
    return np.where(blank, None, text)


def _scopes(rng: np.random.Generator, industry_id: np.ndarray, founded: np.ndarray) -> np.ndarray:
    """经营范围: a few variants per industry, old-style (、) before 2020, 许可项目/一般项目 after."""
    out = np.empty(industry_id.size, dtype=object)
    for i, industry in enumerate(INDUSTRIES):
        phrases = np.array(industry.scope)
        variants_old, variants_new = [], []
        for _ in range(12):
            chosen = phrases[rng.choice(phrases.size, size=3, replace=False)]
            separator = "," if rng.random() < 0.15 else "、"
            variants_old.append(separator.join(chosen) + "。")
            if industry.licences:
                variants_new.append(
                    f"许可项目：{chosen[0]}{SCOPE_LICENSED_TAIL}一般项目：{'；'.join(chosen[1:])}{SCOPE_TAIL}"
                )
            else:
                variants_new.append(f"一般项目：{'；'.join(chosen)}{SCOPE_TAIL}")
        rows = np.flatnonzero(industry_id == i)
        pick = rng.integers(0, 12, size=rows.size)
        out[rows] = np.where(founded[rows] < 2020, np.array(variants_old)[pick], np.array(variants_new)[pick])
    return out.astype(str)

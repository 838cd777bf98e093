"""The figures of the monthly analysis: one named SQL query each, over the curated models only.

Every number in the report comes from one of these queries, and each query reads curated models built
from `sql/curated/*.sql` (named in `MODELS`); the report's appendix prints them as they ran. Dates are the
report month's, passed as parameters: nothing here reads the clock. No Dagster here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl


@dataclass(frozen=True)
class Period:
    """The report month and the months it is compared with (each the first day of its month)."""

    month: dt.date

    @staticmethod
    def parse(key: str) -> Period:
        """`YYYY-MM` (a partition key) -> its Period; anything else is a ValueError."""
        month = dt.datetime.strptime(key, "%Y-%m").date()
        return Period(month)

    @property
    def key(self) -> str:
        return self.month.strftime("%Y-%m")

    def shift(self, months: int) -> dt.date:
        index = self.month.year * 12 + self.month.month - 1 + months
        return dt.date(index // 12, index % 12 + 1, 1)

    @property
    def month_end(self) -> dt.date:
        return self.shift(1) - dt.timedelta(days=1)

    def parameters(self) -> dict[str, object]:
        return {
            "month": self.month,
            "previous_month": self.shift(-1),
            "year_ago": self.shift(-12),
            "trailing_start": self.shift(-11),
            "trend_start": self.shift(-23),
            "index_start": self.shift(-35),
            "complete_year": self.month.year - 1,
        }


# name -> (models read, SQL). Parameters: $month, $previous_month, $year_ago, $trailing_start (the first of
# the 12 months up to the month), $trend_start (24 months), $index_start (36 months), $complete_year (the
# last cohort year + horizon counted: the year before the month's, so a cohort is never counted half-way).
QUERIES: dict[str, tuple[tuple[str, ...], str]] = {
    "as_of": (
        ("int_as_of",),
        "select as_of_on from int_as_of",
    ),
    "city_month": (
        ("district_monthly_index", "market_flow_monthly"),
        """
select
    sum(i.new_registrations) as new_registrations,
    (select coalesce(sum(deregistrations), 0) from market_flow_monthly where month = $month) as deregistrations,
    (select coalesce(sum(revocations), 0) from market_flow_monthly where month = $month) as revocations,
    (select coalesce(sum(other_exits), 0) from market_flow_monthly where month = $month) as other_exits,
    sum(i.deregistrations) as exits,
    sum(i.net_growth) as net_growth,
    sum(i.entities_at_month_end) as entities_at_month_end,
    bool_or(i.is_partial_month) as is_partial_month
from district_monthly_index as i
where i.month = $month""",
    ),
    "flows_by_district": (
        ("district_monthly_index", "market_flow_monthly"),
        """
with current_month as (
    select district_code, sum(new_registrations) as new_registrations, sum(deregistrations) as deregistrations,
        sum(revocations) as revocations, sum(other_exits) as other_exits, sum(exits) as exits,
        sum(net_growth) as net_growth
    from market_flow_monthly where month = $month group by district_code
),
prior_year as (
    select district_code, sum(deregistrations) / 12.0 as deregistrations_avg_12m, sum(exits) / 12.0 as exits_avg_12m
    from market_flow_monthly where month >= $year_ago and month < $month group by district_code
)
select
    i.district_name,
    i.district_code,
    coalesce(c.new_registrations, 0) as new_registrations,
    coalesce(c.deregistrations, 0) as deregistrations,
    coalesce(c.revocations, 0) as revocations,
    coalesce(c.other_exits, 0) as other_exits,
    coalesce(c.exits, 0) as exits,
    coalesce(c.net_growth, 0) as net_growth,
    round(coalesce(p.deregistrations_avg_12m, 0), 2) as deregistrations_avg_12m,
    round(coalesce(c.deregistrations, 0) - coalesce(p.deregistrations_avg_12m, 0), 2) as deregistrations_change,
    i.entities_at_month_end
from district_monthly_index as i
left join current_month as c on i.district_code = c.district_code
left join prior_year as p on i.district_code = p.district_code
where i.month = $month
order by i.district_code""",
    ),
    "flows_by_kind": (
        ("market_flow_monthly",),
        """
select
    entity_kind,
    coalesce(sum(new_registrations) filter (where month = $month), 0) as new_registrations,
    coalesce(sum(exits) filter (where month = $month), 0) as exits,
    coalesce(sum(net_growth) filter (where month = $month), 0) as net_growth,
    sum(new_registrations) as new_registrations_12m,
    sum(exits) as exits_12m,
    sum(net_growth) as net_growth_12m
from market_flow_monthly
where month between $trailing_start and $month
group by entity_kind
order by new_registrations_12m desc, entity_kind""",
    ),
    "flows_by_industry": (
        ("market_flow_monthly",),
        """
select
    industry_zh,
    industry,
    coalesce(sum(new_registrations) filter (where month = $month), 0) as new_registrations,
    coalesce(sum(exits) filter (where month = $month), 0) as exits,
    sum(new_registrations) as new_registrations_12m,
    sum(exits) as exits_12m,
    sum(net_growth) as net_growth_12m
from market_flow_monthly
where month between $trailing_start and $month
group by industry_zh, industry
order by new_registrations_12m desc, industry
limit 12""",
    ),
    "city_trend": (
        ("district_monthly_index",),
        """
select month, sum(new_registrations) as new_registrations, sum(deregistrations) as exits,
    sum(net_growth) as net_growth
from district_monthly_index
where month between $trend_start and $month
group by month
order by month""",
    ),
    "survival_by_cohort": (
        ("cohort_survival",),
        """
select
    cohort_year,
    sum(registered) as registered,
    case when cohort_year + 1 <= $complete_year then round(sum(survived_1y) / nullif(sum(observed_1y), 0), 6) end
        as survival_1y,
    case when cohort_year + 3 <= $complete_year then round(sum(survived_3y) / nullif(sum(observed_3y), 0), 6) end
        as survival_3y,
    case when cohort_year + 5 <= $complete_year then round(sum(survived_5y) / nullif(sum(observed_5y), 0), 6) end
        as survival_5y
from cohort_survival
where cohort_year between $complete_year - 15 and $complete_year - 1
group by cohort_year
order by cohort_year""",
    ),
    "survival_by_kind": (
        ("cohort_survival",),
        """
select
    entity_kind,
    sum(registered) filter (where cohort_year between $complete_year - 5 and $complete_year - 1) as registered,
    round(sum(survived_1y) filter (where cohort_year between $complete_year - 5 and $complete_year - 1)
        / nullif(sum(observed_1y) filter (where cohort_year between $complete_year - 5 and $complete_year - 1), 0), 6)
        as survival_1y,
    round(sum(survived_3y) filter (where cohort_year between $complete_year - 7 and $complete_year - 3)
        / nullif(sum(observed_3y) filter (where cohort_year between $complete_year - 7 and $complete_year - 3), 0), 6)
        as survival_3y,
    round(sum(survived_5y) filter (where cohort_year between $complete_year - 9 and $complete_year - 5)
        / nullif(sum(observed_5y) filter (where cohort_year between $complete_year - 9 and $complete_year - 5), 0), 6)
        as survival_5y
from cohort_survival
group by entity_kind
having sum(registered) filter (where cohort_year between $complete_year - 5 and $complete_year - 1) > 0
order by registered desc, entity_kind""",
    ),
    "licences_by_category": (
        ("licence_monthly",),
        """
select
    licence_category,
    sum(issued) filter (where month = $month) as issued,
    sum(expired) filter (where month = $month) as expired,
    sum(expiring_3m) filter (where month = $month) as expiring_3m,
    sum(in_force) filter (where month = $month) as in_force,
    sum(issued) as issued_12m,
    sum(expired) as expired_12m
from licence_monthly
where month between $trailing_start and $month
group by licence_category
order by licence_category""",
    ),
    "licence_trend": (
        ("licence_monthly",),
        """
select month, licence_category, sum(issued) as issued, sum(expired) as expired
from licence_monthly
where month between $trailing_start and $month
group by month, licence_category
order by month, licence_category""",
    ),
    "inspections_by_district": (
        ("inspection_monthly",),
        """
select
    district_name, district_code, inspections, entities_inspected, compliant, basically_compliant,
    non_compliant, rectification_ordered, not_found, ceased + suspended as ceased, penalties, penalty_amount,
    entities_inspected_12m, coverage_12m
from inspection_monthly
where month = $month
order by district_code""",
    ),
    "issues_by_district": (
        ("district_issue_monthly",),
        """
select
    c.district_name,
    c.district_code,
    c.is_observed,
    c.zombie_entities,
    c.zombie_share,
    case when p.is_observed then round(c.zombie_share - p.zombie_share, 6) end as zombie_share_change,
    c.open_issues,
    case when p.is_observed then c.open_issues - p.open_issues end as open_issues_change,
    c.open_high_issues,
    c.new_issues
from district_issue_monthly as c
left join district_issue_monthly as p on c.district_code = p.district_code and p.month = $previous_month
where c.month = $month
order by c.district_code""",
    ),
    "index_by_district": (
        ("district_monthly_index",),
        """
select
    c.district_name,
    c.district_code,
    c.vitality_index,
    round(c.vitality_index - p.vitality_index, 2) as vitality_change_1m,
    round(c.vitality_index - y.vitality_index, 2) as vitality_change_12m,
    c.credit_index,
    round(c.credit_index - p.credit_index, 6) as credit_change_1m,
    round(c.credit_index - y.credit_index, 6) as credit_change_12m,
    c.new_registrations_12m,
    c.licences_issued_12m,
    c.deregistrations_12m,
    c.licences_expired_12m,
    c.abnormal_listed_entities,
    c.penalised_entities,
    c.high_issue_entities
from district_monthly_index as c
left join district_monthly_index as p on c.district_code = p.district_code and p.month = $previous_month
left join district_monthly_index as y on c.district_code = y.district_code and y.month = $year_ago
where c.month = $month
order by c.district_code""",
    ),
    "index_trend": (
        ("district_monthly_index",),
        """
select * from district_monthly_index
where month between $index_start and $month
order by district_code, month""",
    ),
    "source_resolution": (
        ("source_resolution",),
        "select * from source_resolution order by source",
    ),
}


def models() -> list[str]:
    """Every curated model the report reads."""
    return sorted({m for read, _ in QUERIES.values() for m in read})


def read(warehouse: Path, period: Period) -> dict[str, pl.DataFrame]:
    """Every query of QUERIES for the period, on the published warehouse opened read-only."""
    parameters = period.parameters()
    frames = {}
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        for name, (_, sql) in QUERIES.items():
            wanted = {k: v for k, v in parameters.items() if f"${k}" in sql}
            frame = connection.sql(sql, params=wanted).pl()
            # DuckDB sums integers to int128 (polars Decimal with scale 0): counts are plain integers.
            frames[name] = frame.with_columns(pl.col(pl.Decimal).cast(pl.Int64))
    return frames

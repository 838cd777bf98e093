"""A planted trend for the monthly analysis: one district whose deregistrations rise in one month.

The district (drawn from the seed) sees `rise_count` more 注销 in the last complete month before the first
delivery than its normal exits: the analysis of that month must show the rise. The entities chosen hold no
licence, so that the plant adds no zombie case the ground truth does not list.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from pipelines.demo.plan import Plan
from pipelines.demo.vocab import ACTIVE_STATUSES, DISTRICT_WEIGHTS


def rise_district(plan: Plan) -> str:
    codes = sorted(DISTRICT_WEIGHTS)
    return codes[int(plan.rng("deregistration_rise").integers(len(codes)))]


def rise_month(plan: Plan) -> date:
    """The first day of the last complete month before the first delivery date."""
    return (plan.start.replace(day=1) - timedelta(days=1)).replace(day=1)


def rise_count(plan: Plan) -> int:
    return max(8, plan.entities // 500)


def deregistration_rise(plan: Plan, ent: pl.DataFrame, lic: pl.DataFrame) -> pl.DataFrame:
    """`ent` with `rise_count` active, licence-free entities of the district deregistered in `rise_month`."""
    rng = plan.rng("deregistration_rise_entities")
    month = rise_month(plan)
    days = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - month
    eligible = ent.with_row_index("_row").filter(
        (pl.col("district_code") == rise_district(plan))
        & (pl.col("role") == "existing")
        & ~pl.col("is_hostile")
        & ~pl.col("is_legacy")
        & pl.col("kind").is_in(["company", "individual"])
        & pl.col("status").is_in(ACTIVE_STATUSES)
        & (pl.col("established_on") < month - timedelta(days=400))
        & ~pl.col("eid").is_in(lic["eid"].unique().implode())
    )
    rows = np.sort(
        rng.choice(eligible["_row"].to_numpy(), size=min(eligible.height, rise_count(plan)), replace=False)
    )
    when = [month + timedelta(days=int(d)) for d in rng.integers(0, days.days, size=rows.size)]
    on = pl.Series(when, dtype=pl.Date)
    nulls = pl.Series([None] * rows.size, dtype=pl.Date)
    return ent.with_columns(
        status=ent["status"].scatter(rows, "注销"),
        deregistered_on=ent["deregistered_on"].scatter(rows, on),
        revoked_on=ent["revoked_on"].scatter(rows, nulls),
        approved_on=ent["approved_on"].scatter(rows, on),
        in_abnormal_list=ent["in_abnormal_list"].scatter(rows, None),
        abnormal_reason=ent["abnormal_reason"].scatter(rows, None),
    )

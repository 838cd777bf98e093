-- The months in which each entity carried a credit flag, as merged intervals within its months in the market.
--
-- One row per (entity_id, flag, interval): [from_month_no, to_month_no] (month_no, sql/macros.sql),
-- overlapping and adjacent intervals of one flag merged (gaps and islands), clipped to the months from
-- establishment to the month before exit (else the as-of month). flag 'any' merges the three flags, so
-- that an entity with several counts once among entities_with_credit_events.
--   abnormal_list    in the 经营异常名录. The registry gives no listing date: for 未依照规定报送年度报告 the
--                    entity counts from July after the deadline (30 June) of its first missing report (the
--                    year after last_annual_report_year, else the year it was established); for other
--                    reasons from the as-of month (when it was seen)
--   penalised        a penalty (int_penalty) in the 12 months up to and including the month
--   open_high_issue  an open or confirmed entity_issue of severity high, from the month it was detected
with entities as (
    select
        entity_id,
        district_code,
        established_on,
        established_month_no,
        exited_month_no,
        in_abnormal_list,
        abnormal_reason,
        last_annual_report_year
    from int_entity_registration
    where established_on is not null
),

penalties as (
    select entity_id, penalised_month_no from int_penalty
),

issues as (
    select entity_id, severity, status, first_detected_on from entity_issue where entity_id is not null
),

as_of as (
    select as_of_month_no from int_as_of
),

stock_intervals as (
    select
        entities.entity_id,
        entities.district_code,
        entities.established_month_no as first_month_no,
        coalesce(entities.exited_month_no - 1, as_of.as_of_month_no) as last_month_no
    from entities
    cross join as_of
),

abnormal_intervals as (
    select
        entities.entity_id,
        'abnormal_list' as flag,
        case
            -- July of the year after the report year: month_no of (year + 1)-07
            when entities.abnormal_reason like '%年度报告%'
                then least(
                    (coalesce(entities.last_annual_report_year + 1, year(entities.established_on)) + 1) * 12
                    + 6,
                    as_of.as_of_month_no
                )
            else as_of.as_of_month_no
        end as from_month_no,
        as_of.as_of_month_no as to_month_no
    from entities
    cross join as_of
    where entities.in_abnormal_list
),

penalty_intervals as (
    select
        entity_id,
        'penalised' as flag,
        penalised_month_no as from_month_no,
        penalised_month_no + 11 as to_month_no
    from penalties
),

issue_intervals as (
    select
        issues.entity_id,
        'open_high_issue' as flag,
        month_no(issues.first_detected_on) as from_month_no,
        as_of.as_of_month_no as to_month_no
    from issues
    cross join as_of
    where issues.status in ('open', 'confirmed')
        and issues.severity = 'high'
        and issues.first_detected_on is not null
),

flag_intervals as (
    select * from abnormal_intervals
    union all
    select * from penalty_intervals
    union all
    select * from issue_intervals
),

flag_intervals_with_any as (
    select entity_id, flag, from_month_no, to_month_no from flag_intervals
    union all
    select entity_id, 'any' as flag, from_month_no, to_month_no from flag_intervals
),

clipped_intervals as (
    select
        flag_intervals_with_any.entity_id,
        stock_intervals.district_code,
        flag_intervals_with_any.flag,
        greatest(flag_intervals_with_any.from_month_no, stock_intervals.first_month_no) as from_month_no,
        least(flag_intervals_with_any.to_month_no, stock_intervals.last_month_no) as to_month_no
    from flag_intervals_with_any
    inner join stock_intervals on flag_intervals_with_any.entity_id = stock_intervals.entity_id
    where greatest(flag_intervals_with_any.from_month_no, stock_intervals.first_month_no)
        <= least(flag_intervals_with_any.to_month_no, stock_intervals.last_month_no)
),

interval_reach as (
    select
        clipped_intervals.*,
        max(to_month_no) over (
            partition by entity_id, flag
            order by from_month_no, to_month_no
            rows between unbounded preceding and 1 preceding
        ) as reached_month_no
    from clipped_intervals
),

interval_islands as (
    select
        interval_reach.*,
        sum(
            case when reached_month_no is null or from_month_no > reached_month_no + 1 then 1 else 0 end
        ) over (
            partition by entity_id, flag
            order by from_month_no, to_month_no
            rows between unbounded preceding and current row
        ) as island
    from interval_reach
),

final as (
    select
        entity_id,
        district_code,
        flag,
        min(from_month_no) as from_month_no,
        max(to_month_no) as to_month_no
    from interval_islands
    group by entity_id, district_code, flag, island
)

select * from final
order by entity_id, flag, from_month_no

-- One row per district and month: market vitality (景气指数) and credit (信用指数) indices with their counts.
--
-- Grain: each of Ningbo's 10 county-level districts x each calendar month from the first month with a
-- registration or licence up to the as-of month (int_as_of: the latest delivery date in the landing zone;
-- that last month is partial: is_partial_month). Months are numbered by month_no (sql/macros.sql).
--
-- Flows (in the month): int_district_month_flow
--   new_registrations, deregistrations, licences_issued, licences_expired
--   net_growth          new_registrations - deregistrations
-- Stock:
--   entities_at_month_end    established by the month's end and not yet left (running sum of net_growth)
--   entities_at_month_start  the previous month's end
--   entry_rate / exit_rate / net_growth_rate = the flow / entities_at_month_start (NULL when that is 0)
-- 景气指数 vitality_index (0..100; 50 = as many closing as opening events), over the 12 months up to
-- and including the month, so that one busy month does not swing it:
--     vitality_index = 100 * (new_registrations + licences_issued)
--                      / (new_registrations + licences_issued + deregistrations + licences_expired)
--     (NULL when the 12 months have no event at all)
-- 信用指数 credit_index (0..1): the share of entities_at_month_end with none of these at the month's end
-- (int_entity_credit_interval):
--   abnormal_listed_entities     in the 经营异常名录
--   penalised_entities           a penalty in the 12 months up to and including the month
--   high_issue_entities          an open or confirmed entity_issue of severity high detected by then
--   entities_with_credit_events  entities with at least one of the three (each counted once)
--     credit_index = 1 - entities_with_credit_events / entities_at_month_end   (NULL when no entity)
-- A flag's intervals are counted with running sums of their starts and ends, so that the cost grows with
-- the number of flags, not flags x months.
with flows as (
    select
        district_code,
        district_name,
        month_no,
        new_registrations,
        deregistrations,
        licences_issued,
        licences_expired
    from int_district_month_flow
),

credit_intervals as (
    select district_code, flag, from_month_no, to_month_no from int_entity_credit_interval
),

as_of as (
    select as_of_month_no from int_as_of
),

flag_changes as (
    select district_code, flag, from_month_no as month_no, 1 as change from credit_intervals
    union all
    select district_code, flag, to_month_no + 1 as month_no, -1 as change from credit_intervals
),

flag_changes_by_month as (
    select
        district_code,
        month_no,
        sum(case when flag = 'abnormal_list' then change else 0 end) as abnormal_listed_change,
        sum(case when flag = 'penalised' then change else 0 end) as penalised_change,
        sum(case when flag = 'open_high_issue' then change else 0 end) as high_issue_change,
        sum(case when flag = 'any' then change else 0 end) as credit_events_change
    from flag_changes
    group by district_code, month_no
),

monthly as (
    select
        flows.*,
        cast(coalesce(flag_changes_by_month.abnormal_listed_change, 0) as bigint) as abnormal_listed_change,
        cast(coalesce(flag_changes_by_month.penalised_change, 0) as bigint) as penalised_change,
        cast(coalesce(flag_changes_by_month.high_issue_change, 0) as bigint) as high_issue_change,
        cast(coalesce(flag_changes_by_month.credit_events_change, 0) as bigint) as credit_events_change
    from flows
    left join flag_changes_by_month
        on flows.district_code = flag_changes_by_month.district_code
        and flows.month_no = flag_changes_by_month.month_no
),

running as (
    select
        monthly.*,
        cast(sum(new_registrations - deregistrations) over running_window as bigint) as entities_at_month_end,
        cast(sum(abnormal_listed_change) over running_window as bigint) as abnormal_listed_entities,
        cast(sum(penalised_change) over running_window as bigint) as penalised_entities,
        cast(sum(high_issue_change) over running_window as bigint) as high_issue_entities,
        cast(sum(credit_events_change) over running_window as bigint) as entities_with_credit_events,
        cast(sum(new_registrations) over trailing_year as bigint) as new_registrations_12m,
        cast(sum(deregistrations) over trailing_year as bigint) as deregistrations_12m,
        cast(sum(licences_issued) over trailing_year as bigint) as licences_issued_12m,
        cast(sum(licences_expired) over trailing_year as bigint) as licences_expired_12m
    from monthly
    window
        running_window as (
            partition by district_code order by month_no rows between unbounded preceding and current row
        ),
        trailing_year as (
            partition by district_code order by month_no rows between 11 preceding and current row
        )
),

final as (
    select
        running.district_code,
        running.district_name,
        make_date(
            cast(floor(running.month_no / 12) as integer), cast(running.month_no % 12 as integer) + 1, 1
        ) as month,
        running.month_no = as_of.as_of_month_no as is_partial_month,
        -- 景气 flows
        running.new_registrations,
        running.deregistrations,
        running.new_registrations - running.deregistrations as net_growth,
        running.licences_issued,
        running.licences_expired,
        running.entities_at_month_end - running.new_registrations + running.deregistrations
            as entities_at_month_start,
        running.entities_at_month_end,
        round(
            cast(running.new_registrations as double)
            / nullif(running.entities_at_month_end - running.new_registrations + running.deregistrations, 0),
            6
        ) as entry_rate,
        round(
            cast(running.deregistrations as double)
            / nullif(running.entities_at_month_end - running.new_registrations + running.deregistrations, 0),
            6
        ) as exit_rate,
        round(
            cast(running.new_registrations - running.deregistrations as double)
            / nullif(running.entities_at_month_end - running.new_registrations + running.deregistrations, 0),
            6
        ) as net_growth_rate,
        running.new_registrations_12m,
        running.deregistrations_12m,
        running.licences_issued_12m,
        running.licences_expired_12m,
        round(
            100.0 * cast(running.new_registrations_12m + running.licences_issued_12m as double)
            / nullif(
                running.new_registrations_12m + running.licences_issued_12m
                + running.deregistrations_12m + running.licences_expired_12m,
                0
            ),
            2
        ) as vitality_index,
        -- 信用
        running.abnormal_listed_entities,
        running.penalised_entities,
        running.high_issue_entities,
        running.entities_with_credit_events,
        round(
            1.0
            - cast(running.entities_with_credit_events as double) / nullif(running.entities_at_month_end, 0),
            6
        ) as credit_index
    from running
    cross join as_of
)

select * from final
order by district_code, month

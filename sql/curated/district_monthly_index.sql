-- One row per district and month: market vitality (景气指数) and credit (信用指数) indices with the counts they are made of.
--
-- Grain: each of Ningbo's 10 county-level districts x each calendar month from the first month with a
-- registration or licence up to the as-of month (the latest delivery date in the landing zone; that last
-- month is partial: is_partial_month). An entity counts in its golden district_code; a licence in its
-- entity's district (else the licence's own). Months are numbered month_no = year * 12 + month - 1.
--
-- Flows (in the month):
--   new_registrations   entities whose 成立日期 (established_on) falls in the month
--   deregistrations     entities that left the market in the month: status deregistered / revoked /
--                       cancelled / moved_out, dated by the earlier of 注销日期 and 吊销日期, else by 核准日期
--                       (approved_on, the date the last registration change was approved)
--   net_growth          new_registrations - deregistrations
--   licences_issued     licences and filings with 发证日期 in the month
--   licences_expired    licences whose 有效期至 falls in the month (up to the as-of date)
-- Stock:
--   entities_at_month_end    established by the month's end and not yet left (running sum of net_growth)
--   entities_at_month_start  the previous month's end
--   entry_rate / exit_rate / net_growth_rate = the flow / entities_at_month_start (NULL when that is 0)
-- 景气指数 vitality_index (0..100; 50 = as many closing as opening events), over the 12 months up to
-- and including the month, so that one busy month does not swing it:
--     vitality_index = 100 * (new_registrations + licences_issued)
--                      / (new_registrations + licences_issued + deregistrations + licences_expired)
--     (NULL when the 12 months have no event at all)
-- 信用指数 credit_index (0..1): the share of entities_at_month_end with none of these at the month's end:
--   abnormal_listed_entities  in the 经营异常名录. The registry gives no listing date: for 未依照规定报送
--                             年度报告 the entity counts from July after the deadline (30 June) of its first
--                             missing report (the year after last_annual_report_year, else the year it was
--                             established); for other reasons from the as-of month (when it was seen)
--   penalised_entities        an inspection with a penalty (决定书文号 or amount > 0) in the 12 months up to
--                             and including the month
--   high_issue_entities       an open or confirmed entity_issue of severity high detected by then
--   entities_with_credit_events  entities with at least one of the three (each counted once)
--     credit_index = 1 - entities_with_credit_events / entities_at_month_end   (NULL when no entity)
-- Intervals of each flag are merged per entity (gaps and islands) and counted with running sums, so the
-- cost grows with the number of flags, not flags x months.
with golden as (
    select entity_id, district_code, status, established_on, registration_record_key from golden_entity
),

registration as (
    select
        record_key,
        approved_on,
        deregistered_on,
        revoked_on,
        in_abnormal_list,
        abnormal_reason,
        last_annual_report_year
    from silver.registration
),

licences as (
    select entity_id, district_code, issued_on, valid_until from licence_fact
),

inspections as (
    select entity_id, inspected_on, penalty_doc_no, penalty_amount from inspection_fact where entity_id is not null
),

issues as (
    select entity_id, severity, status, first_detected_on from entity_issue where entity_id is not null
),

inventory as (
    select delivery_date from bronze.landing_inventory where problem is null
),

districts as (
    select * from (
        values
            ('330203', '海曙区'),
            ('330205', '江北区'),
            ('330206', '北仑区'),
            ('330211', '镇海区'),
            ('330212', '鄞州区'),
            ('330213', '奉化区'),
            ('330225', '象山县'),
            ('330226', '宁海县'),
            ('330281', '余姚市'),
            ('330282', '慈溪市')
    ) as districts (district_code, district_name)
),

as_of as (
    select
        max(delivery_date) as as_of_on,
        year(max(delivery_date)) * 12 + month(max(delivery_date)) - 1 as as_of_month_no
    from inventory
),

-- entities and their events --------------------------------------------------------------------------

entity_dates as (
    select
        golden.entity_id,
        golden.district_code,
        golden.established_on,
        case
            when golden.status in ('deregistered', 'revoked', 'cancelled', 'moved_out')
                then coalesce(least(registration.deregistered_on, registration.revoked_on), registration.approved_on)
        end as exited_on,
        coalesce(registration.in_abnormal_list, false) as in_abnormal_list,
        registration.abnormal_reason,
        registration.last_annual_report_year
    from golden
    left join registration on golden.registration_record_key = registration.record_key
    where golden.established_on is not null
),

entities as (
    select
        entity_id,
        district_code,
        established_on,
        in_abnormal_list,
        abnormal_reason,
        last_annual_report_year,
        year(established_on) * 12 + month(established_on) - 1 as established_month_no,
        -- an exit dated before the establishment (bad data) counts in the month of establishment
        case
            when exited_on is not null then greatest(
                year(exited_on) * 12 + month(exited_on) - 1,
                year(established_on) * 12 + month(established_on) - 1
            )
        end as exited_month_no
    from entity_dates
),

licence_events as (
    select
        coalesce(golden.district_code, licences.district_code) as district_code,
        year(licences.issued_on) * 12 + month(licences.issued_on) - 1 as issued_month_no,
        case
            when licences.valid_until <= as_of.as_of_on
                then year(licences.valid_until) * 12 + month(licences.valid_until) - 1
        end as expired_month_no
    from licences
    cross join as_of
    left join golden on licences.entity_id = golden.entity_id
),

-- the district x month spine -------------------------------------------------------------------------

bounds as (
    select
        least(min(entities.established_month_no), min(licence_events.issued_month_no)) as first_month_no,
        max(as_of.as_of_month_no) as as_of_month_no
    from entities
    cross join as_of
    cross join (select min(issued_month_no) as issued_month_no from licence_events) as licence_events
),

month_numbers as (
    select unnest(generate_series(first_month_no, as_of_month_no)) as month_no
    from bounds
),

spine as (
    select
        districts.district_code,
        districts.district_name,
        cast(month_numbers.month_no as bigint) as month_no
    from districts
    cross join month_numbers
),

-- flows per district and month -----------------------------------------------------------------------

registrations_by_month as (
    select district_code, established_month_no as month_no, count(*) as new_registrations
    from entities
    group by district_code, established_month_no
),

exits_by_month as (
    select district_code, exited_month_no as month_no, count(*) as deregistrations
    from entities
    where exited_month_no is not null
    group by district_code, exited_month_no
),

licences_by_month as (
    select district_code, issued_month_no as month_no, count(*) as licences_issued
    from licence_events
    where issued_month_no is not null
    group by district_code, issued_month_no
),

expiries_by_month as (
    select district_code, expired_month_no as month_no, count(*) as licences_expired
    from licence_events
    where expired_month_no is not null
    group by district_code, expired_month_no
),

-- credit flags: an interval of months per entity and flag, clipped to the entity's months in the market

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
            when entities.abnormal_reason like '%年度报告%'
                then least(
                    (coalesce(entities.last_annual_report_year + 1, year(entities.established_on)) + 1) * 12 + 6,
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
        year(inspected_on) * 12 + month(inspected_on) - 1 as from_month_no,
        year(inspected_on) * 12 + month(inspected_on) - 1 + 11 as to_month_no
    from inspections
    where inspected_on is not null and (trim(penalty_doc_no) <> '' or penalty_amount > 0)
),

issue_intervals as (
    select
        issues.entity_id,
        'open_high_issue' as flag,
        year(issues.first_detected_on) * 12 + month(issues.first_detected_on) - 1 as from_month_no,
        as_of.as_of_month_no as to_month_no
    from issues
    cross join as_of
    where issues.status in ('open', 'confirmed') and issues.severity = 'high' and issues.first_detected_on is not null
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
        sum(case when reached_month_no is null or from_month_no > reached_month_no + 1 then 1 else 0 end) over (
            partition by entity_id, flag
            order by from_month_no, to_month_no
            rows between unbounded preceding and current row
        ) as island
    from interval_reach
),

islands as (
    select
        entity_id,
        district_code,
        flag,
        min(from_month_no) as from_month_no,
        max(to_month_no) as to_month_no
    from interval_islands
    group by entity_id, district_code, flag, island
),

flag_changes as (
    select district_code, flag, from_month_no as month_no, 1 as change from islands
    union all
    select district_code, flag, to_month_no + 1 as month_no, -1 as change from islands
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

-- per district and month -----------------------------------------------------------------------------

monthly as (
    select
        spine.district_code,
        spine.district_name,
        spine.month_no,
        cast(coalesce(registrations_by_month.new_registrations, 0) as bigint) as new_registrations,
        cast(coalesce(exits_by_month.deregistrations, 0) as bigint) as deregistrations,
        cast(coalesce(licences_by_month.licences_issued, 0) as bigint) as licences_issued,
        cast(coalesce(expiries_by_month.licences_expired, 0) as bigint) as licences_expired,
        cast(coalesce(flag_changes_by_month.abnormal_listed_change, 0) as bigint) as abnormal_listed_change,
        cast(coalesce(flag_changes_by_month.penalised_change, 0) as bigint) as penalised_change,
        cast(coalesce(flag_changes_by_month.high_issue_change, 0) as bigint) as high_issue_change,
        cast(coalesce(flag_changes_by_month.credit_events_change, 0) as bigint) as credit_events_change
    from spine
    left join registrations_by_month
        on spine.district_code = registrations_by_month.district_code and spine.month_no = registrations_by_month.month_no
    left join exits_by_month
        on spine.district_code = exits_by_month.district_code and spine.month_no = exits_by_month.month_no
    left join licences_by_month
        on spine.district_code = licences_by_month.district_code and spine.month_no = licences_by_month.month_no
    left join expiries_by_month
        on spine.district_code = expiries_by_month.district_code and spine.month_no = expiries_by_month.month_no
    left join flag_changes_by_month
        on spine.district_code = flag_changes_by_month.district_code and spine.month_no = flag_changes_by_month.month_no
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
        running_window as (partition by district_code order by month_no rows between unbounded preceding and current row),
        trailing_year as (partition by district_code order by month_no rows between 11 preceding and current row)
),

final as (
    select
        running.district_code,
        running.district_name,
        make_date(cast(floor(running.month_no / 12) as integer), cast(running.month_no % 12 as integer) + 1, 1) as month,
        running.month_no = as_of.as_of_month_no as is_partial_month,
        -- 景气 flows
        running.new_registrations,
        running.deregistrations,
        running.new_registrations - running.deregistrations as net_growth,
        running.licences_issued,
        running.licences_expired,
        running.entities_at_month_end - running.new_registrations + running.deregistrations as entities_at_month_start,
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
            1.0 - cast(running.entities_with_credit_events as double) / nullif(running.entities_at_month_end, 0),
            6
        ) as credit_index
    from running
    cross join as_of
)

select * from final
order by district_code, month

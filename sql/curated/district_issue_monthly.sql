-- Open issues and the zombie share per district at each month's end, as the issue log shows them.
--
-- One row per district and month of district_monthly_index. An issue counts as open at a month's end
-- (the as-of date for the partial as-of month) when it was first detected by then and had not been found
-- gone by then: it is still detected (open, confirmed, or dismissed or corrected on unchanged evidence), or
-- it was resolved after that day (resolved_on, the first as-of date that no longer detected it).
-- District: the entity's golden district_code (entity_issue).
--   is_observed         the month ends on or after the first detection of any issue: earlier months
--                       were before the warehouse kept issues, and their counts say nothing
--   open_issues         issues open at the month's end; open_high_issues those of severity high
--   new_issues          issues first detected in the month
--   zombie_entities     entities with an open zombie.* issue at the month's end
--   zombie_share        zombie_entities / district_monthly_index.entities_at_month_end
with spine as (
    select district_code, district_name, month, is_partial_month, entities_at_month_end
    from district_monthly_index
),

as_of as (
    select as_of_on, as_of_month_no from int_as_of
),

issues as (
    select
        entity_issue.entity_id,
        entity_issue.district_code,
        entity_issue.issue_type,
        entity_issue.severity,
        month_no(entity_issue.first_detected_on) as from_month_no,
        case
            when entity_issue.resolved_on is null then as_of.as_of_month_no
            else month_no(entity_issue.resolved_on) - 1
        end as to_month_no
    from entity_issue
    cross join as_of
    where entity_issue.first_detected_on is not null
),

first_detection as (
    select min(from_month_no) as first_month_no from issues
),

open_by_month as (
    select
        spine.district_code,
        spine.month,
        count(*) as open_issues,
        count(*) filter (where issues.severity = 'high') as open_high_issues,
        count(distinct case when issues.issue_type like 'zombie.%' then issues.entity_id end) as zombie_entities
    from spine
    inner join issues
        on spine.district_code = issues.district_code
        and month_no(spine.month) between issues.from_month_no and issues.to_month_no
    group by spine.district_code, spine.month
),

new_by_month as (
    select district_code, from_month_no as month_no, count(*) as new_issues
    from issues
    group by district_code, from_month_no
),

final as (
    select
        spine.district_code,
        spine.district_name,
        spine.month,
        spine.is_partial_month,
        coalesce(month_no(spine.month) >= first_detection.first_month_no, false) as is_observed,
        spine.entities_at_month_end,
        cast(coalesce(open_by_month.open_issues, 0) as bigint) as open_issues,
        cast(coalesce(open_by_month.open_high_issues, 0) as bigint) as open_high_issues,
        cast(coalesce(new_by_month.new_issues, 0) as bigint) as new_issues,
        cast(coalesce(open_by_month.zombie_entities, 0) as bigint) as zombie_entities,
        round(
            cast(coalesce(open_by_month.zombie_entities, 0) as double) / nullif(spine.entities_at_month_end, 0),
            6
        ) as zombie_share
    from spine
    cross join first_detection
    left join open_by_month
        on spine.district_code = open_by_month.district_code and spine.month = open_by_month.month
    left join new_by_month
        on spine.district_code = new_by_month.district_code and month_no(spine.month) = new_by_month.month_no
)

select * from final
order by district_code, month

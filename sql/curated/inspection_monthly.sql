-- Inspections per district and month: how many, their outcomes, the penalties, and the share of the district's entities inspected.
--
-- One row per district and month of district_monthly_index (Ningbo's 10 districts, from the first month
-- with a registration or licence up to the partial as-of month). An inspection counts in the district
-- whose bureau did it (inspection_fact.supervising_district_code), in the month of its 检查日期.
--   inspections                 inspection records in the month
--   entities_inspected          distinct resolved entities inspected in the month
--   compliant .. unknown_result inspections by normalised result (符合, 基本符合, 不符合, 责令整改, 查无下落,
--                               已停业, 已歇业, anything else)
--   penalties, penalty_amount   inspections of the month that ended in a penalty (int_penalty) and the
--                               sum of their amounts (元)
--   entities_inspected_12m      distinct resolved entities inspected in the 12 months up to the month
--   coverage_12m                entities_inspected_12m / district_monthly_index.entities_at_month_end
--                               (NULL when no entity is in the market)
with spine as (
    select district_code, district_name, month, entities_at_month_end from district_monthly_index
),

inspections as (
    select
        inspection_key,
        entity_id,
        supervising_district_code as district_code,
        month_no(inspected_on) as month_no,
        result
    from inspection_fact
    where inspected_on is not null
),

penalties as (
    select supervising_district_code as district_code, penalised_month_no as month_no, penalty_amount
    from int_penalty
),

offsets as (
    select unnest(generate_series(0, 11)) as months_later
),

by_month as (
    select
        district_code,
        month_no,
        count(*) as inspections,
        count(distinct entity_id) as entities_inspected,
        count(*) filter (where result = 'compliant') as compliant,
        count(*) filter (where result = 'basically_compliant') as basically_compliant,
        count(*) filter (where result = 'non_compliant') as non_compliant,
        count(*) filter (where result = 'rectification_ordered') as rectification_ordered,
        count(*) filter (where result = 'not_found') as not_found,
        count(*) filter (where result = 'ceased') as ceased,
        count(*) filter (where result = 'suspended') as suspended,
        count(*) filter (
            where result is null or result not in (
                'compliant', 'basically_compliant', 'non_compliant', 'rectification_ordered', 'not_found',
                'ceased', 'suspended'
            )
        ) as unknown_result
    from inspections
    group by district_code, month_no
),

penalties_by_month as (
    select district_code, month_no, count(*) as penalties, sum(penalty_amount) as penalty_amount
    from penalties
    group by district_code, month_no
),

inspected_entities as (
    select distinct district_code, month_no, entity_id from inspections where entity_id is not null
),

trailing_year as (
    select
        inspected_entities.district_code,
        inspected_entities.month_no + offsets.months_later as month_no,
        count(distinct inspected_entities.entity_id) as entities_inspected_12m
    from inspected_entities
    cross join offsets
    group by inspected_entities.district_code, inspected_entities.month_no + offsets.months_later
),

final as (
    select
        spine.district_code,
        spine.district_name,
        spine.month,
        cast(coalesce(by_month.inspections, 0) as bigint) as inspections,
        cast(coalesce(by_month.entities_inspected, 0) as bigint) as entities_inspected,
        cast(coalesce(by_month.compliant, 0) as bigint) as compliant,
        cast(coalesce(by_month.basically_compliant, 0) as bigint) as basically_compliant,
        cast(coalesce(by_month.non_compliant, 0) as bigint) as non_compliant,
        cast(coalesce(by_month.rectification_ordered, 0) as bigint) as rectification_ordered,
        cast(coalesce(by_month.not_found, 0) as bigint) as not_found,
        cast(coalesce(by_month.ceased, 0) as bigint) as ceased,
        cast(coalesce(by_month.suspended, 0) as bigint) as suspended,
        cast(coalesce(by_month.unknown_result, 0) as bigint) as unknown_result,
        cast(coalesce(penalties_by_month.penalties, 0) as bigint) as penalties,
        cast(coalesce(penalties_by_month.penalty_amount, 0) as double) as penalty_amount,
        cast(coalesce(trailing_year.entities_inspected_12m, 0) as bigint) as entities_inspected_12m,
        round(
            cast(coalesce(trailing_year.entities_inspected_12m, 0) as double)
            / nullif(spine.entities_at_month_end, 0),
            6
        ) as coverage_12m
    from spine
    left join by_month
        on spine.district_code = by_month.district_code and month_no(spine.month) = by_month.month_no
    left join penalties_by_month
        on spine.district_code = penalties_by_month.district_code
        and month_no(spine.month) = penalties_by_month.month_no
    left join trailing_year
        on spine.district_code = trailing_year.district_code
        and month_no(spine.month) = trailing_year.month_no
)

select * from final
order by district_code, month

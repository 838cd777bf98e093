-- Market entry and exit per month, district, entity kind and primary industry: the flows of the monthly analysis.
--
-- One row per (month, district_code, entity_kind, industry) with at least one event; a combination without
-- any event in a month has no row (sum over the rows, missing means 0). Districts are Ningbo's 10
-- county-level districts (seed.district); an entity without one of them is left out, as in
-- district_monthly_index, whose new_registrations / deregistrations these rows add up to.
--   new_registrations  entities whose 成立日期 (established_on) falls in the month
--   deregistrations    entities that left with status deregistered (注销) in the month
--   revocations        entities that left with status revoked (吊销) in the month
--   other_exits        entities that left with status cancelled (撤销) or moved_out (迁出) in the month
--   exits              deregistrations + revocations + other_exits (= district_monthly_index.deregistrations)
--   net_growth         new_registrations - exits
-- The exit month is int_entity_registration.exited_month_no; entity_kind NULL (no registration record) is
-- 'unknown'; industry is the entity's primary_industry tag (entity_tag).
with entities as (
    select entity_id, entity_kind, district_code, established_month_no, exited_month_no
    from int_entity_registration
    where established_on is not null
),

golden as (
    select entity_id, status from golden_entity
),

industries as (
    select entity_id, tag as industry, tag_zh as industry_zh
    from entity_tag
    where tag_type = 'primary_industry'
),

districts as (
    select district_code, district_name from seed.district
),

described as (
    select
        entities.entity_id,
        entities.district_code,
        districts.district_name,
        coalesce(entities.entity_kind, 'unknown') as entity_kind,
        coalesce(industries.industry, 'unclassified') as industry,
        coalesce(industries.industry_zh, '未分类') as industry_zh,
        entities.established_month_no,
        entities.exited_month_no,
        golden.status
    from entities
    inner join districts on entities.district_code = districts.district_code
    left join golden on entities.entity_id = golden.entity_id
    left join industries on entities.entity_id = industries.entity_id
),

events as (
    select district_code, district_name, entity_kind, industry, industry_zh,
        established_month_no as month_no, 1 as is_new, 0 as is_deregistration, 0 as is_revocation,
        0 as is_other_exit
    from described
    union all
    select district_code, district_name, entity_kind, industry, industry_zh,
        exited_month_no as month_no, 0 as is_new,
        case when status = 'deregistered' then 1 else 0 end as is_deregistration,
        case when status = 'revoked' then 1 else 0 end as is_revocation,
        case when status in ('cancelled', 'moved_out') then 1 else 0 end as is_other_exit
    from described
    where exited_month_no is not null
),

counted as (
    select
        month_no,
        district_code,
        district_name,
        entity_kind,
        industry,
        industry_zh,
        cast(sum(is_new) as bigint) as new_registrations,
        cast(sum(is_deregistration) as bigint) as deregistrations,
        cast(sum(is_revocation) as bigint) as revocations,
        cast(sum(is_other_exit) as bigint) as other_exits
    from events
    group by month_no, district_code, district_name, entity_kind, industry, industry_zh
),

final as (
    select
        make_date(cast(floor(month_no / 12) as integer), cast(month_no % 12 as integer) + 1, 1) as month,
        district_code,
        district_name,
        entity_kind,
        industry,
        industry_zh,
        new_registrations,
        deregistrations,
        revocations,
        other_exits,
        deregistrations + revocations + other_exits as exits,
        new_registrations - deregistrations - revocations - other_exits as net_growth
    from counted
)

select * from final
order by month, district_code, entity_kind, industry

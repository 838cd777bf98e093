-- The industries of each entity, by 经营范围 keywords and by licence types, ranked for the primary one.
-- incremental by entity_id
--
-- One row per (entity_id, industry) matched by either rule; an entity that matches nothing has no row.
-- The rules are the seeds seed.industry_keyword and seed.licence_industry (sql/seeds/).
--   industry.scope_keyword  a keyword of the industry occurs in 经营范围, text in brackets removed first
--                           (（不含…）, （依法须经批准…） are exclusions/conditions)
--   industry.licence_type   the entity holds a licence or filing of a type of the industry
--                           (both rules for one industry: rule
--                           'industry.scope_keyword+industry.licence_type')
--   industry_rank           1 for the primary industry: the industry whose keyword occurs first in 经营范围
--                           (the main business is listed first), ties: longer keyword, then code; an
--                           industry only from licences ranks after every keyword match
with entities as (
    select entity_id, business_scope from int_entity_registration
),

licences as (
    select entity_id, licence_type, licence_type_raw from licence_fact where entity_id is not null
),

industry_keywords as (
    select industry, industry_zh, keyword from seed.industry_keyword
),

licence_industries as (
    select licence_type, industry, industry_zh from seed.licence_industry
),

scopes as (
    select
        entity_id,
        regexp_replace(business_scope, '（[^（）]*）|[(][^()]*[)]', '', 'g') as scope
    from entities
),

scope_matches as (
    select
        scopes.entity_id,
        industry_keywords.industry,
        industry_keywords.industry_zh,
        industry_keywords.keyword,
        strpos(scopes.scope, industry_keywords.keyword) as position
    from scopes
    inner join industry_keywords on strpos(scopes.scope, industry_keywords.keyword) > 0
),

scope_industries as (
    select
        entity_id,
        industry,
        industry_zh,
        min(position) as first_position,
        max(length(keyword)) as longest_keyword,
        '经营范围: ' || string_agg(keyword, '、' order by position, keyword) as evidence
    from scope_matches
    group by entity_id, industry, industry_zh
),

licence_types as (
    select distinct
        licences.entity_id,
        licence_industries.industry,
        licence_industries.industry_zh,
        licences.licence_type_raw
    from licences
    inner join licence_industries on licences.licence_type = licence_industries.licence_type
),

licence_type_industries as (
    select
        entity_id,
        industry,
        industry_zh,
        '许可: ' || string_agg(licence_type_raw, '、' order by licence_type_raw) as evidence
    from licence_types
    group by entity_id, industry, industry_zh
),

industries as (
    select
        coalesce(scope_industries.entity_id, licence_type_industries.entity_id) as entity_id,
        coalesce(scope_industries.industry, licence_type_industries.industry) as industry,
        coalesce(scope_industries.industry_zh, licence_type_industries.industry_zh) as industry_zh,
        scope_industries.first_position,
        scope_industries.longest_keyword,
        concat_ws(
            '+',
            case when scope_industries.entity_id is not null then 'industry.scope_keyword' end,
            case when licence_type_industries.entity_id is not null then 'industry.licence_type' end
        ) as rule,
        concat_ws('; ', scope_industries.evidence, licence_type_industries.evidence) as evidence
    from scope_industries
    full outer join licence_type_industries
        on scope_industries.entity_id = licence_type_industries.entity_id
        and scope_industries.industry = licence_type_industries.industry
),

final as (
    select
        entity_id,
        industry,
        industry_zh,
        first_position,
        longest_keyword,
        rule,
        evidence,
        row_number() over (
            partition by entity_id
            order by first_position asc nulls last, longest_keyword desc nulls last, industry asc
        ) as industry_rank
    from industries
)

select * from final
order by entity_id, industry

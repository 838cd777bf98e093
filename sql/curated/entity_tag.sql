-- Rule-based entity tags: industry, size band and risk, each with the rule that set it and its evidence.
--
-- One row per (entity_id, tag_type, tag). Every entity has exactly one primary_industry, one size_band
-- and one risk_level row; industry and risk_factor rows are 0..n. The thresholds and keywords are seeds
-- (sql/seeds/): change them there.
--
-- tag_type          rule                          how
-- industry          industry.*                    int_entity_industry: 经营范围 keywords and licence types
-- primary_industry  primary_industry.first_scope  the industry whose keyword occurs first in 经营范围 (the
--                                                 main business is listed first), ties: longer keyword,
--                                                 then code
-- primary_industry  primary_industry.licence_type no keyword matched: the industry of a licence type
-- primary_industry  primary_industry.none         nothing matched: 'unclassified'
-- size_band         size_band.registered_capital  registered capital (万元) in [lower, upper) of a band
--                                                 (seed.size_band)
-- size_band         size_band.individual          a 个体工商户 without a registered amount: 'micro'
-- size_band         size_band.no_capital          no registered capital (branches, entities without a
--                                                 registration): 'unknown'
-- risk_factor       risk.*                        int_entity_risk_factor: abnormal list, penalties in the
--                                                 12 months up to the as-of month, open issues
-- risk_level        risk.score                    the sum of the entity's risk factor points
--                                                 (seed.risk_point) in a level's range (seed.risk_level)
with entities as (
    select entity_id, entity_kind, registered_capital_wan from int_entity_registration
),

industries as (
    select entity_id, industry, industry_zh, first_position, rule, evidence, industry_rank
    from int_entity_industry
),

risk_factors as (
    select entity_id, factor, factor_zh, points, rule, evidence from int_entity_risk_factor
),

size_bands as (
    select band, band_zh, lower_wan, upper_wan from seed.size_band
),

risk_levels as (
    select level, level_zh, min_points, max_points from seed.risk_level
),

industry_tags as (
    select
        entity_id,
        'industry' as tag_type,
        industry as tag,
        industry_zh as tag_zh,
        rule,
        evidence
    from industries
),

primary_industry_tags as (
    select
        entities.entity_id,
        'primary_industry' as tag_type,
        coalesce(industries.industry, 'unclassified') as tag,
        coalesce(industries.industry_zh, '未分类') as tag_zh,
        case
            when industries.first_position is not null then 'primary_industry.first_scope'
            when industries.industry is not null then 'primary_industry.licence_type'
            else 'primary_industry.none'
        end as rule,
        coalesce(industries.evidence, '经营范围与许可均未匹配') as evidence
    from entities
    left join industries on entities.entity_id = industries.entity_id and industries.industry_rank = 1
),

size_band_tags as (
    select
        entities.entity_id,
        'size_band' as tag_type,
        case
            when size_bands.band is not null then size_bands.band
            when entities.entity_kind = 'individual' then 'micro'
            else 'unknown'
        end as tag,
        case
            when size_bands.band is not null then size_bands.band_zh
            when entities.entity_kind = 'individual' then '微型'
            else '未知'
        end as tag_zh,
        case
            when size_bands.band is not null then 'size_band.registered_capital'
            when entities.entity_kind = 'individual' then 'size_band.individual'
            else 'size_band.no_capital'
        end as rule,
        case
            when size_bands.band is not null
                then '注册资本(万元): ' || cast(cast(entities.registered_capital_wan as decimal(18, 2)) as varchar)
            when entities.entity_kind = 'individual' then '个体工商户, 未登记资金数额'
            when entities.entity_kind = 'branch' then '分支机构, 无注册资本'
            when entities.entity_kind is null then '无登记记录'
            else '未登记注册资本'
        end as evidence
    from entities
    left join size_bands
        on entities.registered_capital_wan > 0
        and entities.registered_capital_wan >= size_bands.lower_wan
        and entities.registered_capital_wan < size_bands.upper_wan
),

risk_factor_tags as (
    select
        entity_id,
        'risk_factor' as tag_type,
        factor as tag,
        factor_zh as tag_zh,
        rule,
        evidence
    from risk_factors
),

risk_scores as (
    select
        entities.entity_id,
        coalesce(sum(risk_factors.points), 0) as points,
        string_agg(
            risk_factors.factor || '=' || cast(risk_factors.points as varchar),
            ', '
            order by risk_factors.factor
        ) as factors
    from entities
    left join risk_factors on entities.entity_id = risk_factors.entity_id
    group by entities.entity_id
),

risk_level_tags as (
    select
        risk_scores.entity_id,
        'risk_level' as tag_type,
        risk_levels.level as tag,
        risk_levels.level_zh as tag_zh,
        'risk.score' as rule,
        'points ' || cast(risk_scores.points as varchar)
        || coalesce(' (' || risk_scores.factors || ')', '') as evidence
    from risk_scores
    inner join risk_levels on risk_scores.points between risk_levels.min_points and risk_levels.max_points
),

unioned as (
    select * from industry_tags
    union all
    select * from primary_industry_tags
    union all
    select * from size_band_tags
    union all
    select * from risk_factor_tags
    union all
    select * from risk_level_tags
),

final as (
    select
        entity_id,
        tag_type,
        tag,
        tag_zh,
        rule,
        evidence
    from unioned
)

select * from final
order by entity_id, tag_type, tag

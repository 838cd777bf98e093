-- Rule-based entity tags: industry (经营范围 keywords, licence types), size band (registered capital) and risk (abnormal list, penalties, open issues), each with its rule and evidence.
--
-- One row per (entity_id, tag_type, tag). Every entity has exactly one primary_industry, one size_band
-- and one risk_level row; industry and risk_factor rows are 0..n. The rules are the tables (CTEs of
-- VALUES) below: change a keyword or a threshold there.
--
-- tag_type          rule                         how
-- industry          industry.scope_keyword       a keyword of the industry occurs in 经营范围, text in brackets
--                                                removed first (（不含…）, （依法须经批准…） are exclusions/conditions)
-- industry          industry.licence_type        the entity holds a licence or filing of a type of the industry
--                                                (both rules for one industry: rule 'industry.scope_keyword+industry.licence_type')
-- primary_industry  primary_industry.first_scope  the industry whose keyword occurs first in 经营范围 (the main
--                                                business is listed first), ties: longer keyword, then code
-- primary_industry  primary_industry.licence_type no keyword matched: the industry of a licence type
-- primary_industry  primary_industry.none       nothing matched: 'unclassified'
-- size_band         size_band.registered_capital registered capital (万元) in [lower, upper) of a band below
-- size_band         size_band.individual         a 个体工商户 without a registered amount: 'micro'
-- size_band         size_band.no_capital         no registered capital (branches, entities without a
--                                                registration): 'unknown'
-- risk_factor       risk.abnormal_list           the primary registration is in the 经营异常名录
-- risk_factor       risk.penalised               an inspection with a penalty (决定书文号 or amount > 0) in the
--                                                12 calendar months up to the as-of month
-- risk_factor       risk.open_high_issue         an open or confirmed entity_issue of severity high
-- risk_factor       risk.open_medium_issue       an open or confirmed entity_issue of severity medium
-- risk_level        risk.score                   points of the entity's risk factors (abnormal list 2,
--                                                penalised 2, open high issue 3, open medium issue 1):
--                                                high >= 3, medium 1..2, low 0
-- The as-of date is the latest delivery date in the landing zone (as everywhere), never the wall clock.
with golden as (
    select entity_id, entity_kind, registration_record_key from golden_entity
),

registration as (
    select record_key, business_scope, registered_capital_wan, in_abnormal_list, abnormal_reason from silver.registration
),

licences as (
    select entity_id, licence_type, licence_type_raw from licence_fact where entity_id is not null
),

inspections as (
    select entity_id, inspected_on, penalty_doc_no, penalty_amount from inspection_fact where entity_id is not null
),

issues as (
    select entity_id, issue_type, severity, status from entity_issue
),

inventory as (
    select delivery_date from bronze.landing_inventory where problem is null
),

industry_keywords as (
    select * from (
        values
            ('catering', '餐饮', '餐饮'),
            ('catering', '餐饮', '外卖'),
            ('food', '食品', '食品'),
            ('food', '食品', '食杂'),
            ('food', '食品', '酒类'),
            ('food', '食品', '调味品'),
            ('food', '食品', '粮油'),
            ('food', '食品', '农副产品'),
            ('food', '食品', '食用农产品'),
            ('food', '食品', '水果零售'),
            ('food', '食品', '水产品'),
            ('retail_wholesale', '批发零售', '销售'),
            ('retail_wholesale', '批发零售', '零售'),
            ('retail_wholesale', '批发零售', '批发'),
            ('retail_wholesale', '批发零售', '经销'),
            ('manufacturing', '制造业', '制造'),
            ('manufacturing', '制造业', '加工'),
            ('manufacturing', '制造业', '生产'),
            ('manufacturing', '制造业', '零部件'),
            ('construction', '建筑业', '工程施工'),
            ('construction', '建筑业', '装饰装修'),
            ('construction', '建筑业', '水电安装'),
            ('logistics', '交通运输和仓储', '货物运输'),
            ('logistics', '交通运输和仓储', '运输代理'),
            ('logistics', '交通运输和仓储', '仓储'),
            ('logistics', '交通运输和仓储', '供应链'),
            ('logistics', '交通运输和仓储', '停车场'),
            ('information_technology', '信息技术', '软件'),
            ('information_technology', '信息技术', '计算机'),
            ('information_technology', '信息技术', '信息系统'),
            ('information_technology', '信息技术', '数据处理'),
            ('information_technology', '信息技术', '网络技术'),
            ('information_technology', '信息技术', '互联网'),
            ('technology_services', '科技服务', '技术服务'),
            ('technology_services', '科技服务', '技术开发'),
            ('technology_services', '科技服务', '技术咨询'),
            ('technology_services', '科技服务', '技术交流'),
            ('technology_services', '科技服务', '技术转让'),
            ('technology_services', '科技服务', '技术推广'),
            ('technology_services', '科技服务', '研发'),
            ('business_services', '商务服务', '企业管理'),
            ('business_services', '商务服务', '信息咨询'),
            ('business_services', '商务服务', '营销策划'),
            ('business_services', '商务服务', '广告'),
            ('business_services', '商务服务', '会议及展览'),
            ('import_export', '进出口贸易', '进出口'),
            ('resident_services', '居民服务', '美容'),
            ('resident_services', '居民服务', '理发'),
            ('resident_services', '居民服务', '洗染'),
            ('resident_services', '居民服务', '家政'),
            ('resident_services', '居民服务', '摄影'),
            ('resident_services', '居民服务', '洗车'),
            ('resident_services', '居民服务', '机动车修理'),
            ('real_estate', '房地产', '房地产'),
            ('real_estate', '房地产', '物业管理'),
            ('real_estate', '房地产', '住房租赁'),
            ('agriculture', '农林牧渔', '种植'),
            ('agriculture', '农林牧渔', '养殖'),
            ('agriculture', '农林牧渔', '农业机械'),
            ('agriculture', '农林牧渔', '组织收购'),
            ('pharma_medical', '医药和医疗器械', '药品'),
            ('pharma_medical', '医药和医疗器械', '医疗器械'),
            ('pharma_medical', '医药和医疗器械', '消毒剂'),
            ('cosmetics', '化妆品', '化妆品'),
            ('education_culture', '教育文化', '教育'),
            ('education_culture', '教育文化', '培训'),
            ('education_culture', '教育文化', '文化艺术')
    ) as industry_keywords (industry, industry_zh, keyword)
),

licence_industries as (
    select * from (
        values
            ('food_production', 'food', '食品'),
            ('food_business', 'food', '食品'),
            ('prepackaged_food_filing', 'food', '食品'),
            ('drug_business', 'pharma_medical', '医药和医疗器械'),
            ('medical_device_business', 'pharma_medical', '医药和医疗器械'),
            ('class2_medical_device_filing', 'pharma_medical', '医药和医疗器械'),
            ('cosmetics_production', 'cosmetics', '化妆品')
    ) as licence_industries (licence_type, industry, industry_zh)
),

size_bands as (
    select * from (
        values
            ('micro', '微型', 0.0, 100.0),
            ('small', '小型', 100.0, 1000.0),
            ('medium', '中型', 1000.0, 10000.0),
            ('large', '大型', 10000.0, 1000000000000.0)
    ) as size_bands (band, band_zh, lower_wan, upper_wan)
),

risk_points as (
    select * from (
        values
            ('abnormal_list', '列入经营异常名录', 2),
            ('penalised', '近12个月受行政处罚', 2),
            ('open_high_issue', '存在未处理的高风险问题', 3),
            ('open_medium_issue', '存在未处理的中风险问题', 1)
    ) as risk_points (factor, factor_zh, points)
),

risk_levels as (
    select * from (
        values
            ('high', '高风险', 3, 1000),
            ('medium', '中风险', 1, 2),
            ('low', '低风险', 0, 0)
    ) as risk_levels (level, level_zh, min_points, max_points)
),

as_of as (
    select year(max(delivery_date)) * 12 + month(max(delivery_date)) - 1 as as_of_month_no from inventory
),

entities as (
    select
        golden.entity_id,
        golden.entity_kind,
        regexp_replace(registration.business_scope, '（[^（）]*）|[(][^()]*[)]', '', 'g') as scope,
        registration.registered_capital_wan,
        coalesce(registration.in_abnormal_list, false) as in_abnormal_list,
        nullif(trim(registration.abnormal_reason), '') as abnormal_reason
    from golden
    left join registration on golden.registration_record_key = registration.record_key
),

-- industry ---------------------------------------------------------------------------------------------

scope_matches as (
    select
        entities.entity_id,
        industry_keywords.industry,
        industry_keywords.industry_zh,
        industry_keywords.keyword,
        strpos(entities.scope, industry_keywords.keyword) as position
    from entities
    inner join industry_keywords on strpos(entities.scope, industry_keywords.keyword) > 0
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

ranked_industries as (
    select
        industries.*,
        row_number() over (
            partition by entity_id
            order by first_position asc nulls last, longest_keyword desc nulls last, industry asc
        ) as industry_rank
    from industries
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
        coalesce(ranked_industries.industry, 'unclassified') as tag,
        coalesce(ranked_industries.industry_zh, '未分类') as tag_zh,
        case
            when ranked_industries.first_position is not null then 'primary_industry.first_scope'
            when ranked_industries.industry is not null then 'primary_industry.licence_type'
            else 'primary_industry.none'
        end as rule,
        coalesce(ranked_industries.evidence, '经营范围与许可均未匹配') as evidence
    from entities
    left join ranked_industries
        on entities.entity_id = ranked_industries.entity_id and ranked_industries.industry_rank = 1
),

-- size band --------------------------------------------------------------------------------------------

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
            when size_bands.band is not null then '注册资本(万元): ' || cast(cast(entities.registered_capital_wan as decimal(18, 2)) as varchar)
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

-- risk -------------------------------------------------------------------------------------------------

penalties as (
    select
        inspections.entity_id,
        count(*) as penalty_count,
        max(inspections.inspected_on) as last_penalised_on
    from inspections
    cross join as_of
    where (trim(inspections.penalty_doc_no) <> '' or inspections.penalty_amount > 0)
        and year(inspections.inspected_on) * 12 + month(inspections.inspected_on) - 1 between as_of.as_of_month_no - 11 and as_of.as_of_month_no
    group by inspections.entity_id
),

open_issue_types as (
    select distinct entity_id, severity, issue_type
    from issues
    where status in ('open', 'confirmed') and severity in ('high', 'medium')
),

open_issues as (
    select
        entity_id,
        severity,
        string_agg(issue_type, ', ' order by issue_type) as issue_types
    from open_issue_types
    group by entity_id, severity
),

risk_factors as (
    select
        entity_id,
        'abnormal_list' as factor,
        'risk.abnormal_list' as rule,
        '经营异常名录: ' || coalesce(abnormal_reason, '原因未提供') as evidence
    from entities
    where in_abnormal_list
    union all
    select
        entity_id,
        'penalised' as factor,
        'risk.penalised' as rule,
        '近12个月处罚 ' || cast(penalty_count as varchar) || ' 次, 最近 ' || cast(last_penalised_on as varchar) as evidence
    from penalties
    union all
    select
        entity_id,
        'open_' || severity || '_issue' as factor,
        'risk.open_' || severity || '_issue' as rule,
        issue_types as evidence
    from open_issues
),

risk_factor_tags as (
    select
        risk_factors.entity_id,
        'risk_factor' as tag_type,
        risk_factors.factor as tag,
        risk_points.factor_zh as tag_zh,
        risk_factors.rule,
        risk_factors.evidence
    from risk_factors
    inner join risk_points on risk_factors.factor = risk_points.factor
),

risk_scores as (
    select
        entities.entity_id,
        coalesce(sum(risk_points.points), 0) as points,
        string_agg(risk_points.factor || '=' || cast(risk_points.points as varchar), ', ' order by risk_points.factor) as factors
    from entities
    left join risk_factors on entities.entity_id = risk_factors.entity_id
    left join risk_points on risk_factors.factor = risk_points.factor
    group by entities.entity_id
),

risk_level_tags as (
    select
        risk_scores.entity_id,
        'risk_level' as tag_type,
        risk_levels.level as tag,
        risk_levels.level_zh as tag_zh,
        'risk.score' as rule,
        'points ' || cast(risk_scores.points as varchar) || coalesce(' (' || risk_scores.factors || ')', '') as evidence
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

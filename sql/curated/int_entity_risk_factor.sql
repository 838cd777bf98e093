-- The risk factors of each entity, with their points (seed.risk_point) and evidence.
--
-- One row per (entity_id, factor); an entity without a factor has no row.
-- factor             rule                    how
-- abnormal_list      risk.abnormal_list      the primary registration is in the 经营异常名录
-- penalised          risk.penalised          a penalty (int_penalty) in the 12 calendar months up to the
--                                            as-of month
-- open_high_issue    risk.open_high_issue    an open or confirmed entity_issue of severity high
-- open_medium_issue  risk.open_medium_issue  an open or confirmed entity_issue of severity medium
with entities as (
    select entity_id, in_abnormal_list, abnormal_reason from int_entity_registration
),

penalties as (
    select entity_id, inspected_on, penalised_month_no from int_penalty
),

issues as (
    select entity_id, issue_type, severity, status from entity_issue
),

as_of as (
    select as_of_month_no from int_as_of
),

risk_points as (
    select factor, factor_zh, points from seed.risk_point
),

recent_penalties as (
    select
        penalties.entity_id,
        count(*) as penalty_count,
        max(penalties.inspected_on) as last_penalised_on
    from penalties
    cross join as_of
    where penalties.penalised_month_no between as_of.as_of_month_no - 11 and as_of.as_of_month_no
    group by penalties.entity_id
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
        '近12个月处罚 ' || cast(penalty_count as varchar)
        || ' 次, 最近 ' || cast(last_penalised_on as varchar) as evidence
    from recent_penalties
    union all
    select
        entity_id,
        'open_' || severity || '_issue' as factor,
        'risk.open_' || severity || '_issue' as rule,
        issue_types as evidence
    from open_issues
),

final as (
    select
        risk_factors.entity_id,
        risk_factors.factor,
        risk_points.factor_zh,
        risk_points.points,
        risk_factors.rule,
        risk_factors.evidence
    from risk_factors
    inner join risk_points on risk_factors.factor = risk_points.factor
)

select * from final
order by entity_id, factor

-- Survival by registration cohort: of the entities established in a year, the share still in the market 1, 3 and 5 years later.
--
-- One row per (cohort_year, district_code, entity_kind) with at least one entity established in that
-- year (seed.district districts only; entity_kind NULL is 'unknown').
--   registered       entities whose 成立日期 falls in cohort_year
--   observed_<n>y    of those, the entities whose n-th anniversary month has ended by the as-of month
--                    (int_as_of): only they can be counted as survived or not
--   survived_<n>y    observed entities that had not left the market before their n-th anniversary month
--                    (int_entity_registration.exited_month_no >= established_month_no + 12n, or no exit)
--   survival_<n>y    survived_<n>y / observed_<n>y (NULL when no entity is observed yet)
-- A cohort is complete for n years once observed_<n>y = registered: from the as-of year after
-- cohort_year + n. The monthly analysis shows only complete cohorts, so that a past month's report does
-- not change as time passes.
with entities as (
    select entity_id, entity_kind, district_code, established_on, established_month_no, exited_month_no
    from int_entity_registration
    where established_on is not null
),

districts as (
    select district_code, district_name from seed.district
),

as_of as (
    select as_of_month_no from int_as_of
),

horizons as (
    select
        year(entities.established_on) as cohort_year,
        entities.district_code,
        districts.district_name,
        coalesce(entities.entity_kind, 'unknown') as entity_kind,
        case when entities.established_month_no + 12 < as_of.as_of_month_no then 1 else 0 end as observed_1y,
        case when entities.established_month_no + 36 < as_of.as_of_month_no then 1 else 0 end as observed_3y,
        case when entities.established_month_no + 60 < as_of.as_of_month_no then 1 else 0 end as observed_5y,
        case
            when entities.exited_month_no is null or entities.exited_month_no >= entities.established_month_no + 12
                then 1 else 0
        end as lasted_1y,
        case
            when entities.exited_month_no is null or entities.exited_month_no >= entities.established_month_no + 36
                then 1 else 0
        end as lasted_3y,
        case
            when entities.exited_month_no is null or entities.exited_month_no >= entities.established_month_no + 60
                then 1 else 0
        end as lasted_5y
    from entities
    inner join districts on entities.district_code = districts.district_code
    cross join as_of
),

counted as (
    select
        cohort_year,
        district_code,
        district_name,
        entity_kind,
        cast(count(*) as bigint) as registered,
        cast(sum(observed_1y) as bigint) as observed_1y,
        cast(sum(observed_1y * lasted_1y) as bigint) as survived_1y,
        cast(sum(observed_3y) as bigint) as observed_3y,
        cast(sum(observed_3y * lasted_3y) as bigint) as survived_3y,
        cast(sum(observed_5y) as bigint) as observed_5y,
        cast(sum(observed_5y * lasted_5y) as bigint) as survived_5y
    from horizons
    group by cohort_year, district_code, district_name, entity_kind
),

final as (
    select
        cohort_year,
        district_code,
        district_name,
        entity_kind,
        registered,
        observed_1y,
        survived_1y,
        round(cast(survived_1y as double) / nullif(observed_1y, 0), 6) as survival_1y,
        observed_3y,
        survived_3y,
        round(cast(survived_3y as double) / nullif(observed_3y, 0), 6) as survival_3y,
        observed_5y,
        survived_5y,
        round(cast(survived_5y as double) / nullif(observed_5y, 0), 6) as survival_5y
    from counted
)

select * from final
order by cohort_year, district_code, entity_kind

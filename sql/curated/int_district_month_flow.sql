-- Market flows per district and month: registrations, exits, licences issued and expired.
--
-- One row per district (seed.district: Ningbo's 10 county-level districts, from divisions.py) and month
-- (month_no, sql/macros.sql), from the first month with a registration or licence up to the as-of month.
-- An entity counts in its golden district_code; a licence in its entity's district (else the licence's own).
--   new_registrations  entities whose 成立日期 (established_on) falls in the month
--   deregistrations    entities that left the market in the month (exited_month_no: int_entity_registration)
--   licences_issued    licences and filings with 发证日期 in the month
--   licences_expired   licences whose 有效期至 falls in the month (up to the as-of date)
with entities as (
    select district_code, established_month_no, exited_month_no
    from int_entity_registration
    where established_on is not null
),

golden as (
    select entity_id, district_code from golden_entity
),

licences as (
    select entity_id, district_code, issued_on, valid_until from licence_fact
),

as_of as (
    select as_of_on, as_of_month_no from int_as_of
),

districts as (
    select district_code, district_name from seed.district
),

licence_events as (
    select
        coalesce(golden.district_code, licences.district_code) as district_code,
        month_no(licences.issued_on) as issued_month_no,
        case
            when licences.valid_until <= as_of.as_of_on then month_no(licences.valid_until)
        end as expired_month_no
    from licences
    cross join as_of
    left join golden on licences.entity_id = golden.entity_id
),

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

final as (
    select
        spine.district_code,
        spine.district_name,
        spine.month_no,
        cast(coalesce(registrations_by_month.new_registrations, 0) as bigint) as new_registrations,
        cast(coalesce(exits_by_month.deregistrations, 0) as bigint) as deregistrations,
        cast(coalesce(licences_by_month.licences_issued, 0) as bigint) as licences_issued,
        cast(coalesce(expiries_by_month.licences_expired, 0) as bigint) as licences_expired
    from spine
    left join registrations_by_month
        on spine.district_code = registrations_by_month.district_code
        and spine.month_no = registrations_by_month.month_no
    left join exits_by_month
        on spine.district_code = exits_by_month.district_code
        and spine.month_no = exits_by_month.month_no
    left join licences_by_month
        on spine.district_code = licences_by_month.district_code
        and spine.month_no = licences_by_month.month_no
    left join expiries_by_month
        on spine.district_code = expiries_by_month.district_code
        and spine.month_no = expiries_by_month.month_no
)

select * from final
order by district_code, month_no

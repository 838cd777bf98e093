-- Licences and filings per month, district and category (食品, 药品, 医疗器械, 化妆品, 保健食品): issued, expired, expiring, in force.
--
-- One row per (month, district_code, licence_category) from the first month a licence was issued up to
-- the as-of month (int_as_of; that month is partial), for Ningbo's 10 districts (seed.district). A
-- licence counts in its entity's district, else its own (as in int_district_month_flow).
--   licence_category  food (food_production, food_business, prepackaged_food_filing), drugs
--                     (drug_business), medical_devices (medical_device_business,
--                     class2_medical_device_filing), cosmetics (cosmetics_production), health_food (no
--                     licence type of the sources is one yet), other (unknown types)
--   issued            licences and filings with 发证日期 in the month
--   expired           licences whose 有效期至 falls in the month, up to the as-of date
--   expiring_3m       licences whose 有效期至 falls in the 3 months after the month (filings never expire)
--   in_force          issued by the month's end and not yet past 有效期至; the delivered licence_status
--                     carries no date, so a licence cancelled early still counts until its 有效期至
with licences as (
    select entity_id, licence_type, district_code, issued_on, valid_until from licence_fact
),

golden as (
    select entity_id, district_code from golden_entity
),

as_of as (
    select as_of_on, as_of_month_no from int_as_of
),

districts as (
    select district_code, district_name from seed.district
),

categories as (
    select 'food' as licence_category
    union all select 'drugs'
    union all select 'medical_devices'
    union all select 'cosmetics'
    union all select 'health_food'
    union all select 'other'
),

classified as (
    select
        coalesce(golden.district_code, licences.district_code) as district_code,
        case
            when licences.licence_type in ('food_production', 'food_business', 'prepackaged_food_filing')
                then 'food'
            when licences.licence_type = 'drug_business' then 'drugs'
            when licences.licence_type in ('medical_device_business', 'class2_medical_device_filing')
                then 'medical_devices'
            when licences.licence_type = 'cosmetics_production' then 'cosmetics'
            else 'other'
        end as licence_category,
        month_no(licences.issued_on) as issued_month_no,
        month_no(licences.valid_until) as ending_month_no,
        licences.valid_until <= as_of.as_of_on as has_expired
    from licences
    cross join as_of
    left join golden on licences.entity_id = golden.entity_id
    where licences.issued_on is not null
),

month_numbers as (
    -- 3 months past the as-of month, so that expiring_3m sees them; they are not published
    select unnest(generate_series(min(classified.issued_month_no), max(as_of.as_of_month_no) + 3)) as month_no
    from classified
    cross join as_of
),

spine as (
    select
        cast(month_numbers.month_no as bigint) as month_no,
        districts.district_code,
        districts.district_name,
        categories.licence_category
    from month_numbers
    cross join districts
    cross join categories
),

issued_by_month as (
    select district_code, licence_category, issued_month_no as month_no, count(*) as issued
    from classified
    group by district_code, licence_category, issued_month_no
),

ending_by_month as (
    select
        district_code,
        licence_category,
        ending_month_no as month_no,
        count(*) as ending,
        count(*) filter (where has_expired) as expired
    from classified
    where ending_month_no is not null
    group by district_code, licence_category, ending_month_no
),

counted as (
    select
        spine.month_no,
        spine.district_code,
        spine.district_name,
        spine.licence_category,
        cast(coalesce(issued_by_month.issued, 0) as bigint) as issued,
        cast(coalesce(ending_now.expired, 0) as bigint) as expired,
        cast(coalesce(ending_now.ending, 0) as bigint) as ending,
        cast(coalesce(issued_by_month.issued, 0) - coalesce(ending_now.ending, 0) as bigint) as net_change
    from spine
    left join issued_by_month
        on spine.district_code = issued_by_month.district_code
        and spine.licence_category = issued_by_month.licence_category
        and spine.month_no = issued_by_month.month_no
    left join ending_by_month as ending_now
        on spine.district_code = ending_now.district_code
        and spine.licence_category = ending_now.licence_category
        and spine.month_no = ending_now.month_no
),

windowed as (
    select
        counted.*,
        cast(
            coalesce(
                sum(ending) over (
                    partition by district_code, licence_category order by month_no
                    rows between 1 following and 3 following
                ),
                0
            ) as bigint
        ) as expiring_3m,
        cast(
            sum(net_change) over (
                partition by district_code, licence_category order by month_no
                rows between unbounded preceding and current row
            ) as bigint
        ) as in_force
    from counted
),

final as (
    select
        make_date(cast(floor(month_no / 12) as integer), cast(month_no % 12 as integer) + 1, 1) as month,
        district_code,
        district_name,
        licence_category,
        issued,
        expired,
        expiring_3m,
        in_force
    from windowed
    cross join as_of
    where windowed.month_no <= as_of.as_of_month_no
)

select * from final
order by month, district_code, licence_category

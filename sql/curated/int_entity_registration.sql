-- The registration facts of each golden entity that the tags and the district index read.
-- incremental by entity_id
--
-- One row per golden entity, with its primary registration (none for an entity known only from licences
-- or inspections). Months are numbered by month_no (sql/macros.sql).
--   exited_on        an entity that left the market (status deregistered / revoked / cancelled /
--                    moved_out): the earlier of 注销日期 and 吊销日期, else 核准日期 (approved_on, the
--                    date the last registration change was approved)
--   exited_month_no  the month of exited_on; an exit dated before the establishment (bad data) counts in
--                    the month of establishment
with golden as (
    select entity_id, entity_kind, district_code, status, established_on, registration_record_key
    from golden_entity
),

registration as (
    select
        record_key,
        business_scope,
        registered_capital_wan,
        approved_on,
        deregistered_on,
        revoked_on,
        in_abnormal_list,
        abnormal_reason,
        last_annual_report_year
    from silver.registration
),

entities as (
    select
        golden.entity_id,
        golden.entity_kind,
        golden.district_code,
        golden.established_on,
        case
            when golden.status in ('deregistered', 'revoked', 'cancelled', 'moved_out')
                then coalesce(
                    least(registration.deregistered_on, registration.revoked_on), registration.approved_on
                )
        end as exited_on,
        registration.business_scope,
        registration.registered_capital_wan,
        coalesce(registration.in_abnormal_list, false) as in_abnormal_list,
        nullif(trim(registration.abnormal_reason), '') as abnormal_reason,
        registration.last_annual_report_year
    from golden
    left join registration on golden.registration_record_key = registration.record_key
),

final as (
    select
        entity_id,
        entity_kind,
        district_code,
        established_on,
        month_no(established_on) as established_month_no,
        exited_on,
        case
            when exited_on is not null then greatest(month_no(exited_on), month_no(established_on))
        end as exited_month_no,
        business_scope,
        registered_capital_wan,
        in_abnormal_list,
        abnormal_reason,
        last_annual_report_year
    from entities
)

select * from final
order by entity_id

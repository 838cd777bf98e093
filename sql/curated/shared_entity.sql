-- Sharing for partner departments: one row per market entity with full legal_rep and phone of organisations; a 个体工商户's personal data withheld, no ID numbers.
-- incremental by entity_id
--
-- Audience: partner departments under a data-sharing agreement (exported to <warehouse dir>/sharing/),
-- never the public (the public reads open_entity, which masks further).
--
-- Personal data rules (applied here, so that open_entity inherits them):
--   * personal_data_withheld = the entity is a 个体工商户 (entity_kind 'individual') or its kind is unknown
--     (no registration record: nothing shows that the holder is not a natural person). For these rows
--     legal_rep (经营者) and phone are NULL.
--   * name: for those rows the name is NULL as well when it contains the operator's full name
--     (a 个体 without a registered 字号 is known by its operator's name in licences and inspections).
--   * phone is the normalised registered contact phone (mobile 13812345678, landline 0574-87654321) of
--     the primary registration; the delivered text (phone_raw) is never shared.
--   * No personal ID number (身份证号) exists in the sources, and no column of this table carries one:
--     uscc (统一社会信用代码) and reg_no (注册号) identify the organisation, not a person.
with golden as (
    select * from golden_entity
),

registration as (
    select
        record_key,
        reg_no,
        registered_capital_wan,
        business_scope,
        phone,
        deregistered_on,
        revoked_on,
        in_abnormal_list,
        abnormal_reason,
        last_annual_report_year
    from silver.registration
),

joined as (
    select
        golden.*,
        registration.reg_no,
        registration.registered_capital_wan,
        registration.business_scope,
        registration.phone,
        registration.deregistered_on,
        registration.revoked_on,
        registration.in_abnormal_list,
        nullif(trim(registration.abnormal_reason), '') as abnormal_reason,
        registration.last_annual_report_year,
        coalesce(golden.entity_kind = 'individual', false) as is_individual,
        coalesce(golden.entity_kind, 'individual') = 'individual' as personal_data_withheld,
        nullif(trim(golden.legal_rep), '') as legal_rep_trimmed
    from golden
    left join registration on golden.registration_record_key = registration.record_key
),

final as (
    select
        -- ids (organisation codes, not personal)
        entity_id,
        uscc,
        reg_no,
        -- attributes
        case
            when personal_data_withheld and legal_rep_trimmed is not null and strpos(name, legal_rep_trimmed) > 0 then null
            else name
        end as name,
        entity_type,
        entity_kind,
        is_individual,
        personal_data_withheld,
        case when personal_data_withheld then null else legal_rep_trimmed end as legal_rep,
        case when personal_data_withheld then null else phone end as phone,
        address,
        district_code,
        status,
        established_on,
        deregistered_on,
        revoked_on,
        registered_capital_wan,
        registration_authority,
        business_scope,
        -- supervision
        licence_count,
        active_licence_count,
        last_inspected_on,
        coalesce(in_abnormal_list, false) as in_abnormal_list,
        abnormal_reason,
        last_annual_report_year,
        is_zombie,
        issue_count,
        run_id
    from joined
)

select * from final
order by entity_id

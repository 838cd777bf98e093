-- One row per real-world market entity: the golden record with per-field provenance and open-issue counts.
-- incremental by entity_id
with golden as (
    select * from gold.golden_entity
),

issues as (
    select * from gold.entity_issue
),

open_issues as (
    select
        entity_id,
        count(*) as issue_count,
        bool_or(issue_type like 'zombie.%') as has_zombie_issue
    from issues
    where status in ('open', 'confirmed')
    group by entity_id
),

final as (
    select
        -- ids
        golden.entity_id,
        golden.uscc,
        golden.registration_record_key,
        -- attributes
        golden.name,
        golden.entity_type,
        golden.entity_kind,
        golden.legal_rep,
        golden.address,
        golden.district_code,
        golden.status,
        golden.established_on,
        golden.registration_authority,
        -- counts
        golden.registration_count,
        golden.licence_count,
        golden.active_licence_count,
        golden.inspection_count,
        golden.last_inspected_on,
        coalesce(open_issues.has_zombie_issue, false) as is_zombie,
        coalesce(open_issues.issue_count, 0) as issue_count,
        -- provenance
        golden.name_source,
        golden.address_source,
        golden.legal_rep_source,
        golden.status_source,
        golden.district_code_source,
        golden.run_id
    from golden
    left join open_issues on golden.entity_id = open_issues.entity_id
)

select * from final
order by entity_id

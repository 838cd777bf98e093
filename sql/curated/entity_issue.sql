-- One row per issue for stewards (open, confirmed, dismissed, corrected or resolved), with the district that supervises the entity.
-- incremental by entity_id
with issues as (
    select * from gold.entity_issue
),

golden as (
    select entity_id, district_code, name from gold.golden_entity
)

select
    issues.issue_id,
    issues.entity_id,
    issues.source,
    issues.record_key,
    issues.issue_type,
    issues.severity,
    issues.detail,
    issues.evidence,
    issues.first_detected_on,
    issues.resolved_on,
    issues.status,
    golden.district_code,
    golden.name as entity_name,
    issues.evidence_hash,
    issues.run_id
from issues
left join golden on issues.entity_id = golden.entity_id
order by issues.issue_id

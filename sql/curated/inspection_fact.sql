-- One row per district inspection record, linked to its entity, with normalised type, result and penalty.
-- incremental by entity_id
with inspections as (
    select * from silver.district
),

xref as (
    select record_key, entity_id from gold.entity_xref where source = 'district'
)

select
    inspections.record_key as inspection_key,
    xref.entity_id,
    inspections.district_file_code as supervising_district_code,
    inspections.name,
    inspections.uscc,
    inspections.legal_rep,
    inspections.address,
    inspections.district_code,
    inspections.inspected_on,
    inspections.inspection_type,
    inspections.result,
    inspections.penalty_doc_no,
    inspections.penalty_amount,
    inspections.delivery_date,
    inspections.source_file,
    inspections.source_row
from inspections
left join xref on inspections.record_key = xref.record_key
order by inspection_key

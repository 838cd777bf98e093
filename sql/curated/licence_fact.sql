-- One row per licence or filing, linked to its entity, with normalised type and status.
-- incremental by entity_id
with licences as (
    select * from silver.licensing
),

xref as (
    select record_key, entity_id from gold.entity_xref where source = 'licensing'
)

select
    licences.record_key as licence_no,
    xref.entity_id,
    licences.licence_type,
    licences.licence_type_raw,
    licences.is_filing,
    licences.holder_name,
    licences.uscc,
    licences.uscc_is_valid,
    licences.legal_rep,
    licences.address,
    licences.premises_address,
    licences.district_code,
    licences.business_form,
    licences.issuer,
    licences.issued_on,
    licences.valid_until,
    licences.licence_status,
    licences.supervising_unit,
    licences.delivery_date,
    licences.source_file,
    licences.source_row
from licences
left join xref on licences.record_key = xref.record_key
order by licence_no

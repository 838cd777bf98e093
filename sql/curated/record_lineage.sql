-- One row per current source record: the delivery, file, row and file sha256 it was read from, and its entity.
-- incremental by entity_id
--
-- record_ref is `<source>:<record_key>`, as golden_entity's `<field>_source` columns name the record that
-- supplied a value: join on it to walk from a published value to the file and row it came from.
-- Values a steward corrected name `steward:<name>` instead; correction_log holds that decision's file
-- and row. source_row is the row as a spreadsheet shows it (header = 1).
with records as (
    select 'registration' as source, record_key, delivery_date, source_file, source_row, file_sha256
    from silver.registration
    union all
    select 'licensing' as source, record_key, delivery_date, source_file, source_row, file_sha256
    from silver.licensing
    union all
    select 'district' as source, record_key, delivery_date, source_file, source_row, file_sha256
    from silver.district
    union all
    select 'corrections' as source, record_key, delivery_date, source_file, source_row, file_sha256
    from silver.corrections
),

xref as (
    select source, record_key, entity_id from gold.entity_xref
)

select
    records.source || ':' || records.record_key as record_ref,
    records.source,
    records.record_key,
    xref.entity_id,
    records.delivery_date,
    records.source_file,
    records.source_row,
    records.file_sha256
from records
left join xref on records.source = xref.source and records.record_key = xref.record_key
order by records.source, records.record_key

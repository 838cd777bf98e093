-- One row per quarantined file (row is null) or row: what was set aside, from which delivery, and why.
with ingest as (
    select
        source,
        delivery_date,
        file,
        row,
        reason,
        raw_text,
        file_sha256,
        run_id
    from bronze.quarantine
),

rejected_corrections as (
    select
        'corrections' as source,
        delivery_date,
        source_file as file,
        source_row as row,
        reason,
        concat_ws(',', action, issue_id, entity_id, field, new_value, left_source, left_key, right_source, right_key, steward) as raw_text,
        file_sha256,
        run_id
    from silver.corrections
    where reason is not null
),

unioned as (
    select * from ingest
    union all
    select * from rejected_corrections
)

select * from unioned
order by source, delivery_date, file, row nulls first

-- One row per quarantined file (row is null) or row: what was set aside, from which delivery, and why.
with quarantine as (
    select * from bronze.quarantine
)

select
    source,
    delivery_date,
    file,
    row,
    reason,
    raw_text,
    file_sha256,
    run_id
from quarantine
order by source, delivery_date, file, row nulls first

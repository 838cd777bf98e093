-- Append-only audit log: one row per applied steward decision (who, when, what, before and after).
with log as (
    select * from gold.correction_log
)

select
    correction_id,
    steward,
    decided_on,
    action,
    issue_id,
    entity_id,
    field,
    left_source,
    left_key,
    right_source,
    right_key,
    before,
    after,
    comment,
    source_file,
    source_row,
    applied_on,
    run_id
from log
order by applied_on, correction_id

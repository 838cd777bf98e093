-- One row per supervision task raised for a district by a change in the deliveries.
-- incremental by entity_id
with tasks as (
    select * from gold.supervision_task
)

select
    task_id,
    entity_id,
    district_code,
    reason,
    detail,
    due_on,
    source_change,
    created_on,
    run_id
from tasks
order by created_on, district_code, task_id

-- One row per entity lifecycle event (created, merged_into, split_from, status_changed, district_changed, corrected) with its cause and run.
-- incremental by entity_id
with events as (
    select * from gold.entity_event
)

select
    -- ids
    event_id,
    entity_id,
    related_entity_id,
    -- what happened
    event_type,
    event_on,
    field,
    before,
    after,
    -- why
    cause,
    match_score,
    correction_id,
    run_id
from events
order by event_on, entity_id, event_type, event_id

-- One row per published version of each golden_entity row: valid_from the as-of date it was first published, valid_to exclusive (null while current).
-- incremental by entity_id
with history as (
    select * from gold.golden_entity_history
)

select * from history
order by entity_id, valid_from

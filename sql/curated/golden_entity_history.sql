-- One row per published version of each golden_entity row: valid_from the as-of date it was first published, valid_to exclusive (null while current).
with history as (
    select * from gold.golden_entity_history
)

select * from history
order by entity_id, valid_from

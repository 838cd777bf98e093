-- One row per published version of each entity_issue row: valid_from the as-of date it was first published, valid_to exclusive (null while current). Its status column says when the issue was opened, dismissed, reopened and resolved.
-- incremental by entity_id
with history as (
    select * from gold.entity_issue_history
)

select * from history
order by issue_id, valid_from

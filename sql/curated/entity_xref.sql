-- One row per accepted source record: the entity it resolved to, how, and how sure.
-- incremental by entity_id
with xref as (
    select * from gold.entity_xref
)

select
    source,
    record_key,
    entity_id,
    match_method,
    match_score,
    run_id
from xref
order by source, record_key

-- Inspections that ended in a penalty: a decision number (决定书文号) or an amount > 0.
--
-- One row per such inspection of a resolved entity with an inspection date. The one place the penalty
-- rule is written: entity tags (risk.penalised) and the credit index both count these rows.
with inspections as (
    select entity_id, inspected_on, penalty_doc_no, penalty_amount
    from inspection_fact
    where entity_id is not null and inspected_on is not null
),

final as (
    select
        entity_id,
        inspected_on,
        month_no(inspected_on) as penalised_month_no
    from inspections
    where trim(penalty_doc_no) <> '' or penalty_amount > 0
)

select * from final
order by entity_id, inspected_on

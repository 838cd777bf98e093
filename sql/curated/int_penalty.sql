-- Inspections that ended in a penalty: a decision number (决定书文号) or an amount > 0.
--
-- One row per such inspection of a resolved entity with an inspection date. The one place the penalty
-- rule is written: entity tags (risk.penalised), the credit index and inspection_monthly count these rows.
with inspections as (
    select inspection_key, entity_id, supervising_district_code, inspected_on, penalty_doc_no, penalty_amount
    from inspection_fact
    where entity_id is not null and inspected_on is not null
),

final as (
    select
        entity_id,
        inspection_key,
        supervising_district_code,
        inspected_on,
        month_no(inspected_on) as penalised_month_no,
        penalty_amount
    from inspections
    where trim(penalty_doc_no) <> '' or penalty_amount > 0
)

select * from final
order by entity_id, inspected_on

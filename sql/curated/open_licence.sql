-- Open data: one row per licence or filing (行政许可公示), without personal data: no legal_rep, and a 个体工商户's operator-named holder name withheld.
-- incremental by entity_id
--
-- Audience: the public (exported to <warehouse dir>/open_data/). Licences that resolve to no entity
-- (zombie.orphan_licence) are published too: their holder's kind is unknown, so they follow the
-- 个体工商户 rule. holder_name is NULL when the holder is (or may be) a natural person and the name
-- contains the operator's full name (from the licence or from the golden record).
with licences as (
    select * from licence_fact
),

golden as (
    select entity_id, entity_kind, legal_rep from golden_entity
),

joined as (
    select
        licences.*,
        coalesce(golden.entity_kind, 'individual') = 'individual' as personal_data_withheld,
        nullif(trim(licences.legal_rep), '') as licence_legal_rep,
        nullif(trim(golden.legal_rep), '') as golden_legal_rep
    from licences
    left join golden on licences.entity_id = golden.entity_id
),

final as (
    select
        licence_no,
        entity_id,
        licence_type,
        licence_type_raw as licence_type_zh,
        is_filing,
        case
            when personal_data_withheld
                and (strpos(holder_name, licence_legal_rep) > 0 or strpos(holder_name, golden_legal_rep) > 0) then null
            else holder_name
        end as holder_name,
        case when uscc_is_valid then uscc end as uscc,
        district_code,
        issuer,
        issued_on,
        valid_until,
        licence_status
    from joined
)

select * from final
order by licence_no

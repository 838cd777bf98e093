-- Open data: one row per market entity, personal data masked (legal_rep as surname + *, phone partly hidden, a 个体工商户's personal data withheld).
-- incremental by entity_id
--
-- Audience: the public (exported to <warehouse dir>/open_data/). Built on shared_entity, so a
-- 个体工商户 (or an entity of unknown kind) already has legal_rep, phone and an operator-named name NULL.
--
-- Masking rules (in SQL, so that analysts see exactly what is published):
--   * legal_rep_masked: the surname followed by one '*' (the length of the given name is not shown):
--     张三丰 -> 张*, 欧阳修 -> 欧阳*. A compound surname (复姓, seed.compound_surname) is kept whole
--     when the name has at least 3 characters (a 2-character name is surname + given name: 司马 -> 司*).
--     A name that is not Chinese keeps its first character only (SMITH JOHN -> S*).
--   * phone_masked: a mobile keeps its first 3 and last 2 digits (13812345678 -> 138******78); a
--     landline keeps its area code (0574-87654321 -> 0574-********); any other value is all '*'.
--   * Not published: phone_raw, the full legal_rep, supervision findings (issues, zombie flags).
with entities as (
    select * from shared_entity
),

compound_surnames as (
    select surname from seed.compound_surname
),

names as (
    select
        entities.entity_id,
        entities.legal_rep,
        compound_surnames.surname as compound_surname
    from entities
    left join compound_surnames
        on length(entities.legal_rep) >= 3 and substr(entities.legal_rep, 1, 2) = compound_surnames.surname
),

masked as (
    select
        entity_id,
        case
            when legal_rep is null then null
            when compound_surname is not null then compound_surname || '*'
            else substr(legal_rep, 1, 1) || '*'
        end as legal_rep_masked
    from names
),

phones as (
    select
        entity_id,
        case
            when phone is null then null
            when regexp_matches(phone, '^1[3-9][0-9]{9}$') then substr(phone, 1, 3) || '******' || substr(phone, 10, 2)
            when regexp_matches(phone, '^0[0-9]{2,3}-[0-9]{7,8}$')
                then substr(phone, 1, strpos(phone, '-')) || repeat('*', length(phone) - strpos(phone, '-'))
            else repeat('*', length(phone))
        end as phone_masked
    from entities
),

final as (
    select
        entities.entity_id,
        entities.uscc,
        entities.reg_no,
        entities.name,
        entities.entity_type,
        entities.entity_kind,
        entities.is_individual,
        entities.personal_data_withheld,
        masked.legal_rep_masked,
        phones.phone_masked,
        entities.address,
        entities.district_code,
        entities.status,
        entities.established_on,
        entities.deregistered_on,
        entities.revoked_on,
        entities.registered_capital_wan,
        entities.registration_authority,
        entities.business_scope,
        entities.licence_count,
        entities.active_licence_count,
        entities.in_abnormal_list
    from entities
    left join masked on entities.entity_id = masked.entity_id
    left join phones on entities.entity_id = phones.entity_id
)

select * from final
order by entity_id

-- How far the numbers can be trusted, per source: records delivered, resolved to an entity, quarantined.
--
-- One row per source (registration, licensing, district).
--   records           source records accepted into silver (record_lineage)
--   resolved          of those, records linked to an entity (entity_xref; an unmatched record becomes an
--                     entity of its own, so this is nearly all of them)
--   with_registration of those, records whose entity has a registration record: a licence or inspection
--                     that found its registered entity (an orphan licence has none)
--   with_registration_share  with_registration / records
--   quarantined_rows  delivered rows refused (quarantine rows with a row number; whole files not counted)
--   quarantined_files whole files refused
with lineage as (
    select source, entity_id
    from record_lineage
    where source in ('registration', 'licensing', 'district')
),

golden as (
    select entity_id, registration_record_key from golden_entity
),

quarantined as (
    select source, "row" as source_row from quarantine
),

records as (
    select
        source,
        count(*) as records,
        count(lineage.entity_id) as resolved,
        count(golden.registration_record_key) as with_registration
    from lineage
    left join golden on lineage.entity_id = golden.entity_id
    group by source
),

refused as (
    select
        source,
        count(*) filter (where source_row is not null) as quarantined_rows,
        count(*) filter (where source_row is null) as quarantined_files
    from quarantined
    group by source
),

final as (
    select
        records.source,
        cast(records.records as bigint) as records,
        cast(records.resolved as bigint) as resolved,
        cast(records.with_registration as bigint) as with_registration,
        round(cast(records.with_registration as double) / nullif(records.records, 0), 6) as with_registration_share,
        cast(coalesce(refused.quarantined_rows, 0) as bigint) as quarantined_rows,
        cast(coalesce(refused.quarantined_files, 0) as bigint) as quarantined_files
    from records
    left join refused on records.source = refused.source
)

select * from final
order by source

-- One row per delivery (source, delivery date): files and rows read, loaded and quarantined.
with load_log as (
    select * from bronze.load_log
),

summary as (
    select
        source,
        delivery_date,
        count(*) as files,
        count(*) filter (where status = 'loaded') as files_loaded,
        count(*) filter (where status = 'quarantined') as files_quarantined,
        count(*) filter (where status = 'duplicate') as files_duplicate,
        sum(rows_read)::bigint as rows_read,
        sum(rows_loaded)::bigint as rows_loaded,
        sum(rows_quarantined)::bigint as rows_quarantined,
        round(sum(seconds), 3) as load_seconds,
        max(run_id) as run_id
    from load_log
    group by source, delivery_date
)

select * from summary
order by source, delivery_date

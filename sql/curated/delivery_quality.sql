-- One row per source and delivery: shares of valid USCC, rows mapped to a district and unknown vocabulary values.
with metrics as (
    select * from quality.delivery_metrics
),

failures as (
    select source, delivery_date, count(*) filter (where not success) as failed_expectations
    from quality.quality_result
    group by source, delivery_date
)

select
    metrics.source,
    metrics.delivery_date,
    metrics.rows,
    round(metrics.valid_uscc_share, 4) as valid_uscc_share,
    round(metrics.district_mapped_share, 4) as district_mapped_share,
    round(metrics.unknown_vocabulary_share, 4) as unknown_vocabulary_share,
    coalesce(failures.failed_expectations, 0) as failed_expectations
from metrics
left join failures on metrics.source = failures.source and metrics.delivery_date = failures.delivery_date
order by metrics.source, metrics.delivery_date

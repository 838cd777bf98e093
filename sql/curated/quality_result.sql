-- One row per expectation per delivery and layer: the Great Expectations result stewards and engineers read.
with results as (
    select * from quality.quality_result
)

select
    source,
    delivery_date,
    layer,
    suite,
    expectation,
    success,
    severity,
    observed_value,
    unexpected_count,
    unexpected_percent,
    examples,
    description,
    expectation_type,
    "column",
    run_id
from results
order by source, delivery_date, layer, suite, expectation

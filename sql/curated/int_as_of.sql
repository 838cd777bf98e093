-- The as-of date of the curated models: the latest delivery date in the landing zone, never the wall clock.
--
-- One row (NULL when nothing was delivered). as_of_month_no numbers its month as month_no (sql/macros.sql)
-- does; the as-of month is partial.
with inventory as (
    select delivery_date from bronze.landing_inventory where problem is null
),

final as (
    select
        max(delivery_date) as as_of_on,
        month_no(max(delivery_date)) as as_of_month_no
    from inventory
)

select * from final

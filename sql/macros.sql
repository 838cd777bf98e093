-- Expressions the curated models share, written once. DuckDB defines them on the connection a model is
-- built in; pipelines/spark_models.py inlines them for Spark. A macro body is one expression of its
-- parameters.

-- The month a date falls in, counted from January of year 0: "the 12 months up to m" is m - 11 .. m, and
-- a month's number back to its first day is make_date(month_no // 12, month_no % 12 + 1, 1).
create or replace temp macro month_no(d) as year(d) * 12 + month(d) - 1;

-- Expressions the curated models share, written once. DuckDB defines them on the connection a model is
-- built in; pipelines/spark_models.py inlines them for Spark. A macro body is one expression of its
-- parameters.

-- The month a date falls in, counted from January of year 0, so that month arithmetic is integer
-- arithmetic: "the 12 months up to m" is m - 11 .. m.
create or replace temp macro month_no(d) as year(d) * 12 + month(d) - 1;

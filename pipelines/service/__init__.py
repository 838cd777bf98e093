"""The data service: the published warehouse over HTTP for the public, partner departments and officers.

Dagster-free: it reads the curated DuckDB file that the pipeline publishes, never the lake.
"""

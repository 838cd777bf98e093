"""Asset keys of lake tables, from the catalog (a table and the asset that writes it share a name)."""

import dagster as dg

from pipelines.storage import catalog


def key(table: str) -> dg.AssetKey:
    return dg.AssetKey(catalog.asset_path(table))


def writer_keys(table: str) -> list[dg.AssetKey]:
    """The assets that write a lake table (several for a table each writes its own slice of)."""
    return [key(writer) for writer in catalog.writers(table)]

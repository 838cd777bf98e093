"""Stable entity ids: carried forward from the previous run, never re-derived and never recycled.

A cluster keeps the id of the previous entity it overlaps most (by records); when a previous entity
split, the larger part keeps the id; when entities merged, the merge keeps the id of the larger one.
Clusters that inherit nothing get the next ids after the highest ever issued, in anchor-record order,
so that a rerun of the same state issues the same ids.
"""

from __future__ import annotations

import polars as pl

ID_PREFIX = "E"
ID_DIGITS = 9


def id_number(entity_id: pl.Expr) -> pl.Expr:
    return entity_id.str.slice(len(ID_PREFIX)).cast(pl.Int64, strict=False)


def assign(clusters: pl.DataFrame, previous: pl.DataFrame | None, highest_issued: int) -> pl.DataFrame:
    """cluster -> entity_id for `clusters` (source, record_key, cluster, rid); `previous` (source,
    record_key, entity_id) is the last published cross-reference."""
    inherited = _inherit(clusters, previous) if previous is not None and not previous.is_empty() else _empty()
    fresh = (
        clusters.group_by("cluster")
        .agg(anchor=pl.col("rid").min())
        .join(inherited, on="cluster", how="anti")
        .sort("anchor")
    )
    numbers = pl.int_range(1, fresh.height + 1, dtype=pl.Int64) + highest_issued
    fresh = fresh.with_columns(entity_id=pl.lit(ID_PREFIX) + numbers.cast(pl.String).str.zfill(ID_DIGITS))
    return pl.concat([inherited, fresh.select("cluster", "entity_id")]).sort("cluster")


def _inherit(clusters: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    overlap = (
        clusters.join(previous.select("source", "record_key", "entity_id"), on=["source", "record_key"])
        .group_by("cluster", "entity_id")
        .agg(shared=pl.len())
        .sort(["shared", "entity_id", "cluster"], descending=[True, False, False])
    )
    # Greedy by overlap: each previous id goes to at most one cluster and each cluster takes at most one.
    taken_ids: set[str] = set()
    taken_clusters: set[int] = set()
    chosen = []
    for cluster, entity_id, _ in overlap.iter_rows():
        if cluster in taken_clusters or entity_id in taken_ids:
            continue
        taken_clusters.add(cluster)
        taken_ids.add(entity_id)
        chosen.append((cluster, entity_id))
    return pl.DataFrame(chosen, schema={"cluster": pl.Int64, "entity_id": pl.String}, orient="row")


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema={"cluster": pl.Int64, "entity_id": pl.String})

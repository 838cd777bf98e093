"""Clusters of records under hard constraints: one entity per cluster.

Order of evidence: steward `same` judgements, then records sharing a valid USCC, then accepted fuzzy
pairs from the most to the least likely. A union is refused when it would put into one cluster
- two different valid USCCs (not even through a chain of fuzzy links),
- two records a steward judged `different`,
- a branch and its parent (different branch markers among named records),
- two registration records, unless the pair being joined is itself two registrations that are very
  likely the same (a duplicate registration); never through a licence or inspection in between.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

CLUSTER_SCHEMA = {"rid": pl.Int64, "cluster": pl.Int64, "match_method": pl.String, "match_score": pl.Float64}


@dataclass
class _Cluster:
    uscc: str | None  # the valid USCC of the cluster, if any
    registrations: int
    reg_nos: frozenset[str]
    branch: str | None  # "" for a main entity, the marker for a branch, None while no named record
    forbidden: set[int]  # rids a steward judged different from a member


class ConstrainedClusters:
    """Union-find whose roots carry what the constraints need."""

    def __init__(self, records: pl.DataFrame, different: list[tuple[int, int]]) -> None:
        n = records.height
        self.parent = list(range(n))
        self.size = [1] * n
        self.clusters: list[_Cluster] = []
        rows = records.select("source", "uscc", "uscc_is_valid", "reg_no", "branch_marker", "name_key").iter_rows()
        for source, code, valid, reg_no, branch, name_key in rows:
            is_registration = source == "registration"
            self.clusters.append(
                _Cluster(
                    uscc=code if valid else None,
                    registrations=int(is_registration),
                    reg_nos=frozenset([reg_no]) if is_registration and reg_no and not valid else frozenset(),
                    branch=(branch or "") if name_key else None,
                    forbidden=set(),
                )
            )
        for left, right in different:
            self.clusters[left].forbidden.add(right)
            self.clusters[right].forbidden.add(left)

    def find(self, rid: int) -> int:
        parent = self.parent
        root = rid
        while parent[root] != root:
            root = parent[root]
        while parent[rid] != root:
            parent[rid], rid = root, parent[rid]
        return root

    def refusal(self, left: int, right: int, registrations_pair_ok: bool) -> str | None:
        """Why the clusters of `left` and `right` may not merge (None when they may)."""
        a, b = self.clusters[self.find(left)], self.clusters[self.find(right)]
        if a.uscc and b.uscc and a.uscc != b.uscc:
            return "different valid USCCs"
        if a.branch is not None and b.branch is not None and a.branch != b.branch:
            return "branch and parent"
        if a.registrations and b.registrations and not registrations_pair_ok:
            return "two registrations without direct evidence"
        if a.reg_nos and b.reg_nos and a.reg_nos.isdisjoint(b.reg_nos):
            return "different registration numbers"
        root_b = self.find(right)
        if any(self.find(r) == root_b for r in a.forbidden):
            return "steward judged different"
        return None

    def union(self, left: int, right: int) -> None:
        root_a, root_b = self.find(left), self.find(right)
        if root_a == root_b:
            return
        if self.size[root_a] < self.size[root_b] or (self.size[root_a] == self.size[root_b] and root_b < root_a):
            root_a, root_b = root_b, root_a
        a, b = self.clusters[root_a], self.clusters[root_b]
        self.parent[root_b] = root_a
        self.size[root_a] += self.size[root_b]
        a.uscc = a.uscc or b.uscc
        a.registrations += b.registrations
        a.reg_nos = a.reg_nos | b.reg_nos
        a.branch = a.branch if a.branch is not None else b.branch
        a.forbidden |= b.forbidden

    def roots(self) -> list[int]:
        return [self.find(r) for r in range(len(self.parent))]


def resolve(
    records: pl.DataFrame,
    accepted: pl.DataFrame,
    same: list[tuple[int, int]],
    different: list[tuple[int, int]],
    registration_pair_probability: float,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rid -> cluster with match method and score, accepted pairs with `linked` / `refused_because`).

    `accepted`: fuzzy pairs above the match threshold (rid_l, rid_r, match_probability, registrations).
    """
    clusters = ConstrainedClusters(records, different)
    judged = set()
    for left, right in same:
        clusters.union(left, right)
        judged.update((left, right))
    _union_shared_uscc(records, clusters, different)
    ordered = accepted.sort("match_probability", "rid_l", "rid_r", descending=[True, False, False])
    outcomes = []
    for left, right, probability, registrations in ordered.select("rid_l", "rid_r", "match_probability", "registrations").iter_rows():
        pair_ok = registrations and probability >= registration_pair_probability
        reason = clusters.refusal(left, right, pair_ok)
        if reason is None:
            clusters.union(left, right)
        outcomes.append(reason)
    decided = ordered.with_columns(refused_because=pl.Series(outcomes, dtype=pl.String)).with_columns(
        linked=pl.col("refused_because").is_null()
    )
    assignment = records.select("rid", "uscc", "uscc_is_valid").with_columns(cluster=pl.Series(clusters.roots(), dtype=pl.Int64))
    return _methods(assignment, decided, judged), decided


def _union_shared_uscc(records: pl.DataFrame, clusters: ConstrainedClusters, different: list[tuple[int, int]]) -> None:
    """Records sharing a valid USCC are one entity, except a record a steward judged different from another
    holder of its code (its code is then not trusted for linking)."""
    distrusted = {r for pair in different for r in pair}
    groups = (
        records.filter(pl.col("uscc_is_valid") & ~pl.col("rid").is_in(list(distrusted)))
        .group_by("uscc")
        .agg(pl.col("rid").sort())
        .filter(pl.col("rid").list.len() > 1)
    )
    for members in groups["rid"].to_list():
        for other in members[1:]:
            clusters.union(members[0], other)


def _methods(assignment: pl.DataFrame, decided: pl.DataFrame, judged: set[int]) -> pl.DataFrame:
    """Per record: judgement > uscc > fuzzy (best linked pair's probability) > singleton."""
    linked = decided.filter("linked")
    best = (
        pl.concat([linked.select(rid="rid_l", p="match_probability"), linked.select(rid="rid_r", p="match_probability")])
        .group_by("rid")
        .agg(fuzzy_score=pl.col("p").max())
    )
    size = pl.len().over("cluster")
    shares_uscc = pl.col("uscc_is_valid") & (pl.len().over("cluster", "uscc") > 1)
    frame = assignment.join(best, on="rid", how="left").with_columns(
        match_method=pl.when(pl.col("rid").is_in(list(judged)))
        .then(pl.lit("judgement"))
        .when(shares_uscc)
        .then(pl.lit("uscc"))
        .when(pl.col("fuzzy_score").is_not_null() & (size > 1))
        .then(pl.lit("fuzzy"))
        .otherwise(pl.lit("singleton"))
    )
    frame = frame.with_columns(
        match_score=pl.when(pl.col("match_method") == "fuzzy").then(pl.col("fuzzy_score")).otherwise(None)
    )
    return frame.select(list(CLUSTER_SCHEMA)).cast(CLUSTER_SCHEMA)

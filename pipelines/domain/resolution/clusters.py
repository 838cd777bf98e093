"""Clusters of records under hard constraints: one entity per cluster.

Order of evidence: steward `same` judgements, then records sharing a valid USCC (those named in a
`different` judgement join their code's cluster only where the judgement allows), then accepted fuzzy
pairs from the most to the least likely. A union is refused when it would put into one cluster
- two different valid USCCs (not even through a chain of fuzzy links),
- two records a steward judged `different`,
- a branch and its parent (different branch markers among named records),
- two registration records, unless the pair being joined is itself two registrations that are very
  likely the same (a duplicate registration); never through a licence or inspection in between.
"""

from __future__ import annotations

import polars as pl

CLUSTER_SCHEMA = {"rid": pl.Int64, "cluster": pl.Int64, "match_method": pl.String, "match_score": pl.Float64}


class ConstrainedClusters:
    """Union-find over record ids whose roots carry what the constraints need (plain lists: millions of
    records, so no object per record). Records sharing a trusted valid USCC start as one cluster."""

    def __init__(self, records: pl.DataFrame, different: list[tuple[int, int]]) -> None:
        distrusted = sorted({r for pair in different for r in pair})
        start = records.select(
            "rid", "source", "uscc", "uscc_is_valid", "reg_no", "branch_marker", "name_key"
        ).with_columns(
            trusted=pl.col("uscc_is_valid") & ~pl.col("rid").is_in(distrusted),
            is_registration=pl.col("source") == "registration",
            branch=pl.when(pl.col("name_key").is_not_null()).then(pl.col("branch_marker").fill_null("")),
        )
        start = start.with_columns(
            root=pl.when("trusted").then(pl.col("rid").min().over("uscc", "trusted")).otherwise(pl.col("rid"))
        )
        roots = start.group_by("root").agg(
            size=pl.len(),
            uscc=pl.col("uscc").filter("uscc_is_valid").first(),
            registrations=pl.col("is_registration").sum(),
            branch=pl.col("branch").drop_nulls().first(),
            reg_no=pl.col("reg_no").filter(pl.col("is_registration") & ~pl.col("uscc_is_valid")).first(),
        )
        n = records.height
        self.parent = start.sort("rid")["root"].to_list()
        self.size, self.registrations = [1] * n, [0] * n
        self.uscc: list[str | None] = [None] * n
        self.branch: list[str | None] = [None] * n
        self.reg_nos: dict[int, frozenset[str]] = {}
        for root, size, code, registrations, branch, reg_no in roots.iter_rows():
            self.size[root], self.uscc[root], self.registrations[root], self.branch[root] = (
                size,
                code,
                registrations,
                branch,
            )
            if reg_no:
                self.reg_nos[root] = frozenset([reg_no])
        self.forbidden: dict[int, set[int]] = {}
        for left, right in different:
            self.forbidden.setdefault(self.find(left), set()).add(right)
            self.forbidden.setdefault(self.find(right), set()).add(left)

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
        a, b = self.find(left), self.find(right)
        if self.uscc[a] and self.uscc[b] and self.uscc[a] != self.uscc[b]:
            return "different valid USCCs"
        if self.branch[a] is not None and self.branch[b] is not None and self.branch[a] != self.branch[b]:
            return "branch and parent"
        if self.registrations[a] and self.registrations[b] and not registrations_pair_ok:
            return "two registrations without direct evidence"
        if a in self.reg_nos and b in self.reg_nos and self.reg_nos[a].isdisjoint(self.reg_nos[b]):
            return "different registration numbers"
        if any(self.find(r) == b for r in self.forbidden.get(a, ())):
            return "steward judged different"
        return None

    def union(self, left: int, right: int) -> None:
        a, b = self.find(left), self.find(right)
        if a == b:
            return
        if self.size[a] < self.size[b] or (self.size[a] == self.size[b] and b < a):
            a, b = b, a
        self.parent[b] = a
        self.size[a] += self.size[b]
        self.uscc[a] = self.uscc[a] or self.uscc[b]
        self.registrations[a] += self.registrations[b]
        if b in self.reg_nos:
            self.reg_nos[a] = self.reg_nos.get(a, frozenset()) | self.reg_nos.pop(b)
        self.branch[a] = self.branch[a] if self.branch[a] is not None else self.branch[b]
        if b in self.forbidden:
            self.forbidden.setdefault(a, set()).update(self.forbidden.pop(b))

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
    for left, right in _shared_codes_of_judged(records, different):
        if clusters.refusal(left, right, registrations_pair_ok=True) is None:
            clusters.union(left, right)
    ordered = accepted.sort("match_probability", "rid_l", "rid_r", descending=[True, False, False])
    outcomes = []
    for left, right, probability, registrations in ordered.select(
        "rid_l", "rid_r", "match_probability", "registrations"
    ).iter_rows():
        if clusters.find(left) == clusters.find(right):  # already one entity through stronger links
            outcomes.append(None)
            continue
        pair_ok = registrations and probability >= registration_pair_probability
        reason = clusters.refusal(left, right, pair_ok)
        if reason is None:
            clusters.union(left, right)
        outcomes.append(reason)
    decided = ordered.with_columns(refused_because=pl.Series(outcomes, dtype=pl.String)).with_columns(
        linked=pl.col("refused_because").is_null()
    )
    assignment = records.select("rid", "uscc", "uscc_is_valid").with_columns(
        cluster=pl.Series(clusters.roots(), dtype=pl.Int64)
    )
    return _methods(assignment, decided, judged), decided


def _shared_codes_of_judged(records: pl.DataFrame, different: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Pairs of a record named in a `different` judgement and another record with its valid USCC.

    Such a record does not start in its code's cluster (the judgement may be about that code), but it
    joins it unless the judgement forbids: otherwise nothing would link it, as two records with valid
    codes are never a fuzzy candidate pair.
    """
    judged = sorted({r for pair in different for r in pair})
    codes = records.filter(pl.col("uscc_is_valid")).select("rid", "uscc")
    mine = codes.filter(pl.col("rid").is_in(judged))
    pairs = mine.join(codes, on="uscc", suffix="_other").filter(pl.col("rid") != pl.col("rid_other"))
    return [tuple(p) for p in pairs.select("rid", "rid_other").sort("rid", "rid_other").iter_rows()]


def _methods(assignment: pl.DataFrame, decided: pl.DataFrame, judged: set[int]) -> pl.DataFrame:
    """Per record: judgement > uscc > fuzzy (best linked pair's probability) > singleton."""
    linked = decided.filter("linked")
    best = (
        pl.concat(
            [
                linked.select(rid="rid_l", p="match_probability"),
                linked.select(rid="rid_r", p="match_probability"),
            ]
        )
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

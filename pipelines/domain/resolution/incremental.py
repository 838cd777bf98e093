"""Re-resolve only what a night changed, with the stored weights; the result equals a full re-resolution.

Clustering decides each connected component of the evidence graph on its own: accepted fuzzy pairs, records
sharing a valid USCC, and steward judgements are its edges, and links are made within a component in an
order (probability, then record order) that nothing outside it affects. So a night re-clusters only:
- the *seeds*: records that are new, changed or gone, records named in a judgement, and every record in a
  block (of any blocking rule) that such a record enters or leaves, since a block's size decides whether it
  proposes pairs at all;
- every record connected to a seed through last night's edges or tonight's: the *affected* records.
Pairs between two records that are not seeds are the same pairs, with the same score, as last night; only
pairs touching a seed are blocked and scored again. Everything outside the affected records keeps its xref
row, pair rows and entity id as they were.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.domain.resolution import blocking
from pipelines.domain.resolution.records import RECORD_SCHEMA, entity_records
from pipelines.domain.resolution.resolve import (
    EXPLAINED_COLUMNS,
    Resolution,
    Stopwatch,
    decide,
    explained,
    scored_pairs,
)
from pipelines.domain.resolution.weights import MatchModel
from pipelines.domain.settings import BlockingRule, MatchingSettings

KEY = ["source", "record_key"]
STATE_COLUMNS = [c for c in RECORD_SCHEMA if c != "rid"]  # what the records looked like when resolved
STATE_SCHEMA = {c: RECORD_SCHEMA[c] for c in STATE_COLUMNS} | {"judged": pl.Boolean}


@dataclass(frozen=True)
class Previous:
    """Last night's resolution: its records (STATE_SCHEMA), explained pairs and xref."""

    records: pl.DataFrame
    pairs: pl.DataFrame
    xref: pl.DataFrame


def state(records: pl.DataFrame, judgements: pl.DataFrame) -> pl.DataFrame:
    """The records as resolved tonight, stored so that the next night can tell what changed."""
    judged = _judged_keys(judgements)
    return (
        records.select(STATE_COLUMNS)
        .join(judged.with_columns(judged=pl.lit(True)), on=KEY, how="left")
        .with_columns(pl.col("judged").fill_null(False))
        .sort(KEY)
    )


def resolve_changes(
    registration: pl.DataFrame,
    licensing: pl.DataFrame,
    district: pl.DataFrame,
    judgements: pl.DataFrame,
    previous: Previous,
    highest_issued: int,
    settings: MatchingSettings,
    model: MatchModel,
) -> Resolution:
    clock = Stopwatch()
    records = entity_records(registration, licensing, district)
    tonight = state(records, judgements)
    nodes = _nodes(records, previous.records)
    seeds = _seeds(tonight, previous.records, settings, nodes)
    clock.lap("records and seeds")
    candidates = _pairs_touching(records, seeds, settings)
    scored = scored_pairs(candidates, records, model, settings)
    named = _with_nodes(previous.pairs, nodes)
    kept = _kept_pairs(named, seeds)
    clock.lap("blocking and scoring")
    affected = _affected(seeds, nodes, records, previous.records, named, scored, settings)
    clock.lap("affected components")
    xref, pairs = _decide_affected(
        records, affected, scored, kept, judgements, previous, highest_issued, settings
    )
    clock.lap("clustering and ids")
    stats = {
        "mode": "incremental",
        "records": records.height,
        "seeds": seeds.height,
        "affected_records": affected.height,
        "candidate_pairs": candidates.height,
        "training_pairs": model.training_pairs,
        "linked_pairs": int(pairs["linked"].sum()),
        "entities": xref["entity_id"].n_unique(),
        "seconds": clock.timings,
    }
    return Resolution(xref, pairs, model, records, stats)


def _judged_keys(judgements: pl.DataFrame) -> pl.DataFrame:
    return pl.concat(
        [
            judgements.select(source="left_source", record_key="left_key"),
            judgements.select(source="right_source", record_key="right_key"),
        ]
    ).unique()


def _nodes(records: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    """A node id per record key of tonight or last night: tonight's rid, or a number after them for
    records that are gone (they still connect what they used to connect)."""
    gone = previous.select(KEY).join(records.select(KEY), on=KEY, how="anti").sort(KEY)
    gone = gone.with_row_index("node", offset=records.height).with_columns(pl.col("node").cast(pl.Int64))
    return pl.concat([records.select(*KEY, node="rid"), gone.select(*KEY, "node")])


def _seeds(
    tonight: pl.DataFrame, previous: pl.DataFrame, settings: MatchingSettings, nodes: pl.DataFrame
) -> pl.DataFrame:
    """Node ids of the records whose pairs may differ from last night's (see the module docstring)."""
    now, before = _hashed(tonight), _hashed(previous)
    changed = pl.concat(
        [
            now.join(before, on=[*KEY, "row"], how="anti").select(KEY),
            before.join(now, on=[*KEY, "row"], how="anti").select(KEY),
            tonight.filter("judged").select(KEY),
        ]
    ).unique()
    touched = [
        _block_members(tonight, previous, changed, rule, settings.max_block_size)
        for rule in settings.blocking
    ]
    keys = pl.concat([changed, *touched]).unique()
    return nodes.join(keys, on=KEY, how="semi").select("node").sort("node")


def _hashed(state_rows: pl.DataFrame) -> pl.DataFrame:
    """Each record's key and a hash of its whole state (cheaper to compare than every column)."""
    columns = list(STATE_SCHEMA)
    return state_rows.select(*KEY, row=state_rows.select(columns).cast(STATE_SCHEMA).hash_rows(seed=11))


def _block_members(
    tonight: pl.DataFrame, previous: pl.DataFrame, changed: pl.DataFrame, rule: BlockingRule, cap: int
) -> pl.DataFrame:
    """Tonight's members of the blocks a changed record enters or leaves, where the block proposes pairs
    tonight or did last night (a block over the size cap on both nights proposes none)."""
    columns = list(rule.columns)
    values = pl.concat(
        [frame.join(changed, on=KEY, how="semi").select(columns) for frame in (tonight, previous)]
    ).drop_nulls()
    usable = [
        frame.join(values, on=columns, how="semi").group_by(columns).agg(size=pl.len())
        for frame in (tonight, previous)
    ]
    blocks = pl.concat(usable).filter(pl.col("size") <= cap).select(columns).unique()
    return tonight.join(blocks, on=columns, how="semi").select(KEY)


def _pairs_touching(records: pl.DataFrame, seeds: pl.DataFrame, settings: MatchingSettings) -> pl.DataFrame:
    """Tonight's candidate pairs with at least one seed, with the bits of the rules proposing them: the
    same rows as `blocking.candidate_pairs` gives for those records."""
    is_seed = pl.col("rid").is_in(seeds["node"].implode())
    seeded = records.filter(is_seed)
    parts = []
    for bit, rule in enumerate(settings.blocking):
        # Only the blocks holding a seed, with their full membership (their size decides if they count).
        blocks = records.join(
            seeded.select(rule.columns).drop_nulls().unique(), on=list(rule.columns), how="semi"
        )
        members = blocking.usable_members(blocks, rule, settings.max_block_size)
        starters = members.filter(is_seed)
        pairs = starters.join(members, on=list(rule.columns), suffix="_r").filter(
            ~pl.col("uscc_is_valid") | ~pl.col("uscc_is_valid_r")
        )
        parts.append(blocking.ordered(pairs).with_columns(rules=pl.lit(1 << bit, dtype=pl.UInt32)))
    if not parts:
        return pl.DataFrame(schema=blocking.PAIR_SCHEMA)
    return (
        pl.concat(parts)
        .unique()
        .group_by("rid_l", "rid_r")
        .agg(pl.col("rules").bitwise_or())
        .sort("rid_l", "rid_r")
    )


def _with_nodes(pairs: pl.DataFrame, nodes: pl.DataFrame) -> pl.DataFrame:
    """Explained pairs (named by source and record key) with the node ids of both sides."""
    left = nodes.select(source_l="source", record_key_l="record_key", node_l="node")
    right = nodes.select(source_r="source", record_key_r="record_key", node_r="node")
    return pairs.join(left, on=["source_l", "record_key_l"]).join(right, on=["source_r", "record_key_r"])


def _kept_pairs(named: pl.DataFrame, seeds: pl.DataFrame) -> pl.DataFrame:
    """Last night's explained pairs (with node ids) between two records that are not seeds: unchanged."""
    seed_ids = seeds["node"].implode()
    return named.filter(~pl.col("node_l").is_in(seed_ids) & ~pl.col("node_r").is_in(seed_ids))


def _affected(
    seeds: pl.DataFrame,
    nodes: pl.DataFrame,
    records: pl.DataFrame,
    last_night: pl.DataFrame,
    named: pl.DataFrame,
    scored: pl.DataFrame,
    settings: MatchingSettings,
) -> pl.DataFrame:
    """Node ids connected to a seed through last night's or tonight's edges (fixpoint of semi-joins).
    Tonight's edges are last night's between non-seeds plus the new ones, so these two sets cover them."""
    if seeds.is_empty():
        return seeds
    threshold = pl.col("match_probability") >= settings.match_probability
    old = named.filter(threshold).select("node_l", "node_r")
    new = scored.filter(threshold).select(node_l="rid_l", node_r="rid_r")
    edges = pl.concat([old, new])
    edges = pl.concat([edges, edges.select(node_l="node_r", node_r="node_l")]).unique()
    codes = _shared_codes(seeds, nodes, records, last_night)
    reached = seeds
    while True:
        through_pairs = edges.join(reached, left_on="node_l", right_on="node", how="semi").select(
            node="node_r"
        )
        shared_codes = codes.join(codes.join(reached, on="node", how="semi").select("uscc"), on="uscc")
        grown = pl.concat([reached, through_pairs, shared_codes.select("node")]).unique().sort("node")
        if grown.height == reached.height:
            return reached
        reached = grown


def _shared_codes(
    seeds: pl.DataFrame, nodes: pl.DataFrame, records: pl.DataFrame, last_night: pl.DataFrame
) -> pl.DataFrame:
    """(node, uscc) for every valid USCC that two or more nodes held tonight or last night: the code edges.
    A record that is not a seed held last night what it holds tonight, so last night's codes are read for the
    seeds alone; a code one node holds links nothing."""
    seed_keys = nodes.join(seeds, on="node", how="semi")
    held = pl.concat(
        [
            records.filter("uscc_is_valid").select(node="rid", uscc="uscc"),
            last_night.filter("uscc_is_valid").join(seed_keys, on=KEY).select("node", "uscc"),
        ]
    ).unique()
    return held.filter(pl.len().over("uscc") > 1)


def _decide_affected(
    records: pl.DataFrame,
    affected: pl.DataFrame,
    scored: pl.DataFrame,
    kept: pl.DataFrame,
    judgements: pl.DataFrame,
    previous: Previous,
    highest_issued: int,
    settings: MatchingSettings,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cluster the affected records alone (renumbered in the same order, so ties break as in a full run)
    and put the result together with what stays."""
    ids = affected["node"].implode()
    part = records.filter(pl.col("rid").is_in(ids)).sort("rid")
    local = part.select(global_rid="rid").with_row_index("rid").with_columns(pl.col("rid").cast(pl.Int64))
    part = part.with_columns(rid=local["rid"])
    # Kept pairs that are links to re-decide: accepted, inside the affected part. The others stay as they were.
    accepted = pl.col("match_probability") >= settings.match_probability
    redo = pl.col("node_l").is_in(ids) & accepted
    to_redo = kept.filter(redo)
    pairs = pl.concat(
        [
            scored.filter(accepted),
            to_redo.select(
                rid_l="node_l", rid_r="node_r", match_probability="match_probability",
                registrations=(pl.col("source_l") == "registration") & (pl.col("source_r") == "registration"),
            ),
        ],
        how="diagonal_relaxed",
    )  # fmt: skip
    pairs = _relabelled(pairs.filter(pl.col("rid_l").is_in(ids)), local)
    xref_part, decided = decide(part, pairs, judgements, previous.xref, highest_issued, settings)
    # A near miss is no edge, so it may join a seed to a record outside the affected part.
    near_misses = scored.filter(~accepted).with_columns(
        refused_because=pl.lit("below the match threshold"), linked=pl.lit(False)
    )
    rescored = pl.concat(
        [
            explained(decided.filter(pl.col("rules").is_not_null()), part, settings),
            explained(near_misses, records, settings),
        ]
    )
    decisions = decided.filter(pl.col("rules").is_null()).select(
        "rid_l", "rid_r", "linked", "refused_because"
    )
    redecided = (
        _with_local(to_redo.drop("linked", "refused_because"), local)
        .join(decisions, on=["rid_l", "rid_r"])
        .select(EXPLAINED_COLUMNS)
    )
    pairs_now = pl.concat(
        [kept.filter(~redo).select(EXPLAINED_COLUMNS), redecided, rescored], how="vertical_relaxed"
    )
    stays = previous.xref.join(records.select(KEY), on=KEY, how="semi").join(
        xref_part.select(KEY), on=KEY, how="anti"
    )
    xref = pl.concat([stays.select(xref_part.columns), xref_part]).sort(KEY)
    return xref, pairs_now


def _relabelled(pairs: pl.DataFrame, local: pl.DataFrame) -> pl.DataFrame:
    """Pairs in tonight's global rids renumbered to the affected part's local rids."""
    left = local.select(rid_l="global_rid", local_l="rid")
    right = local.select(rid_r="global_rid", local_r="rid")
    joined = pairs.join(left, on="rid_l").join(right, on="rid_r")
    return joined.drop("rid_l", "rid_r").rename({"local_l": "rid_l", "local_r": "rid_r"})


def _with_local(kept: pl.DataFrame, local: pl.DataFrame) -> pl.DataFrame:
    left = local.select(node_l="global_rid", rid_l="rid")
    right = local.select(node_r="global_rid", rid_r="rid")
    return kept.join(left, on="node_l").join(right, on="node_r")

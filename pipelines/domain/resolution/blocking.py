"""Candidate pairs: records that share a blocking key, under several rules so that one missing or
mistyped field does not lose the pair. Pairs of two valid USCCs are left out: those are decided exactly."""

from __future__ import annotations

import polars as pl

from pipelines.domain.settings import BlockingRule

PAIR_SCHEMA = {"rid_l": pl.Int64, "rid_r": pl.Int64, "rules": pl.String}


def pairs_for_rule(records: pl.DataFrame, rule: BlockingRule, max_block_size: int) -> tuple[pl.DataFrame, int]:
    """(pairs rid_l < rid_r sharing the rule's key, number of blocks skipped for being too large)."""
    keyed = records.select("rid", "uscc_is_valid", *rule.columns).drop_nulls(list(rule.columns))
    sizes = keyed.group_by(list(rule.columns)).agg(size=pl.len())
    usable = sizes.filter((pl.col("size") > 1) & (pl.col("size") <= max_block_size))
    skipped = sizes.filter(pl.col("size") > max_block_size).height
    members = keyed.join(usable.select(rule.columns), on=list(rule.columns), how="semi")
    pairs = (
        members.join(members, on=list(rule.columns), suffix="_r")
        .filter(pl.col("rid") < pl.col("rid_r"))
        .select(rid_l="rid", rid_r="rid_r", both_valid=pl.col("uscc_is_valid") & pl.col("uscc_is_valid_r"))
    )
    return pairs, skipped


def candidate_pairs(records: pl.DataFrame, rules: tuple[BlockingRule, ...], max_block_size: int) -> tuple[pl.DataFrame, dict]:
    """(distinct pairs with the rules that proposed them and `both_valid`, per-rule statistics)."""
    found, stats = [], {}
    for rule in rules:
        pairs, skipped = pairs_for_rule(records, rule, max_block_size)
        stats[rule.name] = {"pairs": pairs.height, "blocks_skipped": skipped}
        found.append(pairs.with_columns(rules=pl.lit(rule.name)))
    if not found:
        return pl.DataFrame(schema={**PAIR_SCHEMA, "both_valid": pl.Boolean}), stats
    combined = (
        pl.concat(found)
        .group_by("rid_l", "rid_r")
        .agg(rules=pl.col("rules").unique().sort().str.join(","), both_valid=pl.col("both_valid").first())
        .sort("rid_l", "rid_r")
    )
    return combined, stats

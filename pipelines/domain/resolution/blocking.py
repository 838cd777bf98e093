"""Candidate pairs: records that share a blocking key, under several rules so that one missing or
mistyped field does not lose the pair.

Two kinds of pairs come out of the same blocks:
- pairs to decide: at least one record lacks a valid USCC (two valid codes are decided exactly, so those
  pairs are never scored). Only such records start a join, which keeps the work proportional to them;
- training pairs: both records carry a valid USCC, so the pair is labelled for free. A deterministic
  sample of records starts those joins, so their number stays near the budget at any scale.
"""

from __future__ import annotations

import polars as pl

from pipelines.domain.settings import BlockingRule

PAIR_SCHEMA = {"rid_l": pl.Int64, "rid_r": pl.Int64, "rules": pl.UInt32}  # rules: bit i = rule i proposed it


def _members(records: pl.DataFrame, rule: BlockingRule, max_block_size: int) -> tuple[pl.DataFrame, int]:
    """Records in usable blocks of the rule (more than one member, at most max_block_size), and the number
    of blocks skipped for being too large."""
    keyed = records.select("rid", "uscc_is_valid", *rule.columns).drop_nulls(list(rule.columns))
    sizes = keyed.group_by(list(rule.columns)).agg(size=pl.len())
    usable = sizes.filter((pl.col("size") > 1) & (pl.col("size") <= max_block_size))
    skipped = sizes.filter(pl.col("size") > max_block_size).height
    return keyed.join(usable.select(rule.columns), on=list(rule.columns), how="semi"), skipped


def usable_members(records: pl.DataFrame, rule: BlockingRule, max_block_size: int) -> pl.DataFrame:
    return _members(records, rule, max_block_size)[0]


def ordered(pairs: pl.DataFrame) -> pl.DataFrame:
    """(rid, rid_r) join results as distinct-record pairs with rid_l < rid_r."""
    return pairs.select(
        rid_l=pl.min_horizontal("rid", "rid_r"), rid_r=pl.max_horizontal("rid", "rid_r")
    ).filter(pl.col("rid_l") != pl.col("rid_r"))


def pairs_for_rule(
    records: pl.DataFrame, rule: BlockingRule, max_block_size: int, training_share: float
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """(pairs to decide, training pairs, blocks skipped for being too large) of one rule."""
    members, skipped = _members(records, rule, max_block_size)
    key = list(rule.columns)
    starters = members.filter(~pl.col("uscc_is_valid"))
    to_decide = ordered(starters.join(members, on=key, suffix="_r"))
    valid = members.filter("uscc_is_valid")
    sampled = valid.filter((pl.col("rid").hash(seed=7) % 1_000_000) < int(training_share * 1_000_000))
    training = ordered(sampled.join(valid, on=key, suffix="_r"))
    return to_decide, training, skipped


def training_share(
    records: pl.DataFrame, rules: tuple[BlockingRule, ...], max_block_size: int, budget: int
) -> float:
    """Share of valid-USCC records to start training joins from, so that training pairs stay near budget."""
    total = 0
    for rule in rules:
        members, _ = _members(records, rule, max_block_size)
        per_block = members.group_by(list(rule.columns)).agg(valid=pl.col("uscc_is_valid").sum())
        total += (
            per_block.select((pl.col("valid") * (pl.col("valid") - 1)).sum()).item() or 0
        )  # ordered pairs: rid may start either side
    return 1.0 if total <= budget else budget / total


def candidate_pairs(
    records: pl.DataFrame, rules: tuple[BlockingRule, ...], max_block_size: int, training_share: float = 1.0
) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """(distinct pairs to decide with the rules that proposed them, distinct training pairs, per-rule stats)."""
    decide, train, stats = [], [], {}
    for bit, rule in enumerate(rules):
        to_decide, training, skipped = pairs_for_rule(records, rule, max_block_size, training_share)
        stats[rule.name] = {
            "pairs": to_decide.height,
            "training_pairs": training.height,
            "blocks_skipped": skipped,
        }
        decide.append(to_decide.with_columns(rules=pl.lit(1 << bit, dtype=pl.UInt32)))
        train.append(training)
    decided = (
        pl.concat(decide).group_by("rid_l", "rid_r").agg(pl.col("rules").bitwise_or()).sort("rid_l", "rid_r")
        if decide
        else pl.DataFrame(schema=PAIR_SCHEMA)
    )
    training = (
        pl.concat(train).unique().sort("rid_l", "rid_r")
        if train
        else pl.DataFrame(schema={"rid_l": pl.Int64, "rid_r": pl.Int64})
    )
    return decided, training, stats


def rule_names(rules_mask: pl.Expr, rules: tuple[BlockingRule, ...]) -> pl.Expr:
    """The comma-joined names of the rules whose bits are set."""
    names = [
        pl.when((rules_mask & (1 << bit)) != 0).then(pl.lit(rule.name)) for bit, rule in enumerate(rules)
    ]
    return pl.concat_str(names, separator=",", ignore_nulls=True)

"""Fellegi-Sunter match weights, learned each run from the data's own labels.

Pairs whose two records both carry a valid USCC are labelled for free: same code = match, different
codes = non-match. Their level frequencies give m = P(level | match) and u = P(level | non-match) for each
feature, and the weight of a level is log2(m / u). The USCC feature itself cannot be learned that way
(every labelled pair agrees or disagrees by construction), so its weights are fixed below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from pipelines.domain.resolution.compare import LEARNED_FEATURES

# log2 Bayes factors: an identical (even if invalid, e.g. a pilot) code, one keystroke from a valid code,
# two different codes, no code on one side.
USCC_WEIGHTS = {"same": 12.0, "near": 9.0, "diff": -6.0, "null": 0.0}
SMOOTHING = 1.0


@dataclass(frozen=True)
class MatchModel:
    prior_log2_odds: float
    weights: dict[str, dict[str, float]]  # feature -> level -> weight
    training_pairs: int
    training_matches: int

    def as_frame(self) -> pl.DataFrame:
        rows = [(f, level, w) for f, levels in self.weights.items() for level, w in sorted(levels.items())]
        return pl.DataFrame(rows, schema={"feature": pl.String, "level": pl.String, "weight": pl.Float64}, orient="row")


def learn(labelled: pl.DataFrame) -> MatchModel:
    """Weights from level frequencies among labelled pairs (`is_match` column)."""
    matches = labelled.filter(pl.col("is_match")).height
    non_matches = labelled.height - matches
    weights: dict[str, dict[str, float]] = {"uscc": dict(USCC_WEIGHTS)}
    for feature in LEARNED_FEATURES:
        counts = labelled.group_by(f"{feature}_level").agg(
            m=pl.col("is_match").sum(), u=(~pl.col("is_match")).sum()
        )
        levels = counts[f"{feature}_level"].to_list()
        table = {}
        for level, m, u in counts.select(f"{feature}_level", "m", "u").iter_rows():
            m_rate = (m + SMOOTHING) / (matches + SMOOTHING * len(levels))
            u_rate = (u + SMOOTHING) / (non_matches + SMOOTHING * len(levels))
            table[level] = 0.0 if level == "null" else math.log2(m_rate / u_rate)
        weights[feature] = table
    prior = math.log2((matches + SMOOTHING) / (non_matches + SMOOTHING))
    return MatchModel(prior, weights, labelled.height, matches)


def score(pairs: pl.DataFrame, model: MatchModel) -> pl.DataFrame:
    """Adds `<feature>_weight`, `match_weight` and `match_probability` (0 for a branch/parent pair)."""
    weighted = pairs.with_columns(
        [
            pl.col(f"{feature}_level").replace_strict(levels, default=0.0, return_dtype=pl.Float64).alias(f"{feature}_weight")
            for feature, levels in model.weights.items()
        ]
    )
    total = pl.lit(model.prior_log2_odds) + pl.sum_horizontal([f"{f}_weight" for f in model.weights])
    probability = 1 / (1 + (pl.lit(2.0) ** (-total)))
    return weighted.with_columns(
        match_weight=total,
        match_probability=pl.when(pl.col("branch_conflict")).then(0.0).otherwise(probability),
    )

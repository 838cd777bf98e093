"""Fellegi-Sunter match weights, learned from the data's own labels on the first night and when retrained.

Pairs whose two records both carry a valid USCC are labelled for free: same code = match, different
codes = non-match. Their level frequencies give m = P(level | match) and u = P(level | non-match) for each
feature, and the weight of a level is log2(m / u). The USCC feature itself cannot be learned that way
(every labelled pair agrees or disagrees by construction), so its weights are fixed in settings.toml.

Small installations (or tests) have few labelled pairs: the learned rates are smoothed towards prior
rates (settings.toml [matching.priors], worth `strength` pairs of each class), so the data speaks once there is enough.

Fellegi-Sunter multiplies features as if independent; they are not (a different district implies a
different address; an exact name and the same legal representative together are rarer among non-matches
than apart). So the labelled pairs also give the match rate of each whole comparison pattern (source pair
and every feature's level), shrunk towards the independent model's probability with `pattern_strength`
pseudo-pairs: common patterns speak for themselves, rare ones fall back on the weights. USCC evidence is
added on top as log-odds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from pipelines.domain.resolution.compare import LEARNED_FEATURES
from pipelines.domain.settings import PriorSettings

PATTERN_COLUMNS = ["source_pair", *[f"{f}_level" for f in LEARNED_FEATURES]]
WEIGHTS_SCHEMA = {"feature": pl.String, "level": pl.String, "weight": pl.Float64}
MODEL_ROW = "(model)"
MODEL_NUMBERS = ("prior_log2_odds", "training_pairs", "training_matches", "pattern_strength")


@dataclass(frozen=True)
class MatchModel:
    prior_log2_odds: float
    weights: dict[str, dict[str, float]]  # feature -> level -> weight
    patterns: pl.DataFrame  # PATTERN_COLUMNS, pattern_pairs, pattern_matches
    training_pairs: int
    training_matches: int
    pattern_strength: float

    def as_frame(self) -> pl.DataFrame:
        """Every level's weight, and the model's own numbers as rows of the feature `(model)`."""
        rows = [(f, level, w) for f, levels in self.weights.items() for level, w in sorted(levels.items())]
        rows += [(MODEL_ROW, name, float(getattr(self, name))) for name in MODEL_NUMBERS]
        return pl.DataFrame(rows, schema=WEIGHTS_SCHEMA, orient="row")

    @classmethod
    def from_frames(cls, weights: pl.DataFrame, patterns: pl.DataFrame) -> MatchModel:
        """The model stored by `as_frame` and `patterns` (a night scores with the stored model)."""
        table: dict[str, dict[str, float]] = {}
        for feature, level, weight in weights.iter_rows():
            table.setdefault(feature, {})[level] = weight
        numbers = table.pop(MODEL_ROW)
        return cls(
            numbers["prior_log2_odds"],
            table,
            patterns.select(*PATTERN_COLUMNS, "pattern_pairs", "pattern_matches"),
            int(numbers["training_pairs"]),
            int(numbers["training_matches"]),
            numbers["pattern_strength"],
        )


def learn(labelled: pl.DataFrame, priors: PriorSettings) -> MatchModel:
    """Weights from level frequencies among labelled pairs (`is_match` column), shrunk towards `priors`."""
    matches = labelled.filter(pl.col("is_match")).height
    weights: dict[str, dict[str, float]] = {"uscc": dict(priors.uscc_weights)}
    for feature in LEARNED_FEATURES:
        present = labelled.filter(pl.col(f"{feature}_level") != "null")
        m_total, u_total = present["is_match"].sum(), (~present["is_match"]).sum()
        counts = dict(
            (level, (m, u))
            for level, m, u in present.group_by(f"{feature}_level")
            .agg(m=pl.col("is_match").sum(), u=(~pl.col("is_match")).sum())
            .iter_rows()
        )
        table = {"null": 0.0}
        for level, (m0, u0) in priors.rates[feature].items():
            m, u = counts.get(level, (0, 0))
            m_rate = (m + priors.strength * m0) / (m_total + priors.strength)
            u_rate = (u + priors.strength * u0) / (u_total + priors.strength)
            table[level] = math.log2(m_rate / u_rate)
        weights[feature] = table
    share = (matches + priors.strength * priors.match_share) / (labelled.height + priors.strength)
    patterns = (
        with_source_pair(labelled)
        .group_by(PATTERN_COLUMNS)
        .agg(
            pattern_pairs=pl.len().cast(pl.Float64), pattern_matches=pl.col("is_match").sum().cast(pl.Float64)
        )
    )
    return MatchModel(
        math.log2(share / (1 - share)), weights, patterns, labelled.height, matches, priors.pattern_strength
    )


def with_source_pair(pairs: pl.DataFrame) -> pl.DataFrame:
    return pairs.with_columns(
        source_pair=pl.concat_str(
            pl.min_horizontal("source_l", "source_r"),
            pl.max_horizontal("source_l", "source_r"),
            separator="|",
        )
    )


def score(pairs: pl.DataFrame, model: MatchModel) -> pl.DataFrame:
    """Adds `<feature>_weight`, `independent_probability`, `pattern_pairs`/`pattern_matches`, `match_weight`
    (log2 odds) and `match_probability` (0 for a branch/parent pair)."""
    weighted = with_source_pair(pairs).with_columns(
        [
            pl.col(f"{feature}_level")
            .replace_strict(levels, default=0.0, return_dtype=pl.Float64)
            .alias(f"{feature}_weight")
            for feature, levels in model.weights.items()
        ]
    )
    independent = pl.lit(model.prior_log2_odds) + pl.sum_horizontal([f"{f}_weight" for f in LEARNED_FEATURES])
    weighted = weighted.with_columns(independent_probability=_probability(independent)).join(
        model.patterns, on=PATTERN_COLUMNS, how="left"
    )
    rate = (
        pl.col("pattern_matches").fill_null(0) + model.pattern_strength * pl.col("independent_probability")
    ) / (pl.col("pattern_pairs").fill_null(0) + model.pattern_strength)
    clipped = rate.clip(1e-9, 1 - 1e-9)
    total = (clipped / (1 - clipped)).log(2) + pl.col("uscc_weight")
    return weighted.with_columns(
        match_weight=total,
        match_probability=pl.when(pl.col("branch_conflict")).then(0.0).otherwise(_probability(total)),
    )


def _probability(log2_odds: pl.Expr) -> pl.Expr:
    return 1 / (1 + (pl.lit(2.0) ** (-log2_odds)))

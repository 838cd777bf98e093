"""Fellegi-Sunter match weights, learned each run from the data's own labels.

Pairs whose two records both carry a valid USCC are labelled for free: same code = match, different
codes = non-match. Their level frequencies give m = P(level | match) and u = P(level | non-match) for each
feature, and the weight of a level is log2(m / u). The USCC feature itself cannot be learned that way
(every labelled pair agrees or disagrees by construction), so its weights are fixed below.

Small installations (or tests) have few labelled pairs: the learned rates are smoothed towards prior
rates (PRIOR_RATES, worth PRIOR_STRENGTH pairs of each class), so the data speaks once there is enough.

Fellegi-Sunter multiplies features as if independent; they are not (a different district implies a
different address; an exact name and the same legal representative together are rarer among non-matches
than apart). So the labelled pairs also give the match rate of each whole comparison pattern (source pair
and every feature's level), shrunk towards the independent model's probability with PATTERN_STRENGTH
pseudo-pairs: common patterns speak for themselves, rare ones fall back on the weights. USCC evidence is
added on top as log-odds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from pipelines.domain.resolution.compare import LEARNED_FEATURES

# log2 Bayes factors: an identical (even if invalid, e.g. a pilot) code, one keystroke from a valid code,
# two different codes, no code on one side.
USCC_WEIGHTS = {"same": 12.0, "near": 9.0, "diff": -6.0, "null": 0.0}
PRIOR_STRENGTH = 200.0
PRIOR_MATCH_SHARE = 0.2  # of candidate pairs
# feature -> level -> (m, u): P(level | match), P(level | non-match) among candidate pairs.
PRIOR_RATES: dict[str, dict[str, tuple[float, float]]] = {
    "name": {
        "exact": (0.55, 0.15),
        "high": (0.25, 0.05),
        "mid": (0.1, 0.15),
        "contains": (0.05, 0.1),
        "diff": (0.05, 0.55),
        "operator": (0.05, 0.05),  # named after the other side's legal rep (see compare.named_after_operator)
    },
    "location": {
        "exact": (0.45, 0.02),
        "high": (0.2, 0.04),
        "mid": (0.08, 0.08),
        "same_district": (0.24, 0.56),
        "other_district": (0.03, 0.3),
    },
    "legal_rep": {"same": (0.9, 0.15), "diff": (0.1, 0.85)},
    "phone": {"same": (0.9, 0.05), "diff": (0.1, 0.95)},
}


PATTERN_STRENGTH = 2.0
PATTERN_COLUMNS = ["source_pair", *[f"{f}_level" for f in LEARNED_FEATURES]]


@dataclass(frozen=True)
class MatchModel:
    prior_log2_odds: float
    weights: dict[str, dict[str, float]]  # feature -> level -> weight
    patterns: pl.DataFrame  # PATTERN_COLUMNS, pattern_pairs, pattern_matches
    training_pairs: int
    training_matches: int

    def as_frame(self) -> pl.DataFrame:
        rows = [(f, level, w) for f, levels in self.weights.items() for level, w in sorted(levels.items())]
        return pl.DataFrame(
            rows, schema={"feature": pl.String, "level": pl.String, "weight": pl.Float64}, orient="row"
        )


def learn(labelled: pl.DataFrame) -> MatchModel:
    """Weights from level frequencies among labelled pairs (`is_match` column)."""
    matches = labelled.filter(pl.col("is_match")).height
    weights: dict[str, dict[str, float]] = {"uscc": dict(USCC_WEIGHTS)}
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
        for level, (m0, u0) in PRIOR_RATES[feature].items():
            m, u = counts.get(level, (0, 0))
            m_rate = (m + PRIOR_STRENGTH * m0) / (m_total + PRIOR_STRENGTH)
            u_rate = (u + PRIOR_STRENGTH * u0) / (u_total + PRIOR_STRENGTH)
            table[level] = math.log2(m_rate / u_rate)
        weights[feature] = table
    share = (matches + PRIOR_STRENGTH * PRIOR_MATCH_SHARE) / (labelled.height + PRIOR_STRENGTH)
    patterns = (
        with_source_pair(labelled)
        .group_by(PATTERN_COLUMNS)
        .agg(
            pattern_pairs=pl.len().cast(pl.Float64), pattern_matches=pl.col("is_match").sum().cast(pl.Float64)
        )
    )
    return MatchModel(math.log2(share / (1 - share)), weights, patterns, labelled.height, matches)


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
    rate = (pl.col("pattern_matches").fill_null(0) + PATTERN_STRENGTH * pl.col("independent_probability")) / (
        pl.col("pattern_pairs").fill_null(0) + PATTERN_STRENGTH
    )
    clipped = rate.clip(1e-9, 1 - 1e-9)
    total = (clipped / (1 - clipped)).log(2) + pl.col("uscc_weight")
    return weighted.with_columns(
        match_weight=total,
        match_probability=pl.when(pl.col("branch_conflict")).then(0.0).otherwise(_probability(total)),
    )


def _probability(log2_odds: pl.Expr) -> pl.Expr:
    return 1 / (1 + (pl.lit(2.0) ** (-log2_odds)))

"""Resolve every source record to an entity: the whole pipeline of this package in one call."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import polars as pl

from pipelines.domain.resolution import blocking, clusters, compare, entity_ids, weights
from pipelines.domain.resolution.records import entity_records
from pipelines.domain.settings import MatchingSettings

JUDGEMENT_SCHEMA = {
    "action": pl.String,
    "left_source": pl.String,
    "left_key": pl.String,
    "right_source": pl.String,
    "right_key": pl.String,
}
EXPLAINED_COLUMNS = [
    "source_l", "record_key_l", "source_r", "record_key_r", "rules", "name_sim", "address_sim",
    "name_level", "location_level", "legal_rep_level", "phone_level", "uscc_level",
    "name_weight", "location_weight", "legal_rep_weight", "phone_weight", "uscc_weight",
    "match_weight", "match_probability", "linked", "refused_because",
]  # fmt: skip


LABELLED_COLUMNS = ["source_l", "source_r", *[f"{f}_level" for f in compare.LEARNED_FEATURES]]


@dataclass
class Resolution:
    xref: pl.DataFrame  # source, record_key, entity_id, match_method, match_score
    pairs: (
        pl.DataFrame
    )  # fuzzy pairs at least near_miss_probability likely, explained: levels, weights, linked or why not
    model: weights.MatchModel
    records: pl.DataFrame  # the records as resolved (records.RECORD_SCHEMA)
    stats: dict = field(default_factory=dict)


def resolve_entities(
    registration: pl.DataFrame,
    licensing: pl.DataFrame,
    district: pl.DataFrame,
    judgements: pl.DataFrame,
    previous_xref: pl.DataFrame | None,
    highest_issued: int,
    settings: MatchingSettings,
    model: weights.MatchModel | None = None,
) -> Resolution:
    """Every record re-resolved. Weights are learned here only when no stored `model` is given."""
    clock = Stopwatch()
    records = entity_records(registration, licensing, district)
    clock.lap("records")
    share = (
        blocking.training_share(records, settings.blocking, settings.max_block_size, settings.training_pairs)
        if model is None
        else 0.0
    )
    candidates, training, block_stats = blocking.candidate_pairs(
        records, settings.blocking, settings.max_block_size, share
    )
    clock.lap("blocking")
    if model is None:
        model = weights.learn(labelled_pairs(training, records, settings), settings.priors)
        clock.lap("training")
    scored = scored_pairs(candidates, records, model, settings)
    clock.lap("scoring")
    xref, decided = decide(records, scored, judgements, previous_xref, highest_issued, settings)
    clock.lap("clustering and ids")
    stats = {
        "mode": "full",
        "records": records.height,
        "affected_records": records.height,
        "candidate_pairs": candidates.height,
        "training_pairs": model.training_pairs,
        "linked_pairs": int(decided["linked"].sum()),
        "entities": xref["entity_id"].n_unique(),
        "blocking": block_stats,
        "seconds": clock.timings,
    }
    return Resolution(xref, explained(decided, records, settings), model, records, stats)


def train(
    registration: pl.DataFrame, licensing: pl.DataFrame, district: pl.DataFrame, settings: MatchingSettings
) -> weights.MatchModel:
    """Learn the weights afresh from pairs whose records both carry a valid USCC (retraining)."""
    records = entity_records(registration, licensing, district)
    share = blocking.training_share(
        records, settings.blocking, settings.max_block_size, settings.training_pairs
    )
    _, training, _ = blocking.candidate_pairs(records, settings.blocking, settings.max_block_size, share)
    return weights.learn(labelled_pairs(training, records, settings), settings.priors)


class Stopwatch:
    """Seconds per step, for the run's metadata."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.clock = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.timings[step] = round(now - self.clock, 2)
        self.clock = now


def labelled_pairs(training: pl.DataFrame, records: pl.DataFrame, settings: MatchingSettings) -> pl.DataFrame:
    """Training pairs with their levels, labelled by whether their valid USCCs agree."""
    return pl.concat(
        [
            compare.levels(compare.with_attributes(chunk, records)).select(
                *LABELLED_COLUMNS, is_match=pl.col("uscc_l") == pl.col("uscc_r")
            )
            for chunk in training.iter_slices(settings.chunk_pairs)
        ]
        or [pl.DataFrame(schema={c: pl.String for c in LABELLED_COLUMNS} | {"is_match": pl.Boolean})]
    )


def scored_pairs(
    candidates: pl.DataFrame, records: pl.DataFrame, model: weights.MatchModel, settings: MatchingSettings
) -> pl.DataFrame:
    """Candidate pairs scored, keeping only those at least near-miss likely.

    Scored in chunks so that memory follows the links, not the pairs."""
    chunks = [
        weights.score(compare.levels(compare.with_attributes(chunk, records)), model).filter(
            pl.col("match_probability") >= settings.near_miss_probability
        )
        for chunk in (candidates.iter_slices(settings.chunk_pairs) if candidates.height else [candidates])
    ]
    return pl.concat(chunks, how="vertical_relaxed")


def decide(
    records: pl.DataFrame,
    scored: pl.DataFrame,
    judgements: pl.DataFrame,
    previous_xref: pl.DataFrame | None,
    highest_issued: int,
    settings: MatchingSettings,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(xref of `records`, scored pairs with `linked` / `refused_because`): clusters under the hard
    constraints, then stable ids. Near misses come back refused as below the match threshold."""
    accepted = scored.filter(pl.col("match_probability") >= settings.match_probability)
    same, different = judged_pairs(judgements, records)
    assignment, decided = clusters.resolve(
        records, accepted, same, different, settings.registration_pair_probability
    )
    keyed = assignment.join(records.select("rid", "source", "record_key"), on="rid")
    ids = entity_ids.assign(keyed, previous_xref, highest_issued)
    xref = keyed.join(ids, on="cluster").select(
        "source", "record_key", "entity_id", "match_method", "match_score"
    )
    near_misses = scored.filter(pl.col("match_probability") < settings.match_probability).with_columns(
        refused_because=pl.lit("below the match threshold"), linked=pl.lit(False)
    )
    return xref.sort("source", "record_key"), pl.concat([decided, near_misses], how="diagonal_relaxed")


def explained(decided: pl.DataFrame, records: pl.DataFrame, settings: MatchingSettings) -> pl.DataFrame:
    """Decided pairs named by their records (source, record_key) and their blocking rules' names."""
    keys = records.select("rid", "source", "record_key")
    named = decided.join(
        keys.rename({"rid": "rid_l", "source": "source_l", "record_key": "record_key_l"}), on="rid_l"
    ).join(keys.rename({"rid": "rid_r", "source": "source_r", "record_key": "record_key_r"}), on="rid_r")
    named = named.with_columns(rules=blocking.rule_names(pl.col("rules"), settings.blocking))
    return named.select(EXPLAINED_COLUMNS)


def judged_pairs(
    judgements: pl.DataFrame, records: pl.DataFrame
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(same, different) judgements as rid pairs; judgements naming unknown records are ignored here
    (the corrections import quarantines them)."""
    keys = records.select("rid", "source", "record_key")
    pairs = judgements.join(
        keys.rename({"rid": "rid_l", "source": "left_source", "record_key": "left_key"}),
        on=["left_source", "left_key"],
    ).join(
        keys.rename({"rid": "rid_r", "source": "right_source", "record_key": "right_key"}),
        on=["right_source", "right_key"],
    )

    def of(action: str) -> list[tuple[int, int]]:
        return [
            tuple(p) for p in pairs.filter(pl.col("action") == action).select("rid_l", "rid_r").iter_rows()
        ]

    return of("same"), of("different")

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
    stats: dict = field(default_factory=dict)


def resolve_entities(
    registration: pl.DataFrame,
    licensing: pl.DataFrame,
    district: pl.DataFrame,
    judgements: pl.DataFrame,
    previous_xref: pl.DataFrame | None,
    highest_issued: int,
    settings: MatchingSettings,
) -> Resolution:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[step] = round(now - clock, 2)
        clock = now

    records = entity_records(registration, licensing, district)
    lap("records")
    share = blocking.training_share(
        records, settings.blocking, settings.max_block_size, settings.training_pairs
    )
    candidates, training, block_stats = blocking.candidate_pairs(
        records, settings.blocking, settings.max_block_size, share
    )
    lap("blocking")
    labelled = pl.concat(
        [
            compare.levels(compare.with_attributes(chunk, records)).select(
                *LABELLED_COLUMNS, is_match=pl.col("uscc_l") == pl.col("uscc_r")
            )
            for chunk in training.iter_slices(settings.chunk_pairs)
        ]
        or [pl.DataFrame(schema={c: pl.String for c in LABELLED_COLUMNS} | {"is_match": pl.Boolean})]
    )
    model = weights.learn(labelled, settings.priors)
    lap("training")
    # Scored in chunks, keeping only pairs likely enough to matter, so memory follows the links, not the pairs.
    scored = (
        pl.concat(
            [
                weights.score(compare.levels(compare.with_attributes(chunk, records)), model).filter(
                    pl.col("match_probability") >= settings.near_miss_probability
                )
                for chunk in candidates.iter_slices(settings.chunk_pairs)
            ],
            how="vertical_relaxed",
        )
        if candidates.height
        else weights.score(compare.levels(compare.with_attributes(candidates, records)), model)
    )
    lap("scoring")
    accepted = scored.filter(pl.col("match_probability") >= settings.match_probability)
    same, different = judged_pairs(judgements, records)
    assignment, decided = clusters.resolve(
        records, accepted, same, different, settings.registration_pair_probability
    )
    lap("clustering")
    keyed = assignment.join(records.select("rid", "source", "record_key"), on="rid")
    ids = entity_ids.assign(keyed, previous_xref, highest_issued)
    xref = keyed.join(ids, on="cluster").select(
        "source", "record_key", "entity_id", "match_method", "match_score"
    )
    lap("entity_ids")
    near_misses = scored.filter(
        pl.col("match_probability").is_between(
            settings.near_miss_probability, settings.match_probability, closed="left"
        )
    )
    decided = pl.concat(
        [
            decided,
            near_misses.with_columns(
                refused_because=pl.lit("below the match threshold"), linked=pl.lit(False)
            ),
        ],
        how="diagonal_relaxed",
    )
    explained = decided.join(
        records.select(rid_l="rid", source_l="source", record_key_l="record_key"), on="rid_l"
    ).join(records.select(rid_r="rid", source_r="source", record_key_r="record_key"), on="rid_r")
    stats = {
        "records": records.height,
        "candidate_pairs": candidates.height,
        "training_pairs": labelled.height,
        "accepted_pairs": accepted.height,
        "linked_pairs": int(decided["linked"].sum()),
        "entities": ids.height,
        "blocking": block_stats,
        "seconds": timings,
    }
    explained = explained.with_columns(rules=blocking.rule_names(pl.col("rules"), settings.blocking))
    return Resolution(xref.sort("source", "record_key"), explained.select(EXPLAINED_COLUMNS), model, stats)


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

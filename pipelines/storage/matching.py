"""What entity resolution keeps in the lake between nights: the stored weights and the state that lets a
night re-resolve only what changed (pipelines/domain/resolution/incremental.py)."""

from __future__ import annotations

import polars as pl

from pipelines.domain.contract import ENTITY_SOURCES
from pipelines.domain.resolution import incremental
from pipelines.domain.resolution.records import SILVER_COLUMNS
from pipelines.domain.resolution.weights import MODEL_ROW, MatchModel
from pipelines.domain.settings import PriorSettings
from pipelines.storage import catalog
from pipelines.storage.lake import Lake


def silver_records(lake: Lake) -> list[pl.DataFrame]:
    """Each entity source's silver records, only the columns resolution compares (registration first)."""
    return [lake.read(catalog.silver(source), SILVER_COLUMNS[source]) for source in ENTITY_SOURCES]


def stored_model(lake: Lake, priors: PriorSettings) -> MatchModel | None:
    """The weights nights score with; None before the first training, or when they were learned for other
    comparison levels than this version's (a lake from an older version trains again, once)."""
    weights, patterns = lake.read(catalog.MATCH_WEIGHTS), lake.read(catalog.MATCH_PATTERNS)
    if weights is None or patterns is None or weights.filter(pl.col("feature") == MODEL_ROW).is_empty():
        return None
    model = MatchModel.from_frames(weights, patterns)
    levels = {feature: {"null", *rates} for feature, rates in priors.rates.items()}
    if any(set(model.weights.get(feature, {})) != wanted for feature, wanted in levels.items()):
        return None
    return model


def save_model(lake: Lake, model: MatchModel) -> None:
    lake.overwrite(catalog.MATCH_WEIGHTS, model.as_frame())
    lake.overwrite(catalog.MATCH_PATTERNS, model.patterns.sort(pl.all()))


def previous(lake: Lake) -> incremental.Previous | None:
    """Last night's resolution, or None when the next one must resolve everything: the first night, or
    after the weights were retrained (every score changes then)."""
    records, pairs, xref = (
        lake.read(t) for t in (catalog.MATCH_RECORDS, catalog.MATCH_PAIRS, catalog.ENTITY_XREF)
    )
    if records is None or pairs is None or xref is None or records.is_empty():
        return None
    if set(incremental.STATE_SCHEMA) - set(records.columns):  # resolved by an older version: resolve all
        return None
    return incremental.Previous(records, pairs, xref)


def save_state(
    lake: Lake, records: pl.DataFrame, judgements: pl.DataFrame, stored: pl.DataFrame | None = None
) -> None:
    """`stored`: the state as `previous` read it this run (None reads it)."""
    state = incremental.state(records, judgements)
    lake.sync(catalog.MATCH_RECORDS, state, key=["source", "record_key"], current=stored)


def forget_state(lake: Lake) -> None:
    """The next night resolves every record again (written before new weights, so a run killed in between
    still resolves everything)."""
    lake.overwrite(catalog.MATCH_RECORDS, pl.DataFrame(schema=incremental.STATE_SCHEMA))

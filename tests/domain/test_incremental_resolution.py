"""Incremental resolution equals a full re-resolution with the same stored weights, after any sequence of
nights: records added, changed and gone, and steward judgements, on crowded blocks (a few names, addresses
and people shared by many records, so changes ripple through blocks and components) and on sparse ones (every
name, address and person its own, so records meet only through a shared USCC)."""

from __future__ import annotations

import random

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.domain.resolution import incremental
from pipelines.domain.resolution.records import SILVER_COLUMNS
from pipelines.domain.resolution.resolve import JUDGEMENT_SCHEMA, resolve_entities
from pipelines.domain.resolution.weights import MatchModel
from pipelines.domain.settings import load
from tests.factories import valid_uscc

MATCHING = load().matching
NAMES = ["甬兴电子", "甬兴电子科技", "海曙老王", "海曙老王面馆", "恒达五金", "恒大五金", "明辉贸易", None]
BRANCHES = [None, None, None, "江北"]
PEOPLE = ["陈国华", "李明", "王芳", "张伟", None]
ADDRESSES = ["天童南路100号", "天童南路10号", "日丽中路8号", "中山路5号", None]
DISTRICTS = ["330212", "330203", "330205"]
CODES = [valid_uscc(f"9133021{d}MA2AB123{d}") for d in range(6)]


def record(rng: random.Random, source: str, key: str, crowded: bool = True) -> dict:
    code = rng.choice([*CODES, None, None, "9133021XXX"])
    if not crowded:  # no block holds two records: only the codes connect them
        return sparse(rng, source, key, code)
    row = {
        "record_key": key,
        "uscc": code,
        "uscc_is_valid": code in CODES,
        "name_clean": None,
        "name_key": rng.choice(NAMES),
        "branch_marker": rng.choice(BRANCHES),
        "legal_rep_clean": rng.choice(PEOPLE),
        "address_key": rng.choice(ADDRESSES),
        "district_code": rng.choice(DISTRICTS),
    }
    row["name_clean"] = row["name_key"]
    if source != "licensing":
        row["phone"] = rng.choice(["13800000001", "13800000002", None])
    if source == "registration":
        row["reg_no"] = rng.choice(["330212000000001", "330212000000002", None])
    return row


def sparse(rng: random.Random, source: str, key: str, code: str | None) -> dict:
    unique = f"{key}-{rng.randrange(10**9)}"
    row = {
        "record_key": key,
        "uscc": code,
        "uscc_is_valid": code in CODES,
        "name_clean": f"独{unique}",
        "name_key": f"独{unique}",
        "branch_marker": None,
        "legal_rep_clean": f"人{unique}",
        "address_key": f"{unique}号",
        "district_code": rng.choice(DISTRICTS),
    }
    if source != "licensing":
        row["phone"] = None
    if source == "registration":
        row["reg_no"] = None
    return row


def frames(rows: dict[str, dict[str, dict]]) -> list[pl.DataFrame]:
    schema = {
        "record_key": pl.String, "uscc": pl.String, "uscc_is_valid": pl.Boolean, "name_clean": pl.String,
        "name_key": pl.String, "branch_marker": pl.String, "legal_rep_clean": pl.String,
        "address_key": pl.String, "district_code": pl.String, "phone": pl.String, "reg_no": pl.String,
    }  # fmt: skip
    return [
        pl.DataFrame(
            list(rows[source].values()), schema={c: schema[c] for c in SILVER_COLUMNS[source]}, orient="row"
        )
        for source in ("registration", "licensing", "district")
    ]


def next_night(rng: random.Random, rows: dict[str, dict[str, dict]], night: int, crowded: bool) -> None:
    """A few records added, changed and gone in each source."""
    for source, keyed in rows.items():
        for i in range(rng.randint(0, 4)):
            key = f"{source[0]}{night}-{i}"
            keyed[key] = record(rng, source, key, crowded)
        for key in rng.sample(sorted(keyed), min(len(keyed), rng.randint(0, 3))):
            keyed[key] = record(rng, source, key, crowded)
        for key in rng.sample(sorted(keyed), min(len(keyed), rng.randint(0, 2))):
            del keyed[key]


def judged(rng: random.Random, rows: dict[str, dict[str, dict]], count: int) -> pl.DataFrame:
    keys = [(s, k) for s, keyed in rows.items() for k in keyed]
    picks = [(rng.choice(["same", "different"]), *rng.choice(keys), *rng.choice(keys)) for _ in range(count)]
    picks = [p for p in picks if p[1:3] != p[3:5]]
    return pl.DataFrame(picks, schema=JUDGEMENT_SCHEMA, orient="row")


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(sorted(frame.columns)).sort(sorted(frame.columns), nulls_last=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), nights=st.integers(1, 4), size=st.integers(5, 40), crowded=st.booleans())
def test_incremental_equals_full_resolution_night_after_night(
    seed: int, nights: int, size: int, crowded: bool
) -> None:
    rng = random.Random(seed)
    rows = {
        source: {f"{source[0]}0-{i}": record(rng, source, f"{source[0]}0-{i}", crowded) for i in range(size)}
        for source in ("registration", "licensing", "district")
    }
    judgements = pl.DataFrame(schema=JUDGEMENT_SCHEMA)
    first = resolve_entities(*frames(rows), judgements, None, 0, MATCHING)
    model = MatchModel.from_frames(first.model.as_frame(), first.model.patterns)
    records = incremental.state(_records(rows), judgements)
    previous = incremental.Previous(records, first.pairs, first.xref)
    highest = _highest(first.xref, 0)
    for night in range(1, nights + 1):
        next_night(rng, rows, night, crowded)
        judgements = judged(rng, rows, rng.randint(0, 3)) if rng.random() < 0.5 else judgements.clear()
        full = resolve_entities(*frames(rows), judgements, previous.xref, highest, MATCHING, model)
        changed = incremental.resolve_changes(*frames(rows), judgements, previous, highest, MATCHING, model)
        assert canonical(changed.xref).equals(canonical(full.xref)), f"night {night}: xref differs"
        assert canonical(changed.pairs).equals(canonical(full.pairs)), f"night {night}: pairs differ"
        previous = incremental.Previous(incremental.state(_records(rows), judgements), full.pairs, full.xref)
        highest = _highest(full.xref, highest)


def _records(rows: dict[str, dict[str, dict]]) -> pl.DataFrame:
    from pipelines.domain.resolution.records import entity_records

    return entity_records(*frames(rows))


def _highest(xref: pl.DataFrame, before: int) -> int:
    numbers = xref["entity_id"].str.slice(1).cast(pl.Int64)
    return max(before, numbers.max() or 0)

"""Addresses: 宁波市{district}{street}{road}{n}号[...室], drawn per district from divisions.py's streets."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.domain.divisions import CITY_NAME, DIVISIONS
from pipelines.demo.vocab import BUILDING_WORDS, REAL_ROADS, ROAD_STEMS, ROAD_SUFFIXES, ZIHAO_CHARS

ROADS_PER_DISTRICT = 60
ADDRESS_PARTS = ("district_name", "street", "road", "number", "extra")


def road_table(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each district's roads: its real ones and generated stem + suffix names (distinct within a district)."""
    roads: dict[str, np.ndarray] = {}
    for division in DIVISIONS:
        names = list(REAL_ROADS[division.code])
        while len(names) < ROADS_PER_DISTRICT:
            name = ROAD_STEMS[rng.integers(len(ROAD_STEMS))] + ROAD_SUFFIXES[rng.integers(len(ROAD_SUFFIXES))]
            if name not in names:
                names.append(name)
        roads[division.code] = np.array(names)
    return roads


def _pick_per_district(rng: np.random.Generator, district_index: np.ndarray, table: list[list[str]]) -> pl.Series:
    """One item per row from its district's list (vectorised: a flat list and per-district offsets)."""
    flat = pl.Series([item for items in table for item in items], dtype=pl.Utf8)
    counts = np.array([len(items) for items in table])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return flat.gather(offsets[district_index] + rng.integers(0, 2**31, size=district_index.size) % counts[district_index])


def _vocabulary(values: tuple[str, ...] | list[str], rng: np.random.Generator, n: int) -> pl.Series:
    return pl.Series(list(values), dtype=pl.Utf8).gather(rng.integers(0, len(values), size=n))


def draw(rng: np.random.Generator, districts: np.ndarray, roads: dict[str, np.ndarray]) -> pl.DataFrame:
    """Address parts for premises in the given districts."""
    n = districts.size
    order = [d.code for d in DIVISIONS]
    index = pl.Series(districts, dtype=pl.Utf8).replace_strict({c: i for i, c in enumerate(order)}, return_dtype=pl.Int64).to_numpy()
    number = (np.exp(rng.uniform(0, np.log(1200), size=n)).astype(np.int64) + 1)
    parts = pl.DataFrame(
        {
            "district_name": pl.Series([d.name for d in DIVISIONS]).gather(index),
            "street": _pick_per_district(rng, index, [list(d.streets) for d in DIVISIONS]),
            "road": _pick_per_district(rng, index, [roads[c].tolist() for c in order]),
            "number": pl.Series(number).cast(pl.Utf8),
            "room": pl.Series(rng.integers(1, 26, size=n) * 100 + rng.integers(1, 16, size=n)).cast(pl.Utf8),
            "building": pl.Series(rng.integers(1, 30, size=n)).cast(pl.Utf8),
            "tower": _vocabulary(ZIHAO_CHARS, rng, n) + _vocabulary(ZIHAO_CHARS, rng, n) + _vocabulary(BUILDING_WORDS, rng, n),
            "form": rng.choice(4, size=n, p=[0.45, 0.2, 0.2, 0.15]),
        }
    )
    room = pl.col("room") + pl.lit("室")
    extra = (
        pl.when(pl.col("form") == 0).then(pl.lit(""))
        .when(pl.col("form") == 1).then(room)
        .when(pl.col("form") == 2).then(pl.concat_str([pl.col("building"), pl.lit("幢"), room]))
        .otherwise(pl.concat_str([pl.lit("（"), pl.col("tower"), pl.lit("）"), room]))
    )
    return parts.select("district_name", "street", "road", "number", extra=extra)


def moved(rng: np.random.Generator, districts: np.ndarray, current: pl.DataFrame, roads: dict[str, np.ndarray]) -> pl.DataFrame:
    """A different address in the same district: always another road or number, so never a formatting twin."""
    fresh = draw(rng, districts, roads)
    same_spot = (fresh["road"] == current["road"]) & (fresh["number"] == current["number"])
    bumped = (fresh["number"].cast(pl.Int64) + 1).cast(pl.Utf8)
    return fresh.with_columns(number=pl.when(same_spot).then(bumped).otherwise(fresh["number"]))


def canonical(prefix: str = "") -> pl.Expr:
    """The registered form of an address from its parts (columns named `prefix` + part)."""
    p = {part: pl.col(prefix + part) for part in ADDRESS_PARTS}
    return pl.concat_str([pl.lit(CITY_NAME), p["district_name"], p["street"], p["road"], p["number"], pl.lit("号"), p["extra"]])

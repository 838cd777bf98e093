"""Addresses: 宁波市{district}{street}{road}{n}号[...室], drawn per district from divisions.py's streets."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.demo.vocab import BUILDING_WORDS, REAL_ROADS, ROAD_STEMS, ROAD_SUFFIXES, ZIHAO_CHARS
from pipelines.domain.divisions import CITY_NAME, DIVISIONS

ROADS_PER_DISTRICT = 60
# Registries write places that no table we hold knows: a street renamed or newly created, a 社区 or 村
# before the road. Shares of registered addresses.
UNKNOWN_STREET_SHARE = 0.06
COMMUNITY_SHARE = 0.12
COMMUNITY_PATTERN = r"^..(?:社区|村)"
ADDRESS_PARTS = ("district_name", "street", "road", "number", "extra")
Roads = dict[str, list[list[str]]]  # division code -> for each of its streets (divisions.py order), its roads


def road_table(rng: np.random.Generator) -> Roads:
    """Each district's roads (its real ones, then stem + suffix names), each road in exactly one street.

    A road belongs to one street, as on a map: the same road and number is the same place, so an address
    without its street segment still names one place.
    """
    roads: Roads = {}
    for division in DIVISIONS:
        names = list(REAL_ROADS[division.code])
        while len(names) < ROADS_PER_DISTRICT:
            name = ROAD_STEMS[rng.integers(len(ROAD_STEMS))] + ROAD_SUFFIXES[rng.integers(len(ROAD_SUFFIXES))]
            if name not in names:
                names.append(name)
        order = rng.permutation(len(names))
        roads[division.code] = [
            [names[i] for i in order[k :: len(division.streets)]] for k in range(len(division.streets))
        ]
    return roads


def _pick(
    rng: np.random.Generator, group: np.ndarray, table: list[list[str]]
) -> tuple[pl.Series, np.ndarray]:
    """One item per row from its group's list; returns the items and their positions in the flat list."""
    flat = pl.Series([item for items in table for item in items], dtype=pl.Utf8)
    counts = np.array([len(items) for items in table])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = offsets[group] + rng.integers(0, 2**31, size=group.size) % counts[group]
    return flat.gather(position), position


def _vocabulary(values: tuple[str, ...] | list[str], rng: np.random.Generator, n: int) -> pl.Series:
    return pl.Series(list(values), dtype=pl.Utf8).gather(rng.integers(0, len(values), size=n))


def draw(rng: np.random.Generator, districts: np.ndarray, roads: Roads) -> pl.DataFrame:
    """Address parts for premises in the given districts: a street of the district, a road of the street."""
    n = districts.size
    order = [d.code for d in DIVISIONS]
    index = (
        pl.Series(districts, dtype=pl.Utf8)
        .replace_strict({c: i for i, c in enumerate(order)}, return_dtype=pl.Int64)
        .to_numpy()
    )
    street, street_index = _pick(rng, index, [list(d.streets) for d in DIVISIONS])
    road, _ = _pick(rng, street_index, [street_roads for c in order for street_roads in roads[c]])
    number = np.exp(rng.uniform(0, np.log(1200), size=n)).astype(np.int64) + 1
    parts = pl.DataFrame(
        {
            "district_name": pl.Series([d.name for d in DIVISIONS]).gather(index),
            "street": street,
            "road": road,
            "number": pl.Series(number).cast(pl.Utf8),
            "room": pl.Series(rng.integers(1, 26, size=n) * 100 + rng.integers(1, 16, size=n)).cast(pl.Utf8),
            "building": pl.Series(rng.integers(1, 30, size=n)).cast(pl.Utf8),
            "tower": _vocabulary(ZIHAO_CHARS, rng, n)
            + _vocabulary(ZIHAO_CHARS, rng, n)
            + _vocabulary(BUILDING_WORDS, rng, n),
            "form": rng.choice(4, size=n, p=[0.45, 0.2, 0.2, 0.15]),
        }
    )
    room = pl.col("room") + pl.lit("室")
    extra = (
        pl.when(pl.col("form") == 0)
        .then(pl.lit(""))
        .when(pl.col("form") == 1)
        .then(room)
        .when(pl.col("form") == 2)
        .then(pl.concat_str([pl.col("building"), pl.lit("幢"), room]))
        .otherwise(pl.concat_str([pl.lit("（"), pl.col("tower"), pl.lit("）"), room]))
    )
    parts = parts.with_columns(
        street=_unknown_streets(rng, parts["street"]), road=_communities(rng, parts["street"]) + parts["road"]
    )
    return parts.select("district_name", "street", "road", "number", extra=extra)


def bare_road(road: pl.Series) -> pl.Series:
    """The road without the 社区 / 村 written before it (the same place either way)."""
    return road.str.replace(COMMUNITY_PATTERN, "")


def _invented(rng: np.random.Generator, n: int) -> pl.Series:
    """Two 字号-like characters: a place name that is in no division or street table."""
    return _vocabulary(ZIHAO_CHARS, rng, n) + _vocabulary(ZIHAO_CHARS, rng, n)


def _unknown_streets(rng: np.random.Generator, street: pl.Series) -> pl.Series:
    """Some streets replaced by an invented 街道 / 镇 of the same kind."""
    n = street.len()
    kind = street.str.extract(r"(街道|镇|乡)$", 1).fill_null("街道")
    invented = _invented(rng, n) + kind
    return pl.select(
        pl.when(pl.Series(rng.random(n) < UNKNOWN_STREET_SHARE)).then(invented).otherwise(street)
    ).to_series()


def _communities(rng: np.random.Generator, street: pl.Series) -> pl.Series:
    """A 社区 (in a 街道) or 村 (in a 镇/乡) written before the road, for some addresses; else ""."""
    n = street.len()
    word = pl.select(
        pl.when(street.str.ends_with("街道")).then(pl.lit("社区")).otherwise(pl.lit("村"))
    ).to_series()
    community = _invented(rng, n) + word
    return pl.select(
        pl.when(pl.Series(rng.random(n) < COMMUNITY_SHARE)).then(community).otherwise(pl.lit(""))
    ).to_series()


def moved(
    rng: np.random.Generator, districts: np.ndarray, current: pl.DataFrame, roads: Roads
) -> pl.DataFrame:
    """A different address in the same district: always another road or number, so never a formatting twin."""
    fresh = draw(rng, districts, roads)
    same_spot = (bare_road(fresh["road"]) == bare_road(current["road"])) & (
        fresh["number"] == current["number"]
    )
    bumped = (fresh["number"].cast(pl.Int64) + 1).cast(pl.Utf8)
    return fresh.with_columns(number=pl.when(same_spot).then(bumped).otherwise(fresh["number"]))


def canonical(prefix: str = "") -> pl.Expr:
    """The registered form of an address from its parts (columns named `prefix` + part)."""
    p = {part: pl.col(prefix + part) for part in ADDRESS_PARTS}
    return pl.concat_str(
        [pl.lit(CITY_NAME), p["district_name"], p["street"], p["road"], p["number"], pl.lit("号"), p["extra"]]
    )

"""Entity names: 宁波市/宁波 + district + 字号 + industry words + legal form, and their material variants.

A name is kept as parts (prefix, locality, zihao, industry, form, branch_suffix) so that a record can vary the
formatting of the parts (noise.py) or change a part that matters (the 字号 or the industry words) and the
ground truth knows which of the two happened.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.demo.people import surnames
from pipelines.demo.vocab import COUNTY_LEVEL, HOMOPHONE_GROUPS, INDUSTRIES, ZIHAO_CHARS
from pipelines.domain.divisions import BY_CODE

NAME_PARTS = ("prefix", "locality", "zihao", "industry", "form", "branch_suffix")


def _homophones() -> dict[str, str]:
    mapping: dict[str, str] = {}
    for group in HOMOPHONE_GROUPS:
        for i, char in enumerate(group):
            mapping.setdefault(char, group[(i + 1) % len(group)])
    for i, char in enumerate(ZIHAO_CHARS):
        mapping.setdefault(char, ZIHAO_CHARS[(i + 17) % len(ZIHAO_CHARS)])
    return mapping


HOMOPHONE = _homophones()


def draw_zihao(
    rng: np.random.Generator, n: int, three_share: float = 0.12, four_share: float = 0.05
) -> np.ndarray:
    """Two distinct characters of the 字号 vocabulary, sometimes three or four (registries allow 2 to 4)."""
    chars = np.array(ZIHAO_CHARS)
    first = rng.integers(0, chars.size, size=n)
    second = (first + rng.integers(1, chars.size, size=n)) % chars.size
    u = rng.random(n)
    third = np.where(u < three_share + four_share, chars[rng.integers(0, chars.size, size=n)], "")
    fourth = np.where(u < four_share, chars[rng.integers(0, chars.size, size=n)], "")
    return np.char.add(np.char.add(np.char.add(chars[first], chars[second]), third), fourth)


def draw_shop_zihao(rng: np.random.Generator, n: int) -> np.ndarray:
    """个体工商户 字号: 甬兴 / 张记 / 小张."""
    form = rng.choice(3, size=n, p=[0.65, 0.25, 0.10])
    family = surnames(rng, n)
    return np.select(
        [form == 0, form == 1],
        [draw_zihao(rng, n, 0.0, 0.0), np.char.add(family, "记")],
        np.char.add("小", family),
    )


def typo(zihao: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One character of each 字号 replaced by a sound-alike (a small subset: a plain loop)."""
    out = []
    for text, position in zip(zihao.tolist(), rng.integers(0, 8, size=zihao.size).tolist(), strict=True):
        i = position % len(text)
        out.append(text[:i] + HOMOPHONE.get(text[i], "兴") + text[i + 1 :])
    return np.array(out, dtype=str)


def other_zihao(zihao: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A different 字号 for each row."""
    fresh = draw_zihao(rng, zihao.size)
    return np.where(fresh == zihao, np.char.add(fresh, "达"), fresh)


def industry_words(industry_id: np.ndarray, shop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An industry word of each row's industry (company words, or shop words for 个体工商户)."""
    out = np.empty(industry_id.size, dtype=object)
    for i, industry in enumerate(INDUSTRIES):
        for is_shop, words in ((False, industry.company_words), (True, industry.shop_words)):
            rows = np.flatnonzero((industry_id == i) & (shop == is_shop))
            out[rows] = np.array(words)[rng.integers(0, len(words), size=rows.size)]
    return out.astype(str)


def other_industry_word(
    industry_id: np.ndarray, shop: np.ndarray, current: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Another word of the same industry: 餐饮管理 -> 餐饮服务 (the industry words differ materially)."""
    out = current.astype(object).copy()
    for i, industry in enumerate(INDUSTRIES):
        for is_shop, words in ((False, industry.company_words), (True, industry.shop_words)):
            rows = np.flatnonzero((industry_id == i) & (shop == is_shop))
            if rows.size:
                index = np.array([words.index(w) if w in words else 0 for w in current[rows]])
                out[rows] = np.array(words)[
                    (index + rng.integers(1, len(words), size=rows.size)) % len(words)
                ]
    return out.astype(str)


def street_short(streets: np.ndarray) -> np.ndarray:
    """首南街道 -> 首南, 姜山镇 -> 姜山."""
    return np.array(pl.Series(streets, dtype=pl.Utf8).str.replace(r"(街道|镇|乡)$", "").to_list(), dtype=str)


def prefixes(
    rng: np.random.Generator, kind: np.ndarray, district: np.ndarray, street: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prefix, locality, has_district): how a name starts, by kind and by 区 vs 县/县级市.

    The prefix is the place a normaliser may strip (浙江, 宁波, 宁波市鄞州区, 余姚市); the locality (a street
    or town, 首南 / 姜山) belongs to the name proper.
    """
    n = kind.size
    name = np.array(
        pl.Series(district, dtype=pl.Utf8).replace_strict({c: d.name for c, d in BY_CODE.items()}).to_list(),
        dtype=str,
    )
    city_district = np.char.add("宁波市", name)
    county = np.isin(district, list(COUNTY_LEVEL))
    own = np.where(county, name, city_district)  # 余姚市 / 宁波市鄞州区
    u = rng.random(n)
    company = np.select(
        [u < 0.05, u < np.where(county, 0.35, 0.45), u < np.where(county, 0.45, 0.55)],
        ["浙江", "宁波", "宁波市"],
        own,
    )
    individual = np.where(~county & (rng.random(n) < 0.4), city_district, name)
    prefix = np.select([kind == "individual", kind == "cooperative"], [individual, own], company)
    with_locality = ((kind == "individual") & (u < 0.22)) | ((kind == "cooperative") & (u < 0.6))
    locality = np.where(with_locality, street_short(street), "")
    return prefix, locality, ~np.isin(prefix, ["浙江", "宁波", "宁波市"])


def compose(parts: dict[str, pl.Expr]) -> pl.Expr:
    """Name text from its parts."""
    return pl.concat_str([parts[p] for p in NAME_PARTS])


def parts_of(frame_prefix: str = "") -> dict[str, pl.Expr]:
    return {p: pl.col(frame_prefix + p) for p in NAME_PARTS}


def dedupe_key() -> pl.Expr:
    """Two registered names may not share this key (the register refuses a taken name).

    District-prefixed names clash within their district, 宁波/浙江 names city-wide, shop names on full text.
    Branches take their parent's parts and are made unique by their suffix.
    """
    stem = pl.concat_str(
        [pl.col("locality"), pl.col("zihao"), pl.col("industry"), pl.col("form")], separator="|"
    )
    return (
        pl.when(pl.col("kind") == "branch")
        .then(None)
        .when(pl.col("zihao") == "")
        .then(None)
        .when(pl.col("kind") == "individual")
        .then(compose(parts_of()))
        .when(pl.col("prefix_has_district"))
        .then(pl.concat_str([pl.col("district_code"), stem], separator="|"))
        .otherwise(pl.concat_str([pl.col("prefix"), stem], separator="|"))
    )


def dedupe(frame: pl.DataFrame, rng: np.random.Generator, max_rounds: int = 30) -> pl.DataFrame:
    """Redraw the 字号 of every unlocked row whose name is taken (locked rows keep theirs)."""
    locked = frame["locked"].to_numpy()
    order = np.concatenate([np.flatnonzero(locked), np.flatnonzero(~locked)])  # locked rows win a clash
    key = frame.select(dedupe_key()).to_series()
    for _ in range(max_rounds):
        ordered = key.gather(order)
        rows = np.sort(order[(ordered.is_not_null() & ~ordered.is_first_distinct()).to_numpy()])
        if rows.size == 0:
            return frame
        kinds = frame["kind"].gather(rows).to_numpy()
        fresh = np.where(kinds == "individual", draw_shop_zihao(rng, rows.size), draw_zihao(rng, rows.size))
        frame = frame.with_columns(frame["zihao"].scatter(rows, fresh))
        key = key.scatter(rows, frame[rows].select(dedupe_key()).to_series())
    raise RuntimeError("could not make names unique; the 字号 vocabulary is too small for this population")


def branch_suffixes(frame: pl.DataFrame) -> pl.Series:
    """鄞州分公司 (other district) / 首南分公司 (same district), numbered when a parent has two alike."""
    branches = frame.filter(pl.col("kind") == "branch")
    parents = frame.select(
        pl.col("eid").alias("parent_eid"), pl.col("district_code").alias("parent_district")
    )
    joined = branches.join(parents, on="parent_eid", how="left", maintain_order="left")
    place = (
        pl.when(pl.col("district_code") != pl.col("parent_district"))
        .then(pl.col("district_name").str.replace(r"(区|县|市)$", ""))
        .otherwise(pl.col("street").str.replace(r"(街道|镇|乡)$", ""))
    )
    numbered = joined.with_columns(place=place).with_columns(
        k=pl.col("eid").rank("ordinal").over(["parent_eid", "place"]).cast(pl.Int64)
    )
    numerals = {1: "", 2: "第二", 3: "第三", 4: "第四", 5: "第五", 6: "第六", 7: "第七", 8: "第八", 9: "第九"}
    ordinal = pl.col("k").replace_strict(numerals, default=None, return_dtype=pl.Utf8)
    ordinal = pl.coalesce(ordinal, pl.concat_str([pl.lit("第"), pl.col("k").cast(pl.Utf8)]))
    suffix = numbered.select(pl.concat_str([pl.col("place"), ordinal, pl.lit("分公司")])).to_series()
    full = pl.Series("branch_suffix", [""] * frame.height, dtype=pl.Utf8)
    return full.scatter(numbered["eid"].to_numpy(), suffix)

"""How licensing and district records write an entity's name, address, legal rep and USCC.

Two kinds of difference, kept apart on purpose:
- formatting (full/half width, brackets, spaces, traditional characters, 有限责任公司 for 有限公司, a dropped
  province/city/district prefix, a dropped street segment, 號): the warehouse contract says these are
  not differences, so the ground truth never flags them;
- material (another 字号, a sound-alike typo in the 字号, other industry words, another person, another
  road): driven by each record's `*_mode` column, and recorded as the record's canonical value
  (`_name_canon`, `_rep_canon`, `_addr_canon`) that the ground truth compares.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import opencc
import polars as pl

from pipelines.demo import codes, naming, people, places
from pipelines.demo.vocab import HOMOPHONE_GROUPS, OUTSIDE_DIVISIONS

_S2T = opencc.OpenCC("s2t")
_T2S = opencc.OpenCC("t2s")
_FULL_DIGITS = {str(d): chr(0xFF10 + d) for d in range(10)}
_ALTERNATIVE_ROAD_CHAR = {c: g[(i + 1) % len(g)] for g in HOMOPHONE_GROUPS for i, c in enumerate(g)}

LICENCE_RATES = {
    "uscc_blank": 0.10,
    "uscc_mistype": 0.03,
    "uscc_format": 0.01,
    "rep_blank": 0.05,
    "road_typo": 0.0,
}
# Shares of names written with each administrative prefix: the city dropped, none, 宁波, 宁波市, 宁波市 + the
# district; the rest as registered.
PREFIX_FORMS = (0.15, 0.10, 0.06, 0.06, 0.05)
# Shares of a named 个体工商户's licences and inspections naming only the operator, or the shop and the operator.
SHOP_NAME_FORMS = (0.15, 0.15)
OUTSIDE_NAMES = frozenset(name for _, name in OUTSIDE_DIVISIONS)
DISTRICT_RATES = {
    "uscc_blank": 0.50,
    "uscc_mistype": 0.03,
    "uscc_format": 0.01,
    "rep_blank": 0.12,
    "road_typo": 0.03,
}


def draw(rng: np.random.Generator, n: int, shares: dict[str, float]) -> np.ndarray:
    """A categorical draw: each row gets one key of `shares` (shares sum to at most 1; the rest is "")."""
    keys = np.array([*shares, ""])
    edges = np.cumsum(list(shares.values()))
    return keys[np.searchsorted(edges, rng.random(n), side="right")]


def apply_where(
    series: pl.Series, mask: np.ndarray, transform: Callable[[pl.Series], pl.Series]
) -> pl.Series:
    """A copy of `series` with `transform` applied to the masked rows only (the rest is not computed)."""
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return series
    return series.clone().scatter(
        rows, transform(series.gather(rows))
    )  # scatter works in place: not on the caller's series


def traditional(texts: pl.Series) -> pl.Series:
    """Traditional characters (OpenCC s2t), kept only where OpenCC t2s gives the original back."""
    out = []
    for text in texts.to_list():
        converted = _S2T.convert(text) if text else text
        out.append(converted if text and _T2S.convert(converted) == text else text)
    return pl.Series(texts.name, out, dtype=pl.Utf8)


def full_width_digits(texts: pl.Series) -> pl.Series:
    return texts.str.replace_many(list(_FULL_DIGITS), list(_FULL_DIGITS.values()))


def half_width_brackets(texts: pl.Series) -> pl.Series:
    return texts.str.replace_many(["（", "）"], ["(", ")"])


def _typo_road(texts: pl.Series) -> pl.Series:
    """The first character of a road name that has a sound-alike is replaced by it."""
    out = []
    for text in texts.to_list():
        i = next((k for k, c in enumerate(text) if c in _ALTERNATIVE_ROAD_CHAR), None)
        out.append(text if i is None else text[:i] + _ALTERNATIVE_ROAD_CHAR[text[i]] + text[i + 1 :])
    return pl.Series(texts.name, out, dtype=pl.Utf8)


# --- names -------------------------------------------------------------------------------------------


def names(frame: pl.DataFrame, rng: np.random.Generator, scale: float = 1.0) -> tuple[pl.Series, pl.Series]:
    """(written name, canonical name) of each record.

    `frame` has the entity's name parts, `kind`, `name`, `legal_rep`, `is_hostile` and the record's
    `name_mode` (normal / zihao / typo / industry). The canonical name is what the record means; it
    differs from the registered one only for a material mode. Unnamed 个体工商户 are written as their
    operator and have no canonical name (they are never name-inconsistent); a named one is sometimes
    written as its operator only (no canonical name either) or as the shop with the operator in brackets.
    """
    named = (frame["zihao"] != "").to_numpy()
    mode = frame["name_mode"]
    zihao, industry = frame["zihao"], frame["industry"]
    for wanted, change in (("zihao", naming.other_zihao), ("typo", naming.typo)):
        zihao = apply_where(
            zihao,
            named & (mode == wanted).to_numpy(),
            lambda s, change=change: pl.Series(change(s.to_numpy().astype(str), rng), dtype=pl.Utf8),
        )
    rows = np.flatnonzero(named & (mode == "industry").to_numpy())
    if rows.size:
        shop = (frame["kind"].gather(rows) == "individual").to_numpy()
        other = naming.other_industry_word(
            frame["industry_id"].gather(rows).to_numpy(),
            shop,
            industry.gather(rows).to_numpy().astype(str),
            rng,
        )
        industry = industry.scatter(rows, pl.Series(other, dtype=pl.Utf8))
    parts = frame.select(*naming.NAME_PARTS, "district_name").with_columns(zihao=zihao, industry=industry)
    canonical = parts.select(naming.compose(naming.parts_of())).to_series()
    written = _name_formatting(parts, rng, scale)
    # 0: the operator only, 1: the shop (the operator), 2: the shop
    shop_form = _choice(rng, frame.height, SHOP_NAME_FORMS, scale)
    operator_only = pl.Series(named) & (frame["kind"] == "individual") & (shop_form == 0) & (mode == "normal")
    with_operator = pl.Series(named) & (frame["kind"] == "individual") & (shop_form == 1)
    choose = pl.DataFrame(
        {
            "hostile": frame["is_hostile"],
            "named": named,
            "name": frame["name"],
            "operator": frame["legal_rep"],
            "written": written,
            "canonical": canonical,
            "operator_only": operator_only,
            "with_operator": with_operator,
            "half": pl.Series(rng.random(frame.height) < 0.3),
        }
    )
    open_, close = (
        pl.when("half").then(pl.lit("(")).otherwise(pl.lit("（")),
        pl.when("half").then(pl.lit(")")).otherwise(pl.lit("）")),
    )
    out = choose.select(
        written=pl.when("hostile")
        .then("name")
        .when("operator_only")
        .then("operator")
        .when("with_operator")
        .then(pl.concat_str(["written", open_, "operator", close]))
        .when("named")
        .then("written")
        .otherwise("operator"),
        # A licence issued to the operator of a named shop says nothing about the shop's name.
        canonical=pl.when("hostile")
        .then("name")
        .when(pl.col("named") & ~pl.col("operator_only"))
        .then("canonical"),
    )
    return out["written"], out["canonical"]


def _choice(rng: np.random.Generator, n: int, shares: tuple[float, ...], scale: float = 1.0) -> pl.Series:
    """Index of the share each row falls in (len(shares) for the remainder); shares times `scale`, at most 1 in all."""
    scaled = np.array(shares) * scale
    scaled = scaled / max(1.0, scaled.sum())
    return pl.Series(np.searchsorted(np.cumsum(scaled), rng.random(n), side="right"))


def _roll(rng: np.random.Generator, n: int, rate: float, scale: float) -> np.ndarray:
    """True for a share `rate` times `scale` (at most all) of `n` rows."""
    return rng.random(n) < min(1.0, rate * scale)


def _name_formatting(parts: pl.DataFrame, rng: np.random.Generator, scale: float) -> pl.Series:
    """Formatting-only variants: the administrative prefix in every form, 有限公司 <-> 有限责任公司, the branch
    part in brackets, spaces, half-width brackets, traditional characters."""
    n = parts.height
    frame = parts.with_columns(
        choice=_choice(rng, n, PREFIX_FORMS, scale),
        swap=pl.Series(_roll(rng, n, 0.10, scale)),
        sep=pl.Series(np.where(_roll(rng, n, 0.04, scale), " ", "")),
        bracket=pl.Series(_roll(rng, n, 0.35, scale)),
    )
    prefix = pl.col("prefix")
    without_city = (
        pl.when(prefix.is_in(["宁波", "宁波市", "浙江"]))
        .then(pl.lit(""))
        .otherwise(prefix.str.replace("^宁波市", ""))
    )
    choice = pl.col("choice")
    new_prefix = (
        pl.when(prefix.is_in(list(OUTSIDE_NAMES)))
        .then(prefix)  # a holder registered elsewhere keeps its city
        .when(choice == 0)
        .then(without_city)
        .when(choice == 1)
        .then(pl.lit(""))
        .when(choice == 2)
        .then(pl.lit("宁波"))
        .when(choice == 3)
        .then(pl.lit("宁波市"))
        .when(choice == 4)
        .then(pl.lit("宁波市") + pl.col("district_name"))
        .otherwise(prefix)
    )
    form = (
        pl.when(pl.col("swap") & (pl.col("form") == "有限公司"))
        .then(pl.lit("有限责任公司"))
        .when(pl.col("swap") & (pl.col("form") == "有限责任公司"))
        .then(pl.lit("有限公司"))
        .otherwise(pl.col("form"))
    )
    branch = pl.when(pl.col("bracket") & (pl.col("branch_suffix") != "")).then(
        pl.lit("（") + pl.col("branch_suffix") + pl.lit("）")
    )
    branch = branch.otherwise("branch_suffix")
    body = frame.select(
        pl.concat_str([new_prefix, pl.col("sep"), "locality", "zihao", "industry", form, branch])
    ).to_series()
    body = apply_where(body, _roll(rng, n, 0.3, scale), half_width_brackets)
    body = apply_where(body, _roll(rng, n, 0.02, scale), lambda s: s + " ")
    return apply_where(body, _roll(rng, n, 0.03, scale), traditional)


# --- addresses ---------------------------------------------------------------------------------------


def addresses(
    parts: pl.DataFrame, rng: np.random.Generator, road_typo: float = 0.0, scale: float = 1.0
) -> pl.Series:
    """An address written from its parts with formatting noise (and, if asked, a typo in the road name)."""
    n = parts.height
    road = apply_where(parts["road"], _roll(rng, n, 0.3, scale), places.bare_road)  # the 社区 / 村 dropped
    frame = parts.with_columns(
        road=apply_where(road, _roll(rng, n, road_typo, scale), _typo_road),
        # 浙江省宁波市 / no city / no city nor district / 宁波市
        choice=_choice(rng, n, (0.15, 0.2, 0.1), scale),
        no_street=pl.Series(_roll(rng, n, 0.15, scale)),
        sep=pl.Series(np.where(_roll(rng, n, 0.04, scale), " ", "")),
        hao=pl.Series(np.where(_roll(rng, n, 0.03, scale), "號", "号")),
    )
    city = (
        pl.when(pl.col("choice") == 0)
        .then(pl.lit("浙江省宁波市"))
        .when(pl.col("choice") < 3)
        .then(pl.lit(""))
        .otherwise(pl.lit("宁波市"))
    )
    district = pl.when(pl.col("choice") == 2).then(pl.lit("")).otherwise("district_name")
    street = pl.when("no_street").then(pl.lit("")).otherwise("street")
    sep = pl.col("sep")
    text = frame.select(
        pl.concat_str([city, sep, district, sep, street, sep, "road", sep, "number", "hao", "extra"])
    ).to_series()
    text = apply_where(text, _roll(rng, n, 0.05, scale), full_width_digits)
    text = apply_where(text, _roll(rng, n, 0.3, scale), half_width_brackets)
    return apply_where(text, _roll(rng, n, 0.03, scale), traditional).alias("address")


def address_canon(parts: pl.DataFrame) -> pl.Series:
    return parts.select(places.canonical()).to_series()


def moved_parts(
    parts: pl.DataFrame,
    district_code: pl.Series,
    mask: np.ndarray,
    rng: np.random.Generator,
    roads: places.Roads,
) -> pl.DataFrame:
    """Address parts where masked rows move to another road or number of the same district."""
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return parts
    fresh = places.moved(rng, district_code.gather(rows).to_numpy().astype(str), parts[rows], roads)
    return parts.with_columns(**{c: parts[c].scatter(rows, fresh[c]) for c in places.ADDRESS_PARTS})


# --- people and codes --------------------------------------------------------------------------------


def legal_reps(
    true_rep: pl.Series,
    mode: pl.Series,
    keep: pl.Series,
    rng: np.random.Generator,
    blank_rate: float,
    scale: float = 1.0,
) -> tuple[pl.Series, pl.Series]:
    """(written, canonical): another person for mode "other"; blank sometimes (canonical null then).

    `keep` rows (hostile names) are written exactly as registered.
    """
    n = true_rep.len()
    rep = apply_where(
        true_rep,
        (mode == "other").to_numpy(),
        lambda s: pl.Series(people.other_person(rng, s.to_numpy().astype(str)), dtype=pl.Utf8),
    )
    blank = ((mode == "blank") | ((mode == "normal") & pl.Series(_roll(rng, n, blank_rate, scale)))) & ~keep
    canonical = pl.select(pl.when(blank).then(None).otherwise(rep)).to_series().alias("rep")
    written = apply_where(
        canonical,
        _roll(rng, n, 0.02, scale) & ~keep.to_numpy(),
        lambda s: s.str.slice(0, 1) + " " + s.str.slice(1),
    )
    written = apply_where(written, _roll(rng, n, 0.02, scale) & ~keep.to_numpy(), traditional)
    return written.alias("legal_rep"), canonical


def usccs(
    true_code: pl.Series,
    mode: pl.Series,
    as_is: pl.Series,
    rng: np.random.Generator,
    rates: dict[str, float],
    scale: float = 1.0,
) -> pl.Series:
    """The USCC as a record writes it: blank, mistyped (check fails), reformatted (lower case, spaced) or as is.

    `as_is` rows (pilot codes, hostile names) carry the code exactly: a pilot code is the entity's real code.
    """
    n = true_code.len()
    drawn = _choice(
        rng, n, (rates["uscc_blank"], rates["uscc_mistype"], rates["uscc_format"]), scale
    )  # blank/mistype/format/as is
    forced = pl.select(
        pl.when(mode == "mistype")
        .then(1)
        .when(mode == "blank")
        .then(0)
        .when(mode == "present")
        .then(3)
        .otherwise(drawn)
    ).to_series()
    choice = pl.select(pl.when(as_is).then(3).otherwise(forced)).to_series().to_numpy()
    present = true_code.is_not_null().to_numpy()
    written = (
        pl.select(pl.when(pl.Series(choice == 0)).then(None).otherwise(true_code)).to_series().alias("uscc")
    )
    written = apply_where(
        written,
        (choice == 1) & present,
        lambda s: pl.Series(codes.mistype(s.to_numpy().astype("<U18"), rng), dtype=pl.Utf8),
    )
    lower = rng.random(n) < 0.5
    written = apply_where(written, (choice == 2) & present & lower, lambda s: s.str.to_lowercase())
    return apply_where(
        written, (choice == 2) & present & ~lower, lambda s: s.str.slice(0, 8) + " " + s.str.slice(8)
    )


def phones(digits: pl.Series, mobile: pl.Series, rng: np.random.Generator) -> pl.Series:
    """A district clerk's way of writing the number."""
    style = pl.Series(people.phone_styles(rng, digits.len()))
    return (
        pl.DataFrame({"d": digits, "m": mobile, "s": style})
        .select(people.phone_text(pl.col("d"), pl.col("m"), pl.col("s")))
        .to_series()
    )

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
from pipelines.demo.vocab import HOMOPHONE_GROUPS

_S2T = opencc.OpenCC("s2t")
_T2S = opencc.OpenCC("t2s")
_FULL_DIGITS = {str(d): chr(0xFF10 + d) for d in range(10)}
_ALTERNATIVE_ROAD_CHAR = {c: g[(i + 1) % len(g)] for g in HOMOPHONE_GROUPS for i, c in enumerate(g)}

LICENCE_RATES = {"uscc_blank": 0.10, "uscc_mistype": 0.03, "uscc_format": 0.01, "rep_blank": 0.05, "road_typo": 0.0}
DISTRICT_RATES = {"uscc_blank": 0.50, "uscc_mistype": 0.03, "uscc_format": 0.01, "rep_blank": 0.12, "road_typo": 0.03}


def draw(rng: np.random.Generator, n: int, shares: dict[str, float]) -> np.ndarray:
    """A categorical draw: each row gets one key of `shares` (shares sum to at most 1; the rest is "")."""
    keys = np.array([*shares, ""])
    edges = np.cumsum(list(shares.values()))
    return keys[np.searchsorted(edges, rng.random(n), side="right")]


def text_series(name: str, values: np.ndarray) -> pl.Series:
    """A string column from a numpy array that may hold None (object arrays do not cast)."""
    return pl.Series(name, values.tolist(), dtype=pl.Utf8)


def apply_where(series: pl.Series, mask: np.ndarray, transform: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """`transform` applied to the masked rows only (the rest is untouched and not computed)."""
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return series
    return series.scatter(rows, transform(series.gather(rows)))


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
    out = []
    for text in texts.to_list():
        i = next((k for k, c in enumerate(text) if c in _ALTERNATIVE_ROAD_CHAR), None)
        out.append(text if i is None else text[:i] + _ALTERNATIVE_ROAD_CHAR[text[i]] + text[i + 1 :])
    return pl.Series(texts.name, out, dtype=pl.Utf8)


# --- names -------------------------------------------------------------------------------------------


def names(frame: pl.DataFrame, rng: np.random.Generator) -> tuple[pl.Series, pl.Series]:
    """(written name, canonical name) of each record.

    `frame` has the entity's name parts, `kind`, `name`, `legal_rep`, `is_hostile` and the record's
    `name_mode` (normal / zihao / typo / industry). The canonical name is what the record means; it
    differs from the registered one only for a material mode. Unnamed 个体工商户 are written as their
    operator and have no canonical name (they are never name-inconsistent).
    """
    n = frame.height
    mode = frame["name_mode"].to_numpy()
    zihao = frame["zihao"].to_numpy().astype(object)
    named = zihao != ""
    for wanted, change in (("zihao", naming.other_zihao), ("typo", naming.typo)):
        rows = np.flatnonzero(named & (mode == wanted))
        if rows.size:
            zihao[rows] = change(zihao[rows].astype(str), rng)
    industry = frame["industry"].to_numpy().astype(object)
    rows = np.flatnonzero(named & (mode == "industry"))
    if rows.size:
        shop = frame["kind"].to_numpy()[rows] == "individual"
        industry[rows] = naming.other_industry_word(frame["industry_id"].to_numpy()[rows], shop, industry[rows].astype(str), rng)
    zihao, industry = zihao.astype(str), industry.astype(str)
    parts = frame.select(*naming.NAME_PARTS).with_columns(zihao=pl.Series(zihao), industry=pl.Series(industry))
    canonical = parts.select(naming.compose(naming.parts_of())).to_series()
    written = _name_formatting(parts, rng)
    hostile = frame["is_hostile"].to_numpy()
    operator = frame["legal_rep"]
    written = text_series("name", np.where(hostile, frame["name"].to_numpy(), np.where(named, written.to_numpy(), operator.to_numpy())))
    canonical = text_series("canon", np.where(hostile, frame["name"].to_numpy(), np.where(named, canonical.to_numpy(), None)))
    assert written.len() == n
    return written, canonical


def _name_formatting(parts: pl.DataFrame, rng: np.random.Generator) -> pl.Series:
    n = parts.height
    prefix = parts["prefix"].to_numpy().astype(str)
    choice = draw(rng, n, {"drop_city": 0.2, "drop_all": 0.1, "add_city": 0.04})
    without_city = np.char.replace(np.where(np.isin(prefix, ["宁波", "浙江"]), "", prefix), "宁波市", "")
    county_or_district = ~np.char.startswith(prefix, "宁波") & ~np.isin(prefix, ["浙江"])
    prefix = np.select(
        [choice == "drop_city", choice == "drop_all", (choice == "add_city") & county_or_district],
        [without_city, "", np.char.add("宁波市", prefix)],
        prefix,
    )
    form = parts["form"].to_numpy().astype(str)
    swap = rng.random(n) < 0.10
    form = np.where(swap & (form == "有限公司"), "有限责任公司", np.where(swap & (form == "有限责任公司"), "有限公司", form))
    spaced = rng.random(n) < 0.04
    separator = np.where(spaced, " ", "")
    body = pl.DataFrame({"prefix": prefix, "sep": separator, "form": form}).hstack(
        parts.select("locality", "zihao", "industry", "branch_suffix")
    ).select(pl.concat_str(["prefix", "sep", "locality", "zihao", "industry", "form", "branch_suffix"])).to_series()
    body = apply_where(body, rng.random(n) < 0.3, half_width_brackets)
    body = apply_where(body, rng.random(n) < 0.02, lambda s: s + " ")
    return apply_where(body, rng.random(n) < 0.03, traditional)


# --- addresses ---------------------------------------------------------------------------------------


def addresses(parts: pl.DataFrame, rng: np.random.Generator, road_typo: float = 0.0) -> pl.Series:
    """An address written from its parts with formatting noise (and, if asked, road-name typos)."""
    n = parts.height
    choice = draw(rng, n, {"province": 0.15, "no_city": 0.2, "no_district": 0.1})
    city = np.select([choice == "province", choice == "no_city", choice == "no_district"], ["浙江省宁波市", "", ""], "宁波市")
    district = np.where(choice == "no_district", "", parts["district_name"].to_numpy().astype(str))
    street = np.where(rng.random(n) < 0.15, "", parts["street"].to_numpy().astype(str))
    spaced = rng.random(n) < 0.04
    number_word = np.where(rng.random(n) < 0.03, "號", "号")
    frame = pl.DataFrame({"city": city, "district": district, "street": street, "no": number_word}).hstack(
        parts.select("road", "number", "extra")
    )
    plain = frame.select(pl.concat_str(["city", "district", "street", "road", "number", "no", "extra"])).to_series()
    spaced_text = frame.select(pl.concat_str(["city", "district", "street", "road"], separator=" ") + pl.lit(" ")
                               + pl.concat_str(["number", "no", "extra"])).to_series()
    text = text_series("address", np.where(spaced, spaced_text.to_numpy(), plain.to_numpy()))
    text = apply_where(text, rng.random(n) < 0.05, full_width_digits)
    text = apply_where(text, rng.random(n) < 0.3, half_width_brackets)
    text = apply_where(text, rng.random(n) < road_typo, _typo_road)
    return apply_where(text, rng.random(n) < 0.03, traditional)


def address_canon(parts: pl.DataFrame) -> pl.Series:
    return parts.select(places.canonical()).to_series()


def moved_parts(parts: pl.DataFrame, district_code: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
                roads: dict[str, np.ndarray]) -> pl.DataFrame:
    """Address parts where masked rows move to another road or number of the same district."""
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return parts
    fresh = places.moved(rng, district_code[rows], parts[rows], roads)
    return parts.with_columns(**{c: parts[c].scatter(rows, fresh[c]) for c in places.ADDRESS_PARTS})


# --- people and codes --------------------------------------------------------------------------------


def legal_reps(true_rep: pl.Series, mode: np.ndarray, rng: np.random.Generator, blank_rate: float) -> tuple[pl.Series, pl.Series]:
    """(written, canonical): another person for mode "other"; blank sometimes (canonical null then)."""
    n = true_rep.len()
    rep = true_rep.to_numpy().astype(str)
    rep = np.where(mode == "other", people.other_person(rng, rep), rep)
    blank = (mode == "blank") | ((mode == "normal") & (rng.random(n) < blank_rate))
    written = text_series("legal_rep", np.where(blank, None, rep))
    spaced = written.str.slice(0, 1) + " " + written.str.slice(1)
    written = text_series("legal_rep", np.where(rng.random(n) < 0.02, spaced.to_numpy(), written.to_numpy()))
    written = apply_where(written, (rng.random(n) < 0.02) & ~blank, traditional)
    return written, text_series("rep", np.where(blank, None, rep))


def usccs(true_code: pl.Series, mode: np.ndarray, is_pilot: np.ndarray, rng: np.random.Generator, rates: dict[str, float]) -> pl.Series:
    """The USCC as a record writes it: blank, mistyped (check fails), reformatted (lower case, spaced) or as is.

    Pilot codes are written as they are everywhere (they are the entity's real code).
    """
    n = true_code.len()
    code = true_code.to_numpy().astype(object)
    present = np.array([c is not None for c in code])
    choice = draw(rng, n, {"blank": rates["uscc_blank"], "mistype": rates["uscc_mistype"], "format": rates["uscc_format"]})
    choice = np.where(mode == "normal", choice, np.where(mode == "mistype", "mistype", np.where(mode == "blank", "blank", "")))
    choice = np.where(is_pilot & (choice != ""), "", choice)
    out = np.where(choice == "blank", None, code)
    wrong = np.flatnonzero((choice == "mistype") & present)
    if wrong.size:
        out[wrong] = codes.mistype(code[wrong].astype("<U18"), rng)
    written = pl.Series("uscc", out.tolist(), dtype=pl.Utf8)
    reformat = (choice == "format") & present
    style = rng.random(n) < 0.5
    written = apply_where(written, reformat & style, lambda s: s.str.to_lowercase())
    return apply_where(written, reformat & ~style, lambda s: s.str.slice(0, 8) + " " + s.str.slice(8))


def phones(digits: pl.Series, mobile: pl.Series, rng: np.random.Generator) -> pl.Series:
    """A district clerk's way of writing the number."""
    style = pl.Series(people.phone_styles(rng, digits.len()))
    return pl.DataFrame({"d": digits, "m": mobile, "s": style}).select(
        people.phone_text(pl.col("d"), pl.col("m"), pl.col("s"))
    ).to_series()


"""People: names of legal representatives and operators, and their phone numbers."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.demo.vocab import GIVEN_CHARS, SURNAMES

_MOBILE_PREFIXES = np.array(
    [
        "130",
        "131",
        "132",
        "133",
        "135",
        "136",
        "137",
        "138",
        "139",
        "150",
        "151",
        "152",
        "153",
        "155",
        "156",
        "157",
        "158",
        "159",
        "176",
        "177",
        "180",
        "181",
        "182",
        "183",
        "186",
        "187",
        "188",
        "189",
        "191",
        "198",
        "199",
    ]
)


def surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    """Surnames with a Ningbo-like skew (王, 陈, 张 first)."""
    weights = 0.93 ** np.arange(len(SURNAMES))
    return np.array(SURNAMES)[rng.choice(len(SURNAMES), size=n, p=weights / weights.sum())]


def person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Two- or three-character Chinese names."""
    given = np.array(GIVEN_CHARS)
    first = given[rng.integers(0, len(given), size=n)]
    second = np.where(rng.random(n) < 0.7, given[rng.integers(0, len(given), size=n)], "")
    return np.char.add(np.char.add(surnames(rng, n), first), second)


def other_person(rng: np.random.Generator, names: np.ndarray) -> np.ndarray:
    """A different person for each name (a redraw where the draw happens to repeat it)."""
    others = person_names(rng, names.size)
    same = others == names
    others[same] = np.char.add(others[same], "华")
    return others


def phone_digits(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(digits, is_mobile): 11-digit mobiles or 8-digit Ningbo landlines (without the 0574 area code)."""
    mobile = rng.random(n) < 0.65
    mobile_digits = np.char.add(
        _MOBILE_PREFIXES[rng.integers(0, len(_MOBILE_PREFIXES), size=n)],
        np.char.zfill(rng.integers(0, 10**8, size=n).astype("<U8"), 8),
    )
    lead = np.array(["8", "8", "8", "6", "5", "2"])[rng.integers(0, 6, size=n)]
    landline = np.char.add(lead, np.char.zfill(rng.integers(0, 10**7, size=n).astype("<U7"), 7))
    return np.where(mobile, mobile_digits, landline), mobile


PHONE_STYLES = ("plain", "area_dash", "area_space", "area_paren", "spaced", "dashed", "intl", "blank")


def phone_text(digits: pl.Expr, mobile: pl.Expr, style: pl.Expr) -> pl.Expr:
    """How a phone number is written: 13812345678, 0574-87654321, 138 1234 5678, +86 13812345678, ...

    Styles that only make sense for one kind of number fall back to the plain digits for the other.
    """
    area = pl.lit("0574")
    mobile_forms = {
        "spaced": pl.concat_str(
            [digits.str.slice(0, 3), digits.str.slice(3, 4), digits.str.slice(7, 4)], separator=" "
        ),
        "dashed": pl.concat_str(
            [digits.str.slice(0, 3), digits.str.slice(3, 4), digits.str.slice(7, 4)], separator="-"
        ),
        "intl": pl.concat_str([pl.lit("+86 "), digits]),
    }
    landline_forms = {
        "area_dash": pl.concat_str([area, digits], separator="-"),
        "area_space": pl.concat_str(
            [area, pl.lit(" "), digits.str.slice(0, 4), pl.lit(" "), digits.str.slice(4, 4)]
        ),
        "area_paren": pl.concat_str([pl.lit("("), area, pl.lit(")"), digits]),
        "intl": pl.concat_str([pl.lit("+86-574-"), digits]),
    }
    text = digits
    for name, form in mobile_forms.items():
        text = pl.when(mobile & (style == name)).then(form).otherwise(text)
    for name, form in landline_forms.items():
        text = pl.when(~mobile & (style == name)).then(form).otherwise(text)
    return pl.when(style == "blank").then(None).otherwise(text)


def phone_styles(rng: np.random.Generator, n: int) -> np.ndarray:
    weights = np.array([0.40, 0.16, 0.06, 0.05, 0.08, 0.08, 0.04, 0.13])
    return np.array(PHONE_STYLES)[rng.choice(len(PHONE_STYLES), size=n, p=weights)]

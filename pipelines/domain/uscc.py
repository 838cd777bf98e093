"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

18 characters: registration authority (1), category (1), division code (6), organisation code (9),
check character (1). The check character makes every single-character error detectable, so a code that
fails it is flagged, never repaired: early pilot codes fail it and are still legal.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
VALUE = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, ...
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
REG_NO_PATTERN = r"^[0-9]{15}$"


def check_character(body: str) -> str:
    """The 18th character for a 17-character body."""
    total = sum(VALUE[c] * w for c, w in zip(body, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """Scalar form of `valid_expr`, for tests and single values."""
    if re.fullmatch(USCC_PATTERN, code) is None:  # the division code (positions 3-8) is digits
        return False
    return check_character(code[:17]) == code[17]


def clean_expr(raw: pl.Expr) -> pl.Expr:
    """Trimmed, upper-cased, half-width text of a delivered code ('' when blank)."""
    return raw.fill_null("").str.normalize("NFKC").str.replace_all(r"[\s\u3000]+", "").str.to_uppercase()


def valid_expr(clean: pl.Expr) -> pl.Expr:
    """True when `clean` is 18 characters of the alphabet and the check character matches."""
    return clean.map_batches(_valid, return_dtype=pl.Boolean)


_LOOKUP = np.zeros(256, dtype=np.int64)
_LOOKUP[np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)] = np.arange(len(ALPHABET))
_ALPHABET_BYTES = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)


def _valid(clean: pl.Series) -> pl.Series:
    """The check, as arithmetic over an (n, 18) byte matrix of the well-formed codes."""
    well_formed = clean.str.contains(USCC_PATTERN).fill_null(False)
    result = np.zeros(len(clean), dtype=bool)
    codes = clean.filter(well_formed).to_list()
    if codes:
        matrix = np.frombuffer("".join(codes).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
        total = _LOOKUP[matrix[:, :17]] @ np.asarray(WEIGHTS, dtype=np.int64)
        result[well_formed.to_numpy()] = matrix[:, 17] == _ALPHABET_BYTES[(31 - total % 31) % 31]
    return pl.Series(clean.name, result)


def parts_exprs(clean: pl.Expr) -> dict[str, pl.Expr]:
    """The code's parts, null unless the code is well formed (18 characters of the alphabet)."""
    well_formed = clean.str.contains(USCC_PATTERN)

    def part(start: int, length: int) -> pl.Expr:
        return pl.when(well_formed).then(clean.str.slice(start, length)).otherwise(None)

    return {
        "uscc_authority": part(0, 1),
        "uscc_category": part(1, 1),
        "uscc_division_code": part(2, 6),
        "uscc_org_code": part(8, 9),
    }

"""Identifiers, vectorised: USCCs (GB 32100-2015), organisation codes (GB 11714), 注册号, licence numbers.

Codes are built as byte matrices (one column per character) and turned into strings at the end, so a
million codes cost a few numpy operations. The check characters agree with `pipelines.domain.uscc`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.domain.uscc import ALPHABET, WEIGHTS, check_character

_ALPHABET_BYTES = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
_USCC_VALUE = np.full(256, -1, dtype=np.int64)
_USCC_VALUE[_ALPHABET_BYTES] = np.arange(31)
_BASE36_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
    _BASE36_VALUE[ord(_c)] = _i
_GB11714_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2])


def to_matrix(codes: np.ndarray, width: int) -> np.ndarray:
    """n ASCII strings of length `width` -> (n, width) uint8."""
    return np.frombuffer("".join(codes.tolist()).encode("ascii"), dtype=np.uint8).reshape(-1, width).copy()


def from_matrix(matrix: np.ndarray) -> np.ndarray:
    """(n, width) uint8 -> n strings."""
    width = matrix.shape[1]
    return np.frombuffer(np.ascontiguousarray(matrix).tobytes(), dtype=f"S{width}").astype(f"<U{width}")


def org_codes(rng: np.random.Generator, modern: np.ndarray, individual: np.ndarray) -> np.ndarray:
    """9-character organisation codes: 8 characters and a GB 11714 check character.

    Registered since the 2015 reform: "MA" + 6 alphabet characters. Before: 8 digits (companies) or "L" +
    7 digits (individuals), as converted from the old registers.
    """
    n = modern.size
    old = (48 + rng.integers(0, 10, size=(n, 8))).astype(np.uint8)
    old[:, 0] = np.where(individual, ord("L"), 48 + rng.integers(1, 10, size=n))
    new = _ALPHABET_BYTES[rng.integers(0, 31, size=(n, 8))]
    new[:, 0], new[:, 1] = ord("M"), ord("A")
    body = np.where(modern[:, None], new, old).astype(np.uint8)
    check = 11 - (_BASE36_VALUE[body] * _GB11714_WEIGHTS).sum(axis=1) % 11
    check_byte = np.where(check == 10, ord("X"), np.where(check == 11, ord("0"), 48 + check))
    return from_matrix(np.column_stack([body, check_byte.astype(np.uint8)]))


def uscc_codes(category: np.ndarray, division: np.ndarray, org: np.ndarray) -> np.ndarray:
    """Valid 18-character codes: "9" + category ("1" enterprise, "2" individual, "3" cooperative) + division + org."""
    bodies = np.char.add(np.char.add(np.char.add("9", category), division), org)
    return np.char.add(bodies, check_characters(bodies))


def check_characters(bodies: np.ndarray) -> np.ndarray:
    """GB 32100-2015 check characters of 17-character bodies (vectorised `check_character`)."""
    if bodies.size == 0:
        return bodies.astype("<U1")
    total = (_USCC_VALUE[to_matrix(bodies, 17)] * np.array(WEIGHTS)).sum(axis=1)
    checks = from_matrix(_ALPHABET_BYTES[(31 - total % 31) % 31][:, None])
    assert checks[0] == check_character(str(bodies[0]))
    return checks


def _replace_one(codes: np.ndarray, position: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    matrix = to_matrix(codes, 18)
    rows = np.arange(codes.size)
    current = _USCC_VALUE[matrix[rows, position]]
    matrix[rows, position] = _ALPHABET_BYTES[(current + rng.integers(1, 31, size=codes.size)) % 31]
    return from_matrix(matrix)


def break_check(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Early pilot codes: the same body with a wrong check character."""
    return _replace_one(codes, np.full(codes.size, 17), rng)


def mistype(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One character replaced by another of the alphabet: GB 32100 catches every such error."""
    return _replace_one(codes, rng.integers(0, 18, size=codes.size), rng)


def registration_numbers(division: np.ndarray, individual: np.ndarray, sequence: np.ndarray) -> np.ndarray:
    """Legacy 15-digit 注册号: division, type digit (6 = individual), 7-digit sequence, ISO 7064 MOD 11,10."""
    body = np.char.add(np.char.add(division, np.where(individual, "6", "0")), zero_pad(sequence, 7))
    digits = to_matrix(body, 14).astype(np.int64) - 48
    product = np.full(body.size, 10, dtype=np.int64)
    for column in range(14):
        total = (product + digits[:, column]) % 10
        total[total == 0] = 10
        product = (total * 2) % 11
    return np.char.add(body, ((11 - product) % 10).astype("<U1"))


def zero_pad(numbers: np.ndarray, width: int) -> np.ndarray:
    """Numbers as text, left-padded with zeros to at least `width` digits (never cut)."""
    return np.char.zfill(np.asarray(numbers).astype(str), width)


def valid_uscc(clean: pl.Series) -> pl.Series:
    """`pipelines.domain.uscc.valid_expr` computed with numpy (the ground truth checks millions of rows).

    `clean` holds codes as `uscc.clean_expr` leaves them. Valid: 18 characters of the alphabet, digits in
    positions 3-8 (the division code), and the GB 32100-2015 check character.
    """
    text = clean.fill_null("")
    candidate = (text.str.len_bytes() == 18) & (text.str.len_chars() == 18)
    rows = np.flatnonzero(candidate.to_numpy())
    out = np.zeros(clean.len(), dtype=bool)
    if rows.size:
        matrix = to_matrix(text.gather(rows).to_numpy().astype("<U18"), 18)
        values = _USCC_VALUE[matrix]
        digits = (matrix[:, 2:8] >= 48) & (matrix[:, 2:8] <= 57)
        total = (values[:, :17] * np.array(WEIGHTS)).sum(axis=1)
        ok = (values >= 0).all(axis=1) & digits.all(axis=1) & (values[:, 17] == (31 - total % 31) % 31)
        out[rows] = ok
    return pl.Series(clean.name, out)

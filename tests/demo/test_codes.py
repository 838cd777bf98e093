"""The vectorised identifier code agrees with pipelines.domain.uscc."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.demo import codes
from pipelines.domain.uscc import ALPHABET, clean_expr, is_valid


def _valid_codes(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    org = codes.org_codes(rng, rng.random(n) < 0.5, rng.random(n) < 0.5)
    return codes.uscc_codes(np.full(n, "1"), np.full(n, "330212"), org)


def test_generated_codes_pass_and_mistyped_ones_fail() -> None:
    rng = np.random.default_rng(2)
    valid = _valid_codes(2000)
    assert all(is_valid(c) for c in valid)
    assert len(set(valid)) > 1990
    assert not any(is_valid(c) for c in codes.mistype(valid, rng))
    assert not any(is_valid(c) for c in codes.break_check(valid, rng))


def test_registration_numbers_are_fifteen_digits() -> None:
    numbers = codes.registration_numbers(
        np.array(["330212", "330281"]), np.array([True, False]), np.array([1, 1234567])
    )
    assert all(len(n) == 15 and n.isdigit() for n in numbers)
    assert codes.zero_pad(np.array([12345]), 4)[0] == "12345"  # never cut


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet=ALPHABET + "IOSVZaz -０", min_size=0, max_size=19), min_size=1, max_size=20),
    st.integers(0, 1999),
)
def test_valid_uscc_agrees_with_the_domain(texts: list[str], pick: int) -> None:
    samples = [*texts, str(_valid_codes(2000)[pick])]
    clean = pl.DataFrame({"uscc": samples}).select(clean_expr(pl.col("uscc"))).to_series()
    assert codes.valid_uscc(clean).to_list() == [is_valid(c) for c in clean.to_list()]

"""Pairs of different entities that look alike and must stay apart.

- same_name_other_district: the same 字号 + industry + form registered in two districts.
- similar_name_same_district: one 字号 character or one industry word apart, same district.
- same_operator: one person runs two 个体工商户 (same legal rep and phone, same 字号) at two premises.
Branches and their parents (branch_parent) come from the population itself.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.demo import naming
from pipelines.demo.plan import Plan, mask


def plant(frame: pl.DataFrame, plan: Plan) -> pl.DataFrame:
    """Mark branch/parent pairs and plant the look-alike pairs; every row involved is locked."""
    rng = plan.rng("hard_negatives")
    kind_of = np.full(frame.height, None, dtype=object)
    partner = np.full(frame.height, -1)
    frame = _branches(frame, kind_of, partner)
    eligible = _eligible(frame)
    company = eligible & (frame["kind"] == "company").to_numpy()
    with_district = company & frame["prefix_has_district"].to_numpy()
    pairs = _pairs(rng, frame, with_district, plan.planted, same_district=False)
    frame = _copy_parts(frame, pairs, ("zihao", "industry", "industry_id", "form"))
    _mark(kind_of, partner, pairs, "same_name_other_district")
    pairs = _pairs(rng, frame, company & _free(kind_of), plan.planted, same_district=True)
    frame = _similar(frame, pairs, rng)
    _mark(kind_of, partner, pairs, "similar_name_same_district")
    shops = eligible & ((frame["kind"] == "individual") & (frame["zihao"] != "")).to_numpy() & _free(kind_of)
    half = max(1, plan.planted // 2)
    near = _pairs(rng, frame, shops, half, same_district=True)
    far = _pairs(
        rng, frame, shops & ~mask(frame.height, near.ravel()), plan.planted - half, same_district=False
    )
    pairs = np.concatenate([near, far])
    frame = _copy_parts(
        frame, pairs, ("zihao", "industry", "industry_id", "legal_rep", "phone_digits", "phone_mobile")
    )
    frame = _copy_parts(frame, near, ("prefix", "prefix_has_district"))
    frame = _other_locality(frame, near, rng)
    _mark(kind_of, partner, pairs, "same_operator")
    marked = kind_of != None  # noqa: E711 - numpy object comparison
    return frame.with_columns(
        hard_negative_kind=pl.Series(kind_of.tolist(), dtype=pl.Utf8),
        hard_negative_of=pl.Series(np.where(partner >= 0, partner, -1)).replace(-1, None),
        locked=pl.col("locked") | pl.Series(marked & (kind_of != "branch_parent")),
    )


def _eligible(frame: pl.DataFrame) -> np.ndarray:
    parents = frame["parent_eid"].drop_nulls().to_numpy()
    plain = (
        (frame["role"] == "existing") & ~frame["locked"] & ~frame["form"].str.contains("合伙", literal=True)
    ).to_numpy()
    return plain & ~mask(frame.height, parents)


def _free(kind_of: np.ndarray) -> np.ndarray:
    return np.array([k is None for k in kind_of])


def _branches(frame: pl.DataFrame, kind_of: np.ndarray, partner: np.ndarray) -> pl.DataFrame:
    branch = np.flatnonzero(frame["kind"].to_numpy() == "branch")
    parent = frame["parent_eid"].to_numpy()[branch].astype(np.int64)
    kind_of[branch] = "branch_parent"
    kind_of[parent] = "branch_parent"
    partner[branch] = parent
    partner[parent] = branch  # a parent of several branches points at one of them
    return frame


def _pairs(
    rng: np.random.Generator, frame: pl.DataFrame, eligible: np.ndarray, count: int, same_district: bool
) -> np.ndarray:
    """Up to `count` disjoint (i, j) pairs of eligible rows, in the same or in different districts."""
    rows = rng.permutation(np.flatnonzero(eligible))
    district = frame["district_code"].cast(pl.Int64).to_numpy()
    if same_district:
        rows = rows[np.argsort(district[rows], kind="stable")]
        first, second = rows[:-1:2], rows[1::2]
    else:
        half = rows.size // 2
        first, second = rows[:half], rows[half : 2 * half]
    keep = (district[first] == district[second]) == same_district
    return np.column_stack([first[keep], second[keep]])[:count]


def _copy_parts(frame: pl.DataFrame, pairs: np.ndarray, columns: tuple[str, ...]) -> pl.DataFrame:
    """Row j takes row i's values of `columns`."""
    if pairs.size == 0:
        return frame
    i, j = pairs[:, 0], pairs[:, 1]
    return frame.with_columns(**{c: frame[c].scatter(j, frame[c].gather(i)) for c in columns})


def _similar(frame: pl.DataFrame, pairs: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
    """Row j: row i's name with one 字号 character sound-alike, or another word of the same industry."""
    if pairs.size == 0:
        return frame
    frame = _copy_parts(
        frame,
        pairs,
        ("prefix", "locality", "prefix_has_district", "zihao", "industry", "industry_id", "form"),
    )
    i, j = pairs[:, 0], pairs[:, 1]
    by_typo = rng.random(j.size) < 0.5
    zihao = frame["zihao"].to_numpy()[i].astype(str)
    industry = frame["industry"].to_numpy()[i].astype(str)
    new_zihao = np.where(by_typo, naming.typo(zihao, rng), zihao)
    shop = frame["kind"].to_numpy()[j] == "individual"
    new_industry = np.where(
        by_typo, industry, naming.other_industry_word(frame["industry_id"].to_numpy()[i], shop, industry, rng)
    )
    return frame.with_columns(
        zihao=frame["zihao"].scatter(j, new_zihao), industry=frame["industry"].scatter(j, new_industry)
    )


def _other_locality(frame: pl.DataFrame, pairs: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
    """The second shop of one operator in the same district is named after its own street."""
    if pairs.size == 0:
        return frame
    i, j = pairs[:, 0], pairs[:, 1]
    own = naming.street_short(frame["street"].to_numpy()[j].astype(str))
    first = frame["locality"].to_numpy()[i].astype(str)
    locality = np.where(own == first, np.where(rng.random(j.size) < 0.5, "", np.char.add(own, "二")), own)
    return frame.with_columns(locality=frame["locality"].scatter(j, locality))


def _mark(kind_of: np.ndarray, partner: np.ndarray, pairs: np.ndarray, kind: str) -> None:
    if pairs.size == 0:
        return
    i, j = pairs[:, 0], pairs[:, 1]
    kind_of[i], kind_of[j] = kind, kind
    partner[i], partner[j] = j, i

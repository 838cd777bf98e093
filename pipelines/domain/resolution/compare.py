"""Per-feature comparison levels of candidate pairs (Splink-style `_l` / `_r` columns), vectorised.

String similarity is rapidfuzz's normalised Levenshtein over whole columns (`process.cpdist`, one call per
feature), never a Python loop over pairs.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

ATTRIBUTES = [
    "source",
    "uscc",
    "uscc_is_valid",
    "reg_no",
    "name_key",
    "branch_marker",
    "legal_rep_clean",
    "name_in_district",
    "name_in_city",
    "operator_in_district",
    "operator_in_city",
    "address_in_district",
    "address_in_city",
    "address_key",
    "district_code",
    "phone",
]
LEARNED_FEATURES = ("name", "location", "legal_rep", "phone")


def with_attributes(pairs: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    attributes = records.select("rid", *ATTRIBUTES)
    left = attributes.rename({c: f"{c}_l" for c in attributes.columns})
    right = attributes.rename({c: f"{c}_r" for c in attributes.columns})
    return pairs.join(left, on="rid_l").join(right, on="rid_r")


def similarity(left: pl.Series, right: pl.Series) -> pl.Series:
    """Normalised Levenshtein similarity 0..1 per pair; null when either side is null."""
    present = (left.is_not_null() & right.is_not_null()).to_numpy()
    scores = np.full(len(left), np.nan)
    if present.any():
        scores[present] = process.cpdist(
            left.filter(present).to_list(),
            right.filter(present).to_list(),
            scorer=Levenshtein.normalized_similarity,
            workers=-1,
        )
    return pl.Series(scores).fill_nan(None)


def _uscc_distance(left: pl.Series, right: pl.Series) -> pl.Series:
    present = (left.is_not_null() & right.is_not_null()).to_numpy()
    distances = np.full(len(left), -1, dtype=np.int64)
    if present.any():
        distances[present] = process.cpdist(
            left.filter(present).to_list(), right.filter(present).to_list(), scorer=OSA.distance, workers=-1
        )
    return pl.Series(distances).replace(-1, None)


def known_as(pairs: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """The names to compare: a 个体工商户 registered without a 字号 (placeholder name, no key) is known by its
    operator's name, which is what its licences and inspections are issued to. Used only when the other side
    has a name, so two nameless records never compare their operators twice (legal_rep already does)."""

    def side(this: str, other: str) -> pl.Series:
        nameless = pairs[f"name_key_{this}"].is_null() & pairs[f"name_key_{other}"].is_not_null()
        return pl.select(
            pl.when(nameless).then(pairs[f"legal_rep_clean_{this}"]).otherwise(pairs[f"name_key_{this}"])
        ).to_series()

    return side("l", "r"), side("r", "l")


def named_after_operator() -> pl.Expr:
    """One side is named after the other's legal rep: a 个体工商户's licence or inspection issued to its
    operator rather than to the shop. Its own name level, learned apart: one person may run several shops, and common
    names repeat, so it is weaker evidence than an exact name."""
    left, right = pl.col("name_key_l"), pl.col("name_key_r")
    by_person = (left == pl.col("legal_rep_clean_r")) | (right == pl.col("legal_rep_clean_l"))
    return (by_person & (left != right)).fill_null(False)


def _with_operator_level(graded: pl.Expr) -> pl.Expr:
    """ "operator" where the names agree through a person: a record named after the other side's legal rep, or
    a nameless 个体工商户 known by its operator (see known_as) whose operator is the other side's name."""
    through_person = pl.col("name_key_l").is_null() | pl.col("name_key_r").is_null()
    return (
        pl.when(named_after_operator() | (through_person & (graded == "exact")))
        .then(pl.lit("operator"))
        .otherwise(graded)
    )


def levels(pairs: pl.DataFrame) -> pl.DataFrame:
    """Adds similarity scores and one level per feature (`null` when a side has no value)."""
    name_l, name_r = known_as(pairs)
    scored = pairs.with_columns(
        name_sim=similarity(name_l, name_r),
        address_sim=similarity(pairs["address_key_l"], pairs["address_key_r"]),
        uscc_distance=_uscc_distance(pairs["uscc_l"], pairs["uscc_r"]),
    )
    return scored.with_columns(
        name_level=_with_rarity(_with_operator_level(_name_level(name_l, name_r))),
        location_level=_location_level(),
        legal_rep_level=_legal_rep_level(),
        phone_level=_equal("phone"),
        uscc_level=pl.when(pl.col("uscc_distance").is_null())
        .then(pl.lit("null"))
        .when(pl.col("uscc_distance") == 0)
        .then(pl.lit("same"))
        .when((pl.col("uscc_distance") == 1) & (pl.col("uscc_is_valid_l") | pl.col("uscc_is_valid_r")))
        .then(pl.lit("near"))
        .otherwise(pl.lit("diff")),
        branch_conflict=pl.col("branch_marker_l").fill_null("") != pl.col("branch_marker_r").fill_null(""),
        registrations=(pl.col("source_l") == "registration") & (pl.col("source_r") == "registration"),
    )


def _legal_rep_level() -> pl.Expr:
    """`same_rare` when the shared legal rep's name is rare (see _rare)."""
    equal = _equal("legal_rep_clean")
    both = pl.lit(True)
    rare = _rare("operator", "l", both, both) | _rare("operator", "r", both, both)
    return pl.when((equal == "same") & rare).then(pl.lit("same_rare")).otherwise(equal)


def _rare(prefix: str, side: str, holds_l: pl.Expr, holds_r: pl.Expr) -> pl.Expr:
    """A value the pair shares, counted on `side` (records.with_operator_and_counts), is rare: no registration
    in that side's district and at most one in the city holds it besides the pair's own registrations (those
    that hold it: `holds_l` / `holds_r`). A duplicate registration is not its own namesake."""
    own_city, own_district = pl.lit(0), pl.lit(0)
    for this, holds in (("l", holds_l), ("r", holds_r)):
        own = (pl.col(f"source_{this}") == "registration") & holds
        own_city = own_city + own.cast(pl.Int64)
        same_district = pl.col(f"district_code_{this}") == pl.col(f"district_code_{side}")
        own_district = own_district + (own & same_district).cast(pl.Int64)
    beyond_district = pl.col(f"{prefix}_in_district_{side}").cast(pl.Int64) - own_district
    beyond_city = pl.col(f"{prefix}_in_city_{side}").cast(pl.Int64) - own_city
    return ((beyond_district <= 0) & (beyond_city <= 1)).fill_null(False)


def _person_is_rare() -> pl.Expr:
    """The person a name-through-person pair shares is rare, counted on the side whose legal rep it is (the
    other side holds it as its name, and as its legal rep only where that is the same person)."""
    sides = []
    for this, other in (("l", "r"), ("r", "l")):
        person = pl.col(f"legal_rep_clean_{this}")
        is_person = (person == pl.col(f"name_key_{other}")) | pl.col(f"name_key_{this}").is_null()
        holds = {this: pl.lit(True), other: (pl.col(f"legal_rep_clean_{other}") == person).fill_null(False)}
        sides.append(is_person & _rare("operator", this, holds["l"], holds["r"]))
    return pl.any_horizontal(sides).fill_null(False)


def _with_rarity(level: pl.Expr) -> pl.Expr:
    """An exact name, or a name that is the other side's operator, is `exact_rare` / `operator_rare` when that
    name is rare (see _rare)."""
    both = pl.lit(True)
    rare_name = _rare("name", "l", both, both) | _rare("name", "r", both, both)
    return (
        pl.when((level == "exact") & rare_name)
        .then(pl.lit("exact_rare"))
        .when((level == "operator") & _person_is_rare())
        .then(pl.lit("operator_rare"))
        .otherwise(level)
    )


def _location_level() -> pl.Expr:
    """One feature for where: the address when both sides have a similar one, else the district. (Two
    features would count one move twice: a different district implies a different address.)"""
    address = _graded("address_sim", [(1.0, "exact"), (0.85, "high"), (0.6, "mid")])
    both = pl.lit(True)
    rare = _rare("address", "l", both, both) | _rare("address", "r", both, both)
    address = pl.when((address == "exact") & rare).then(pl.lit("exact_rare")).otherwise(address)
    district = _equal("district_code")
    return (
        pl.when(address.is_in(["exact_rare", "exact", "high", "mid"]))
        .then(address)
        .when(district == "same")
        .then(pl.lit("same_district"))
        .when(district == "diff")
        .then(pl.lit("other_district"))
        .otherwise(pl.lit("null"))
    )


def _name_level(left: pl.Series, right: pl.Series) -> pl.Expr:
    contains = pl.lit(left).str.contains(pl.lit(right), literal=True) | pl.lit(right).str.contains(
        pl.lit(left), literal=True
    )
    graded = _graded("name_sim", [(1.0, "exact"), (0.8, "high"), (0.6, "mid")])
    return pl.when((graded == "diff") & contains).then(pl.lit("contains")).otherwise(graded)


def _graded(column: str, cuts: list[tuple[float, str]]) -> pl.Expr:
    expr = pl.when(pl.col(column).is_null()).then(pl.lit("null"))
    for cut, label in cuts:
        expr = expr.when(pl.col(column) >= cut).then(pl.lit(label))
    return expr.otherwise(pl.lit("diff"))


def _equal(column: str) -> pl.Expr:
    left, right = pl.col(f"{column}_l"), pl.col(f"{column}_r")
    return (
        pl.when(left.is_null() | right.is_null())
        .then(pl.lit("null"))
        .when(left == right)
        .then(pl.lit("same"))
        .otherwise(pl.lit("diff"))
    )

"""The generator writes the variants real registries deliver, and the ground truth stays right about them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines.demo import generate, naming
from pipelines.domain import divisions
from tests.demo.conftest import Demo

pytestmark = pytest.mark.xdist_group("demo")  # one worker generates the shared demo


def _records(
    demo: Demo, kinds: tuple[str, ...], sources: tuple[str, ...] = ("licensing", "district")
) -> pl.DataFrame:
    """Delivered licence/inspection records of entities of these kinds, with the entity's registered values."""
    entities = demo.read("entities").select(
        "true_entity_id",
        "kind",
        "parent_entity_id",
        registered_name="name",
        operator="legal_rep",
        registered_uscc="uscc",
    )
    records = demo.read("records").filter(pl.col("source").is_in(sources))
    return records.join(entities, on="true_entity_id").filter(pl.col("kind").is_in(kinds))


def test_branch_names_put_the_branch_part_in_full_and_half_width_brackets(demo: Demo) -> None:
    names = _records(demo, ("branch",))["name_in_record"].drop_nulls()
    assert names.str.contains(r"（[^（）]+分公司）$").any()
    assert names.str.contains(r"\([^()]+分公司\)$").any()
    assert names.str.contains(r"[^）)]分公司$").any()


def test_names_carry_every_form_of_administrative_prefix(demo: Demo) -> None:
    names = _records(demo, ("company",))["name_in_record"].drop_nulls()
    districts = "|".join(d.name for d in divisions.DIVISIONS)
    assert names.str.contains(r"^宁波[^市]").any()
    assert names.str.contains(rf"^宁波市(?:{districts})").any()
    assert (names.str.starts_with("宁波市") & ~names.str.contains(rf"^宁波市(?:{districts})")).any()
    assert (~names.str.contains(rf"^(?:宁波|浙江|{districts})")).any()


def test_trade_names_have_two_to_four_characters() -> None:
    lengths = {len(z) for z in naming.draw_zihao(np.random.default_rng(1), 5000)}
    assert lengths == {2, 3, 4}


def test_addresses_name_streets_and_communities_that_no_table_holds(demo: Demo) -> None:
    addresses = demo.read("entities")["address"].drop_nulls()
    assert addresses.str.contains(r"(?:社区|村)").any()
    streets = (
        addresses.str.extract(r"^宁波市(?:[^区县市]+[区县市])(.+?(?:街道|镇|乡))", 1).drop_nulls().unique()
    )
    assert not set(streets).issubset(divisions.street_index())


def test_some_branch_licences_carry_the_parents_uscc_and_belong_to_the_branch(demo: Demo) -> None:
    licences = _records(demo, ("branch",), ("licensing",))
    parents = demo.read("entities").select(parent_entity_id="true_entity_id", parent_uscc="uscc")
    borrowed = licences.join(parents, on="parent_entity_id").filter(
        pl.col("uscc_in_record") == pl.col("parent_uscc")
    )
    assert borrowed.height > 0
    assert (borrowed["kind"] == "branch").all()  # the truth keeps them with the branch, not the parent


def test_individual_shops_are_named_by_shop_operator_or_both_and_the_operator_alone_is_no_name_issue(
    demo: Demo,
) -> None:
    shops = _records(demo, ("individual",)).filter(pl.col("registered_name") != "")
    operator_only = shops.filter(pl.col("name_in_record") == pl.col("operator"))
    both = shops.filter(
        pl.col("name_in_record").str.ends_with(pl.concat_str(pl.lit("("), "operator", pl.lit(")")))
        | pl.col("name_in_record").str.ends_with(pl.concat_str(pl.lit("（"), "operator", pl.lit("）")))
    )
    assert operator_only.height > 0 and both.height > 0
    assert shops.height > operator_only.height + both.height  # most still name the shop alone
    flagged = (
        demo.read("issues").filter(pl.col("issue_type") == "inconsistent.name").select("source", "record_key")
    )
    assert operator_only.join(flagged, on=["source", "record_key"], how="semi").is_empty()


def test_formatting_variants_keep_the_ground_truth_planted_cases(demo: Demo) -> None:
    assert demo.summary["planted_missing"] == 0, demo.summary["planted_missing_types"]


def test_the_noise_rate_scales_formatting_and_code_noise(tmp_path: Path) -> None:
    def blank_share(noise: float) -> float:
        generate(
            tmp_path / str(noise) / "landing",
            tmp_path / str(noise) / "truth",
            entities=600,
            seed=5,
            days=1,
            noise=noise,
        )
        records = pl.read_parquet(tmp_path / str(noise) / "truth" / "records.parquet").filter(
            pl.col("source") != "registration"
        )
        return records["uscc_blank"].mean()

    quiet, loud = blank_share(0.0), blank_share(2.0)
    assert quiet < 0.15 and loud > 0.6  # blank in 10% of licences and 50% of inspections at the default rate

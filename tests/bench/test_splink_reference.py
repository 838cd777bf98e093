"""The matchers of the Splink comparison on a small crafted set of standardised records, through the real
entry points of the benchmark (silver frames in, scored rows out): Splink as it ships and Splink with our
clustering must each link obvious duplicates (same keys, a missing phone or code, a one-character name typo)
and keep different entities apart, including two shops of one operator; our clustering must also apply the
steward's judgements to Splink's pairs."""

from __future__ import annotations

import dataclasses
import itertools
import random

import polars as pl
import pytest

from tests.extras import require

require("splink")

from benchmarks.splink_reference import (  # noqa: E402
    CONSTRAINED,
    OURS,
    SHIPPED,
    Silver,
    best,
    constrained_xref,
    run_ours,
    run_splink,
    scored_pairs,
    splink_xref,
    with_registrations,
)
from pipelines.domain.resolution.records import RECORD_SCHEMA, SILVER_COLUMNS, with_operator_and_counts  # noqa: E402
from pipelines.domain.resolution.resolve import JUDGEMENT_SCHEMA, judged_pairs  # noqa: E402
from pipelines.domain.settings import load  # noqa: E402

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鹏辉建国志文斌宇浩凯俊峰晨阳欣怡佳琪雪婷"
TRADE = "鼎盛华泰恒达金源瑞丰宏图鑫隆博远天成永安兴旺嘉禾祥和锦程万通信达正大新宇东方海川明辉"
INDUSTRY = [
    "餐饮管理",
    "贸易",
    "电子科技",
    "服装店",
    "五金商行",
    "建材",
    "物流",
    "广告",
    "医药连锁",
    "文化创意",
    "汽车维修",
    "装饰工程",
]
ROADS = [
    "中山东路",
    "解放南路",
    "天童北路",
    "鄞州大道",
    "江东北路",
    "百丈路",
    "环城西路",
    "世纪大道",
    "药行街",
    "柳汀街",
    "宁穿路",
    "兴宁路",
]
DISTRICTS = ["330203", "330205", "330206", "330211", "330212", "330213"]
ENTITIES = 120


def _people(rng: random.Random, count: int) -> list[str]:
    names = [s + g1 + g2 for s, g1, g2 in itertools.product(SURNAMES, GIVEN, GIVEN)]
    return rng.sample(names, count)


def _trade_names(rng: random.Random, count: int) -> list[str]:
    return rng.sample(["".join(p) for p in itertools.permutations(TRADE, 2)], count)


def _record(rng: random.Random, n: int, trade: str, person: str) -> dict:
    """The true attributes of entity n (trade name and person distinct across entities)."""
    road = ROADS[n % len(ROADS)]
    return {
        "uscc": f"91{DISTRICTS[n % 6]}MA{n:08d}",
        "name_key": trade + INDUSTRY[n % len(INDUSTRY)],
        "legal_rep_clean": person,
        "address_key": f"{road}{100 + n}号{rng.randint(1, 30)}幢{rng.randint(101, 2999)}室",
        "road": road,
        "district_code": DISTRICTS[n % 6],
        "phone": f"1{rng.randint(3, 9)}{rng.randint(0, 999_999_999):09d}",
    }


def _typo(text: str, rng: random.Random) -> str:
    at = rng.randrange(2, len(text))  # keep the trade name (a typo there is not "obvious")
    replacement = next(c for c in "甲乙丙丁戊己庚辛" if c != text[at])
    return text[:at] + replacement + text[at + 1 :]


def crafted() -> tuple[pl.DataFrame, pl.DataFrame]:
    """(records with RECORD_SCHEMA, truth: source, record_key, true_entity_id)."""
    rng = random.Random(7)
    trades, people = _trade_names(rng, ENTITIES + 40), _people(rng, ENTITIES)
    rows, truth = [], []

    def add(source: str, entity: int, **values) -> None:
        key = f"{source[:3]}-{len(rows):05d}"
        rows.append({"source": source, "record_key": key, **values})
        truth.append({"source": source, "record_key": key, "true_entity_id": f"E{entity:04d}"})

    for n in range(ENTITIES):
        base = _record(rng, n, trades[n], people[n])
        add("registration", n, **base, uscc_is_valid=True)
        if n % 4 != 3:  # three in four have a licence: no phone, code sometimes missing
            licence = {**base, "phone": None, "uscc": base["uscc"] if n % 3 else None}
            add("licensing", n, **licence, uscc_is_valid=bool(n % 3))
        if n % 2 == 0:  # every other has an inspection: no code, every fourth with a name typo
            name = _typo(base["name_key"], rng) if n % 4 == 0 else base["name_key"]
            add("district", n, **{**base, "uscc": None, "name_key": name}, uscc_is_valid=False)
    # Same operator, second shop: same legal representative and phone; another name (no character in common),
    # road, district and valid code.
    spare = iter(trades[ENTITIES:])
    for n in range(0, 20, 4):
        owner = rows[[t["true_entity_id"] for t in truth].index(f"E{n:04d}")]
        trade = next(t for t in spare if not set(t) & set(owner["name_key"]))
        other = _record(rng, n + 7, trade, owner["legal_rep_clean"])
        uscc = f"91{other['district_code']}MA{1000 + n:08d}"
        add("registration", 1000 + n, **{**other, "uscc": uscc, "phone": owner["phone"]}, uscc_is_valid=True)

    records = (
        pl.DataFrame(rows)
        .with_columns(
            trade_name=pl.col("name_key").str.slice(0, 2),
            reg_no=pl.lit(None, pl.String),
            name_clean=pl.col("name_key"),
            branch_marker=pl.lit(None, pl.String),
        )
        .pipe(with_operator_and_counts)
        .with_row_index("rid")
        .select(list(RECORD_SCHEMA))
        .cast(RECORD_SCHEMA)
    )
    return records, pl.DataFrame(truth)


THRESHOLDS = (0.5, 0.9, 0.999)


def _silver(records: pl.DataFrame, judgements: pl.DataFrame) -> Silver:
    """The crafted records as the silver frames the resolver reads (entity_records derives the rest)."""
    frames = {s: records.filter(pl.col("source") == s).select(SILVER_COLUMNS[s]) for s in SILVER_COLUMNS}
    return Silver(**frames, judgements=judgements)


def _truth(records: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """The ground truth as evaluation.resolution_table reads it."""
    valid = records.select("source", "record_key", has_valid_uscc_in_record="uscc_is_valid")
    return truth.join(valid, on=["source", "record_key"])


@pytest.fixture(scope="module")
def crafted_silver() -> tuple[Silver, pl.DataFrame]:
    records, truth = crafted()
    return _silver(records, pl.DataFrame(schema=JUDGEMENT_SCHEMA)), _truth(records, truth)


@pytest.fixture(scope="module")
def outcome(crafted_silver) -> dict:
    silver, truth = crafted_silver
    return run_splink(silver, truth, load().matching, THRESHOLDS)


@pytest.fixture(scope="module")
def xrefs(crafted_silver) -> dict[str, pl.DataFrame]:
    """Each Splink variant's xref at 0.9, through the same functions `run_splink` meters."""
    silver, _ = crafted_silver
    records = silver.records()
    with scored_pairs(records, min(THRESHOLDS)) as scored:
        shipped = splink_xref(records, scored, 0.9)
        pairs = with_registrations(scored.pairs(), records)
    judged = judged_pairs(silver.judgements, records)
    return {SHIPPED: shipped, CONSTRAINED: constrained_xref(records, pairs, 0.9, judged, load().matching)}


def _labelled(truth: pl.DataFrame, xref: pl.DataFrame) -> pl.DataFrame:
    return truth.join(xref, on=["source", "record_key"], how="left")


VARIANTS = pytest.mark.parametrize("variant", [SHIPPED, CONSTRAINED])


@VARIANTS
def test_every_record_gets_one_entity(crafted_silver, xrefs, variant):
    silver, _ = crafted_silver
    xref = xrefs[variant]
    assert xref.columns == ["source", "record_key", "entity_id"]
    assert xref.height == silver.records().height
    assert xref["entity_id"].null_count() == 0
    assert xref.select("source", "record_key").is_unique().all()
    assert xref.schema["entity_id"] == pl.String


@VARIANTS
def test_links_obvious_duplicates(crafted_silver, xrefs, variant):
    _, truth = crafted_silver
    frame = _labelled(truth, xrefs[variant])
    split = frame.group_by("true_entity_id").agg(n=pl.col("entity_id").n_unique()).filter(pl.col("n") > 1)
    assert split.is_empty(), f"entities split across clusters: {split['true_entity_id'].to_list()}"
    # and the duplicates really are clustered, not merely all in one blob
    assert frame["entity_id"].n_unique() == truth["true_entity_id"].n_unique()


@VARIANTS
def test_keeps_different_entities_apart(crafted_silver, xrefs, variant):
    _, truth = crafted_silver
    frame = _labelled(truth, xrefs[variant])
    merged = frame.group_by("entity_id").agg(n=pl.col("true_entity_id").n_unique()).filter(pl.col("n") > 1)
    assert merged.is_empty(), f"clusters mixing entities: {merged['entity_id'].to_list()}"
    second_shops = frame.filter(pl.col("true_entity_id").str.starts_with("E1"))
    assert second_shops.height == 5
    owners = frame.filter(pl.col("true_entity_id").is_in([f"E{n:04d}" for n in range(0, 20, 4)]))
    assert set(second_shops["entity_id"]).isdisjoint(set(owners["entity_id"]))


def test_our_clustering_applies_judgements_to_splink_pairs(crafted_silver):
    """A steward judged two records of one entity different: Splink links them, our clustering may not."""
    silver, truth = crafted_silver
    entity = truth.filter(pl.col("true_entity_id") == "E0000")
    left, right = entity.select("source", "record_key").head(2).rows()
    judgement = pl.DataFrame([("different", *left, *right)], schema=JUDGEMENT_SCHEMA, orient="row")
    judged = dataclasses.replace(silver, judgements=judgement)
    outcome = run_splink(judged, truth, load().matching, (0.9,))
    rows = {(r["matcher"], r["threshold"]): r for r in outcome["rows"]}
    assert rows[(SHIPPED, 0.9)]["recall"] == 1.0
    assert rows[(CONSTRAINED, 0.9)]["recall"] < 1.0
    assert rows[(CONSTRAINED, 0.9)]["precision"] == 1.0


def test_rows_cover_both_variants_at_every_threshold(outcome):
    rows = outcome["rows"]
    assert sorted((r["matcher"], r["threshold"]) for r in rows) == sorted(
        (m, t) for m in (SHIPPED, CONSTRAINED) for t in THRESHOLDS
    )
    at_09 = {r["matcher"]: r for r in rows if r["threshold"] == 0.9}
    assert at_09[SHIPPED]["f1"] == at_09[CONSTRAINED]["f1"] == 1.0  # the crafted set is easy at 0.9
    for row in rows:
        assert 0 < row["seconds"] and 0 < row["rss_at_start_mb"] <= row["peak_rss_mb"]
        assert row["time_includes"].startswith("silver in memory -> xref")
        assert 0 <= row["precision"] <= 1 and 0 <= row["recall"] <= 1


def test_reports_splink_phases_and_pairs(outcome, crafted_silver):
    _, truth = crafted_silver
    splink = outcome["splink"]
    assert set(splink["seconds"]) == {"load", "training", "blocking", "predict"}
    assert splink["seconds"]["training"] > 0
    assert splink["predict_at"] == min(THRESHOLDS)
    sizes = truth.group_by("true_entity_id").len()["len"]
    true_pairs = int((sizes * (sizes - 1) // 2).sum())
    assert splink["pairs_scored"] >= true_pairs  # every true pair shares at least the name or the address
    assert 0 < splink["pairs_predicted"] <= splink["pairs_scored"]


def test_best_keeps_each_matchers_highest_f1(outcome, crafted_silver):
    silver, truth = crafted_silver
    ours = run_ours(silver, truth, load().matching)["rows"]
    table = best(ours + outcome["rows"])
    assert table["matcher"].to_list() == [OURS, SHIPPED, CONSTRAINED]
    for row in table.iter_rows(named=True):
        same = [r["f1"] for r in ours + outcome["rows"] if r["matcher"] == row["matcher"]]
        assert row["f1"] == max(same)
    assert table.row(0, named=True)["f1"] > 0.95

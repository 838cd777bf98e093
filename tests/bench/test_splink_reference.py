"""The Splink reference matcher on a small crafted set of standardised records: it must link obvious
duplicates (same keys, a missing phone or code, a one-character name typo) and keep different entities apart,
including two shops of one operator."""

from __future__ import annotations

import itertools
import random

import polars as pl
import pytest

pytest.importorskip("splink")

from benchmarks.splink_reference import DEFAULT_THRESHOLD, SplinkResult, cluster_at, run_splink  # noqa: E402
from pipelines.domain.resolution.records import RECORD_SCHEMA  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鹏辉建国志文斌宇浩凯俊峰晨阳欣怡佳琪雪婷"
TRADE = "鼎盛华泰恒达金源瑞丰宏图鑫隆博远天成永安兴旺嘉禾祥和锦程万通信达正大新宇东方海川明辉"
INDUSTRY = ["餐饮管理", "贸易", "电子科技", "服装店", "五金商行", "建材", "物流", "广告", "医药连锁", "文化创意", "汽车维修", "装饰工程"]
ROADS = ["中山东路", "解放南路", "天童北路", "鄞州大道", "江东北路", "百丈路", "环城西路", "世纪大道", "药行街", "柳汀街", "宁穿路", "兴宁路"]
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
            add("licensing", n, **{**base, "phone": None, "uscc": base["uscc"] if n % 3 else None}, uscc_is_valid=bool(n % 3))
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
        add("registration", 1000 + n, **{**other, "uscc": f"91{other['district_code']}MA{1000 + n:08d}", "phone": owner["phone"]},
            uscc_is_valid=True)

    records = (
        pl.DataFrame(rows)
        .with_columns(
            trade_name=pl.col("name_key").str.slice(0, 2),
            reg_no=pl.lit(None, pl.String),
            name_clean=pl.col("name_key"),
            branch_marker=pl.lit(None, pl.String),
        )
        .with_row_index("rid")
        .select(list(RECORD_SCHEMA))
        .cast(RECORD_SCHEMA)
    )
    return records, pl.DataFrame(truth)


@pytest.fixture(scope="module")
def outcome() -> tuple[pl.DataFrame, pl.DataFrame, SplinkResult]:
    records, truth = crafted()
    return records, truth, run_splink(records, threads=2, keep_predictions_above=0.5)


def _labelled(truth: pl.DataFrame, xref: pl.DataFrame) -> pl.DataFrame:
    return truth.join(xref, on=["source", "record_key"], how="left")


def test_every_record_gets_one_entity(outcome):
    records, _, result = outcome
    assert result.xref.columns == ["source", "record_key", "entity_id"]
    assert result.xref.height == records.height
    assert result.xref["entity_id"].null_count() == 0
    assert result.xref.select("source", "record_key").is_unique().all()
    assert result.xref.schema["entity_id"] == pl.String


def test_links_obvious_duplicates(outcome):
    _, truth, result = outcome
    frame = _labelled(truth, result.xref)
    split = frame.group_by("true_entity_id").agg(pl.col("entity_id").n_unique().alias("n")).filter(pl.col("n") > 1)
    assert split.is_empty(), f"entities split across clusters: {split['true_entity_id'].to_list()}"
    # and the duplicates really are clustered, not merely all in one blob
    assert frame["entity_id"].n_unique() == truth["true_entity_id"].n_unique()


def test_keeps_different_entities_apart(outcome):
    _, truth, result = outcome
    frame = _labelled(truth, result.xref)
    merged = frame.group_by("entity_id").agg(pl.col("true_entity_id").n_unique().alias("n")).filter(pl.col("n") > 1)
    assert merged.is_empty(), f"clusters mixing entities: {merged['entity_id'].to_list()}"
    second_shops = frame.filter(pl.col("true_entity_id").str.starts_with("E1"))
    assert second_shops.height == 5
    owners = frame.filter(pl.col("true_entity_id").is_in([f"E{n:04d}" for n in range(0, 20, 4)]))
    assert set(second_shops["entity_id"]).isdisjoint(set(owners["entity_id"]))


def test_reports_phases_settings_and_pairs(outcome):
    _, truth, result = outcome
    assert {"training", "predict", "cluster", "total"} <= set(result.seconds)
    assert result.seconds["total"] >= result.seconds["training"] > 0
    assert result.settings["threshold"] == DEFAULT_THRESHOLD
    assert {c["output_column_name"] for c in result.settings["model"]["comparisons"]} >= {
        "name_key", "address_key", "legal_rep_clean", "phone", "district_code", "uscc",
    }  # fmt: skip
    sizes = truth.group_by("true_entity_id").len()["len"]
    true_pairs = int((sizes * (sizes - 1) // 2).sum())
    assert result.n_pairs_scored >= true_pairs  # every true pair shares at least the name or the address
    assert result.n_pairs_linked >= true_pairs - 30  # typo pairs reach the clusters through their siblings
    assert 0 < result.n_pairs_linked <= result.n_pairs_scored
    assert result.peak_rss_kib > 0


def test_polars_clustering_matches_splink(outcome):
    records, _, result = outcome
    threshold = result.settings["threshold"]
    ours = cluster_at(records, result.extra["predictions"], threshold)

    def partition(xref: pl.DataFrame) -> set[frozenset]:
        groups = xref.group_by("entity_id").agg(pl.concat_str("source", "record_key", separator=":"))
        return {frozenset(members) for members in groups[groups.columns[1]].to_list()}

    assert partition(ours) == partition(result.xref)

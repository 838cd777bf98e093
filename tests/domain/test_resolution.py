"""Entity resolution on small crafted cases: each hard negative stays apart, true pairs join, judgements win."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.domain.resolution import blocking, compare
from pipelines.domain.resolution.records import entity_records
from pipelines.domain.resolution.resolve import JUDGEMENT_SCHEMA, resolve_entities
from pipelines.domain.settings import load
from tests.factories import silver, valid_uscc

SETTINGS = load().matching
YONGXING = valid_uscc("91330212MA2AB1234")
YONGXING_BRANCH = valid_uscc("91330212MA2CD5678")
LAOWANG_HAISHU = valid_uscc("92330203MA2EF0001")
LAOWANG_YINZHOU = valid_uscc("92330212MA2EF0002")
ZHANG_A = valid_uscc("92330212MA2GH0003")
ZHANG_B = valid_uscc("92330212MA2GH0004")


def registration_rows() -> list[dict]:
    def reg(
        key: str,
        code: str,
        name: str,
        rep: str,
        address: str,
        authority: str,
        kind: str = "有限责任公司（自然人投资或控股）",
        phone: str = "",
    ) -> dict:
        return dict(
            record_key=key,
            uscc=code,
            name=name,
            legal_rep=rep,
            address=address,
            registration_authority=authority,
            entity_type=kind,
            established_on="2015-03-01",
            status="存续",
            phone=phone,
        )

    return [
        reg(
            "R1",
            YONGXING,
            "宁波甬兴电子科技有限公司",
            "陈国华",
            "宁波市鄞州区钟公庙街道天童南路100号",
            "宁波市鄞州区市场监督管理局",
        ),
        reg(
            "R2",
            YONGXING_BRANCH,
            "宁波甬兴电子科技有限公司鄞州分公司",
            "李明",
            "宁波市鄞州区首南街道日丽中路8号",
            "宁波市鄞州区市场监督管理局",
            "有限责任公司分公司",
        ),
        reg(
            "R3",
            LAOWANG_HAISHU,
            "宁波市海曙区老王餐饮店",
            "王建军",
            "宁波市海曙区南门街道解放南路20号",
            "宁波市海曙区市场监督管理局",
            "个体工商户",
        ),
        reg(
            "R4",
            LAOWANG_YINZHOU,
            "宁波市鄞州区老王餐饮店",
            "王建国",
            "宁波市鄞州区中河街道四明中路66号",
            "宁波市鄞州区市场监督管理局",
            "个体工商户",
        ),
        reg(
            "R5",
            ZHANG_A,
            "鄞州区张记水果店",
            "张伟",
            "宁波市鄞州区下应街道宁南北路10号",
            "宁波市鄞州区市场监督管理局",
            "个体工商户",
            "13812345678",
        ),
        reg(
            "R6",
            ZHANG_B,
            "鄞州区张记水果店",
            "张伟",
            "宁波市鄞州区潘火街道金谷中路200号",
            "宁波市鄞州区市场监督管理局",
            "个体工商户",
            "13812345678",
        ),
    ]


def licence(key: str, name: str, rep: str, address: str, code: str = "") -> dict:
    return dict(
        record_key=key,
        licence_type="食品经营许可",
        holder_name=name,
        uscc=code,
        legal_rep=rep,
        address=address,
        issued_on="2022-05-01",
        valid_until="2027-04-30",
        licence_status="有效",
        issuer="宁波市鄞州区市场监督管理局",
    )


def inspection(no: str, code: str, name: str, rep: str, address: str, phone: str = "") -> dict:
    return dict(
        record_no=no,
        district_file_code=code,
        name=name,
        legal_rep=rep,
        address=address,
        phone=phone,
        inspected_on="2026-06-01",
        inspection_type="日常检查",
        result="符合",
    )


def resolve(
    licences: list[dict],
    inspections: list[dict],
    judgements: list[dict] | None = None,
    previous=None,
    highest=0,
    extra_registrations: list[dict] | None = None,
):
    return resolve_entities(
        silver("registration", registration_rows() + (extra_registrations or [])),
        silver("licensing", licences),
        silver("district", inspections),
        pl.DataFrame(judgements or [], schema=JUDGEMENT_SCHEMA),
        previous,
        highest,
        SETTINGS,
    )


def entity_of(resolution, source: str, key: str) -> str:
    return resolution.xref.filter(pl.col("source") == source, pl.col("record_key") == key)["entity_id"].item()


def test_typo_licence_without_uscc_joins_its_registration() -> None:
    result = resolve([licence("JY1", "宁波甬興電子科枝有限責任公司", "陈国华", "鄞州区天童南路100号")], [])
    assert entity_of(result, "licensing", "JY1") == entity_of(result, "registration", "R1")
    row = result.xref.filter(pl.col("record_key") == "JY1").row(0, named=True)
    assert row["match_method"] == "fuzzy" and 0.97 <= row["match_score"] <= 1


def test_licence_in_the_operators_name_joins_the_shop_registered_without_a_trade_name() -> None:
    # A 个体工商户 without a 字号 is known by its operator's name: its licence is held by "孙飞", with no code
    # and no 负责人. Another operator's nameless shop in the same building must not take it.
    def nameless(key: str, name: str, rep: str) -> dict:
        return dict(
            record_key=key,
            uscc="",
            name=name,
            legal_rep=rep,
            address="宁波市鄞州区潘火街道金谷中路446号",
            registration_authority="宁波市鄞州区市场监督管理局",
            entity_type="个体工商户",
            established_on="2019-03-01",
            status="存续",
        )

    shops = [nameless("R7", "", "孙飞"), nameless("R8", "*", "周敏")]
    result = resolve([licence("JY7", "孙飞", "", "鄞州区金谷中路446号")], [], extra_registrations=shops)
    assert entity_of(result, "licensing", "JY7") == entity_of(result, "registration", "R7")
    assert entity_of(result, "registration", "R7") != entity_of(result, "registration", "R8")


def test_branch_licence_stays_with_the_branch_not_the_parent() -> None:
    result = resolve(
        [licence("JY2", "宁波甬兴电子科技有限公司鄞州分公司", "李明", "宁波市鄞州区日丽中路8号")], []
    )
    assert entity_of(result, "licensing", "JY2") == entity_of(result, "registration", "R2")
    assert entity_of(result, "registration", "R1") != entity_of(result, "registration", "R2")


def test_same_trade_name_in_another_district_stays_apart() -> None:
    inspections = [
        inspection("1", "330212", "老王餐饮店", "王建国", "鄞州区四明中路66号"),
        inspection("2", "330225", "老王餐饮店", "王小二", "象山县丹东街道天安路5号"),
    ]
    result = resolve([], inspections)
    assert entity_of(result, "district", "330212-1") == entity_of(result, "registration", "R4")
    assert entity_of(result, "district", "330225-2") not in {
        entity_of(result, "registration", k) for k in ("R3", "R4")
    }
    assert entity_of(result, "registration", "R3") != entity_of(result, "registration", "R4")


def test_one_operator_with_two_premises_is_two_entities() -> None:
    result = resolve([licence("JY3", "张记水果店", "张伟", "鄞州区金谷中路200号")], [])
    assert entity_of(result, "registration", "R5") != entity_of(result, "registration", "R6")
    assert entity_of(result, "licensing", "JY3") == entity_of(result, "registration", "R6")


def test_two_valid_usccs_never_chain_through_a_fuzzy_record() -> None:
    # An inspection that looks like both of the operator's shops (no address) must not merge them.
    result = resolve([], [inspection("9", "330212", "张记水果店", "张伟", "", phone="138-1234-5678")])
    assert entity_of(result, "registration", "R5") != entity_of(result, "registration", "R6")
    per_entity = (
        result.xref.join(pl.DataFrame({"record_key": ["R1", "R2", "R3", "R4", "R5", "R6"]}), on="record_key")
        .group_by("entity_id")
        .len()
    )
    assert per_entity["len"].max() == 1


def test_different_judgement_splits_a_pair_the_matcher_would_merge() -> None:
    licences = [licence("JY1", "宁波甬兴电子科技有限公司", "陈国华", "宁波市鄞州区天童南路100号")]
    merged = resolve(licences, [])
    assert entity_of(merged, "licensing", "JY1") == entity_of(merged, "registration", "R1")
    judgement = dict(
        action="different",
        left_source="registration",
        left_key="R1",
        right_source="licensing",
        right_key="JY1",
    )
    split = resolve(licences, [], [judgement])
    assert entity_of(split, "licensing", "JY1") != entity_of(split, "registration", "R1")


def test_same_judgement_joins_what_the_matcher_keeps_apart() -> None:
    inspections = [inspection("7", "330226", "海鲜大排档", "", "宁海县桃源街道某路1号")]
    apart = resolve([], inspections)
    assert entity_of(apart, "district", "330226-7") != entity_of(apart, "registration", "R3")
    judgement = dict(
        action="same",
        left_source="registration",
        left_key="R3",
        right_source="district",
        right_key="330226-7",
    )
    joined = resolve([], inspections, [judgement])
    assert entity_of(joined, "district", "330226-7") == entity_of(joined, "registration", "R3")
    assert joined.xref.filter(pl.col("record_key") == "330226-7")["match_method"].item() == "judgement"


def test_ids_survive_a_rerun_and_an_unrelated_new_record() -> None:
    licences = [licence("JY1", "宁波甬兴电子科技有限公司", "陈国华", "宁波市鄞州区天童南路100号")]
    first = resolve(licences, [])
    again = resolve(licences, [], previous=first.xref, highest=9)
    assert again.xref.equals(first.xref)
    more = resolve(
        [*licences, licence("JY9", "宁波新开张超市有限公司", "赵六", "宁波市北仑区明州路1号")],
        [],
        previous=first.xref,
        highest=9,
    )
    unchanged = more.xref.join(first.xref, on=["source", "record_key"], suffix="_before")
    assert (unchanged["entity_id"] == unchanged["entity_id_before"]).all()
    assert entity_of(more, "licensing", "JY9") == "E000000010"


@pytest.mark.parametrize("split_keeps", ["R1"])
def test_a_split_keeps_the_id_with_the_larger_part(split_keeps: str) -> None:
    licences = [
        licence("JY1", "宁波甬兴电子科技有限公司", "陈国华", "宁波市鄞州区天童南路100号"),
        licence("JY5", "宁波甬兴电子科技有限公司", "陈国华", "宁波市鄞州区天童南路100号"),
    ]
    first = resolve(licences, [])
    before = entity_of(first, "registration", split_keeps)
    judgement = dict(
        action="different",
        left_source="registration",
        left_key="R1",
        right_source="licensing",
        right_key="JY5",
    )
    after = resolve(licences, [], [judgement], previous=first.xref, highest=20)
    assert entity_of(after, "registration", split_keeps) == before
    assert entity_of(after, "licensing", "JY5") == "E000000021"


def test_a_nameless_shop_compares_by_its_operator_only_against_a_named_record() -> None:
    pairs = pl.DataFrame({
        "name_key_l": [None, None, "甬兴电子科技"], "legal_rep_clean_l": ["孙飞", "孙飞", "陈国华"],
        "name_key_r": ["孙飞", None, "甬兴电子"], "legal_rep_clean_r": [None, "孙飞", "陈国华"],
    })  # fmt: skip
    left, right = compare.known_as(pairs)
    assert left.to_list() == ["孙飞", None, "甬兴电子科技"]
    assert right.to_list() == ["孙飞", None, "甬兴电子"]


def _shop(key: str, name: str, rep: str, address: str, district: str = "鄞州区") -> dict:
    return dict(
        record_key=key,
        uscc="",
        name=name,
        legal_rep=rep,
        address=f"宁波市{district}{address}",
        registration_authority=f"宁波市{district}市场监督管理局",
        entity_type="个体工商户",
        established_on="2019-03-01",
        status="存续",
    )


def _records(licences: list[dict], shops: list[dict]) -> pl.DataFrame:
    return entity_records(
        silver("registration", registration_rows() + shops),
        silver("licensing", licences),
        silver("district", []),
    )


def test_a_record_without_legal_rep_is_blocked_by_its_operator_name() -> None:
    # The licence names only the operator (no 负责人); the operator's shop has moved to another road, so only
    # the person and the district are shared.
    records = _records(
        [licence("JY8", "林利青", "", "鄞州区百丈街道金谷北路306号")],
        [_shop("R9", "宁波市鄞州区芯柏餐馆", "林利青", "首南街道天童南路9号")],
    )
    by_key = {r["record_key"]: r for r in records.iter_rows(named=True)}
    assert by_key["JY8"]["operator"] == by_key["R9"]["operator"] == "林利青"
    rule = next(r for r in SETTINGS.blocking if r.name == "operator_district")
    pairs, _, _ = blocking.candidate_pairs(records, (rule,), SETTINGS.max_block_size)
    rids = {by_key["JY8"]["rid"], by_key["R9"]["rid"]}
    assert (min(rids), max(rids)) in set(pairs.select("rid_l", "rid_r").iter_rows())


@pytest.mark.parametrize("namesakes", [0, 1, 2])
def test_a_shared_legal_rep_is_rare_only_while_few_registrations_hold_it(namesakes: int) -> None:
    # One namesake in another district keeps the name rare (two in the city); one more in the same district,
    # or a third in the city, makes it common.
    others = [
        _shop(f"N{i}", f"象山县小店{i}", "应新琪", f"丹东街道天安路{i}号", "象山县") for i in range(namesakes)
    ]
    records = _records(
        [licence("JY9", "昌首餐饮", "应新琪", "鄞州区瞻岐镇解放南路36号")],
        [_shop("R10", "宁波市鄞州区昌首餐饮店", "应新琪", "白鹤街道钱湖北路3号"), *others],
    )
    by_key = {r["record_key"]: r for r in records.iter_rows(named=True)}
    pair = pl.DataFrame({"rid_l": [by_key["R10"]["rid"]], "rid_r": [by_key["JY9"]["rid"]]})
    level = compare.levels(compare.with_attributes(pair, records))["legal_rep_level"].item()
    assert level == ("same_rare" if namesakes <= 1 else "same")


@pytest.mark.parametrize("namesakes", [0, 2])
def test_an_operator_name_is_rare_on_the_side_of_the_person(namesakes: int) -> None:
    # The licence is issued to 周晨 while its 负责人 field holds someone no registration has: what counts is how
    # many registrations hold 周晨, the shop's legal rep.
    others = [
        _shop(f"N{i}", f"象山县小店{i}", "周晨", f"丹东街道天安路{i}号", "象山县") for i in range(namesakes)
    ]
    records = _records(
        [licence("JY10", "周晨", "徐鹏泽", "鄞州区庄桥街道前进西路3号")],
        [_shop("R11", "宁波市鄞州区芯柏餐馆", "周晨", "庄桥街道前进西路3号"), *others],
    )
    by_key = {r["record_key"]: r for r in records.iter_rows(named=True)}
    pair = pl.DataFrame({"rid_l": [by_key["R11"]["rid"]], "rid_r": [by_key["JY10"]["rid"]]})
    level = compare.levels(compare.with_attributes(pair, records))["name_level"].item()
    assert level == ("operator_rare" if namesakes == 0 else "operator")


@settings(max_examples=25, deadline=None)
@given(elsewhere=st.integers(0, 6), nearby=st.integers(0, 4), twin=st.booleans())
def test_a_name_is_rare_while_no_registration_beyond_the_pair_holds_it_nearby_and_one_at_most_elsewhere(
    elsewhere: int, nearby: int, twin: bool
) -> None:
    # A licence and its shop, or two registrations of one shop (a duplicate is not its own namesake): only
    # registrations beyond the pair count, whatever their number (counts are stored capped).
    name = "宁波市鄞州区昌首餐饮店"
    namesakes = [_shop(f"N{i}", name, "应新琪", f"丹东街道天安路{i}号", "象山县") for i in range(elsewhere)]
    namesakes += [_shop(f"M{i}", name, "应新琪", f"首南街道日丽中路{i}号") for i in range(nearby)]
    shop = _shop("R12", name, "应新琪", "白鹤街道钱湖北路3号")
    other = [{**shop, "record_key": "R13"}] if twin else []
    licences = [] if twin else [licence("JY12", "宁波市鄞州区昌首餐饮店", "应新琪", "鄞州区钱湖北路3号")]
    records = _records(licences, [shop, *other, *namesakes])
    by_key = {r["record_key"]: r for r in records.iter_rows(named=True)}
    pair = pl.DataFrame(
        {"rid_l": [by_key["R12"]["rid"]], "rid_r": [by_key["R13" if twin else "JY12"]["rid"]]}
    )
    levels = compare.levels(compare.with_attributes(pair, records)).row(0, named=True)
    rare = nearby == 0 and elsewhere <= 1
    expected = ("exact_rare", "same_rare") if rare else ("exact", "same")
    assert (levels["name_level"], levels["legal_rep_level"]) == expected


@pytest.mark.parametrize(("tenants", "level"), [(0, "exact_rare"), (2, "exact")])
def test_an_address_is_rare_while_no_other_registration_is_there(tenants: int, level: str) -> None:
    # A licence at its shop's address: strong evidence at a shop's own door, weak in a building of many.
    address = "首南街道天童南路9号"
    others = [_shop(f"T{i}", f"宁波市鄞州区租户{i}商行", f"租户{i}", address) for i in range(tenants)]
    records = _records(
        [licence("JY13", "宁波市鄞州区芯柏餐馆", "", f"鄞州区{address}")],
        [_shop("R14", "宁波市鄞州区芯柏小吃店", "林利青", address), *others],
    )
    by_key = {r["record_key"]: r for r in records.iter_rows(named=True)}
    pair = pl.DataFrame({"rid_l": [by_key["R14"]["rid"]], "rid_r": [by_key["JY13"]["rid"]]})
    assert compare.levels(compare.with_attributes(pair, records))["location_level"].item() == level

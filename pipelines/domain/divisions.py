"""Ningbo's county-level divisions (GB/T 2260), their streets and towns, and the names that point at them.

Reference data, read by the address normaliser and by the demo generator. Legacy divisions map to their
successors (江东区 went into 鄞州区 in 2016, 奉化市 became 奉化区), and the functional zones' market
supervision branches map to the district that hosts them.
"""

from __future__ import annotations

from dataclasses import dataclass

CITY_CODE = "330200"
CITY_NAME = "宁波市"
PROVINCE_NAME = "浙江省"


@dataclass(frozen=True)
class Division:
    code: str
    name: str  # 海曙区
    short: str  # 海曙
    streets: tuple[str, ...]  # 街道 / 镇 / 乡


DIVISIONS: tuple[Division, ...] = (
    Division(
        "330203",
        "海曙区",
        "海曙",
        (
            "南门街道",
            "江厦街道",
            "西门街道",
            "月湖街道",
            "鼓楼街道",
            "白云街道",
            "段塘街道",
            "望春街道",
            "石碶街道",
            "集士港镇",
            "古林镇",
            "高桥镇",
            "横街镇",
            "鄞江镇",
            "洞桥镇",
            "章水镇",
            "龙观乡",
        ),
    ),
    Division(
        "330205",
        "江北区",
        "江北",
        ("中马街道", "白沙街道", "孔浦街道", "文教街道", "甬江街道", "庄桥街道", "洪塘街道", "慈城镇"),
    ),
    Division(
        "330206",
        "北仑区",
        "北仑",
        (
            "新碶街道",
            "小港街道",
            "大碶街道",
            "霞浦街道",
            "柴桥街道",
            "戚家山街道",
            "春晓街道",
            "梅山街道",
            "大榭街道",
            "白峰街道",
            "郭巨街道",
        ),
    ),
    Division(
        "330211",
        "镇海区",
        "镇海",
        ("招宝山街道", "蛟川街道", "骆驼街道", "庄市街道", "贵驷街道", "澥浦镇", "九龙湖镇"),
    ),
    Division(
        "330212",
        "鄞州区",
        "鄞州",
        (
            "钟公庙街道",
            "下应街道",
            "首南街道",
            "中河街道",
            "白鹤街道",
            "百丈街道",
            "东胜街道",
            "明楼街道",
            "福明街道",
            "东柳街道",
            "东郊街道",
            "潘火街道",
            "姜山镇",
            "五乡镇",
            "邱隘镇",
            "咸祥镇",
            "塘溪镇",
            "东吴镇",
            "瞻岐镇",
            "云龙镇",
            "横溪镇",
            "东钱湖镇",
        ),
    ),
    Division(
        "330213",
        "奉化区",
        "奉化",
        (
            "锦屏街道",
            "岳林街道",
            "江口街道",
            "西坞街道",
            "萧王庙街道",
            "方桥街道",
            "莼湖街道",
            "尚田街道",
            "溪口镇",
            "大堰镇",
            "松岙镇",
            "裘村镇",
        ),
    ),
    Division(
        "330225",
        "象山县",
        "象山",
        (
            "丹东街道",
            "丹西街道",
            "爵溪街道",
            "石浦镇",
            "西周镇",
            "贤庠镇",
            "墙头镇",
            "泗洲头镇",
            "定塘镇",
            "涂茨镇",
            "大徐镇",
            "新桥镇",
            "鹤浦镇",
            "东陈乡",
            "晓塘乡",
            "黄避岙乡",
            "茅洋乡",
            "高塘岛乡",
        ),
    ),
    Division(
        "330226",
        "宁海县",
        "宁海",
        (
            "跃龙街道",
            "桃源街道",
            "梅林街道",
            "桥头胡街道",
            "长街镇",
            "力洋镇",
            "一市镇",
            "岔路镇",
            "前童镇",
            "桑洲镇",
            "黄坛镇",
            "大佳何镇",
            "强蛟镇",
            "西店镇",
            "深甽镇",
            "胡陈乡",
            "茶院乡",
            "越溪乡",
        ),
    ),
    Division(
        "330281",
        "余姚市",
        "余姚",
        (
            "阳明街道",
            "梨洲街道",
            "凤山街道",
            "兰江街道",
            "低塘街道",
            "朗霞街道",
            "临山镇",
            "黄家埠镇",
            "小曹娥镇",
            "泗门镇",
            "马渚镇",
            "牟山镇",
            "丈亭镇",
            "三七市镇",
            "河姆渡镇",
            "大隐镇",
            "陆埠镇",
            "梁弄镇",
            "大岚镇",
            "四明山镇",
            "鹿亭乡",
        ),
    ),
    Division(
        "330282",
        "慈溪市",
        "慈溪",
        (
            "浒山街道",
            "古塘街道",
            "白沙路街道",
            "坎墩街道",
            "宗汉街道",
            "横河镇",
            "匡堰镇",
            "逍林镇",
            "新浦镇",
            "胜山镇",
            "附海镇",
            "观海卫镇",
            "掌起镇",
            "龙山镇",
            "崇寿镇",
            "庵东镇",
            "长河镇",
            "周巷镇",
        ),
    ),
)

BY_CODE: dict[str, Division] = {d.code: d for d in DIVISIONS}

# Names that are not a current division but point at one (legacy divisions, functional zones).
ALIASES: dict[str, str] = {
    "江东区": "330212",
    "奉化市": "330213",
    "高新区": "330212",
    "国家高新区": "330212",
    "东钱湖旅游度假区": "330212",
    "保税区": "330206",
    "大榭开发区": "330206",
    "杭州湾新区": "330282",
}
LEGACY_CODES: dict[str, str] = {"330204": "330212", "330283": "330213"}


def district_names() -> dict[str, str]:
    """Every text that names a division -> its current code (full names, short names, aliases)."""
    names = {d.name: d.code for d in DIVISIONS}
    names.update({d.short: d.code for d in DIVISIONS})
    names.update(ALIASES)
    return names


def street_index() -> dict[str, str]:
    """Street / town name -> division code (streets are unique across Ningbo's divisions)."""
    return {street: d.code for d in DIVISIONS for street in d.streets}


def authority_name(code: str) -> str:
    """The market supervision bureau that registers entities of a division."""
    if code == CITY_CODE:
        return f"{CITY_NAME}市场监督管理局"
    return f"{CITY_NAME}{BY_CODE[code].name}市场监督管理局"

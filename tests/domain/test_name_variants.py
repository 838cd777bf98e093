"""Property: a formatting variant of any registered name never flags inconsistent.name.

Formatting, per the contract: brackets (full/half width, around the branch part or not), character width,
the administrative prefix in any form, spacing, traditional characters, 有限公司 / 有限责任公司, and a
个体工商户's operator added in brackets. The names are built from parts drawn here, not by the demo generator,
and go through the real flag rule (flags.detect via tests.domain.test_flags.issues).
"""

from __future__ import annotations

import opencc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.domain.test_flags import inspection, issues, licence, registration

_S2T = opencc.OpenCC("s2t")
_T2S = opencc.OpenCC("t2s")
# Trade-name characters (none is a place, legal-form or branch word); several have a traditional form.
ZIHAO = "华盛达鑫恒宏隆瑞金源天星明宇博创新佳美正信诚德丰利通泰安康顺昌荣凯腾辉龙祥润浩骏嘉益汇联众邦卓坤艺蓝青峰林森泽耀旭晨宸弘毅诺铭尚优乐福喜俊杰豪伟强宝丽彩虹云鼎晶鹏翔飞扬振鸿"
INDUSTRIES = ("餐饮管理", "贸易", "电子科技", "生物科技", "建材", "食品", "医药连锁", "信息技术")
SHOP_WORDS = ("面馆", "快餐店", "便利店", "水果店", "大药房", "五金店")
PREFIXES = ("", "宁波", "宁波市", "宁波市海曙区", "海曙区", "余姚市", "宁波市余姚市", "浙江", "浙江省宁波市")
BRANCHES = ("", "江北分公司", "鄞州分公司", "首南分公司", "象山第二分公司")
PERSONS = ("陈国华", "张伟", "欧阳明月", "李娜")
FULL_WIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


@st.composite
def registered_and_variant(draw: st.DrawFn) -> tuple[str, str]:
    """(registered name, a formatting-only variant of it)."""
    zihao = "".join(draw(st.lists(st.sampled_from(ZIHAO), min_size=2, max_size=4)))
    shop = draw(st.booleans())
    industry = draw(st.sampled_from(SHOP_WORDS if shop else INDUSTRIES))
    form = "" if shop else draw(st.sampled_from(("有限公司", "有限责任公司", "股份有限公司")))
    branch = "" if shop else draw(st.sampled_from(BRANCHES))
    registered = draw(st.sampled_from(PREFIXES)) + zihao + industry + form + branch

    prefix = draw(st.sampled_from(PREFIXES))
    if form in ("有限公司", "有限责任公司") and draw(st.booleans()):
        form = "有限责任公司" if form == "有限公司" else "有限公司"
    if branch and draw(st.booleans()):
        branch = draw(st.sampled_from(("（{}）", "({})"))).format(branch)
    operator = (
        draw(st.sampled_from(("", "（{}）", "({})"))).format(draw(st.sampled_from(PERSONS))) if shop else ""
    )
    spacer = draw(st.sampled_from(("", " ", "　")))
    variant = spacer.join([prefix, zihao + industry, form + branch + operator]).strip(" ")
    if draw(st.booleans()):
        variant = "".join(FULL_WIDTH.get(c, c) for c in variant)
    if draw(st.booleans()):
        converted = _S2T.convert(variant)
        variant = converted if _T2S.convert(converted) == variant else variant
    return registered, variant


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registered_and_variant())
def test_a_formatting_variant_of_a_registered_name_never_flags_inconsistent_name(
    names: tuple[str, str],
) -> None:
    registered, variant = names
    found = issues(
        [registration(name=registered)], [licence(holder_name=variant)], [inspection(name=variant)]
    )
    assert "inconsistent.name" not in set(found["issue_type"]), (registered, variant)


def test_a_licence_issued_to_the_operator_of_a_named_shop_is_no_name_issue() -> None:
    found = issues(
        [registration(name="宁波市海曙区张记面馆", legal_rep="陈国华")],
        [licence(holder_name="陈国华")],
        [inspection(name="陈 国 华")],
    )
    assert "inconsistent.name" not in set(found["issue_type"])


def test_another_trade_name_still_flags() -> None:
    found = issues(
        [registration(name="宁波瑞华贸易有限公司江北分公司")],
        [licence(holder_name="宁波瑞祥贸易有限公司（江北分公司）")],
        [],
    )
    assert "inconsistent.name" in set(found["issue_type"])

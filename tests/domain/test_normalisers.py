"""Property tests of the normalisers: USCC check characters, names, dates, phones, addresses."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.domain import addresses, names, phones, uscc, vocab
from pipelines.domain.dates import parse_date_expr
from pipelines.domain.text import fold

ALPHABET = uscc.ALPHABET
# Registration authority and category, a 6-digit division code, a 9-character organisation code.
bodies = st.builds(
    lambda head, division, org: head + division + org,
    st.text(alphabet=ALPHABET, min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=ALPHABET, min_size=9, max_size=9),
)


def valid(codes: list[str]) -> list[bool]:
    frame = pl.DataFrame({"c": codes}).select(v=uscc.valid_expr(uscc.clean_expr(pl.col("c"))))
    return frame["v"].to_list()


@given(bodies)
def test_a_generated_uscc_always_validates(body: str) -> None:
    code = body + uscc.check_character(body)
    assert uscc.is_valid(code)
    assert valid(
        [code, f"  {code.lower()} ", code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))]
    ) == [True, True, True]


@given(bodies, st.integers(0, 17), st.sampled_from(ALPHABET))
def test_any_single_character_change_never_validates(body: str, position: int, replacement: str) -> None:
    code = body + uscc.check_character(body)
    changed = code[:position] + replacement + code[position + 1 :]
    if changed != code:
        assert not uscc.is_valid(changed)
        assert valid([changed]) == [False]


# Any text, with the lookalikes that trip regexes: other scripts' digits, full-width forms, letters not in
# the alphabet. The scalar and vectorised checks must agree and neither may raise.
odd_text = st.text(alphabet=ALPHABET + "IOSVZaz -０٣५〇", max_size=20)


# Codes whose check character matches, wherever letters fall, then perhaps one lookalike swapped in.
checked = st.builds(
    lambda body, position, swap: (
        (body + uscc.check_character(body))[:position]
        + swap
        + (body + uscc.check_character(body))[position + 1 :]
    ),
    st.text(alphabet=ALPHABET, min_size=17, max_size=17),
    st.integers(0, 17),
    st.sampled_from(["", "٣", "０", "I"]),
)


@given(st.lists(odd_text | checked, min_size=1, max_size=20))
def test_scalar_and_vectorised_checks_agree_on_any_text(texts: list[str]) -> None:
    clean = pl.DataFrame({"c": texts}).select(uscc.clean_expr(pl.col("c")))["c"].to_list()
    assert valid(texts) == [uscc.is_valid(c) for c in clean]


@given(st.lists(st.text(alphabet="0123456789-/.年月日 T:٣५〇０", max_size=14), min_size=1, max_size=20))
def test_dates_and_phones_of_any_digits_parse_or_are_null(texts: list[str]) -> None:
    frame = pl.DataFrame({"t": texts}).select(
        d=parse_date_expr(pl.col("t")), p=phones.normalise_expr(pl.col("t"))
    )
    assert frame.height == len(texts)
    assert all(p is None or p.isascii() for p in frame["p"])


def test_uscc_parts_and_no_repair() -> None:
    code = "91330212MA2AB1234" + uscc.check_character("91330212MA2AB1234")
    broken = code[:-1] + ("0" if code[-1] != "0" else "1")
    frame = pl.DataFrame({"c": [code, broken, "", None]}).with_columns(clean=uscc.clean_expr(pl.col("c")))
    frame = frame.with_columns(valid=uscc.valid_expr(pl.col("clean")), **uscc.parts_exprs(pl.col("clean")))
    assert frame["valid"].to_list() == [True, False, False, False]
    assert frame["clean"][1] == broken  # kept as delivered, flagged, never repaired
    assert frame.row(0, named=True)["uscc_division_code"] == "330212"
    assert frame.row(0, named=True)["uscc_category"] == "1"


COMPANY_NAMES = [
    "宁波市鄞州区甬兴餐饮管理有限公司",
    "甬兴(宁波)电子科技有限公司",
    "宁波华联超市股份有限公司钟公庙店",
    "慈溪市绿野果蔬专业合作社",
    "鄞州区张记水果店",
]


def name_keys(values: list[str]) -> list[str]:
    return names.normalise(pl.DataFrame({"n": values}), "n").collect()["name_key"].to_list()


def variants(name: str) -> list[str]:
    """Formatting-only variants: width, brackets, spaces, traditional characters, legal-form spelling."""
    import opencc

    full_width = name.translate(str.maketrans("()0123456789", "（）０１２３４５６７８９"))
    return [
        name,
        full_width,
        " ".join(name),
        opencc.OpenCC("s2t").convert(name),
        name.replace("有限公司", "有限责任公司"),
        name.replace("宁波市鄞州区", "").replace("宁波市", "宁波"),
    ]


@given(st.sampled_from(COMPANY_NAMES))
@settings(max_examples=10, deadline=None)
def test_name_key_ignores_width_brackets_spaces_traditional_and_legal_form(name: str) -> None:
    keys = name_keys(variants(name))
    assert len(set(keys)) == 1, keys


@given(st.text(max_size=30))
@settings(deadline=None)
def test_name_normalisation_is_idempotent(text: str) -> None:
    once = names.normalise(pl.DataFrame({"n": [text]}), "n").collect()["name_clean"].to_list()
    twice = names.normalise(pl.DataFrame({"n": once}), "n").collect()["name_clean"].to_list()
    assert once == twice
    folded = pl.DataFrame({"t": [text]}).select(f=fold(pl.col("t")))["f"].to_list()
    again = pl.DataFrame({"t": folded}).select(f=fold(pl.col("t")))["f"].to_list()
    assert folded == again


def test_branch_marker_is_kept_apart_from_the_key() -> None:
    frame = names.normalise(
        pl.DataFrame({"n": ["宁波甬兴电子科技有限公司鄞州分公司", "宁波甬兴电子科技有限公司"]}), "n"
    ).collect()
    assert frame["branch_marker"].to_list() == ["鄞州分公司", None]
    assert frame["name_key"].n_unique() == 1


def date_forms(day: dt.date) -> list[str]:
    y, m, d = day.year, day.month, day.day
    return [
        day.isoformat(),
        f"{y}-{m}-{d}",
        f"{y}/{m:02d}/{d:02d}",
        f"{y}/{m}/{d}",
        f"{y}.{m:02d}.{d:02d}",
        f"{y}{m:02d}{d:02d}",
        f"{y}年{m}月{d}日",
        f"{y}年{m:02d}月{d:02d}日",
        f"{day.isoformat()} 00:00:00",
        f"{day.isoformat()}T08:30",
        str((day - dt.date(1899, 12, 30)).days),
    ]


@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2099, 12, 31)))
@settings(deadline=None)
def test_every_accepted_date_form_parses_to_the_same_date(day: dt.date) -> None:
    parsed = pl.DataFrame({"t": date_forms(day)}).select(d=parse_date_expr(pl.col("t")))["d"].to_list()
    assert parsed == [day] * len(parsed)


def test_impossible_dates_are_null_not_errors() -> None:
    parsed = pl.DataFrame({"t": ["2020-02-30", "2020-13-01", "abc", "", None, "12"]}).select(
        d=parse_date_expr(pl.col("t"))
    )
    assert parsed["d"].null_count() == 6


@given(st.sampled_from(["13812345678", "0574-87654321"]), st.sampled_from(["", " ", "-", "(", "+86 "]))
def test_phones_have_one_form(phone: str, noise: str) -> None:
    written = noise + phone if noise == "+86 " else phone.replace("-", noise) if noise in (" ", "") else phone
    out = pl.DataFrame({"p": [written]}).select(p=phones.normalise_expr(pl.col("p")))["p"].item()
    assert out == phone


def test_every_contract_status_maps_to_a_normalised_one() -> None:
    from pipelines.domain.contract import REGISTRATION_STATUSES

    mapped = pl.DataFrame({"s": sorted(REGISTRATION_STATUSES) + ["吊销，未注销"]}).select(
        v=vocab.map_expr(pl.col("s"), vocab.ENTITY_STATUS)
    )
    assert "unknown" not in mapped["v"].to_list()
    assert set(mapped["v"]) == {"active", "revoked", "deregistered", "moved_out", "cancelled"}


def test_districts_from_address_authority_and_codes_in_order_of_trust() -> None:
    frame = pl.DataFrame({"a": ["宁波市江东区百丈街道中山东路12号", "鄞州大道100号", "象山石浦镇渔港路1号"]})
    codes = frame.select(c=addresses.district_from_text(addresses.clean_expr(pl.col("a"))))["c"].to_list()
    assert codes == [
        "330212",
        None,
        "330225",
    ]  # 江东区 is in 鄞州区 since 2016; a road name is not a district
    code, source = addresses.district_with_source(
        {"address": pl.lit(None, pl.String), "authority": pl.lit("330203"), "uscc": pl.lit("330212")}
    )
    assert pl.select(c=code, s=source).row(0) == ("330203", "authority")

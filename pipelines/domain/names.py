"""Entity names: one spelling for display and comparison, a matching key, and the branch marker.

A Chinese entity name is [行政区划] 字号 [行业] [组织形式] [分支机构]. The matching key keeps 字号 and the
industry words, which is what tells businesses apart; it drops the administrative prefix (宁波市鄞州区, or
"(宁波)" after the 字号) and the legal form, which sources write in many ways. The branch marker is kept
apart because a branch (XX有限公司鄞州分公司) is a different entity from its parent.
"""

from __future__ import annotations

import polars as pl

from pipelines.domain import divisions
from pipelines.domain.text import alternation, fold

PLACEHOLDERS = ("", "*", "**", "***", "-", "--", "/", "无", "无字号", "null", "NULL", "none", "None")
# Longest first, so that 股份有限公司 is not read as 有限公司.
LEGAL_FORMS = (
    "股份有限公司",
    "有限公司",
    "个人独资企业",
    "(普通合伙)",
    "(有限合伙)",
    "普通合伙企业",
    "有限合伙企业",
    "合伙企业",
    "农民专业合作社联合社",
    "农民专业合作社",
    "专业合作社",
    "公司",
)
BRANCH_SUFFIX = r"(分公司|分厂|分店|分行|支行|营业部|办事处|经营部|分部|分社|店)$"
PARENT_END = r"(公司|企业|合作社|厂|\(普通合伙\)|\(有限合伙\))"
PARTNERSHIP_FORMS = "(?:普通合伙|有限合伙)"
OPERATOR_IN_BRACKETS = r"\([\p{Han}·]{2,4}\)$"  # a person's name: 2 to 4 Han characters


def _admin_names() -> list[str]:
    return sorted(
        set(divisions.district_names()) | {"宁波市", "宁波", "浙江省", "浙江", "中国"}, key=len, reverse=True
    )


ADMIN = alternation(_admin_names())
LEGAL_FORM = alternation(list(LEGAL_FORMS))


def clean_expr(raw: pl.Expr) -> pl.Expr:
    """Folded name with 有限责任公司 written 有限公司 (the contract treats them as one legal form)."""
    return fold(raw).str.replace_all("有限责任公司", "有限公司", literal=True)


def is_placeholder_expr(raw: pl.Expr) -> pl.Expr:
    """No trade name: 个体工商户 registered without one are delivered blank or as `*`."""
    return raw.fill_null("").str.strip_chars().is_in(list(PLACEHOLDERS))


def branch_parts(clean: pl.Expr) -> dict[str, pl.Expr]:
    """`branch_marker` (e.g. 鄞州分公司, null when not a branch) and the parent part of the name.

    Sources bracket the branch part or not (XX有限公司(江北分公司) / XX有限公司江北分公司): one marker
    either way.
    """
    suffix = BRANCH_SUFFIX.removesuffix("$")
    pattern = rf"^(?<parent>.+?{PARENT_END})(?:(?<branch>[^()]+?{suffix})|\((?<bracketed>[^()]+?{suffix})\))$"
    parts = clean.str.extract_groups(pattern)
    parts = pl.struct(
        parent=parts.struct.field("parent"),
        branch=pl.coalesce(parts.struct.field("branch"), parts.struct.field("bracketed")),
    )
    is_branch = parts.struct.field("branch").is_not_null()
    return {
        "branch_marker": parts.struct.field("branch"),
        "parent_name": pl.when(is_branch).then(parts.struct.field("parent")).otherwise(clean),
    }


def without_operator(name: pl.Expr) -> pl.Expr:
    """The name without a trailing bracketed person (宁海县开通海鲜排档(邵丽)): licensing and district clerks
    add a 个体工商户's operator to its shop name. A bracketed legal form ((普通合伙)) is not a person."""
    return (
        pl.when(name.str.contains(rf"\({PARTNERSHIP_FORMS}\)$"))
        .then(name)
        .otherwise(name.str.replace(OPERATOR_IN_BRACKETS, ""))
    )


def key_expr(parent_name: pl.Expr) -> pl.Expr:
    """字号 + industry words: no administrative prefix or bracketed place, no legal form, no bracketed
    operator."""
    bracketed_place = rf"\({ADMIN}\)"
    leading_places = rf"^(?:{ADMIN})+"
    stripped = (
        without_operator(parent_name.str.replace_all(bracketed_place, ""))
        .str.replace(leading_places, "")
        .str.replace(rf"{LEGAL_FORM}$", "")
        .str.replace_all(r"[()]", "")
    )
    # A name that is only a place and a legal form keeps its whole text rather than an empty key.
    return pl.when(stripped == "").then(parent_name).otherwise(stripped)


def legal_form_expr(clean: pl.Expr) -> pl.Expr:
    branch = BRANCH_SUFFIX.removesuffix("$")
    return clean.str.extract(rf"({LEGAL_FORM})(?:[^()]*{branch}|\([^()]*{branch}\))?$", 1)


def normalise(frame: pl.LazyFrame | pl.DataFrame, column: str, prefix: str = "name") -> pl.LazyFrame:
    """Adds `<prefix>_clean`, `<prefix>_key`, `<prefix>_is_placeholder`, `legal_form`, `branch_marker`."""
    lazy = frame.lazy()
    clean = f"{prefix}_clean"
    lazy = lazy.with_columns(clean_expr(pl.col(column)).alias(clean))
    lazy = lazy.with_columns(
        **branch_parts(pl.col(clean)),
        legal_form=legal_form_expr(pl.col(clean)),
        **{f"{prefix}_is_placeholder": is_placeholder_expr(pl.col(column))},
    )
    key = (
        pl.when(pl.col(f"{prefix}_is_placeholder"))
        .then(pl.lit(""))
        .otherwise(key_expr(pl.col("parent_name")))
    )
    return lazy.with_columns(key.alias(f"{prefix}_key")).drop("parent_name")

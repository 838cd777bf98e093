"""The sources' closed vocabularies mapped to the warehouse's normalised English values.

Entity statuses follow the warehouse contract (active / revoked / deregistered / moved_out / cancelled /
unknown). The contract names no values for licences and inspections; these are ours, documented here
and in the README. A value outside a vocabulary becomes `unknown` (and fails a quality expectation).
"""

from __future__ import annotations

import polars as pl

from pipelines.domain.contract import normalise_vocabulary_value

UNKNOWN = "unknown"
ACTIVE_STATUSES = ("存续", "在业", "开业")

ENTITY_STATUS = {
    "存续": "active",
    "在业": "active",
    "开业": "active",
    "吊销,未注销": "revoked",
    "吊销": "revoked",
    "注销": "deregistered",
    "迁出": "moved_out",
    "撤销": "cancelled",
}
LICENCE_STATUS = {"有效": "valid", "注销": "deregistered", "吊销": "revoked", "撤销": "cancelled"}
LICENCE_TYPE = {
    "食品生产许可": "food_production",
    "食品经营许可": "food_business",
    "仅销售预包装食品备案": "prepackaged_food_filing",
    "药品经营许可": "drug_business",
    "医疗器械经营许可": "medical_device_business",
    "第二类医疗器械经营备案": "class2_medical_device_filing",
    "化妆品生产许可": "cosmetics_production",
}
FILING_LICENCE_TYPES = ("prepackaged_food_filing", "class2_medical_device_filing")  # 备案: no expiry
INSPECTION_TYPE = {
    "日常检查": "routine",
    "双随机抽查": "random",
    "专项检查": "special",
    "投诉核查": "complaint",
}
INSPECTION_RESULT = {
    "符合": "compliant",
    "基本符合": "basically_compliant",
    "不符合": "non_compliant",
    "责令整改": "rectification_ordered",
    "查无下落": "not_found",
    "已停业": "ceased",
    "已歇业": "suspended",
}
OPERATING_RESULTS = ("compliant", "basically_compliant", "non_compliant", "rectification_ordered")
YES_NO = {"是": True, "否": False}


def map_expr(raw: pl.Expr, vocabulary: dict[str, str]) -> pl.Expr:
    """Delivered text -> normalised value; blank or unknown -> `unknown`."""
    folded = {normalise_vocabulary_value(k): v for k, v in vocabulary.items()}
    key = raw.fill_null("").str.normalize("NFKC").str.replace_all(r"\s+", "")
    return key.replace_strict(folded, default=UNKNOWN, return_dtype=pl.String)


def yes_no_expr(raw: pl.Expr) -> pl.Expr:
    key = raw.fill_null("").str.normalize("NFKC").str.strip_chars()
    return key.replace_strict(YES_NO, default=None, return_dtype=pl.Boolean)

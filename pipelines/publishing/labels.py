"""Chinese labels for the columns people read, and numbers formatted the way a reader expects.

Every page a steward or analyst opens shows a column as its Chinese label with the canonical (English
snake_case) name beside it, so the engineers' vocabulary stays one glance away. A column without a label
shows its canonical name alone. Numbers: thousands separators, shares as percentages.
"""

from __future__ import annotations

import datetime as dt
import html

LABELS: dict[str, str] = {
    # places and time
    "district_code": "区县市代码",
    "district_name": "区县市",
    "month": "月份",
    "is_partial_month": "不完整月份",
    "delivery_date": "交付日期",
    "source": "数据来源",
    "layer": "数据层",
    "table": "表",
    "rows": "行数",
    # market flows
    "entity_kind": "主体类别",
    "entity_kind_zh": "主体类别",
    "industry": "行业代码",
    "industry_zh": "行业",
    "new_registrations": "新设登记",
    "deregistrations": "注销",
    "revocations": "吊销",
    "other_exits": "撤销及迁出",
    "exits": "退出合计",
    "net_growth": "净增长",
    "entities_at_month_end": "月末存续主体",
    "entities_at_month_start": "月初存续主体",
    "exits_avg_12m": "前12个月月均退出",
    "exits_change": "退出较月均变化",
    "deregistrations_avg_12m": "前12个月月均注销",
    "deregistrations_change": "注销较月均变化",
    "new_registrations_12m": "近12个月新设",
    "deregistrations_12m": "近12个月退出",
    "licences_issued_12m": "近12个月新发许可",
    "licences_expired_12m": "近12个月到期许可",
    "exits_12m": "近12个月退出",
    "net_growth_12m": "近12个月净增长",
    # survival
    "cohort_year": "登记年度",
    "registered": "登记主体数",
    "survival_1y": "1年存活率",
    "survival_3y": "3年存活率",
    "survival_5y": "5年存活率",
    # licences
    "licence_category": "许可类别代码",
    "licence_category_zh": "许可类别",
    "issued": "新发",
    "expired": "到期",
    "expiring_3m": "3个月内到期",
    "in_force": "有效期内",
    "issued_12m": "近12个月新发",
    "expired_12m": "近12个月到期",
    "licences_issued": "新发许可",
    "licences_expired": "到期许可",
    # inspections
    "inspections": "检查次数",
    "entities_inspected": "被检查主体",
    "compliant": "符合",
    "basically_compliant": "基本符合",
    "non_compliant": "不符合",
    "rectification_ordered": "责令整改",
    "not_found": "查无下落",
    "ceased": "已停业",
    "suspended": "已歇业",
    "unknown_result": "结果未知",
    "penalties": "行政处罚",
    "penalty_amount": "罚没款（元）",
    "entities_inspected_12m": "近12个月被检查主体",
    "coverage_12m": "近12个月检查覆盖率",
    "non_compliant_share": "不合格率",
    # issues and zombies
    "open_issues": "未处理问题",
    "open_high_issues": "未处理高风险问题",
    "new_issues": "新发现问题",
    "new_open": "新发现且未处理",
    "zombie_entities": "疑似僵尸主体",
    "zombie_share": "僵尸主体占比",
    "zombie_share_change": "占比较上月变化",
    "open_issues_change": "问题较上月变化",
    "issue_type": "问题类型",
    "issue_type_zh": "问题类型（中文）",
    "severity": "严重程度",
    "status": "状态",
    "issues": "问题数",
    "tasks": "监管任务",
    "reason": "原因",
    # indices
    "vitality_index": "景气指数",
    "credit_index": "信用指数",
    "vitality_change_1m": "景气较上月",
    "vitality_change_12m": "景气较上年同月",
    "credit_change_1m": "信用较上月",
    "credit_change_12m": "信用较上年同月",
    "abnormal_listed_entities": "经营异常名录主体",
    "penalised_entities": "近12个月受处罚主体",
    "high_issue_entities": "高风险问题主体",
    "entities_with_credit_events": "有信用事件主体",
    # quality
    "records": "记录数",
    "resolved": "已归并到主体",
    "with_registration": "匹配到登记主体",
    "with_registration_share": "登记主体匹配率",
    "is_observed": "已有问题记录",
    "quarantined_rows": "隔离行",
    "quarantined_files": "隔离文件",
    "expectation": "校验规则",
    "observed_value": "观测值",
    "description": "说明",
    "success": "通过",
    "valid_uscc_share": "统一社会信用代码有效率",
    "district_mapped_share": "区县匹配率",
    "unknown_vocabulary_share": "未知取值占比",
    "files": "文件数",
    "files_loaded": "已载入文件",
    "files_quarantined": "隔离文件",
    "files_duplicate": "重复文件",
    "load_seconds": "载入耗时（秒）",
    "run_id": "运行编号",
    "rows_read": "读取行",
    "rows_loaded": "入库行",
    "rows_quarantined": "隔离行",
    "figure": "指标",
    "value": "数值",
}

ENTITY_KIND_ZH = {
    "company": "企业",
    "branch": "分支机构",
    "individual": "个体工商户",
    "cooperative": "农民专业合作社",
    "other": "其他",
    "unknown": "无登记记录",
}

# Columns whose values are shares (0..1), shown as percentages.
_SHARE_SUFFIXES = ("_share", "_rate", "coverage_12m", "survival_1y", "survival_3y", "survival_5y")


def label(column: str) -> str:
    return LABELS.get(column, column)


def header(column: str) -> str:
    """`中文标签 canonical_name` as HTML: the Chinese first, the canonical name beside it, both escaped."""
    zh = LABELS.get(column)
    if zh is None:
        return f"<code>{html.escape(column)}</code>"
    return f'{html.escape(zh)} <code class="canonical">{html.escape(column)}</code>'


def is_share(column: str) -> bool:
    return column.endswith(_SHARE_SUFFIXES) or column.startswith("share_")


def format_value(column: str, value: object) -> str:
    """Thousands separators, shares as percentages (one decimal), booleans as 是/否, dates ISO."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value) if column.endswith("_year") else f"{value:,}"
    if isinstance(value, float):
        if is_share(column):
            return f"{value:.1%}"
        if column == "credit_index":
            return f"{value:.4f}"
        if column.startswith("credit_change"):
            return f"{value:+.4f}"
        if column.endswith("_change") or column.startswith("vitality_change"):
            return f"{value:+,.2f}"
        return f"{value:,.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)

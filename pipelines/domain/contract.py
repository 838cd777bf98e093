"""The extract contract (../shared/contract/extracts.md) as data: sources, headers, keys, vocabularies.

Chinese headers are mapped to canonical English columns here and nowhere else.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

SOURCES: tuple[str, ...] = ("registration", "licensing", "district", "corrections")
ENTITY_SOURCES: tuple[str, ...] = ("registration", "licensing", "district")


@dataclass(frozen=True)
class SourceSpec:
    """What one source delivers: header synonyms per canonical column, and its row rules."""

    name: str
    headers: dict[str, tuple[str, ...]]  # canonical column -> accepted headers (first is the main one)
    required_headers: tuple[str, ...]
    required_values: tuple[str, ...]  # must be non-blank in every row
    required_dates: tuple[str, ...] = ()
    optional_dates: tuple[str, ...] = ()
    vocabularies: dict[str, frozenset[str]] = field(
        default_factory=dict
    )  # closed vocabularies (blank allowed)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.headers)


REGISTRATION_STATUSES = frozenset({"存续", "在业", "开业", "吊销,未注销", "吊销", "注销", "迁出", "撤销"})
LICENCE_TYPES = frozenset(
    {
        "食品生产许可",
        "食品经营许可",
        "仅销售预包装食品备案",
        "药品经营许可",
        "医疗器械经营许可",
        "第二类医疗器械经营备案",
        "化妆品生产许可",
    }
)
LICENCE_STATUSES = frozenset({"有效", "注销", "吊销", "撤销"})
INSPECTION_TYPES = frozenset({"日常检查", "双随机抽查", "专项检查", "投诉核查"})
INSPECTION_RESULTS = frozenset({"符合", "基本符合", "不符合", "责令整改", "查无下落", "已停业", "已歇业"})
YES_NO = frozenset({"是", "否"})
CORRECTION_ACTIONS = frozenset({"confirm", "dismiss", "correct", "same", "different"})
WORKSHEET_INFO_HEADERS = {
    "issue_type": "问题类型",
    "severity": "严重程度",
    "detail": "问题描述",
    "entity_name": "主体名称",
    "district_code": "所属区县",
    "record": "来源记录",
    "evidence": "证据",
    "first_detected_on": "首次发现",
    "status": "当前状态",
}

# The decision columns of a steward worksheet, in Chinese first: the worksheet's header reads
# `问题编号(issue_id)`, and the corrections reader accepts it as well as the bare canonical name.
WORKSHEET_DECISION_LABELS = {
    "issue_id": "问题编号",
    "action": "处理决定",
    "entity_id": "主体编号",
    "field": "更正字段",
    "new_value": "更正后的值",
    "left_source": "左记录来源",
    "left_key": "左记录编号",
    "right_source": "右记录来源",
    "right_key": "右记录编号",
    "steward": "处理人",
    "decided_on": "处理日期",
    "comment": "备注",
}


def decision_header(column: str) -> str:
    return f"{WORKSHEET_DECISION_LABELS[column]}({column})"


REGISTRATION = SourceSpec(
    name="registration",
    headers={
        "record_key": ("主体身份代码",),
        "uscc": ("统一社会信用代码", "社会信用代码"),
        "reg_no": ("注册号",),
        "name": ("名称", "企业名称", "主体名称"),
        "entity_type": ("市场主体类型", "企业类型", "类型"),
        "legal_rep": ("法定代表人", "负责人", "经营者", "投资人"),
        "registered_capital_wan": ("注册资本(万元)", "注册资本"),
        "established_on": ("成立日期",),
        "registration_authority": ("登记机关",),
        "status": ("登记状态",),
        "address": ("住所", "住所/经营场所", "地址"),
        "business_scope": ("经营范围",),
        "phone": ("联系电话",),
        "last_annual_report_year": ("最近年报年度",),
        "in_abnormal_list": ("经营异常名录",),
        "abnormal_reason": ("列入异常原因",),
        "deregistered_on": ("注销日期",),
        "revoked_on": ("吊销日期",),
        "approved_on": ("核准日期",),
    },
    required_headers=("record_key", "name", "established_on", "status"),
    required_values=("record_key",),
    required_dates=("established_on",),
    optional_dates=("deregistered_on", "revoked_on", "approved_on"),
    vocabularies={"status": REGISTRATION_STATUSES, "in_abnormal_list": YES_NO},
)

LICENSING = SourceSpec(
    name="licensing",
    headers={
        "record_key": ("许可证编号", "备案编号", "证书编号"),
        "licence_type": ("许可类别",),
        "holder_name": ("经营者名称", "持证主体", "企业名称", "名称"),
        "uscc": ("统一社会信用代码", "社会信用代码"),
        "legal_rep": ("法定代表人(负责人)", "法定代表人", "负责人"),
        "address": ("住所",),
        "premises_address": ("经营场所", "生产地址"),
        "business_form": ("主体业态", "经营项目"),
        "issuer": ("发证机关",),
        "issued_on": ("发证日期",),
        "valid_until": ("有效期至",),
        "licence_status": ("许可状态",),
        "supervising_unit": ("日常监督管理机构",),
    },
    required_headers=("record_key", "licence_type", "holder_name", "issued_on", "licence_status"),
    required_values=("record_key",),
    required_dates=("issued_on",),
    optional_dates=("valid_until",),
    vocabularies={"licence_type": LICENCE_TYPES, "licence_status": LICENCE_STATUSES},
)

DISTRICT = SourceSpec(
    name="district",
    headers={
        "record_no": ("记录编号", "编号", "序号"),  # record_key = division code of the file + "-" + record_no
        "district": ("区县", "所属区域"),
        "name": ("单位名称", "主体名称", "企业名称", "检查对象"),
        "uscc": ("统一社会信用代码", "信用代码", "社会信用代码"),
        "address": ("地址", "经营地址", "检查地址"),
        "legal_rep": ("负责人", "法定代表人", "联系人"),
        "phone": ("联系电话", "电话"),
        "inspected_on": ("检查日期",),
        "inspection_type": ("检查类型",),
        "result": ("检查结果",),
        "penalty_doc_no": ("处罚决定书文号",),
        "penalty_amount": ("罚没款(元)", "罚没款"),
    },
    required_headers=("record_no", "name", "inspected_on", "result"),
    required_values=("record_no",),
    required_dates=("inspected_on",),
    vocabularies={"inspection_type": INSPECTION_TYPES, "result": INSPECTION_RESULTS},
)

CORRECTIONS = SourceSpec(
    name="corrections",
    headers={
        "issue_id": ("issue_id", decision_header("issue_id")),
        "action": ("action", decision_header("action")),
        "entity_id": ("entity_id", decision_header("entity_id")),
        "field": ("field", decision_header("field")),
        "new_value": ("new_value", decision_header("new_value")),
        "left_source": ("left_source", decision_header("left_source")),
        "left_key": ("left_key", decision_header("left_key")),
        "right_source": ("right_source", decision_header("right_source")),
        "right_key": ("right_key", decision_header("right_key")),
        "steward": ("steward", decision_header("steward")),
        "decided_on": ("decided_on", decision_header("decided_on")),
        "comment": ("comment", decision_header("comment")),
        # Context columns of the steward worksheets we publish (read, never applied), so that a filled
        # worksheet can be dropped into corrections/ as it is.
        **{f"info_{name}": (header,) for name, header in WORKSHEET_INFO_HEADERS.items()},
    },
    required_headers=("action", "steward", "decided_on"),
    required_values=("action", "steward"),  # record_key = file name + ":" + row
    required_dates=("decided_on",),
    vocabularies={"action": CORRECTION_ACTIONS},
)

SPECS: dict[str, SourceSpec] = {s.name: s for s in (REGISTRATION, LICENSING, DISTRICT, CORRECTIONS)}


def normalise_header(text: str) -> str:
    """Header text as compared: NFKC (full-width brackets become ASCII), no whitespace, no BOM."""
    folded = unicodedata.normalize("NFKC", text).replace("\ufeff", "")
    return "".join(folded.split())


def header_index(spec: SourceSpec) -> dict[str, str]:
    """Normalised header text -> canonical column."""
    index: dict[str, str] = {}
    for canonical, synonyms in spec.headers.items():
        for synonym in (*synonyms, canonical):
            index[normalise_header(synonym)] = canonical
    return index


def normalise_vocabulary_value(text: str) -> str:
    """Vocabulary values compare after NFKC and without spaces ("吊销，未注销" == "吊销,未注销")."""
    return normalise_header(text)

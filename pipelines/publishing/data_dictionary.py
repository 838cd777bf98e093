"""What leaves the warehouse: the shared tables, their allowed columns and a Chinese/English data dictionary.

Each exported table lists its columns here, and only those columns are exported (an allow-list: a
column added to a model is not shared until it is described). Two audiences, two folders beside the
warehouse file, regenerated on every run:

- `open_data/`: the public. Personal data masked in SQL (`open_entity`, `open_licence`) or aggregated
  (`district_monthly_index` and the monthly analysis's tables: `market_flow_monthly`, `cohort_survival`,
  `licence_monthly`, `inspection_monthly`, `district_issue_monthly`).
- `sharing/`: partner departments under a data-sharing agreement (`shared_entity`, `entity_tag`).
  Legal representatives and phones of organisations in full; a 个体工商户's personal data withheld.

No column that names a personal ID number (身份证号, id_card, ...) may ever be exported
(`FORBIDDEN_COLUMN`), and the public tables are scanned for anything that looks like a mobile, a full
landline or an ID number before they are written (`personal_data_findings`). Files are written to a
temporary name and renamed, so a reader never sees half a file. No Dagster here.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

OPEN_DATA = "open_data"
SHARING = "sharing"
AUDIENCES = {
    OPEN_DATA: ("公众（开放数据）", "the public (open data)"),
    SHARING: (
        "协作部门（共享数据，依数据共享协议使用）",
        "partner departments (under a data-sharing agreement)",
    ),
}
# Column names that would carry a personal ID number: never exported, whatever the table.
FORBIDDEN_COLUMN = re.compile(
    r"(^|_)(id_?card|id_?(no|num|number)|identity|person_?id|citizen_?id|sfz|sfzh|zjhm|passport)(_|$)|身份证|证件",
    re.IGNORECASE,
)
# Values that look like personal data, searched in the public tables' text columns (organisation codes exempt).
PERSONAL_PATTERNS = {
    "mobile": r"(^|[^0-9])1[3-9][0-9]{9}([^0-9]|$)",
    "landline": r"(^|[^0-9])0[0-9]{2,3}-?[2-9][0-9]{6,7}([^0-9]|$)",
    "id_number": r"(^|[^0-9A-Za-z])[1-9][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])[0-9]{5}[0-9Xx]([^0-9A-Za-z]|$)",
}
ANY_PERSONAL = "|".join(f"(?:{pattern})" for pattern in PERSONAL_PATTERNS.values())


@dataclass(frozen=True)
class Column:
    zh: str
    en: str


@dataclass(frozen=True)
class Table:
    audience: str
    title_zh: str
    title_en: str
    about_zh: str
    about_en: str
    columns: dict[str, Column]
    codes: frozenset[str] = field(
        default_factory=frozenset
    )  # organisation codes: exempt from the personal-data scan


C = Column

ENTITY_STATUS = (
    "active 存续/在业/开业, revoked 吊销, deregistered 注销, moved_out 迁出, cancelled 撤销, unknown"
)
ENTITY_KIND = "company 公司/企业, branch 分支机构, individual 个体工商户, cooperative 农民专业合作社, other; NULL = no registration"

ENTITY_COLUMNS: dict[str, Column] = {
    "entity_id": C(
        "主体编号（本系统内稳定的市场主体标识）",
        "Entity id: stable identifier of the market entity in this warehouse",
    ),
    "uscc": C(
        "统一社会信用代码（组织机构代码，非个人信息）",
        "Unified social credit code (an organisation code, not personal data)",
    ),
    "reg_no": C("注册号（旧工商注册号）", "Registration number (legacy business registration number)"),
    "name": C(
        "主体名称；无字号的个体工商户以经营者姓名为名称时不公开（为空）",
        "Entity name; NULL for a 个体工商户 known only by its operator's name",
    ),
    "entity_type": C("主体类型（登记原文）", "Entity type as registered (Chinese)"),
    "entity_kind": C(f"主体类别：{ENTITY_KIND}", f"Entity kind: {ENTITY_KIND}"),
    "is_individual": C("是否个体工商户", "True for a 个体工商户 (individual business)"),
    "personal_data_withheld": C(
        "是否不公开个人信息（个体工商户或类别未知的主体）",
        "True when personal data is withheld: a 个体工商户, or an entity of unknown kind",
    ),
    "address": C("住所（经营场所）", "Registered address (住所 / 经营场所)"),
    "district_code": C("所属区县市行政区划代码（6位）", "District (county-level division) code, 6 digits"),
    "status": C(f"登记状态：{ENTITY_STATUS}", f"Registration status: {ENTITY_STATUS}"),
    "established_on": C("成立日期", "Date established (成立日期)"),
    "deregistered_on": C("注销日期", "Date deregistered (注销日期)"),
    "revoked_on": C("吊销日期", "Date the business licence was revoked (吊销日期)"),
    "registered_capital_wan": C("注册资本（资金数额），万元", "Registered capital, in 10,000 CNY (万元)"),
    "registration_authority": C("登记机关", "Registration authority"),
    "business_scope": C("经营范围", "Business scope (经营范围)"),
    "licence_count": C("许可证及备案数", "Number of licences and filings"),
    "active_licence_count": C(
        "有效许可证及备案数（截至数据日期）", "Number of licences and filings valid at the as-of date"
    ),
    "in_abnormal_list": C(
        "是否列入经营异常名录", "True when the entity is in the list of abnormal operations (经营异常名录)"
    ),
}

TABLES: dict[str, Table] = {
    "open_entity": Table(
        audience=OPEN_DATA,
        title_zh="市场主体（开放数据，个人信息已脱敏）",
        title_en="Market entities (open data, personal data masked)",
        about_zh="每个市场主体一行。法定代表人（负责人）仅保留姓氏加*（复姓保留两字），手机号保留前3位和后2位，"
        "固定电话仅保留区号；个体工商户（及类别未知主体）的经营者姓名和电话不公开；不含任何身份证号码。",
        about_en="One row per market entity. The legal representative is reduced to the surname and '*' (a compound "
        "surname keeps both characters), a mobile keeps its first 3 and last 2 digits, a landline its area code; a "
        "个体工商户's (or unknown-kind entity's) operator name and phone are withheld; no ID numbers.",
        columns={
            **{
                k: ENTITY_COLUMNS[k]
                for k in (
                    "entity_id",
                    "uscc",
                    "reg_no",
                    "name",
                    "entity_type",
                    "entity_kind",
                    "is_individual",
                    "personal_data_withheld",
                )
            },
            "legal_rep_masked": C(
                "法定代表人（负责人）脱敏：姓氏加*，如 张*、欧阳*；个体工商户为空",
                "Legal representative masked: surname + '*', e.g. 张*, 欧阳*; NULL for a 个体工商户",
            ),
            "phone_masked": C(
                "联系电话脱敏：手机 138******78，固话 0574-********；个体工商户为空",
                "Contact phone masked: mobile 138******78, landline 0574-********; NULL for a 个体工商户",
            ),
            **{
                k: ENTITY_COLUMNS[k]
                for k in (
                    "address",
                    "district_code",
                    "status",
                    "established_on",
                    "deregistered_on",
                    "revoked_on",
                    "registered_capital_wan",
                    "registration_authority",
                    "business_scope",
                    "licence_count",
                    "active_licence_count",
                    "in_abnormal_list",
                )
            },
        },
        codes=frozenset({"entity_id", "uscc", "reg_no"}),
    ),
    "open_licence": Table(
        audience=OPEN_DATA,
        title_zh="行政许可与备案（开放数据）",
        title_en="Licences and filings (open data)",
        about_zh="每张许可证或备案一行，不含法定代表人等个人信息；个体工商户以经营者姓名为持证主体名称时不公开。",
        about_en="One row per licence or filing, without personal data: no legal representative, and a 个体工商户's "
        "holder name is withheld when it is the operator's name.",
        columns={
            "licence_no": C("许可证编号（备案编号）", "Licence (or filing) number"),
            "entity_id": C(
                "主体编号；为空表示未匹配到登记主体",
                "Entity id; NULL when the licence resolves to no registered entity",
            ),
            "licence_type": C(
                "许可类型（规范值）：food_production 食品生产许可, food_business 食品经营许可, "
                "prepackaged_food_filing 仅销售预包装食品备案, drug_business 药品经营许可, "
                "medical_device_business 医疗器械经营许可, class2_medical_device_filing 第二类医疗器械经营备案, "
                "cosmetics_production 化妆品生产许可, unknown",
                "Licence type (normalised), see the Chinese description for the values",
            ),
            "licence_type_zh": C("许可类型（原文）", "Licence type as delivered (Chinese)"),
            "is_filing": C("是否备案（无有效期）", "True for a filing (备案: no expiry)"),
            "holder_name": C(
                "持证主体名称；个体工商户以经营者姓名为名称时为空",
                "Holder name; NULL when a 个体工商户 is named by its operator",
            ),
            "uscc": C(
                "统一社会信用代码（校验通过时）", "Unified social credit code (when it passes the check)"
            ),
            "district_code": C("许可所属区县市代码", "District code of the licence"),
            "issuer": C("发证机关", "Issuing authority"),
            "issued_on": C("发证日期", "Date issued"),
            "valid_until": C("有效期至；备案为空", "Valid until; NULL for a filing"),
            "licence_status": C(
                "许可状态：valid 有效, deregistered 注销, revoked 吊销, cancelled 撤销, unknown",
                "Licence status: valid, deregistered, revoked, cancelled, unknown",
            ),
        },
        codes=frozenset({"licence_no", "entity_id", "uscc"}),
    ),
    "district_monthly_index": Table(
        audience=OPEN_DATA,
        title_zh="区县市月度景气指数与信用指数",
        title_en="Monthly market vitality and credit indices per district",
        about_zh="每个区县市每月一行，自最早登记月份至数据日期所在月份（该月为不完整月份）。"
        "景气指数 = 100 × (新设登记 + 新发许可) / (新设登记 + 新发许可 + 注销吊销 + 许可到期)，按截至当月的12个月合计，"
        "50 表示开业与退出事件相当；信用指数 = 1 − 有信用事件的主体数 / 月末存续主体数，"
        "信用事件为：列入经营异常名录、近12个月受行政处罚、存在未处理的高风险问题。",
        about_en="One row per district and month, from the first month with a registration up to the as-of month "
        "(which is partial). vitality_index = 100 * (new registrations + licences issued) / (new registrations + "
        "licences issued + deregistrations + licences expired), summed over the 12 months up to the month; 50 means "
        "as many closing as opening events. credit_index = 1 - entities with a credit event / entities at month end; "
        "credit events: in the abnormal-operations list, a penalty in the last 12 months, an open high-severity issue.",
        columns={
            "district_code": C("区县市行政区划代码", "District code"),
            "district_name": C("区县市名称", "District name"),
            "month": C("月份（当月1日）", "Month (its first day)"),
            "is_partial_month": C(
                "是否不完整月份（数据日期所在月）", "True for the as-of month, which is not complete"
            ),
            "new_registrations": C(
                "新设登记数：成立日期在当月的主体", "New registrations: entities established in the month"
            ),
            "deregistrations": C(
                "退出数：当月注销、吊销、撤销或迁出的主体（按注销/吊销日期，缺失时按核准日期）",
                "Exits: entities deregistered, revoked, cancelled or moved out in the month "
                "(dated by the deregistration/revocation date, else the approval date)",
            ),
            "net_growth": C(
                "净增长 = 新设登记数 − 退出数", "Net growth = new_registrations - deregistrations"
            ),
            "licences_issued": C("当月新发许可证及备案数", "Licences and filings issued in the month"),
            "licences_expired": C(
                "当月到期的许可证数（截至数据日期）",
                "Licences whose validity ended in the month (up to the as-of date)",
            ),
            "entities_at_month_start": C(
                "月初存续主体数（上月末）", "Entities in the market at the start of the month"
            ),
            "entities_at_month_end": C("月末存续主体数", "Entities in the market at the end of the month"),
            "entry_rate": C(
                "进入率 = 新设登记数 / 月初存续主体数",
                "Entry rate = new_registrations / entities_at_month_start",
            ),
            "exit_rate": C(
                "退出率 = 退出数 / 月初存续主体数", "Exit rate = deregistrations / entities_at_month_start"
            ),
            "net_growth_rate": C(
                "净增长率 = 净增长 / 月初存续主体数", "Net growth rate = net_growth / entities_at_month_start"
            ),
            "new_registrations_12m": C(
                "近12个月新设登记数（含当月）", "New registrations in the 12 months up to the month"
            ),
            "deregistrations_12m": C("近12个月退出数（含当月）", "Exits in the 12 months up to the month"),
            "licences_issued_12m": C(
                "近12个月新发许可数（含当月）", "Licences issued in the 12 months up to the month"
            ),
            "licences_expired_12m": C(
                "近12个月到期许可数（含当月）", "Licences expired in the 12 months up to the month"
            ),
            "vitality_index": C(
                "景气指数（0–100，50为平衡）= 100 × (新设+新发许可) / (新设+新发许可+退出+许可到期)，近12个月",
                "Market vitality index (0-100, 50 = balanced) = 100 * (new + licences issued) / "
                "(new + licences issued + exits + licences expired), over 12 months",
            ),
            "abnormal_listed_entities": C(
                "月末列入经营异常名录的存续主体数（名录日期按年报截止日推定）",
                "Entities in the market listed as abnormal at month end (listing date inferred from the annual-report deadline)",
            ),
            "penalised_entities": C(
                "近12个月受行政处罚的存续主体数",
                "Entities in the market penalised in the 12 months up to the month",
            ),
            "high_issue_entities": C(
                "存在未处理高风险问题的存续主体数", "Entities in the market with an open high-severity issue"
            ),
            "entities_with_credit_events": C(
                "有上述任一信用事件的存续主体数（每个主体只计一次）",
                "Entities in the market with any of the credit events (each counted once)",
            ),
            "credit_index": C(
                "信用指数（0–1）= 1 − 有信用事件的主体数 / 月末存续主体数",
                "Credit index (0-1) = 1 - entities_with_credit_events / entities_at_month_end",
            ),
        },
    ),
    "market_flow_monthly": Table(
        audience=OPEN_DATA,
        title_zh="市场主体月度增减（按区县市、主体类别、行业）",
        title_en="Monthly market entry and exit by district, entity kind and industry",
        about_zh="每月、区县市、主体类别、主营行业组合一行（仅有事件的组合）。新设按成立日期；注销、吊销、撤销及迁出按"
        "退出日期（注销/吊销日期，缺失时按核准日期）。各行相加等于 district_monthly_index 的新设登记数与退出数。"
        "口径见 sql/curated/market_flow_monthly.sql。",
        about_en="One row per month, district, entity kind and primary industry with at least one event. New by the "
        "establishment date; exits by the exit date (deregistration/revocation date, else approval date). The rows add "
        "up to district_monthly_index's new_registrations and deregistrations. See sql/curated/market_flow_monthly.sql.",
        columns={
            "month": C("月份（当月1日）", "Month (its first day)"),
            "district_code": C("区县市行政区划代码", "District code"),
            "district_name": C("区县市名称", "District name"),
            "entity_kind": C(
                f"主体类别：{ENTITY_KIND}；unknown 无登记记录", f"Entity kind: {ENTITY_KIND}; unknown"
            ),
            "industry": C(
                "主营行业代码（entity_tag 的 primary_industry）", "Primary industry code (entity_tag)"
            ),
            "industry_zh": C("主营行业（中文）", "Primary industry (Chinese)"),
            "new_registrations": C("新设登记数", "New registrations in the month"),
            "deregistrations": C("注销数", "Entities deregistered (注销) in the month"),
            "revocations": C("吊销数", "Entities whose licence was revoked (吊销) in the month"),
            "other_exits": C("撤销及迁出数", "Entities cancelled (撤销) or moved out (迁出) in the month"),
            "exits": C(
                "退出合计 = 注销 + 吊销 + 撤销及迁出",
                "All exits = deregistrations + revocations + other_exits",
            ),
            "net_growth": C("净增长 = 新设登记数 − 退出合计", "Net growth = new_registrations - exits"),
        },
    ),
    "cohort_survival": Table(
        audience=OPEN_DATA,
        title_zh="登记年度队列存活率",
        title_en="Survival by registration cohort",
        about_zh="每个登记年度、区县市、主体类别一行。n 年存活率 = 第 n 个周年月结束时仍未退出的主体 / 已满 n 年的主体；"
        "已满 n 年的主体数等于登记主体数时该队列完整。口径见 sql/curated/cohort_survival.sql。",
        about_en="One row per registration year, district and entity kind. survival_<n>y = entities not yet exited by "
        "their n-th anniversary month / entities whose n-th anniversary month has ended; a cohort is complete when "
        "observed_<n>y = registered. See sql/curated/cohort_survival.sql.",
        columns={
            "cohort_year": C("登记年度（成立日期所在年）", "Registration year (year established)"),
            "district_code": C("区县市行政区划代码", "District code"),
            "district_name": C("区县市名称", "District name"),
            "entity_kind": C(
                f"主体类别：{ENTITY_KIND}；unknown 无登记记录", f"Entity kind: {ENTITY_KIND}; unknown"
            ),
            "registered": C("该年度登记的主体数", "Entities established in the year"),
            **{
                f"{kind}_{n}y": C(zh.format(n=n), en.format(n=n))
                for n in (1, 3, 5)
                for kind, zh, en in (
                    (
                        "observed",
                        "已满{n}年（周年月已结束）的主体数",
                        "Entities whose {n}-year anniversary month has ended",
                    ),
                    (
                        "survived",
                        "其中第{n}个周年月前未退出的主体数",
                        "Of those, entities still in the market at {n} years",
                    ),
                    (
                        "survival",
                        "{n}年存活率 = survived / observed",
                        "{n}-year survival = survived / observed",
                    ),
                )
            },
        },
    ),
    "licence_monthly": Table(
        audience=OPEN_DATA,
        title_zh="许可证月度统计（按区县市、许可类别）",
        title_en="Monthly licences by district and category",
        about_zh="每月、区县市、许可类别一行。类别：food 食品（生产、经营、预包装备案）、drugs 药品、medical_devices 医疗器械"
        "（经营许可、二类备案）、cosmetics 化妆品、health_food 保健食品（源数据暂无此类许可）、other 其他。"
        "口径见 sql/curated/licence_monthly.sql。",
        about_en="One row per month, district and licence category (food, drugs, medical_devices, cosmetics, "
        "health_food: no source licence type yet, other). See sql/curated/licence_monthly.sql.",
        columns={
            "month": C("月份（当月1日）", "Month (its first day)"),
            "district_code": C("区县市行政区划代码", "District code"),
            "district_name": C("区县市名称", "District name"),
            "licence_category": C("许可类别", "Licence category"),
            "issued": C("当月新发许可证及备案数", "Licences and filings issued in the month"),
            "expired": C("当月到期的许可证数（截至数据日期）", "Licences whose validity ended in the month"),
            "expiring_3m": C(
                "此后3个月内到期的许可证数", "Licences whose validity ends in the 3 following months"
            ),
            "in_force": C(
                "月末在有效期内的许可证及备案数（不含提前注销的日期信息）",
                "Licences and filings within their validity at month end (early cancellations carry no date)",
            ),
        },
    ),
    "inspection_monthly": Table(
        audience=OPEN_DATA,
        title_zh="监督检查月度统计（按区县市）",
        title_en="Monthly inspections by district",
        about_zh="每个区县市每月一行，按实施检查的区县局统计。检查结果、行政处罚（有决定书文号或罚没款>0，已归并主体）、"
        "近12个月检查覆盖率 = 近12个月被检查主体 / 月末存续主体。口径见 sql/curated/inspection_monthly.sql。",
        about_en="One row per district and month, by the inspecting district bureau: results, penalties (a decision "
        "number or an amount > 0, resolved entities), coverage_12m = entities inspected in 12 months / entities at "
        "month end. See sql/curated/inspection_monthly.sql.",
        columns={
            "district_code": C(
                "区县市行政区划代码（实施检查的区县局）", "District code of the inspecting bureau"
            ),
            "district_name": C("区县市名称", "District name"),
            "month": C("月份（当月1日）", "Month (its first day)"),
            "inspections": C("检查次数", "Inspections in the month"),
            "entities_inspected": C("被检查主体数（已归并）", "Distinct resolved entities inspected"),
            "compliant": C("结果：符合", "Result compliant (符合)"),
            "basically_compliant": C("结果：基本符合", "Result basically compliant (基本符合)"),
            "non_compliant": C("结果：不符合", "Result non-compliant (不符合)"),
            "rectification_ordered": C("结果：责令整改", "Result rectification ordered (责令整改)"),
            "not_found": C("结果：查无下落", "Result not found (查无下落)"),
            "ceased": C("结果：已停业", "Result ceased (已停业)"),
            "suspended": C("结果：已歇业", "Result suspended (已歇业)"),
            "unknown_result": C("结果未知或空", "Result unknown or blank"),
            "penalties": C("行政处罚次数", "Inspections ending in a penalty"),
            "penalty_amount": C("罚没款合计（元）", "Penalty amounts, total (CNY)"),
            "entities_inspected_12m": C(
                "近12个月被检查主体数", "Entities inspected in the 12 months up to the month"
            ),
            "coverage_12m": C("近12个月检查覆盖率", "Share of entities inspected in 12 months"),
        },
    ),
    "district_issue_monthly": Table(
        audience=OPEN_DATA,
        title_zh="区县市月末问题数与僵尸主体占比",
        title_en="Open issues and zombie share per district at month end",
        about_zh="每个区县市每月一行。问题在首次发现后、仍未处理或最后一次发现之前计为未处理；is_observed 为假的月份早于"
        "系统开始记录问题，不可比较。口径见 sql/curated/district_issue_monthly.sql。",
        about_en="One row per district and month. An issue is open from its first detection until it is no longer "
        "open and past its last detection; months with is_observed false predate the issue log. See "
        "sql/curated/district_issue_monthly.sql.",
        columns={
            "district_code": C("区县市行政区划代码", "District code"),
            "district_name": C("区县市名称", "District name"),
            "month": C("月份（当月1日）", "Month (its first day)"),
            "is_partial_month": C("是否不完整月份", "True for the as-of month"),
            "is_observed": C("该月是否已有问题记录", "True once the warehouse kept issues"),
            "entities_at_month_end": C("月末存续主体数", "Entities in the market at month end"),
            "open_issues": C("月末未处理问题数", "Issues open at month end"),
            "open_high_issues": C("其中高风险问题数", "Of those, severity high"),
            "new_issues": C("当月新发现问题数", "Issues first detected in the month"),
            "zombie_entities": C("月末疑似僵尸主体数", "Entities with an open zombie.* issue at month end"),
            "zombie_share": C(
                "僵尸主体占比 = 疑似僵尸主体 / 月末存续主体", "zombie_entities / entities_at_month_end"
            ),
        },
    ),
    "shared_entity": Table(
        audience=SHARING,
        title_zh="市场主体（共享数据）",
        title_en="Market entities (shared with partner departments)",
        about_zh="每个市场主体一行，含企业法定代表人和联系电话全文，以及监管信息；个体工商户（及类别未知主体）的经营者"
        "姓名和电话不提供；不含任何身份证号码。仅限依数据共享协议使用，不得公开。",
        about_en="One row per market entity with the full legal representative and phone of organisations, and "
        "supervision data; a 个体工商户's (or unknown-kind entity's) operator name and phone are withheld; no ID "
        "numbers. For partner departments under a data-sharing agreement only; never to be published.",
        columns={
            **{
                k: ENTITY_COLUMNS[k]
                for k in (
                    "entity_id",
                    "uscc",
                    "reg_no",
                    "name",
                    "entity_type",
                    "entity_kind",
                    "is_individual",
                    "personal_data_withheld",
                )
            },
            "legal_rep": C(
                "法定代表人（负责人）姓名；个体工商户为空", "Legal representative; NULL for a 个体工商户"
            ),
            "phone": C(
                "联系电话（规范化：手机 13812345678，固话 0574-87654321）；个体工商户为空",
                "Contact phone (normalised: mobile 13812345678, landline 0574-87654321); NULL for a 个体工商户",
            ),
            **{
                k: ENTITY_COLUMNS[k]
                for k in (
                    "address",
                    "district_code",
                    "status",
                    "established_on",
                    "deregistered_on",
                    "revoked_on",
                    "registered_capital_wan",
                    "registration_authority",
                    "business_scope",
                    "licence_count",
                    "active_licence_count",
                )
            },
            "last_inspected_on": C("最近检查日期", "Date of the latest inspection"),
            "in_abnormal_list": ENTITY_COLUMNS["in_abnormal_list"],
            "abnormal_reason": C("列入经营异常名录原因", "Reason for the abnormal-operations listing"),
            "last_annual_report_year": C("最近年报年度", "Year of the latest annual report"),
            "is_zombie": C(
                "是否疑似僵尸主体（存在未处理的 zombie.* 问题）",
                "True when an open zombie.* issue flags the entity",
            ),
            "issue_count": C("未处理（open/confirmed）问题数", "Number of open or confirmed issues"),
        },
        codes=frozenset({"entity_id", "uscc", "reg_no"}),
    ),
    "entity_tag": Table(
        audience=SHARING,
        title_zh="主体标签（规则生成）",
        title_en="Entity tags (rule-based)",
        about_zh="每个主体每个标签一行。行业（经营范围关键词、许可类型）、主营行业、规模（注册资本：微型<100万元，小型<1000万元，"
        "中型<1亿元，大型≥1亿元）、风险因素与风险等级（异常名录2分、近12个月处罚2分、未处理高风险问题3分、中风险问题1分；"
        "≥3高，1–2中，0低）。规则见 sql/curated/entity_tag.sql，阈值、关键词与分值见 sql/seeds/。",
        about_en="One row per entity and tag: industry (business-scope keywords, licence types), primary industry, "
        "size band (registered capital: micro < 1M CNY, small < 10M, medium < 100M, large >= 100M), risk factors and "
        "risk level (abnormal list 2 points, penalty in 12 months 2, open high issue 3, open medium issue 1; high >= 3, "
        "medium 1-2, low 0). The rules are in sql/curated/entity_tag.sql, thresholds, keywords and points in "
        "sql/seeds/.",
        columns={
            "entity_id": ENTITY_COLUMNS["entity_id"],
            "tag_type": C(
                "标签类型：industry 行业, primary_industry 主营行业, size_band 规模, risk_factor 风险因素, risk_level 风险等级",
                "Tag type: industry, primary_industry, size_band, risk_factor, risk_level",
            ),
            "tag": C("标签值（英文代码）", "Tag value (English code)"),
            "tag_zh": C("标签值（中文）", "Tag value (Chinese)"),
            "rule": C("生成该标签的规则", "The rule that produced the tag"),
            "evidence": C(
                "依据（匹配的关键词、许可类型、注册资本、问题类型等）",
                "Evidence: matched keywords, licence types, registered capital, issue types, ...",
            ),
        },
        codes=frozenset({"entity_id"}),
    ),
}


def exported_tables(audience: str | None = None) -> list[str]:
    return [name for name, table in TABLES.items() if audience is None or table.audience == audience]


def forbidden_columns() -> list[str]:
    """Exported columns whose name suggests a personal ID number: must be empty."""
    return [f"{t}.{c}" for t, table in TABLES.items() for c in table.columns if FORBIDDEN_COLUMN.search(c)]


def _check_allow_list() -> None:
    bad = forbidden_columns()
    if bad:
        raise ValueError(f"columns that may carry personal ID numbers must never be exported: {bad}")


def personal_data_findings(connection: duckdb.DuckDBPyConnection, table: str) -> dict[str, int]:
    """`column:pattern` -> rows whose text looks like a mobile, a full landline or an ID number (codes exempt).

    One scan tries every pattern at once on each column (a finding is rare, and only then is it counted
    pattern by pattern): a scan per column and pattern cost 6.3 s for open_entity at 1.5M entities, this 1.5 s."""
    spec = TABLES[table]
    types = dict(
        connection.execute(
            "select column_name, data_type from information_schema.columns where table_name = ? and table_schema = 'main'",
            [table],
        ).fetchall()
    )
    columns = [c for c in spec.columns if c not in spec.codes and types.get(c) == "VARCHAR"]
    if not columns:
        return {}
    counts = connection.execute(
        "select "
        + ", ".join(f'count(*) filter (where regexp_matches("{c}", $1))' for c in columns)
        + f' from main."{table}"',
        [ANY_PERSONAL],
    ).fetchone()
    findings = {}
    for column in (c for c, count in zip(columns, counts, strict=True) if count):
        for label, pattern in PERSONAL_PATTERNS.items():
            count = connection.execute(
                f'select count(*) from main."{table}" where regexp_matches("{column}", ?)', [pattern]
            ).fetchone()[0]
            if count:
                findings[f"{column}:{label}"] = count
    return findings


def _atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding=encoding, newline="")
    os.replace(tmp, path)


def dictionary_rows(tables: list[str], types: dict[tuple[str, str], str]) -> list[dict[str, str]]:
    rows = []
    for table in tables:
        spec = TABLES[table]
        for column, text in spec.columns.items():
            rows.append(
                {
                    "table": table,
                    "column": column,
                    "data_type": types.get((table, column), ""),
                    "description_zh": text.zh,
                    "description_en": text.en,
                    "audience": spec.audience,
                }
            )
    return rows


def dictionary_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=["table", "column", "data_type", "description_zh", "description_en", "audience"]
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def dictionary_markdown(audience: str, tables: list[str], rows: list[dict[str, str]], as_of: str) -> str:
    zh, en = AUDIENCES[audience]
    lines = [
        f"# 数据字典 Data dictionary: {audience}",
        "",
        f"使用对象 Audience: {zh} / {en}",
        "",
        f"数据日期 As of: {as_of}",
        "",
    ]
    for table in tables:
        spec = TABLES[table]
        lines += [
            f"## {table}.parquet: {spec.title_zh} / {spec.title_en}",
            "",
            spec.about_zh,
            "",
            spec.about_en,
            "",
            "| 字段 column | 类型 type | 中文说明 | English description |",
            "|---|---|---|---|",
        ]
        for row in rows:
            if row["table"] == table:
                cells = [row["column"], row["data_type"], row["description_zh"], row["description_en"]]
                lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def export(warehouse: Path, folder: Path, audience: str, tag: str) -> dict[str, int]:
    """Every table of the audience as `<folder>/<table>.parquet` (allow-listed columns) plus the dictionary.

    Reads the published warehouse read-only. Each file is written under a temporary name and renamed; files
    of tables no longer exported are removed. Raises ValueError (and writes nothing) when a public table
    holds something that looks like personal data. Returns rows per table.
    """
    _check_allow_list()
    tables = exported_tables(audience)
    folder.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    types: dict[tuple[str, str], str] = {}
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        present = {
            r[0]
            for r in connection.execute(
                "select table_name from information_schema.tables where table_schema = 'main'"
            ).fetchall()
        }
        for table in tables:
            columns = dict(
                connection.execute(
                    "select column_name, data_type from information_schema.columns where table_name = ? and table_schema = 'main'"
                    " order by ordinal_position",
                    [table],
                ).fetchall()
            )
            if not columns:
                raise ValueError(f"{table} is not in the warehouse {warehouse} (present: {sorted(present)})")
            missing = [c for c in TABLES[table].columns if c not in columns]
            if missing:
                raise ValueError(f"{table} lacks the exported columns {missing}")
            types.update({(table, c): columns[c] for c in TABLES[table].columns})
            if audience == OPEN_DATA:
                findings = personal_data_findings(connection, table)
                if findings:
                    raise ValueError(f"{table} looks like it holds personal data, not published: {findings}")
        as_of = (
            connection.execute("select max(delivery_date) from main.load_summary").fetchone()[0]
            if "load_summary" in present
            else None
        )
        for table in tables:
            target = folder / f"{table}.parquet"
            tmp = folder / f".{table}.parquet.{tag}.tmp"
            select = ", ".join(f'"{c}"' for c in TABLES[table].columns)
            path = str(tmp).replace("'", "''")
            connection.execute(
                f"copy (select {select} from main.\"{table}\") to '{path}' (format parquet, compression zstd)"
            )
            os.replace(tmp, target)
            rows[table] = connection.execute(f'select count(*) from main."{table}"').fetchone()[0]
    entries = dictionary_rows(tables, types)
    _atomic_write_text(
        folder / "data_dictionary.csv", dictionary_csv(entries), encoding="utf-8-sig"
    )  # BOM: Excel reads UTF-8
    _atomic_write_text(
        folder / "data_dictionary.md", dictionary_markdown(audience, tables, entries, str(as_of))
    )
    keep = {f"{t}.parquet" for t in tables}
    for stale in folder.glob("*.parquet"):
        if stale.name not in keep:
            stale.unlink()
    for leftover in folder.glob(".*.tmp"):
        leftover.unlink()
    return rows

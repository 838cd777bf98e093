"""The monthly analysis of the market and the business environment (营商市场环境形势分析), as HTML and PDF.

`build(warehouse, "YYYY-MM", folder)` writes `index.html`, `analysis.pdf` and the charts into `folder`.
It reads only the published curated warehouse (analysis_figures.QUERIES, printed in the report's
appendix), the month comes from its argument and the as-of date from the warehouse: no clock is read, so
the same warehouse and month give the same bytes. Text is Chinese first, with the canonical column
names beside their labels. No Dagster here.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import jinja2
import polars as pl
from markupsafe import Markup

from pipelines.publishing import analysis_charts as charts
from pipelines.publishing import analysis_figures as figures
from pipelines.publishing import index_report
from pipelines.publishing.labels import ENTITY_KIND_ZH, format_value, header

PARTITIONS = "analysis_months"  # the Dagster dynamic partitions of the report, one per YYYY-MM
TEMPLATES = Path(__file__).resolve().parent / "templates"
TITLE = "宁波市市场主体与营商环境月度分析"
CHART_SRC = re.compile(r'src="([a-z_]+\.png)"')
# The code and templates that draw the report: a new version redraws every month.
_DRAWN_BY = ("analysis_report", "analysis_figures", "analysis_charts", "labels", "index_report")
_CODE = hashlib.sha256(
    b"".join(
        p.read_bytes()
        for p in [*(Path(__file__).with_name(f"{m}.py") for m in _DRAWN_BY), *sorted(TEMPLATES.iterdir())]
        if p.is_file()
    )
).hexdigest()


@dataclass(frozen=True)
class Built:
    html: Path
    pdf: Path
    charts: list[Path]
    month: str
    as_of: dt.date
    unchanged: bool = False  # the figures were those of the last build: its files were kept


def available_months(warehouse: Path) -> list[str]:
    """Every month the warehouse has figures for (`YYYY-MM`), oldest first."""
    if not warehouse.exists():
        return []
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.sql("select distinct month from district_monthly_index order by month").fetchall()
    return [month.strftime("%Y-%m") for (month,) in rows]


def latest_months(warehouse: Path) -> list[str]:
    """The months built after a publish: the last complete month and the as-of month (partial)."""
    return available_months(warehouse)[-2:]


def build(warehouse: Path, key: str, folder: Path) -> Built:
    """The analysis of month `key` from the published warehouse, written into `folder`.

    A month whose figures are those it was last built from keeps its files, and the as-of date they name
    (a closed month's report is not re-issued every night with nothing new in it; the PDF alone costs
    seconds). Its `built.json` records what it was built from."""
    period = figures.Period.parse(key)
    frames = figures.read(warehouse, period)
    as_of = frames["as_of"]["as_of_on"][0]
    if as_of is None or frames["flows_by_district"].height == 0:
        raise ValueError(f"the warehouse {warehouse} has no figures for {key} (as of {as_of})")
    index, pdf, record = folder / "index.html", folder / "analysis.pdf", folder / "built.json"
    digest = _digest(frames, partial=period.month_end > as_of)
    earlier = _earlier_build(record, index, pdf)
    if earlier is not None and earlier.get("digest") == digest:
        charts_built = sorted(folder.glob("*.png"))
        return Built(index, pdf, charts_built, key, dt.date.fromisoformat(earlier["as_of"]), unchanged=True)
    folder.mkdir(parents=True, exist_ok=True)
    drawn = _charts(frames, folder)
    page = render(period, as_of, frames, {name: path.name for name, path in drawn.items()})
    _write_atomically(index, page.encode("utf-8"))
    _write_atomically(pdf, to_pdf(page, folder))
    _write_atomically(record, json.dumps({"digest": digest, "as_of": as_of.isoformat()}).encode("utf-8"))
    return Built(index, pdf, list(drawn.values()), key, as_of)


def _digest(frames: dict[str, pl.DataFrame], partial: bool) -> str:
    """What the report shows, apart from the as-of date: every figure, whether the month is partial, and
    the code that draws it."""
    digest = hashlib.sha256(f"{partial}|{_CODE}".encode())
    for name in sorted(set(frames) - {"as_of"}):
        digest.update(name.encode())
        digest.update(frames[name].write_csv().encode("utf-8"))
    return digest.hexdigest()


def _earlier_build(record: Path, *outputs: Path) -> dict | None:
    if not (record.exists() and all(o.exists() for o in outputs)):
        return None
    try:
        return json.loads(record.read_text(encoding="utf-8"))
    except ValueError:  # a damaged record: build again
        return None


def write_index(root: Path) -> Path:
    """`root/index.html`: every month built so far, newest first, each with its HTML and PDF."""
    months = sorted(
        (p.name for p in root.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]") if p.is_dir()), reverse=True
    )
    items = "".join(
        f'<li>{html.escape(m)}：<a href="{html.escape(m)}/index.html">网页 HTML</a> · '
        f'<a href="{html.escape(m)}/analysis.pdf">PDF</a></li>'
        for m in months
    )
    page = (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{TITLE}</title></head>'
        f'<body style="font-family: sans-serif"><h1>{TITLE}</h1><ul>{items}</ul></body></html>'
    )
    index = root / "index.html"
    _write_atomically(index, page.encode("utf-8"))
    return index


def to_pdf(page: str, folder: Path) -> bytes:
    """The page through WeasyPrint, its charts (read from `folder`) inlined: WeasyPrint names an image by a
    hash of its URL, so inlining keeps the bytes independent of the folder; no dates in the metadata."""
    import weasyprint

    inlined = CHART_SRC.sub(lambda m: f'src="data:image/png;base64,{_base64(folder / m.group(1))}"', page)
    document = weasyprint.HTML(string=inlined).render()
    document.metadata.created = None
    document.metadata.modified = None
    return document.write_pdf(pdf_identifier=b"entity-lakehouse-analysis")


def _base64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _charts(frames: dict[str, pl.DataFrame], folder: Path) -> dict[str, Path]:
    city = index_report.city_rows(frames["index_trend"])
    survived = frames["survival_by_cohort"].filter(pl.col("survival_1y").is_not_null())
    return {
        "flows": charts.flows_trend(frames["city_trend"], folder / "flows_trend.png"),
        "exits": charts.district_exits(frames["flows_by_district"], folder / "district_exits.png"),
        "survival": charts.survival(survived, folder / "survival.png"),
        "licences": charts.licences(frames["licence_trend"], folder / "licences.png"),
        "inspections": charts.inspections(frames["inspections_by_district"], folder / "inspections.png"),
        "indices": charts.indices(city, frames["index_trend"], folder / "indices.png"),
    }


def table(frame: pl.DataFrame) -> Markup:
    """An HTML table: Chinese label with the canonical name in each header, formatted values, all escaped."""
    head = "".join(f"<th>{header(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.iter_rows(named=True):
        cells = "".join(
            f'<td class="{"text" if isinstance(v, str) else ""}">{html.escape(format_value(c, v))}</td>'
            for c, v in row.items()
        )
        rows.append(f"<tr>{cells}</tr>")
    return Markup(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def render(
    period: figures.Period, as_of: dt.date, frames: dict[str, pl.DataFrame], chart_files: dict[str, str]
) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, keep_trailing_newline=True
    )
    partial = period.month_end > as_of
    return environment.get_template("analysis.html.j2").render(
        title=f"{TITLE}（{period.month.year}年{period.month.month}月）",
        month=period.key,
        as_of=as_of.isoformat(),
        partial=partial,
        summary=summary(frames),
        sections=sections(frames, chart_files),
        queries=[(name, "、".join(models), sql.strip()) for name, (models, sql) in figures.QUERIES.items()],
    )


def summary(frames: dict[str, pl.DataFrame]) -> list[str]:
    city = frames["city_month"].row(0, named=True)
    index = index_report.city_rows(frames["index_trend"]).sort("month")
    lines = [
        f"本月全市新设登记 {city['new_registrations']:,} 户，退出 {city['exits']:,} 户（注销 {city['deregistrations']:,}、"
        f"吊销 {city['revocations']:,}、撤销及迁出 {city['other_exits']:,}），净增长 {city['net_growth']:+,} 户；"
        f"月末存续市场主体 {city['entities_at_month_end']:,} 户。",
        _exit_rise(frames["flows_by_district"]),
    ]
    if index.height:
        last = index.row(index.height - 1, named=True)
        before = index.row(index.height - 2, named=True) if index.height > 1 else None
        lines.append(
            f"全市景气指数 {format_value('vitality_index', last['vitality_index'])}"
            + (_change(last["vitality_index"], before["vitality_index"], "{:+.2f}") if before else "")
            + f"，信用指数 {format_value('credit_index', last['credit_index'])}"
            + (_change(last["credit_index"], before["credit_index"], "{:+.4f}") if before else "")
            + "。"
        )
    return [line for line in lines if line]


def _change(now: float | None, before: float | None, pattern: str) -> str:
    if now is None or before is None:
        return ""
    return f"（较上月 {pattern.format(now - before)}）"


def _exit_rise(by_district: pl.DataFrame) -> str:
    """The district whose deregistrations rose most above its monthly average of the 12 months before."""
    top = by_district.sort(["deregistrations_change", "district_code"], descending=[True, False]).row(
        0, named=True
    )
    if top["deregistrations_change"] <= 0:
        return "各区县市本月注销户数均未高于前12个月月均水平。"
    return (
        f"注销增幅最大的是{top['district_name']}：本月注销 {top['deregistrations']:,} 户，"
        f"前12个月月均 {top['deregistrations_avg_12m']:.2f} 户，多出 {top['deregistrations_change']:.2f} 户。"
    )


def _with_kind_zh(frame: pl.DataFrame) -> pl.DataFrame:
    kinds = frame["entity_kind"].replace_strict(ENTITY_KIND_ZH, default=frame["entity_kind"])
    return frame.insert_column(0, kinds.alias("entity_kind_zh"))


def _with_category_zh(frame: pl.DataFrame) -> pl.DataFrame:
    names = frame["licence_category"].replace_strict(
        charts.LICENCE_CATEGORY_ZH, default=frame["licence_category"]
    )
    return frame.insert_column(0, names.alias("licence_category_zh"))


def _inspection_total(by_district: pl.DataFrame, index: pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """The districts plus a 全市 row: counts summed, coverage from the summed entities."""
    stock = index.filter(pl.col("month") == month)["entities_at_month_end"].sum()
    counts = [c for c in by_district.columns if c not in ("district_name", "district_code", "coverage_12m")]
    total = by_district.select(pl.col(counts).sum()).with_columns(
        district_name=pl.lit("全市"),
        district_code=pl.lit(""),
        coverage_12m=pl.lit(round(by_district["entities_inspected_12m"].sum() / stock, 6) if stock else None),
    )
    return pl.concat([by_district, total.select(by_district.columns)], how="vertical_relaxed")


def sections(frames: dict[str, pl.DataFrame], chart_files: dict[str, str]) -> list[dict]:
    month = frames["city_trend"]["month"].max()
    issues = frames["issues_by_district"]
    observed = issues["is_observed"].all()
    return [
        {
            "heading": "二、市场主体增减（新设、注销、吊销与净增长）",
            "text": [_exit_rise(frames["flows_by_district"])],
            "charts": [chart_files["flows"], chart_files["exits"]],
            "tables": [
                (
                    "按区县市",
                    table(frames["flows_by_district"]),
                    "market_flow_monthly, district_monthly_index",
                ),
                (
                    "按主体类别（本月与近12个月）",
                    table(_with_kind_zh(frames["flows_by_kind"])),
                    "market_flow_monthly",
                ),
                (
                    "按主营行业（近12个月新设最多的12个行业）",
                    table(frames["flows_by_industry"]),
                    "market_flow_monthly",
                ),
            ],
        },
        {
            "heading": "三、主体存活率（按登记年度）",
            "text": [
                "n 年存活率 = 登记后第 n 个周年月结束时仍未退出的主体占该年度登记主体的比例；只统计在报告月份所在年之前"
                "已满 n 年的年度，故往月报告不随时间变化。按主体类别的存活率合并最近 5 个完整年度。"
            ],
            "charts": [chart_files["survival"]],
            "tables": [
                ("按登记年度", table(frames["survival_by_cohort"]), "cohort_survival"),
                ("按主体类别", table(_with_kind_zh(frames["survival_by_kind"])), "cohort_survival"),
            ],
        },
        {
            "heading": "四、许可证（食品、药品、医疗器械、化妆品、保健食品）",
            "text": [
                "到期按有效期至统计；3个月内到期为报告月之后三个月内到期的许可；源数据暂无保健食品许可类型，该类为 0。"
            ],
            "charts": [chart_files["licences"]],
            "tables": [
                ("按许可类别", table(_with_category_zh(frames["licences_by_category"])), "licence_monthly")
            ],
        },
        {
            "heading": "五、监督检查（覆盖率、检查结果与行政处罚）",
            "text": ["按实施检查的区县局统计；覆盖率 = 近12个月被检查主体 / 月末存续主体。"],
            "charts": [chart_files["inspections"]],
            "tables": [
                (
                    "按区县市",
                    table(_inspection_total(frames["inspections_by_district"], frames["index_trend"], month)),
                    "inspection_monthly, district_monthly_index",
                )
            ],
        },
        {
            "heading": "六、疑似僵尸主体与未处理问题",
            "text": [
                "僵尸主体占比 = 月末有未处理 zombie.* 问题的主体 / 月末存续主体；较上月变化仅在上月已有问题记录时给出。"
                if observed
                else "本月早于仓库开始记录问题的日期，僵尸主体与问题数不可用（表中为 0）；请参阅数据日期所在月份的报告。"
            ],
            "charts": [],
            "tables": [("按区县市", table(issues), "district_issue_monthly")],
        },
        {
            "heading": "七、景气指数与信用指数",
            "text": _index_text(frames),
            "charts": [chart_files["indices"]],
            "tables": [
                ("按区县市（及其构成）", table(frames["index_by_district"]), "district_monthly_index")
            ],
        },
        {
            "heading": "八、数据质量：这些数字可信到什么程度",
            "text": _quality_text(frames),
            "charts": [],
            "tables": [
                ("按数据来源（截至仓库数据日期）", table(frames["source_resolution"]), "source_resolution")
            ],
        },
    ]


def _index_text(frames: dict[str, pl.DataFrame]) -> list[str]:
    """What moved the indices: the 12-month components and the credit events behind them."""
    by_district = frames["index_by_district"]
    lines = [
        "景气指数 = 100 × (近12个月新设 + 新发许可) / (新设 + 新发许可 + 退出 + 许可到期)，50 为开业与退出相当；"
        "信用指数 = 1 − 有信用事件的主体 / 月末存续主体（经营异常名录、近12个月行政处罚、未处理高风险问题）。"
    ]
    moved = by_district.filter(pl.col("vitality_change_1m").is_not_null())
    if moved.height:
        low = moved.sort(["vitality_change_1m", "district_code"]).row(0, named=True)
        lines.append(
            f"景气指数较上月下降最多的是{low['district_name']}（{low['vitality_change_1m']:+.2f}），"
            f"其近12个月退出 {low['deregistrations_12m']:,} 户、许可到期 {low['licences_expired_12m']:,} 件，"
            f"新设 {low['new_registrations_12m']:,} 户、新发许可 {low['licences_issued_12m']:,} 件。"
        )
    return lines


def _quality_text(frames: dict[str, pl.DataFrame]) -> list[str]:
    sources = frames["source_resolution"]
    issues = frames["issues_by_district"]
    records, registered = sources["records"].sum(), sources["with_registration"].sum()
    share = registered / records if records else 0.0
    return [
        f"源记录 {records:,} 条，其中 {registered:,} 条（{share:.1%}）归并到有登记记录的市场主体；隔离（未入库）行 "
        f"{sources['quarantined_rows'].sum():,} 行、文件 {sources['quarantined_files'].sum():,} 个。"
        f"本月末未处理问题 {issues['open_issues'].sum():,} 个，其中高风险 {issues['open_high_issues'].sum():,} 个。",
        "未匹配到登记主体的许可与检查记录（如无主许可）不计入各区县市的存续主体；匹配率与隔离数为仓库数据日期的情况。",
    ]

"""The district indices as people look at them: two PNG charts and an HTML page (reports/indices/).

Reads the curated `district_monthly_index` (the formulas are in its SQL and in the data dictionary) and
adds the city as a whole: vitality from the districts' summed 12-month counts, credit from the summed
entities. Labels are Chinese and English when a CJK font is installed (Debian: fonts-noto-cjk), else
English only. No Dagster here.
"""

from __future__ import annotations

import html
from pathlib import Path

import duckdb
import polars as pl

from pipelines.publishing import html_report

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
)
MONTHS_SHOWN = 36
CITY = "city"


def read_index(warehouse: Path) -> pl.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.sql("select * from main.district_monthly_index order by district_code, month").pl()


def city_rows(index: pl.DataFrame) -> pl.DataFrame:
    """The city as one more district: counts summed, indices recomputed from the sums."""
    sums = [
        "new_registrations",
        "deregistrations",
        "licences_issued",
        "licences_expired",
        "entities_at_month_end",
        "new_registrations_12m",
        "deregistrations_12m",
        "licences_issued_12m",
        "licences_expired_12m",
        "entities_with_credit_events",
    ]
    city = index.group_by("month", "is_partial_month").agg(pl.col(sums).sum()).sort("month")
    positive = pl.col("new_registrations_12m") + pl.col("licences_issued_12m")
    events = positive + pl.col("deregistrations_12m") + pl.col("licences_expired_12m")
    return city.with_columns(
        district_code=pl.lit(CITY),
        district_name=pl.lit("全市"),
        vitality_index=pl.when(events > 0).then((100 * positive / events).round(2)),
        credit_index=pl.when(pl.col("entities_at_month_end") > 0).then(
            (1 - pl.col("entities_with_credit_events") / pl.col("entities_at_month_end")).round(6)
        ),
    )


def cjk_font() -> str | None:
    from matplotlib import font_manager

    for name in CJK_FONTS:
        try:
            font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False)
        except ValueError:
            continue
        return name
    return None


def _plot(
    frame: pl.DataFrame,
    column: str,
    path: Path,
    title: str,
    ylabel: str,
    font: str | None,
    ylim: tuple[float, float] | None,
    reference: float | None,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    style = {"axes.unicode_minus": False}
    if font:
        style |= {"font.family": "sans-serif", "font.sans-serif": [font, "DejaVu Sans"]}
    with plt.rc_context(style):
        figure, axis = plt.subplots(figsize=(11, 5.5))
        for (code,), part in (
            frame.filter(pl.col("district_code") != CITY)
            .sort("month")
            .group_by("district_code", maintain_order=True)
        ):
            label = f"{part['district_name'][0]} {code}" if font else code
            axis.plot(part["month"].to_list(), part[column].to_list(), linewidth=1, alpha=0.75, label=label)
        city = frame.filter(pl.col("district_code") == CITY).sort("month")
        if city.height:
            axis.plot(
                city["month"].to_list(),
                city[column].to_list(),
                color="black",
                linewidth=2.5,
                label="全市 city" if font else "city",
            )
            partial = city.filter(pl.col("is_partial_month"))
            if partial.height:
                axis.scatter(
                    partial["month"].to_list(),
                    partial[column].to_list(),
                    facecolors="white",
                    edgecolors="black",
                    zorder=5,
                    label="不完整月份 partial month" if font else "partial month",
                )
        if reference is not None:
            axis.axhline(reference, color="grey", linestyle="--", linewidth=1)
        if ylim:
            axis.set_ylim(*ylim)
        axis.set_title(title)
        axis.set_ylabel(ylabel)
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:  # a warehouse without indices yet draws no line
            axis.legend(fontsize=8, ncol=2, loc="center left", bbox_to_anchor=(1.0, 0.5))
        figure.autofmt_xdate()
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        figure.savefig(tmp, dpi=100, format="png")
        plt.close(figure)
    tmp.replace(path)
    return path


def write(index: pl.DataFrame, folder: Path, months: int = MONTHS_SHOWN) -> dict[str, Path]:
    """vitality_index.png, credit_index.png and index.html in `folder`; the last `months` months are plotted."""
    font = cjk_font()
    both = pl.concat([index, city_rows(index)], how="diagonal_relaxed")
    last = both["month"].max()
    shown = (
        both.filter(pl.col("month") > pl.lit(last).dt.offset_by(f"-{months}mo")) if last is not None else both
    )
    zh = bool(font)
    vitality = _plot(
        shown,
        "vitality_index",
        folder / "vitality_index.png",
        "景气指数（近12个月，50=开业与退出相当） Market vitality index"
        if zh
        else "Market vitality index (12 months, 50 = balanced)",
        "0–100",
        font,
        (0, 100),
        50,
    )
    low = shown["credit_index"].min()
    credit = _plot(
        shown,
        "credit_index",
        folder / "credit_index.png",
        "信用指数（无信用事件主体占比） Credit index"
        if zh
        else "Credit index (share of entities without credit events)",
        "0–1",
        font,
        (max(0.0, (low if low is not None else 0.0) - 0.05), 1.0),
        None,
    )
    page = folder / "index.html"
    tmp = page.with_name(".index.html.tmp")
    tmp.write_text(_page(both), encoding="utf-8")
    tmp.replace(page)
    return {"vitality": vitality, "credit": credit, "page": page}


def _page(both: pl.DataFrame) -> str:
    columns = [
        "district_code",
        "district_name",
        "month",
        "is_partial_month",
        "new_registrations",
        "deregistrations",
        "licences_issued",
        "licences_expired",
        "entities_at_month_end",
        "vitality_index",
        "credit_index",
    ]
    complete = both.filter(~pl.col("is_partial_month"))
    latest_complete = complete["month"].max()
    latest = (
        both.filter(pl.col("month") == latest_complete).select(columns).sort("district_code")
        if latest_complete
        else both.head(0)
    )
    partial = both.filter(pl.col("is_partial_month")).select(columns).sort("district_code")
    city_year = both.filter(pl.col("district_code") == CITY).sort("month").tail(13).select(columns)
    about = (
        "<p>景气指数 vitality_index = 100 × (新设登记 + 新发许可) / (新设登记 + 新发许可 + 退出 + 许可到期)，按截至当月的12个月合计；"
        "50 表示开业与退出事件相当。<br>vitality_index = 100 × (new registrations + licences issued) / (new registrations + "
        "licences issued + exits + licences expired) over the 12 months up to the month; 50 = balanced.</p>"
        "<p>信用指数 credit_index = 1 − 有信用事件的主体数 / 月末存续主体数；信用事件：列入经营异常名录、近12个月受行政处罚、"
        "存在未处理的高风险问题。<br>credit_index = 1 − entities with a credit event / entities at month end; credit events: "
        "abnormal-operations list, a penalty in the last 12 months, an open high-severity issue.</p>"
        f"<p>{html.escape('表 district_monthly_index（curated 仓库及 open_data/district_monthly_index.parquet）')}；"
        "公式详见 sql/curated/district_monthly_index.sql。</p>"
    )
    return html_report.page(
        "区县市景气指数与信用指数 District vitality and credit indices",
        [
            ("说明 About", about),
            ("景气指数 Vitality", '<img src="vitality_index.png" alt="vitality index">'),
            ("信用指数 Credit", '<img src="credit_index.png" alt="credit index">'),
            (f"最近完整月份 Latest complete month ({latest_complete})", html_report.table(latest)),
            ("当前不完整月份 Current partial month", html_report.table(partial)),
            ("全市近13个月 City, last 13 months", html_report.table(city_year)),
        ],
    )

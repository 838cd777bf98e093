"""The monthly analysis's charts: matplotlib (Agg), Chinese labels in a CJK font named explicitly.

A machine without a CJK font would draw every Chinese label as empty boxes; rather than publish that,
`cjk_font()` fails with a message naming the package to install. PNGs carry no timestamp or version
(metadata Software=None), so the same figures give the same bytes. No Dagster here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from pipelines.publishing.labels import label

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei")
LICENCE_CATEGORY_ZH = {
    "food": "食品",
    "drugs": "药品",
    "medical_devices": "医疗器械",
    "cosmetics": "化妆品",
    "health_food": "保健食品",
    "other": "其他",
}
DPI = 110


class MissingCJKFont(RuntimeError):
    pass


def cjk_font() -> str:
    """The first installed CJK font family, or MissingCJKFont saying how to install one."""
    from matplotlib import font_manager

    found = _installed(font_manager)
    if found is None:  # a font installed after matplotlib cached its font list: look again, once
        font_manager.fontManager = font_manager._load_fontmanager(try_read_cache=False)
        found = _installed(font_manager)
    if found is None:
        raise MissingCJKFont(
            f"no CJK font found (looked for {', '.join(CJK_FONTS)}): Chinese labels would render as boxes. "
            "Install one: `apt-get install fonts-noto-cjk` (`make run` and .ci/run do it: .ci/system-packages)."
        )
    return found


def _installed(font_manager) -> str | None:  # noqa: ANN001 - the matplotlib.font_manager module
    for name in CJK_FONTS:
        try:
            font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False)
        except ValueError:
            continue
        return name
    return None


@contextmanager
def _figure(path: Path, size: tuple[float, float]) -> Iterator:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    style = {
        "font.family": "sans-serif",
        "font.sans-serif": [cjk_font(), "DejaVu Sans"],
        "axes.unicode_minus": False,
        "svg.hashsalt": "analysis",
    }
    with plt.rc_context(style):
        figure = plt.figure(figsize=size)
        yield figure
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=DPI, format="png", metadata={"Software": None})
        plt.close(figure)


def _months(values: list[dt.date]) -> list[str]:
    return [v.strftime("%y-%m") for v in values]


def flows_trend(trend: pl.DataFrame, path: Path) -> Path:
    """City new registrations and exits per month (bars), net growth (line), the last 24 months."""
    with _figure(path, (8, 3.4)) as figure:
        axis = figure.add_subplot()
        x = range(trend.height)
        axis.bar(
            [i - 0.2 for i in x], trend["new_registrations"].to_list(), 0.4, label=label("new_registrations")
        )
        axis.bar([i + 0.2 for i in x], trend["exits"].to_list(), 0.4, label=label("exits"), color="#d62728")
        axis.plot(
            list(x), trend["net_growth"].to_list(), color="black", marker=".", label=label("net_growth")
        )
        axis.axhline(0, color="grey", linewidth=0.8)
        axis.set_xticks(list(x), _months(trend["month"].to_list()), rotation=60, fontsize=7)
        axis.set_title("全市市场主体月度增减（户）")
        axis.legend(fontsize=8)
    return path


def district_exits(by_district: pl.DataFrame, path: Path) -> Path:
    """Each district's deregistrations in the month beside its monthly average of the 12 months before."""
    with _figure(path, (8, 3.2)) as figure:
        axis = figure.add_subplot()
        x = range(by_district.height)
        axis.bar(
            [i - 0.2 for i in x],
            by_district["deregistrations"].to_list(),
            0.4,
            label="本月注销",
            color="#d62728",
        )
        axis.bar(
            [i + 0.2 for i in x],
            by_district["deregistrations_avg_12m"].to_list(),
            0.4,
            label=label("deregistrations_avg_12m"),
            color="#999999",
        )
        axis.set_xticks(list(x), by_district["district_name"].to_list(), fontsize=8)
        axis.set_title("各区县市注销户数：本月与前12个月月均")
        axis.legend(fontsize=8)
    return path


def survival(by_cohort: pl.DataFrame, path: Path) -> Path:
    """1-, 3- and 5-year survival per registration year (complete cohorts only)."""
    with _figure(path, (8, 3.2)) as figure:
        axis = figure.add_subplot()
        for column in ("survival_1y", "survival_3y", "survival_5y"):
            axis.plot(
                by_cohort["cohort_year"].to_list(),
                by_cohort[column].to_list(),
                marker="o",
                label=label(column),
            )
        axis.set_ylim(0, 1.05)
        axis.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        axis.set_xlabel("登记年度")
        axis.set_title("按登记年度的主体存活率")
        axis.legend(fontsize=8)
    return path


def licences(trend: pl.DataFrame, path: Path) -> Path:
    """Licences issued and expired per category and month, the last 12 months."""
    with _figure(path, (8, 3.2)) as figure:
        issued_axis, expired_axis = figure.subplots(1, 2, sharey=True)
        for category, zh in LICENCE_CATEGORY_ZH.items():
            part = trend.filter(pl.col("licence_category") == category).sort("month")
            if part.height == 0 or (part["issued"].sum() == 0 and part["expired"].sum() == 0):
                continue
            months = _months(part["month"].to_list())
            issued_axis.plot(months, part["issued"].to_list(), marker=".", label=zh)
            expired_axis.plot(months, part["expired"].to_list(), marker=".", label=zh)
        for axis, title in ((issued_axis, "新发许可"), (expired_axis, "到期许可")):
            axis.set_title(title)
            axis.tick_params(axis="x", rotation=60, labelsize=7)
        if issued_axis.get_legend_handles_labels()[0]:  # a landing without licences draws none
            issued_axis.legend(fontsize=8)
    return path


def inspections(by_district: pl.DataFrame, path: Path) -> Path:
    """Each district's 12-month inspection coverage."""
    with _figure(path, (8, 3.0)) as figure:
        axis = figure.add_subplot()
        axis.bar(by_district["district_name"].to_list(), by_district["coverage_12m"].fill_null(0).to_list())
        axis.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        axis.tick_params(axis="x", labelsize=8)
        axis.set_title("各区县市近12个月检查覆盖率")
    return path


def indices(city: pl.DataFrame, districts: pl.DataFrame, path: Path) -> Path:
    """景气 and 信用 for the city (bold) and each district (thin), the last 36 months."""
    with _figure(path, (8, 3.4)) as figure:
        vitality_axis, credit_axis = figure.subplots(1, 2)
        for axis, column in ((vitality_axis, "vitality_index"), (credit_axis, "credit_index")):
            for (_,), part in districts.sort("month").group_by("district_code", maintain_order=True):
                axis.plot(part["month"].to_list(), part[column].to_list(), linewidth=0.7, alpha=0.5)
            axis.plot(
                city["month"].to_list(), city[column].to_list(), color="black", linewidth=2, label="全市"
            )
            axis.set_title(label(column))
            axis.tick_params(axis="x", rotation=45, labelsize=7)
        vitality_axis.axhline(50, color="grey", linestyle="--", linewidth=0.8)
        vitality_axis.legend(fontsize=8)
    return path

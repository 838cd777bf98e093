"""Small self-contained HTML pages and PNG plots for people who would rather look than query.

Tables read Chinese first: each header is the column's Chinese label with its canonical name beside it
(labels.py), and numbers carry thousands separators, shares percentages.
"""

from __future__ import annotations

import html
from pathlib import Path

import polars as pl

from pipelines.publishing.labels import format_value, header

STYLE = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th { background: #ddebf7; font-weight: normal; } td.text { text-align: left; }
code.canonical { display: block; color: #666; font-size: 11px; }
.bad { background: #fde2e1; } .good { background: #e6f4ea; }
"""


def table(frame: pl.DataFrame, highlight: dict[str, str] | None = None) -> str:
    """An HTML table; every value escaped. `highlight` maps a boolean column to the cell it colours."""
    highlight = highlight or {}
    head = "".join(f"<th>{header(c)}</th>" for c in frame.columns if c not in highlight)
    rows = []
    for row in frame.iter_rows(named=True):
        cells = []
        for column, value in row.items():
            if column in highlight:
                continue
            css = ["text"] if isinstance(value, str) else []
            flag = next((f for f, target in highlight.items() if target == column), None)
            if flag is not None and row[flag] is not None:
                css.append("good" if row[flag] else "bad")
            text = format_value(column, value)
            cells.append(f'<td class="{" ".join(css)}">{html.escape(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def page(title: str, sections: list[tuple[str, str]]) -> str:
    """A page of (heading, html body) sections."""
    body = "".join(f"<h2>{html.escape(h)}</h2>{content}" for h, content in sections)
    return f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>'


def line_plot(frame: pl.DataFrame, x: str, series: list[str], by: str, path: Path, title: str) -> Path:
    """One small line chart per value of `by`, the `series` columns against `x`, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = frame[by].unique().sort().to_list() or ["(none)"]
    figure, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 3.5), squeeze=False)
    for axis, group in zip(axes[0], groups, strict=True):
        part = frame.filter(pl.col(by) == group).sort(x)
        for column in series:
            axis.plot([str(v) for v in part[x].to_list()], part[column].to_list(), marker="o", label=column)
        axis.set_title(str(group))
        axis.set_ylim(0, 1.05)
        axis.tick_params(axis="x", rotation=45)
    axes[0][0].legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path

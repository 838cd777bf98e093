"""The monthly analysis's pieces that need no run: the period arithmetic, labels, the missing-font refusal."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.publishing import analysis_charts, labels
from pipelines.publishing.analysis_figures import Period


def test_a_period_is_a_partition_key_and_knows_its_neighbours() -> None:
    period = Period.parse("2026-01")
    assert period.key == "2026-01" and period.month_end == dt.date(2026, 1, 31)
    assert period.shift(-1) == dt.date(2025, 12, 1) and period.shift(-12) == dt.date(2025, 1, 1)
    assert period.parameters()["complete_year"] == 2025
    with pytest.raises(ValueError):
        Period.parse("2026-13")


def test_labels_put_chinese_first_and_format_numbers() -> None:
    assert labels.header("new_registrations") == '新设登记 <code class="canonical">new_registrations</code>'
    assert labels.header("<x>") == "<code>&lt;x&gt;</code>"
    assert labels.format_value("exits", 12345) == "12,345"
    assert labels.format_value("zombie_share", 0.0312) == "3.1%"
    assert labels.format_value("cohort_year", 2018) == "2018"
    assert labels.format_value("open_issues", None) == "—"


def test_charts_refuse_to_draw_without_a_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analysis_charts, "CJK_FONTS", ("No Such Font",))
    with pytest.raises(analysis_charts.MissingCJKFont, match="fonts-noto-cjk"):
        analysis_charts.cjk_font()

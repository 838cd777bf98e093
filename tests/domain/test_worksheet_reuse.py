"""A night renders only the worksheets whose content changed; the others are copied or left as they are."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl

from pipelines.domain import worksheets

TASKS = pl.DataFrame(schema={c: pl.String for c in worksheets.TASK_COLUMNS})


def sheet(issue_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    return pl.DataFrame(
        {"issue_id": [issue_id], "action": [None]}, schema={"issue_id": pl.String, "action": pl.String}
    ), TASKS


def first_column(path: Path) -> list[str]:
    return [
        row[0] for row in openpyxl.load_workbook(path).worksheets[0].iter_rows(min_row=2, values_only=True)
    ]


def test_unchanged_sheets_are_not_rendered_again(tmp_path: Path) -> None:
    night1, night2 = tmp_path / "2026-11-20", tmp_path / "2026-11-21"
    first = worksheets.publish(night1, {"a.xlsx": sheet("I1"), "b.xlsx": sheet("I2")})
    assert first == {"a.xlsx": "written", "b.xlsx": "written"}
    assert worksheets.publish(night1, {"a.xlsx": sheet("I1"), "b.xlsx": sheet("I2")}) == {
        "a.xlsx": "unchanged",
        "b.xlsx": "unchanged",
    }
    second = worksheets.publish(night2, {"a.xlsx": sheet("I1"), "b.xlsx": sheet("I3")})
    assert second == {"a.xlsx": "copied", "b.xlsx": "written"}
    assert (night2 / "a.xlsx").read_bytes() == (night1 / "a.xlsx").read_bytes()
    assert first_column(night2 / "b.xlsx")[0] != first_column(night1 / "b.xlsx")[0]
    assert not list(tmp_path.rglob(".*.tmp"))


def test_a_sheet_changed_by_hand_or_half_written_is_rendered_again(tmp_path: Path) -> None:
    night = tmp_path / "2026-11-20"
    worksheets.publish(night, {"a.xlsx": sheet("I1")})
    (night / "a.xlsx").unlink()  # a steward moved it away: it comes back
    assert worksheets.publish(night, {"a.xlsx": sheet("I1")}) == {"a.xlsx": "written"}
    (night / worksheets.MANIFEST).unlink()  # a run killed before its manifest: render again
    assert worksheets.publish(night, {"a.xlsx": sheet("I1")}) == {"a.xlsx": "written"}


def test_workbooks_rendered_on_several_processes_equal_those_rendered_in_one(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(worksheets, "PARALLEL_FROM_ROWS", 0)  # the process pool even for small sheets
    sheets = {
        f"{n}.xlsx": (
            pl.DataFrame(
                {"issue_id": [f"I{n}-{i}" for i in range(50 * n + 1)], "info_detail": ["=1+1"] * (50 * n + 1)}
            ),
            TASKS,
        )
        for n in range(4)
    }
    assert set(worksheets.publish(tmp_path / "pool", sheets, workers=2).values()) == {"written"}
    worksheets.publish(tmp_path / "one", sheets, workers=1)
    for name in sheets:
        pool, one = (
            openpyxl.load_workbook(tmp_path / "pool" / name),
            openpyxl.load_workbook(tmp_path / "one" / name),
        )
        assert [list(s.values) for s in pool.worksheets] == [list(s.values) for s in one.worksheets]
        assert first_column(tmp_path / "pool" / name)[-1] == sheets[name][0]["issue_id"][-1]
    assert not list(tmp_path.rglob(".*.tmp"))

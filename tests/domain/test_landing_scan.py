"""The landing inventory on hand-made zones: a problem file is reported wherever it sorts among the others."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.domain import landing


@pytest.mark.parametrize("odd_folder", ["aaa_unknown", "zzz_unknown"])  # before or after 150 good files
def test_a_file_in_an_unknown_folder_is_a_problem_row_not_a_crash(tmp_path: Path, odd_folder: str) -> None:
    for day in range(1, 31):
        folder = tmp_path / "registration" / f"2026-11-{day:02d}"
        folder.mkdir(parents=True)
        for part in range(5):
            (folder / f"reg_{part}.csv").write_text("统一社会信用代码\n", encoding="utf-8")
    (tmp_path / odd_folder / "2026-12-01").mkdir(parents=True)
    (tmp_path / odd_folder / "2026-12-01" / "x.csv").write_text("a\n", encoding="utf-8")

    inventory = landing.scan(tmp_path)

    assert inventory.height == 151 and inventory.schema["problem"] == pl.String
    problems = inventory.filter(pl.col("problem").is_not_null())
    assert problems["path"].to_list() == [f"{odd_folder}/2026-12-01/x.csv"]
    assert problems["problem"][0].startswith("unknown source folder")

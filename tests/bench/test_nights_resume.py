"""The nights bench (benchmarks/nights.py) stopped and gone on with `--resume`: a year of nights takes hours."""

import json
from pathlib import Path

import pytest

from benchmarks import nights


@pytest.mark.xdist_group("nights_resume")
def test_a_stopped_bench_goes_on_from_the_nights_it_finished(tmp_path: Path) -> None:
    argv = ["--entities", "500", "--nights", "1", "--seed", "5", "--out", str(tmp_path), "--keep-every", "1"]
    assert nights.main(argv) == 0
    folder = tmp_path / "nights-500-s5-n1"
    finished = nights.finished_nights(folder)
    assert [row["night"] for row in finished] == [0, 1, 2]
    assert not any(row["resumed"] for row in finished)
    # Stopped during night 2 after its run had written the lake and the warehouse: the bench runs it again.
    lines = [json.dumps(row) + "\n" for row in finished[:2]]
    (folder / nights.RESULTS).write_text("".join(lines), encoding="utf-8")
    assert nights.main([*argv, "--resume"]) == 0
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert [(row["night"], row["resumed"]) for row in results["nights"]] == [
        (0, False),
        (1, False),
        (2, True),
    ]
    assert results["nights"][:2] == finished[:2]
    # Every night's warehouse was kept; `asof` rebuilt the last of each date (the demo's misnamed folder
    # 20261121 is a third night as of 2026-11-21). Ids held over the nights.
    assert set(results["asof_equal"]) == {"2026-11-20", "2026-11-21"}
    assert not any(results["asof_equal"].values())
    assert results["id_stability"]["worst_night_share"] == 1.0
    assert len(results["id_stability"]["per_night"]) == 2

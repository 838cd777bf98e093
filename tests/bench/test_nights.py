"""The nights bench at small scale: nights of real deliveries, each `entity-lakehouse run` incremental, and
the warehouse equal to a full rebuild from the same lake (every contract table, row for row)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import nights


def test_nights_stay_equal_to_a_full_rebuild(tmp_path: Path) -> None:
    seed = 23  # held out; the multi-night history test runs seeds 3 and 11
    argv = [
        "--entities",
        "500",
        "--nights",
        "2",
        "--seed",
        str(seed),
        "--out",
        str(tmp_path),
        "--rebuild-check",
    ]
    assert nights.main(argv) == 0
    results = json.loads(next(tmp_path.glob("nights-*/results.json")).read_text(encoding="utf-8"))
    assert results["rebuild_equal"] is True
    assert results["id_stability"]["worst_night_share"] == 1.0
    delivered = [n["rows_delivered"] for n in results["nights"]]
    assert delivered[0] > 500 and all(0 <= d < delivered[0] for d in delivered[1:])
    assert all(n["seconds"] > 0 and n["peak_rss_mb"] > 0 for n in results["nights"])

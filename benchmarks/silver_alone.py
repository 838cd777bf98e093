"""One source's standardisation, quality validation and Delta write, alone in a fresh process.

`python -m benchmarks.silver_alone <lake> <source> <out>`: what the silver step does on a first load, read
from a bench lake's bronze current state and written to `out` (a scratch Delta table), so that the bench can
report the stage's own peak RSS apart from the memory a whole run's process keeps from earlier steps.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from pipelines.domain import incremental, standardise
from pipelines.quality.suites import validate_delivery
from pipelines.storage import catalog
from pipelines.storage.lake import Lake


def main(lake_root: Path, source: str, out: Path) -> None:
    lake = Lake(lake_root, run_id="bench")
    started = time.perf_counter()
    upserts, _ = standardise.changed(source, lake.scan(catalog.current(source)), None)
    upserts, deliveries = incremental.by_delivery(upserts)
    standardised = time.perf_counter()
    for delivery_date, frame in deliveries.items():
        validate_delivery(frame, "silver", source, delivery_date, max(deliveries))
    validated = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    Lake(out.parent, run_id="bench").upsert(out.name, upserts, key=["record_key"])
    print(
        f"{source}: {upserts.height} rows; standardise {standardised - started:.1f} s, "
        f"validate {validated - standardised:.1f} s, write {time.perf_counter() - validated:.1f} s"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))

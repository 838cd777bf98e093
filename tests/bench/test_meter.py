"""The meter of the Splink comparison: seconds of the scope, memory in MB (ru_maxrss is KiB on Linux)."""

from __future__ import annotations

import time

from benchmarks.meter import Meter


def test_meter_reads_seconds_and_megabytes():
    meter = Meter()
    held = b"x" * (64 * 1024 * 1024)  # written, so resident: the peak must grow by about 64 MB
    time.sleep(0.05)
    metered = meter.stop()
    assert 0.05 <= metered.seconds < 5
    assert 0 < metered.rss_at_start_mb
    assert metered.rss_at_start_mb + 60 <= metered.peak_rss_mb < 64 * 1024  # MB, not KiB
    assert len(held) == 64 * 1024 * 1024

"""The meter of the Splink comparison: seconds of the scope, memory in MB (ru_maxrss is KiB on Linux)."""

from __future__ import annotations

import time

from benchmarks.meter import Meter, rss_mb


def test_meter_reads_seconds_and_megabytes():
    meter = Meter()
    held = bytearray(64 * 1024 * 1024)  # touched below, so resident: the peak must grow by about 64 MB
    held[:: 4096] = b"x" * len(held[:: 4096])
    time.sleep(0.05)
    metered = meter.stop()
    assert 0.05 <= metered.seconds < 5
    assert 64 <= metered.peak_rss_mb < 64 * 1024  # MB, not KiB
    assert metered.peak_rss_mb >= metered.rss_at_start_mb + 60
    assert 0 < rss_mb() <= metered.peak_rss_mb
    del held

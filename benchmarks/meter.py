"""Wall time and memory of one scope of work inside this process.

`ru_maxrss` is a high-water mark over the life of the process (KiB on Linux), so a scope's peak includes
whatever the process held before it (imports, its input): compare two matchers by metering each in a fresh
process after the same preparation. Children count too (DuckDB and polars use threads, not processes, but a
helper process would otherwise hide its memory).
"""

from __future__ import annotations

import re
import resource
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Metered:
    seconds: float
    peak_rss_mb: float  # process high-water mark when the scope ended (self or a waited-for child)
    rss_at_start_mb: float  # resident memory when the scope began: what was already held


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def rss_mb() -> float:
    """Current resident memory of this process (VmRSS), not the high-water mark."""
    found = re.search(r"VmRSS:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(found.group(1)) / 1024 if found else float("nan")


class Meter:
    """Started on creation; `stop()` gives the seconds since then and the memory figures."""

    def __init__(self) -> None:
        self._rss_at_start = rss_mb()
        self._started = time.perf_counter()

    def stop(self) -> Metered:
        return Metered(time.perf_counter() - self._started, peak_rss_mb(), self._rss_at_start)

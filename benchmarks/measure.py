"""Run a command as a child process and report its wall time and peak RSS (children included)."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

TIME = Path("/usr/bin/time")


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float
    output: str


def run(command: list[str], log: Path) -> Measured:
    """Run `command` under GNU time -v; its stdout/stderr go to `log`. Raises on a non-zero exit."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as handle:
        done = subprocess.run([str(TIME), "-v", *command], stdout=handle, stderr=subprocess.STDOUT, check=False)
    seconds = time.perf_counter() - started
    output = log.read_text(encoding="utf-8", errors="replace")
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} … failed (exit {done.returncode}); see {log}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", output)
    return Measured(seconds, int(peak.group(1)) / 1024 if peak else float("nan"), output)

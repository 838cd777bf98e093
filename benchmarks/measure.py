"""Run a command as a child process: wall time, peak RSS, and an RSS sample every half second, so that a
stage's peak can be read off the samples taken while its Dagster steps ran."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

TIME = Path("/usr/bin/time")
SAMPLE_SECONDS = 0.5


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float
    output: str
    samples: list[tuple[float, float]] = field(default_factory=list)  # (epoch seconds, RSS MB of the tree)


def run(command: list[str], log: Path) -> Measured:
    """Run `command` under GNU time -v; its stdout/stderr go to `log`. Raises on a non-zero exit."""
    log.parent.mkdir(parents=True, exist_ok=True)
    samples: list[tuple[float, float]] = []
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as handle:
        child = subprocess.Popen([str(TIME), "-v", *command], stdout=handle, stderr=subprocess.STDOUT)
        sampler = threading.Thread(target=_sample, args=(child, samples), daemon=True)
        sampler.start()
        child.wait()
        sampler.join()
    seconds = time.perf_counter() - started
    output = log.read_text(encoding="utf-8", errors="replace")
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} … failed (exit {child.returncode}); see {log}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", output)
    return Measured(seconds, int(peak.group(1)) / 1024 if peak else float("nan"), output, samples)


def _sample(child: subprocess.Popen, samples: list[tuple[float, float]]) -> None:
    while child.poll() is None:
        samples.append((time.time(), _tree_rss_mb(child.pid)))
        time.sleep(SAMPLE_SECONDS)


def _tree_rss_mb(root: int) -> float:
    """Resident memory of a process and its descendants (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        current = frontier.pop()
        children = [pid for pid, parent in parents.items() if parent == current]
        tree.update(children)
        frontier.extend(children)
    total = 0
    for pid in tree:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(found.group(1)) if found else 0
    return total / 1024

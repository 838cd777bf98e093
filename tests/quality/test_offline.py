"""Importing the quality package stays cheap, and validating plus building Data Docs never opens a socket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("great_expectations")

ROOT = Path(__file__).resolve().parents[2]

# Run with `python -c` on purpose: its __main__ has no __file__, like a pytest-xdist worker's, which
# pyspark (imported by GX) takes for a doctest run and exits on, unless gx_runner.import_gx guards it.
SCRIPT = """
import json, socket, sys
from pathlib import Path

attempts = []

def refuse(*args, **kwargs):
    attempts.append(repr(args)[:200])
    raise OSError("network access refused by test")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.socket.sendto = refuse
socket.getaddrinfo = refuse
socket.create_connection = refuse

import pipelines.quality as quality
lazy = "great_expectations" not in sys.modules
from tests.quality.frames import SUITE, broken_frame

run = quality.validate(broken_frame(), SUITE, "offline")
index = quality.build_data_docs([run], Path(sys.argv[1]))
report = {"lazy": lazy, "attempts": list(attempts), "index": index.is_file(), "outcomes": len(run.outcomes)}
try:  # the guard itself must catch a connection
    socket.create_connection(("127.0.0.1", 9))
except OSError:
    report["probe_caught"] = len(attempts) == len(report["attempts"]) + 1
print(json.dumps(report))
"""


def test_validation_and_data_docs_never_touch_the_network(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", SCRIPT, str(tmp_path / "site")]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), f"the process ended before reporting: {done.stderr[-3000:]}"
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"lazy": True, "attempts": [], "index": True, "outcomes": 11, "probe_caught": True}

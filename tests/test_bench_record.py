"""The recording benchmark runs end to end (--quick) and prints every table; timings are
never asserted, only that frames moved and events were timed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(180)


def test_bench_record_quick() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_record", "--quick"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for title in ("### Recording cost", "### Memory while", "### Event latency", "### Clip export"):
        assert title in out
    rows = [line for line in out.splitlines() if line.startswith("| recording 8 cameras")]
    assert rows and float(rows[0].split("|")[3]) > 100  # frames/s into the recording hub
    latency = out.split("### Event latency", 1)[1].splitlines()
    body = [line for line in latency if line.startswith("| ") and "events" not in line]
    assert body and int(body[0].split("|")[1]) >= 1  # at least one motion event timed

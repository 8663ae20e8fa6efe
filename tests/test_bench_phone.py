"""bench_phone runs end to end in --quick mode (chromium part included when installed)
and prints both tables with figures; timings are never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from camhub.web.browser import CHROMIUM

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(180)
def test_bench_phone_quick_prints_both_tables() -> None:
    args = ["--quick"] if os.path.exists(CHROMIUM) else ["--quick", "--no-browser"]
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_phone", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "### Hub CPU per frame" in out
    for label in ("ZeroMQ (camhub Sender, window 1)", "WebSocket (ws)", "WebSocket (wss)"):
        row = next(line for line in out.splitlines() if line.startswith(f"| {label}"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[1].replace(",", "")) > 0, row  # frames moved
    if "--no-browser" not in args:
        row = next(line for line in out.splitlines() if line.startswith("| 1 "))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == "1" and float(cells[2]) > 0, row

"""bench_phone runs end to end in --quick mode (chromium part included when installed)
and prints both tables with figures; timings are never asserted."""

from __future__ import annotations

import os

import pytest

from camhub.web.browser import CHROMIUM
from tests.bench_run import run_bench


@pytest.mark.timeout(180)
def test_bench_phone_quick_prints_both_tables() -> None:
    args = ["--quick"] if os.path.exists(CHROMIUM) else ["--quick", "--no-browser"]
    proc = run_bench("bench.bench_phone", *args, timeout=170)
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

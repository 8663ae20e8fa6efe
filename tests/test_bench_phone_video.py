"""bench_phone_video runs end to end in --quick mode with real chromium and prints its
table with both modes measured; the figures themselves are never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from camhub.web.browser import CHROMIUM

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.browser
@pytest.mark.timeout(240)
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no chromium at {CHROMIUM}")
def test_bench_phone_video_quick_prints_both_modes() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_phone_video", "--quick"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=230,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| photographs")]
    assert len(rows) == 2, proc.stdout
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    assert cells[0][2] == "JPEG (medium)" and cells[1][2].startswith("WebCodecs ")
    for row in cells:
        assert float(row[3]) > 0 and float(row[4].replace(",", "")) > 0, row  # frames moved
        assert float(row[6]) > 20, row  # pictures decoded at the hub resemble the scene
    assert cells[1][7].endswith("x")

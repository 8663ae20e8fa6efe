"""The video recording benchmark runs end to end (--quick) and prints every table;
timings are never asserted, only that frames moved, segments were measured and every
clip came back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(300)


def test_bench_record_video_quick() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_record_video", "--quick"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=290,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for title in ("### Recording 8 cameras", "### Bytes on disk", "### Clips over HTTP"):
        assert title in out
    rows = {
        line.split("|")[1].strip(): line.split("|")
        for line in out.splitlines()
        if line.startswith("| ")
    }
    assert float(rows["H.264 (fMP4 segments)"][6]) > 60  # frames/s into the recording hub
    assert float(rows["H.264 (fMP4)"][2]) > 0  # GB per hour, measured
    clips = [r for name, r in rows.items() if "clip (" in name]
    assert len(clips) == 3 and all(r[2].strip() == "200" for r in clips)

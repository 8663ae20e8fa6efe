"""bench/bench_video_hub.py runs end to end (tiny) and prints a row per encoding; no
timing is judged here, only that both hubs got frames and the figures are numbers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.bench_video_hub import parse_args

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(300)
def test_quick_run_measures_jpeg_and_h264() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_video_hub", "--quick"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [
        [c.strip() for c in ln.strip("|").split("|")]
        for ln in proc.stdout.split("### Hub CPU", 1)[1].splitlines()
        if ln.startswith("|")
    ][2:]
    assert [r[0] for r in rows] == ["JPEG", "H.264 (decoded on demand)"]
    for row in rows:
        assert float(row[1].replace(",", "")) > 0, row  # frames arrived
        float(row[3])  # hub + worker CPU %
        float(row[6])  # hub process CPU %
    assert rows[0][5] == rows[0][8] == "1.00x"
    assert rows[1][5].endswith("x") and rows[1][8].endswith("x")


def test_defaults_are_issue_17s_setting() -> None:
    s = parse_args([])
    assert (s.cameras, s.fps, s.detect) == (8, 15, True)
    assert parse_args(["--no-detect"]).detect is False

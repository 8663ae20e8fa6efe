"""bench/bench_video_sources.py runs and prints its figures (a short run; no timing is
judged here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers.rtsp import rtsp_missing

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(120)


def test_the_reader_step_prints_both_readers() -> None:
    why = rtsp_missing()
    if why:
        pytest.skip(f"needs GStreamer's RTSP server: {why}")
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_video_sources", "--only", "reader", "--seconds", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=100, check=True,
    ).stdout  # fmt: skip
    rows = re.findall(r"(FFmpeg RTSP demuxer \(before\)|camhub RTSP client)\s+p50\s+[\d.]+ ms", out)
    assert rows == ["FFmpeg RTSP demuxer (before)", "camhub RTSP client"], out


@pytest.mark.timeout(300)
def test_the_cpu_step_prints_sender_and_hub_for_both_paths() -> None:
    why = rtsp_missing()
    if why:
        pytest.skip(f"needs GStreamer's RTSP server: {why}")
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_video_sources", "--only", "cpu", "--seconds", "2",
         "--runs", "1", "--hubs", "plain"],
        cwd=ROOT, capture_output=True, text=True, timeout=280, check=True,
    ).stdout  # fmt: skip
    rows = re.findall(
        r"(pass-through \(--codec auto\)|decode \+ JPEG q85)\s+sender\s+[\d.]+ ms/frame .*"
        r"hub\s+[\d.]+ ms/frame .* together\s+[\d.]+ ms/frame",
        out,
    )
    assert rows == ["pass-through (--codec auto)", "decode + JPEG q85"], out
    assert re.search(r"sender \+ hub, pass-through / JPEG path, per run: [\d.]+x", out), out

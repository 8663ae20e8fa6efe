"""bench/bench_video_sources.py runs and prints its figures (a short run; no timing is
judged here)."""

from __future__ import annotations

import re

import pytest

from tests.bench_run import run_bench
from tests.servers.rtsp import rtsp_missing

pytestmark = pytest.mark.timeout(120)


def test_the_reader_step_prints_both_readers() -> None:
    why = rtsp_missing()
    if why:
        pytest.skip(f"needs GStreamer's RTSP server: {why}")
    out = run_bench(
        "bench.bench_video_sources", "--only", "reader", "--seconds", "3", timeout=100
    ).stdout
    rows = re.findall(r"(FFmpeg RTSP demuxer \(before\)|camhub RTSP client)\s+p50\s+[\d.]+ ms", out)
    assert rows == ["FFmpeg RTSP demuxer (before)", "camhub RTSP client"], out

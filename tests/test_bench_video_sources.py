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


@pytest.mark.timeout(300)
def test_the_cpu_step_prints_sender_and_hub_for_both_paths() -> None:
    why = rtsp_missing()
    if why:
        pytest.skip(f"needs GStreamer's RTSP server: {why}")
    out = run_bench(
        "bench.bench_video_sources", "--only", "cpu", "--seconds", "2", "--runs", "1",
        "--hubs", "plain", timeout=280,
    ).stdout  # fmt: skip
    rows = re.findall(
        r"(pass-through \(--codec auto\)|decode \+ JPEG q85)\s+sender\s+[\d.]+ ms/frame .*"
        r"hub\s+[\d.]+ ms/frame .* together\s+[\d.]+ ms/frame",
        out,
    )
    assert rows == ["pass-through (--codec auto)", "decode + JPEG q85"], out
    assert re.search(r"sender \+ hub, pass-through / JPEG path, per run: [\d.]+x", out), out

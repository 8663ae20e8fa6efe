"""bench/bench_video.py runs end to end on a tiny scene and prints its table: both
encodings measured, H.264 smaller than JPEG, and the hub counting every byte sent."""

from __future__ import annotations

import re

from tests.bench_run import run_bench

ARGS = ["--seconds", "1", "--sizes", "320x240", "--crf", "23", "--noise", "0"]


def test_bench_video_prints_both_encodings_and_the_live_check() -> None:
    proc = run_bench("bench.bench_video", *ARGS, timeout=120)
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| 320x240")]
    assert [row.split("|")[2].strip() for row in rows] == ["JPEG q85", "H.264 crf 23"]
    ratio = float(rows[1].split("|")[5].strip().rstrip("x"))
    assert ratio > 1  # fewer bytes than JPEG (the figure itself is for docs, not asserted)
    live = re.search(r"([\d,]+) payload bytes sent, ([\d,]+) counted by the hub", proc.stdout)
    assert live is not None and live[1] == live[2] and live[1] != "0"

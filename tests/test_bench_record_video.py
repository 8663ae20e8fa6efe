"""The video recording benchmark runs end to end (--quick) and prints every table;
timings are never asserted, only that frames moved, segments were measured and every
clip came back."""

from __future__ import annotations

import pytest

from tests.bench_run import run_bench

pytestmark = pytest.mark.timeout(300)


def test_bench_record_video_quick() -> None:
    proc = run_bench("bench.bench_record_video", "--quick", timeout=290)
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

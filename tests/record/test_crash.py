"""SIGKILL during recording: every frame reported written survives, every closed
segment stays readable, and the next start completes the open segment's index row."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from camhub.record.index import SegmentIndex
from camhub.record.segment import read_segment
from tests.conftest import start_peer, stop_peer

pytestmark = pytest.mark.timeout(60)


def test_sigkill_loses_nothing_that_was_written(tmp_path: Path) -> None:
    proc = start_peer("record_process.py", str(tmp_path))
    assert proc.stdout is not None
    written = 0
    try:
        deadline = time.monotonic() + 3.5  # a few 1-second segments, then one open
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("WRITTEN"):
                written = int(line.split()[1])
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        stop_peer(proc)
    assert written > 50

    index = SegmentIndex.open(tmp_path)
    try:
        open_rows = [s for s in index.find("cam") if not s.closed]
        assert len(open_rows) == 1  # the segment it was writing when killed
        assert index.recover() == 1
        segs = index.find("cam")
        assert len(segs) >= 3 and all(s.closed for s in segs)
        frames = 0
        last = 0.0
        for seg in segs:
            times = [t for t, _ in read_segment(seg.path)]
            assert len(times) == seg.frames > 0
            assert times[0] >= last  # in order, no overlap
            last = times[-1]
            frames += len(times)
        assert frames >= written
    finally:
        index.close()

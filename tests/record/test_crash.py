"""SIGKILL during recording: a real hub process records a real sender's frames; after
the kill every frame it reported written is on disk, every closed segment is readable,
and the next start completes the open segment's index row."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import camhub
from camhub.record.index import SegmentIndex
from camhub.record.segment import read_segment
from tests.conftest import PEERS, stop_peer
from tests.record.helpers import jpeg_at

pytestmark = pytest.mark.timeout(60)


def _camera(endpoint: str, stop: threading.Event) -> None:
    with camhub.Sender(endpoint, window=8, timeout=2.0) as sender:
        i = 0
        while not stop.is_set():
            try:
                sender.send_jpeg("cam", jpeg_at(i))
            except camhub.SendTimeout:
                return  # the hub was killed
            i += 1
            time.sleep(1 / 30)


def test_sigkill_loses_nothing_that_was_written(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(PEERS / "record_process.py"), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    stop = threading.Event()
    sender: threading.Thread | None = None
    written = 0
    try:
        ready = proc.stdout.readline().split()
        assert ready and ready[0] == "READY", f"the hub did not start: {ready}"
        sender = threading.Thread(target=_camera, args=(ready[1], stop), daemon=True)
        sender.start()
        deadline = time.monotonic() + 3.5  # a few 1-second segments, then one open
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("WRITTEN"):
                written = int(line.split()[1])
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        stop.set()
        if sender is not None:
            sender.join(10)
        stop_peer(proc)  # type: ignore[arg-type]
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

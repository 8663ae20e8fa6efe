"""A recorder that cannot keep up (a slow disk) loses frames from its own queue, counts
them, and the hub still receives every frame: a real hub and a real sender."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import camhub
from camhub.history import History
from camhub.record import recorder as recorder_module
from camhub.record.settings import CameraRecording, RecordSettings
from tests.conftest import wait_until
from tests.record.helpers import jpeg_at

pytestmark = pytest.mark.timeout(90)


class SlowWriter(recorder_module.SegmentWriter):
    """A segment file on a disk that takes 20 ms per frame."""

    def write(self, at: float, jpeg: bytes) -> None:
        time.sleep(0.02)
        super().write(at, jpeg)


def test_slow_recorder_drops_and_counts_while_ingest_gets_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder_module, "SegmentWriter", SlowWriter)
    hub = camhub.Hub("tcp://127.0.0.1:0")
    settings = RecordSettings(default=CameraRecording("continuous"), min_free_gb=0)
    history = History(hub.store, hub.bus, tmp_path, settings)
    history.RECORDER_QUEUE = 16
    history.start()
    hub.start()
    rec = history.recorder
    assert rec is not None
    sent = 400
    try:
        with camhub.Sender(hub.endpoint, window=16) as sender:
            for i in range(sent):
                sender.send_jpeg("cam", jpeg_at(i % 50))
            assert sender.flush(10)
        stats = hub.camera_stats("cam")
        assert stats is not None and stats.frames == sent  # ingest lost nothing
        # the recorder drains its queue; every frame was either recorded or counted
        wait_until(lambda: rec.seen + rec.frames.dropped == sent, 20)
        assert rec.frames.dropped > 0
    finally:
        hub.stop()
        history.stop()
    written = sum(int(c.frames) for c in rec.stats().cameras)
    assert 0 < written < sent
    assert written + rec.frames.dropped <= sent

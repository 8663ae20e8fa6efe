"""Object events trigger the recorder with its usual pre-roll (the store, the bus, the
detector workers and the recorder, all real)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from camhub.bus import EventBus
from camhub.detect.pool import DetectorSpec
from camhub.detect.scheduler import ObjectDetection
from camhub.events.model import EventUpdate
from camhub.record.index import SegmentIndex
from camhub.record.recorder import Recorder
from camhub.record.segment import read_segment
from camhub.record.settings import CameraRecording, RecordSettings
from camhub.store import CameraStore
from tests.conftest import wait_until
from tests.detect.scene import Walker, background, cameraman, render
from tests.detect.test_scheduler import Feeder

pytestmark = pytest.mark.timeout(120)


def test_a_person_event_records_a_clip_with_pre_roll(tmp_path: Path) -> None:
    bus = EventBus()
    store = CameraStore(bus)
    news: list[EventUpdate] = []
    sub = bus.subscribe(
        lambda u: news.append(u) if u.type == "new" else None, name="t", kinds=(EventUpdate,)
    )
    settings = RecordSettings(
        default=CameraRecording("events", pre_roll=2.0, post_roll=1.0), min_free_gb=0
    )
    recorder = Recorder(
        store.subscribe(name="recorder", maxsize=256), bus, SegmentIndex.open(tmp_path), settings
    ).start()
    det = ObjectDetection(store, bus, DetectorSpec("darknet"), labels=["person"]).start()
    bg = background()
    walker = [Walker(cameraman(), 10, 470, 3.0, 7.0)]  # nobody for 3 s, then a walk

    def scene(t: float) -> np.ndarray:
        return render(walker, t, bg)[0] if 3.0 <= t <= 7.0 else bg

    try:
        with Feeder(store, "hall", scene, fps=10):
            wait_until(lambda: bool(news), 60)
            time.sleep(1.0)
    finally:
        det.stop()
        recorder.stop()
        sub.close()
        store.stop()
    start = news[0].after.start
    times = [t for seg in recorder.index.find("hall") for t, _ in read_segment(seg.path)]
    assert times, "the person event must have started a recording"
    # The clip begins about pre_roll before the first sighting of the person.
    assert start - 2.3 <= min(times) <= start - 1.5

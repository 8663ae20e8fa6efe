"""The recorder: pre-roll before the trigger, post-roll after the end, continuous
segments, retention by age and by size, the free-disk guard, and drops counted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from camhub.bus import EventBus
from camhub.events import Event, EventUpdate
from camhub.record.index import SegmentIndex
from camhub.record.recorder import Recorder
from camhub.record.segment import read_segment
from camhub.record.settings import CameraRecording, RecordSettings, RecordSettingsError
from tests.conftest import wait_until
from tests.record.helpers import FrameQueue, frame

pytestmark = pytest.mark.timeout(60)


def _recorder(
    tmp_path: Path, settings: RecordSettings, maxsize: int = 1000
) -> tuple[Recorder, FrameQueue, EventBus]:
    bus = EventBus()
    frames = FrameQueue(maxsize)
    return Recorder(frames, bus, SegmentIndex.open(tmp_path), settings).start(), frames, bus


@pytest.fixture
def events_mode(tmp_path: Path) -> Iterator[tuple[Recorder, FrameQueue, EventBus]]:
    settings = RecordSettings(
        default=CameraRecording("events", pre_roll=1.0, post_roll=1.0), min_free_gb=0
    )
    rec, frames, bus = _recorder(tmp_path, settings)
    yield rec, frames, bus
    rec.stop()
    bus.close()


def _feed(rec: Recorder, frames: FrameQueue, camera: str, times: list[float]) -> None:
    target = rec.seen + len(times)
    for i, at in enumerate(times):
        frames.put(frame(camera, at, i))
    wait_until(lambda: rec.seen >= target, timeout=20)


def _publish(rec: Recorder, bus: EventBus, update: EventUpdate) -> None:
    bus.publish(update)
    assert rec._events is not None and rec._events.flush()


def _recorded(rec: Recorder, camera: str) -> list[float]:
    return [t for seg in rec.index.find(camera) for t, _ in read_segment(seg.path)]


def test_clip_starts_pre_roll_before_the_trigger_and_ends_post_roll_after(
    events_mode: tuple[Recorder, FrameQueue, EventBus],
) -> None:
    rec, frames, bus = events_mode
    t0 = 1_000_000.0
    ticks = [t0 + i / 10 for i in range(100)]  # 10 s at 10 fps
    _feed(rec, frames, "door", ticks[:30])  # quiet: only the ring keeps them
    assert rec.index.find("door") == []
    event = Event(camera="door", label="motion", start=t0 + 2.5)
    _publish(rec, bus, EventUpdate("new", event.copy()))
    _feed(rec, frames, "door", ticks[30:50])
    event.end = t0 + 4.9
    _publish(rec, bus, EventUpdate("end", event.copy()))
    _feed(rec, frames, "door", ticks[50:100])
    rec.stop()
    got = _recorded(rec, "door")
    # the event started at t0+2.5 and reached the recorder at t0+2.9: the clip starts
    # pre_roll (1 s) before the start, with frames that only the ring had kept
    assert got[0] == pytest.approx(t0 + 1.5, abs=1e-3)
    assert got[0] < event.start
    assert got[-1] == pytest.approx(t0 + 5.9, abs=1e-3)  # end + post_roll, then it stopped
    assert got == sorted(got) and len(got) == len(set(got)) == 45


def test_offline_events_do_not_trigger_and_off_cameras_are_not_recorded(
    events_mode: tuple[Recorder, FrameQueue, EventBus],
) -> None:
    rec, frames, bus = events_mode
    _publish(rec, bus, EventUpdate("new", Event(camera="door", label="offline", start=1.0)))
    _feed(rec, frames, "door", [1.0 + i / 10 for i in range(20)])
    rec.stop()
    assert _recorded(rec, "door") == []


def test_continuous_segments_roll_over_and_are_indexed(tmp_path: Path) -> None:
    settings = RecordSettings(
        default=CameraRecording("continuous"),
        cameras={"quiet": CameraRecording("off")},
        segment_seconds=2.0,
        min_free_gb=0,
    )
    rec, frames, bus = _recorder(tmp_path, settings)
    bus.close()
    t0 = float(int(time.time()) - 100)  # whole seconds: exact segment boundaries
    _feed(rec, frames, "yard", [t0 + i / 5 for i in range(50)])  # 10 s
    _feed(rec, frames, "quiet", [t0 + i / 5 for i in range(10)])
    stats = rec.stats()
    rec.stop()
    rec.index.close()
    index = SegmentIndex.open(tmp_path)  # what a restarted hub sees
    segs = index.find("yard")
    assert len(segs) == 5 and all(s.closed and s.frames == 10 for s in segs)
    assert index.find("quiet") == []
    assert stats.seen == 60
    index.close()


def test_retention_by_age_then_by_size(tmp_path: Path) -> None:
    settings = RecordSettings(
        default=CameraRecording("continuous"), segment_seconds=1.0, keep_days=1, min_free_gb=0
    )
    rec, frames, bus = _recorder(tmp_path, settings)
    now = time.time()
    old = [now - 3 * 86400 + i / 5 for i in range(10)]  # 2 segments, 3 days old
    new = [now - 60 + i / 5 for i in range(30)]  # 6 segments, a minute old
    _feed(rec, frames, "cam", old + new)
    _feed(rec, frames, "other", [now - 30.0])  # closes nothing of cam's, but flushes
    for cam in list(rec._cameras.values()):
        rec._close_segment(cam)  # what maintenance does once a camera goes quiet
    assert len(rec.index.find("cam")) == 8
    old_paths = [s.path for s in rec.index.find("cam", end=now - 86400)]
    assert rec.enforce_retention() == 2
    assert not any(p.exists() for p in old_paths)
    assert all(s.start > now - 86400 for s in rec.index.find("cam"))
    # now cap the total at roughly three segments' worth: the oldest go first
    each = rec.index.find("cam")[0].bytes
    rec.settings = RecordSettings(
        default=settings.default, keep_days=0, max_gb=3.5 * each / 1e9, min_free_gb=0
    )
    kept_before = rec.index.find("cam")
    rec.enforce_retention()
    kept = rec.index.find("cam")
    assert rec.index.total_bytes() <= 3.5 * each
    assert [s.id for s in kept] == [s.id for s in kept_before][-len(kept) :]
    rec.stop()
    bus.close()


def test_low_disk_stops_recording_loudly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = RecordSettings(default=CameraRecording("continuous"), min_free_gb=1e6)
    rec, frames, bus = _recorder(tmp_path, settings)
    try:
        wait_until(lambda: rec.disk_error is not None)
        _feed(rec, frames, "cam", [time.time() + i / 10 for i in range(10)])
        assert rec.index.find("cam") == []
        assert "recording stopped" in rec.health()[0] and "GB free" in rec.health()[0]
        assert "recording stopped" in caplog.text
    finally:
        rec.stop()
        bus.close()


def test_a_slow_recorder_drops_frames_and_counts_them(tmp_path: Path) -> None:
    settings = RecordSettings(default=CameraRecording("continuous"), min_free_gb=0)
    frames = FrameQueue(maxsize=8)
    for i in range(100):  # the recorder has not started: the queue overflows
        frames.put(frame("cam", 1000.0 + i / 10, i))
    rec = Recorder(frames, None, SegmentIndex.open(tmp_path), settings).start()
    wait_until(lambda: rec.seen == 8)
    assert rec.stats().dropped == 92
    rec.stop()


def test_bad_settings() -> None:
    with pytest.raises(RecordSettingsError, match="record must be one of"):
        CameraRecording("always")  # type: ignore[arg-type]
    with pytest.raises(RecordSettingsError, match="pre_roll"):
        CameraRecording("events", pre_roll=-1)
    with pytest.raises(RecordSettingsError, match="segment_seconds"):
        RecordSettings(segment_seconds=0)


def test_a_vanished_directory_loses_no_other_camera(tmp_path: Path) -> None:
    settings = RecordSettings(
        default=CameraRecording("continuous"), segment_seconds=1.0, min_free_gb=0
    )
    rec, frames, bus = _recorder(tmp_path, settings)
    try:
        t0 = float(int(time.time()) - 100)
        _feed(rec, frames, "a", [t0 + i / 10 for i in range(15)])
        _feed(rec, frames, "b", [t0 + i / 10 for i in range(15)])
        import shutil

        shutil.rmtree(rec.index.find("a")[0].path.parent.parent)  # camera a's whole folder
        _feed(rec, frames, "a", [t0 + 2 + i / 10 for i in range(15)])
        _feed(rec, frames, "b", [t0 + 2 + i / 10 for i in range(15)])
    finally:
        rec.stop()
        bus.close()
    readable_a = [
        t for s in rec.index.find("a") if s.path.exists() for t, _ in read_segment(s.path)
    ]
    assert readable_a and min(readable_a) >= t0 + 2  # recording went on in a new folder
    assert len(_recorded(rec, "b")) == 30  # the other camera lost nothing


def test_frames_with_no_picture_form_are_counted_not_recorded_and_others_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import numpy as np

    from camhub.types import Frame

    settings = RecordSettings(default=CameraRecording("continuous"), min_free_gb=0)
    rec, frames, bus = _recorder(tmp_path, settings)
    bus.close()
    t0 = time.time() - 50
    for i in range(20):
        frames.put(Frame("png", payload=b"\x89PNG\r\n\x1a\n" + bytes(32), received_at=t0 + i))
        frames.put(Frame("vector", array=np.arange(10, dtype=np.int64), received_at=t0 + i))
        frames.put(frame("yard", t0 + i, i))
    wait_until(lambda: rec.seen >= 60, timeout=20)
    stats = {c.camera: c for c in rec.stats().cameras}
    rec.stop()
    assert stats["png"].unrecordable == 20 and stats["vector"].unrecordable == 20
    assert stats["yard"].frames == 20
    assert len(_recorded(rec, "yard")) == 20 and _recorded(rec, "png") == []
    assert caplog.text.count("cannot be recorded") == 2  # once per camera, no tracebacks
    assert "Traceback" not in caplog.text
    rec.index.close()

"""Clips: segments become an H.264 MP4 with the recorded timing; clear errors otherwise."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from camhub.record.clip import ClipError, ClipExporter
from camhub.record.index import SegmentIndex
from camhub.record.segment import SegmentWriter
from tests.record.helpers import jpeg_at

pytestmark = pytest.mark.timeout(60)


def _record(index: SegmentIndex, camera: str, start: float, count: int, fps: float) -> None:
    path = index.root / camera / f"{start:.3f}.cseg"
    sid = index.add(camera, path, start)
    w = SegmentWriter(path)
    for i in range(count):
        w.write(start + i / fps, jpeg_at(i, (161, 121)))  # odd sizes: H.264 wants even
    w.close()
    index.update(sid, start + (count - 1) / fps, count, w.size, closed=True)


def test_clip_is_h264_mp4_with_the_recorded_duration(tmp_path: Path) -> None:
    index = SegmentIndex.open(tmp_path)
    _record(index, "door", 1000.0, 30, 10.0)
    _record(index, "door", 1003.0, 30, 10.0)
    exporter = ClipExporter(index, tmp_path / "clips")
    try:
        path = exporter.export("door", 1001.0, 1004.5).result(30)
        with av.open(str(path)) as container:
            video = container.streams.video[0]
            assert video.codec_context.name == "h264"
            assert (video.width, video.height) == (160, 120)
            frames = list(container.decode(video))
        assert len(frames) == 41  # widened to whole seconds: 1001.0 .. 1005.0 at 10 fps
        duration = float(frames[-1].pts * video.time_base - frames[0].pts * video.time_base)
        assert duration == pytest.approx(4.0, abs=0.05)
        again = exporter.export("door", 1001.0, 1004.5).result(30)
        assert again == path and exporter.exported == 1  # cached
        # A millisecond shift asks for the same clip.
        shifted = exporter.export("door", 1001.001, 1004.499).result(30)
        assert shifted == path and exporter.exported == 1
    finally:
        exporter.close()
        index.close()


def test_no_recording_and_bad_ranges_are_clear_errors(tmp_path: Path) -> None:
    index = SegmentIndex.open(tmp_path)
    _record(index, "door", 1000.0, 10, 10.0)
    exporter = ClipExporter(index, tmp_path / "clips")
    try:
        with pytest.raises(ClipError, match="no recording of camera 'door'") as info:
            exporter.export("door", 2000.0, 2010.0)
        assert info.value.status == 409
        with pytest.raises(ClipError, match="no recording of camera 'yard'"):
            exporter.export("yard", 1000.0, 1001.0)
        with pytest.raises(ClipError, match="must be after") as info:
            exporter.export("door", 1001.0, 1000.0)
        assert info.value.status == 400
        # a damaged segment file: a clear error, not a crash
        seg = index.find("door")[0]
        seg.path.write_bytes(b"garbage")
        with pytest.raises(ClipError, match="unreadable"):
            exporter.export("door", 1000.0, 1001.0).result(30)
    finally:
        exporter.close()
        index.close()


def test_a_cancelled_export_leaves_no_file(tmp_path: Path) -> None:
    import threading

    from camhub.record.export_queue import JobCancelled

    index = SegmentIndex.open(tmp_path)
    _record(index, "door", 1000.0, 30, 10.0)
    exporter = ClipExporter(index, tmp_path / "clips")
    try:
        cancelled = threading.Event()
        cancelled.set()  # every requester left before the first frame
        with pytest.raises(JobCancelled):
            exporter._export("door", 1000.0, 1003.0, cancelled)
        assert list((tmp_path / "clips").iterdir()) == []
        assert exporter.exported == 0 and exporter.failed == 0
    finally:
        exporter.close()
        index.close()

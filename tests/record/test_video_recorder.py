"""Video cameras recorded through the one ingest path (``CameraStore.put``): their own
packets in fMP4 segments that start on keyframes, a lost packet stops a camera until its
next keyframe (seen by ``seq`` or by the recorder's own dropped frames), pre-roll in whole
groups, new parameter sets start a new segment. Every picture written is checked against
FFmpeg's decode of the camera's elementary stream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from camhub.events import Event, EventUpdate
from camhub.record.index import SegmentIndex
from camhub.record.recorder import Recorder
from camhub.record.settings import CameraRecording, RecordSettings
from camhub.types import Frame
from camhub.video.packet import TIME_BASE, Codec, VideoPacket
from tests.conftest import wait_until
from tests.record.helpers import FrameQueue
from tests.record.video import FPS, T0, Rig
from tests.video.coded import elementary_stream, encode, ffmpeg_md5s, scene

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def continuous(tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(
        tmp_path,
        RecordSettings(
            default=CameraRecording("continuous"), segment_seconds=2.0, min_free_gb=0, keep_days=0
        ),
    )
    yield rig
    rig.close()


def test_video_is_recorded_as_its_own_packets_in_segments_from_keyframes(
    continuous: Rig, packets: list[VideoPacket], want: list[str]
) -> None:
    continuous.put("door", packets, 0)
    continuous.rec.stop()
    segs = continuous.rec.index.find("door")
    assert len(segs) == 3 and all(s.closed for s in segs)
    assert [s.start for s in segs] == pytest.approx([T0, T0 + 2, T0 + 4])
    assert segs[-1].end == pytest.approx(T0 + 6)
    for seg in segs:
        assert (seg.container, seg.codec, seg.path.suffix) == ("fmp4", "h264", ".mp4")
        assert seg.mime.startswith('video/mp4; codecs="avc1.')
        assert seg.bytes == seg.path.stat().st_size
        assert seg.path.stat().st_mode & 0o777 == 0o600  # private, like JPEG segments
        assert seg.path.parent.stat().st_mode & 0o777 == 0o700
    assert continuous.recorded("door") == want
    stats = continuous.rec.stats().cameras[0]
    assert (stats.codec, stats.frames, stats.skipped) == ("h264", 90, 0)
    recorded = sum(len(p.data) for p in packets)
    assert recorded < sum(s.bytes for s in segs) < recorded + 4000  # boxes: ~1 kB a second


def test_a_lost_packet_stops_the_camera_until_its_next_keyframe(
    continuous: Rig, packets: list[VideoPacket], want: list[str]
) -> None:
    continuous.put("door", packets[:20], 0)
    continuous.put("door", packets[21:], 21)  # seq 20 never arrives
    continuous.rec.stop()
    assert continuous.recorded("door") == want[:20] + want[30:]
    stats = continuous.rec.stats().cameras[0]
    assert stats.skipped == 9  # 21..29, the rest of the broken group


class GatedQueue(FrameQueue):
    """A subscription whose consumer can be held back, so that it drops frames."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self.held = False

    def hold(self, held: bool, maxsize: int) -> None:
        with self._cond:  # under the queue's lock: no frame is handed out after this
            self.held = held
            self.maxsize = maxsize
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> Frame | None:
        with self._cond:
            ready = self._cond.wait_for(
                lambda: (self._items and not self.held) or self.closed, timeout
            )
            return self._items.popleft() if ready and self._items and not self.held else None


def test_frames_the_recorder_dropped_break_the_group_even_without_seq(
    tmp_path: Path, packets: list[VideoPacket], want: list[str]
) -> None:
    queue = GatedQueue(maxsize=100)
    settings = RecordSettings(default=CameraRecording("continuous"), min_free_gb=0, keep_days=0)
    rec = Recorder(queue, None, SegmentIndex.open(tmp_path), settings).start()

    def put(first: int, last: int) -> None:
        for i in range(first, last):
            at = T0 + i / FPS
            queue.put(Frame("door", video=packets[i], captured_at=at, received_at=at))

    put(0, 15)  # a group, no seq
    wait_until(lambda: rec.seen >= 15, timeout=20)
    queue.hold(True, maxsize=5)  # the recorder falls behind: 15-36 are dropped, 37-41 wait
    put(15, 42)
    assert queue.dropped == 22
    queue.hold(False, maxsize=100)
    wait_until(lambda: rec.seen >= 20, timeout=20)
    put(42, 90)
    wait_until(lambda: rec.seen >= 68, timeout=20)
    rec.stop()
    got = []
    for seg in rec.index.find("door"):
        md5s, complaints = ffmpeg_md5s(str(seg.path))
        assert complaints == ""
        got += md5s
    assert got == want[:15] + want[45:]  # 37-44 waited for the keyframe at 45


def test_pre_roll_starts_at_the_keyframe_before_it(
    tmp_path: Path, packets: list[VideoPacket], want: list[str]
) -> None:
    rig = Rig(tmp_path, RecordSettings(
        default=CameraRecording("events", pre_roll=1.0, post_roll=1.0), min_free_gb=0, keep_days=0))  # fmt: skip
    try:
        rig.put("door", packets[:40], 0)  # quiet: only the ring keeps them
        assert rig.rec.index.find("door") == []
        event = Event(camera="door", label="motion", start=T0 + 38 / FPS)
        rig.event(EventUpdate("new", event.copy()))  # pre-roll from 24/15 s: keyframe 15
        rig.put("door", packets[40:50], 40)
        event.end = T0 + 49 / FPS
        rig.event(EventUpdate("end", event.copy()))
        rig.put("door", packets[50:], 50)
        rig.rec.stop()
        # from the keyframe before start - pre_roll, to end + post_roll (49 + 15 = 64)
        assert rig.recorded("door") == want[15:65]
    finally:
        rig.close()


def test_the_pre_roll_memory_cap_drops_whole_groups(tmp_path: Path) -> None:
    once = encode("h264", scene(120, (640, 480), seed=3), gop=15)
    # closed groups decode alone, so the stream may repeat them (with time going on)
    big = [replace(p, pts=i * TIME_BASE // FPS) for i, p in enumerate(once * 3)]
    settings = RecordSettings(
        default=CameraRecording("events", pre_roll=60.0), preroll_mb=1.0, min_free_gb=0, keep_days=0
    )
    rig = Rig(tmp_path, settings)
    try:
        assert sum(len(p.data) for p in big) > 2e6  # twice what the ring may hold
        rig.put("door", big, 0)
        assert rig.rec.ring_dropped > 0 and rig.rec.ring_bytes <= 1e6
        rig.event(EventUpdate("new", Event(camera="door", label="motion", start=T0)))
        rig.put("door", [], len(big))
        rig.rec.stop()
        segs = rig.rec.index.find("door")
        assert len(segs) == 1
        got, complaints = ffmpeg_md5s(str(segs[0].path))
        assert complaints == "" and len(got) == segs[0].frames
        assert segs[0].frames % 15 == 0  # whole groups of 15 left the ring
        assert 0 < segs[0].frames < len(big)
    finally:
        rig.close()


def test_new_parameter_sets_start_a_new_segment(
    continuous: Rig, packets: list[VideoPacket]
) -> None:
    small = encode("h264", scene(30, (96, 64), seed=1), gop=15)
    continuous.put("door", packets[:30], 0)
    continuous.put("door", small, 30)
    continuous.rec.stop()
    segs = continuous.rec.index.find("door")
    assert [s.frames for s in segs] == [30, 30]
    assert (
        segs[0].mime != segs[1].mime
        or segs[0].path.read_bytes()[:600] != segs[1].path.read_bytes()[:600]
    )
    assert len(continuous.recorded("door")) == 60


def test_a_camera_that_switches_between_jpeg_and_video_gets_both_kinds(
    continuous: Rig, packets: list[VideoPacket]
) -> None:
    from tests.record.helpers import jpeg_at

    continuous.put("door", packets[:15], 0)
    for i in range(15, 20):
        at = T0 + i / FPS
        continuous.store.put(Frame("door", jpeg=jpeg_at(i), seq=i, received_at=at), "test")
    continuous.put("door", packets[16:30], 20)  # no keyframe first: waits for 30
    continuous.put("door", packets[30:45], 34)
    continuous.rec.stop()
    segs = continuous.rec.index.find("door")
    assert [(s.container, s.frames) for s in segs] == [("fmp4", 15), ("cseg", 5), ("fmp4", 15)]


def test_an_older_index_gains_the_new_columns(tmp_path: Path) -> None:
    import sqlite3

    (tmp_path / "recordings").mkdir()
    conn = sqlite3.connect(tmp_path / "recordings" / "recordings.db")
    conn.executescript(
        "CREATE TABLE segments (id INTEGER PRIMARY KEY, camera TEXT NOT NULL, path TEXT NOT NULL,"
        ' start REAL NOT NULL, "end" REAL NOT NULL, frames INTEGER NOT NULL DEFAULT 0,'
        " bytes INTEGER NOT NULL DEFAULT 0, closed INTEGER NOT NULL DEFAULT 0);"
        'INSERT INTO segments (camera, path, start, "end", frames, bytes, closed)'
        " VALUES ('yard', 'y/1.cseg', 1.0, 2.0, 10, 100, 1);"
    )
    conn.commit()
    conn.close()
    index = SegmentIndex.open(tmp_path)
    (seg,) = index.find("yard")
    assert (seg.container, seg.codec, seg.mime, seg.frames) == ("cseg", "jpeg", "", 10)
    index.close()


@pytest.mark.parametrize("codec", ["hevc", "vp9", "vp8"])
def test_every_codec_the_wire_carries_is_recorded(
    continuous: Rig, tmp_path: Path, codec: Codec
) -> None:
    stream = encode(codec, scene(45, (160, 120), seed=2), gop=15)
    raw, fmt = elementary_stream(stream)
    (tmp_path / "raw").write_bytes(raw)
    want = ffmpeg_md5s(str(tmp_path / "raw"), fmt)[0]
    continuous.put("phone", stream, 0)
    continuous.rec.stop()
    segs = continuous.rec.index.find("phone")
    assert [s.codec for s in segs] == [codec] * len(segs) and len(segs) == 2  # 2 s segments
    assert segs[0].mime.startswith(
        'video/mp4; codecs="' + {"hevc": "hvc1", "vp9": "vp09", "vp8": "vp08"}[codec]
    )
    assert continuous.recorded("phone") == want
